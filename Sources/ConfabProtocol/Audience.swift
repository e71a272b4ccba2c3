// Large rooms: the audience is counted, not listed.
//
//   quiet peer joins / leaves / renames ─▶ only those who see it (audience seers, its contacts)
//   everyone ◀─ room.counts (per role, coalesced, at most one per `countsIntervalMs`)
//   audience seer ─▶ roster.list (cursor, limit ≤ 100, filters) ─▶ roster.page
//
// A quiet peer is in the room like any other (it hears the stage, chats,
// raises a hand) but its arrival is not announced to everyone: in a town
// hall of 10,000, announcing each listener to each other listener would be
// 10^8 messages. See docs/PROTOCOL.md, "Large rooms".

import ConfabMacros

/// How many peers the room holds, per role: `joined.counts` and `room.counts`.
@PublicMemberwiseInit
public struct RoomCounts: Codable, Hashable, Sendable {
    /// Connected peers, everyone included (you too).
    @InRange<JSONCount> public var total: Int
    /// Connected peers per role, in the template's role order; roles nobody holds are listed with 0.
    public var roles: [RoleCount]

    /// The count of one role; 0 for a role not listed.
    public func count(of role: RoleName) -> Int {
        roles.first { $0.role == role }?.count ?? 0
    }
}

/// One role's count.
@PublicMemberwiseInit
public struct RoleCount: Codable, Hashable, Sendable {
    public var role: RoleName
    @InRange<JSONCount> public var count: Int
}

/// `roster.list`: a page of the room's connected peers, for a role allowed to
/// see the audience. Pages are in join order (oldest first); `cursor` is the
/// `next` of the previous page. A peer present from the first page to the
/// last is listed exactly once; one that joins meanwhile appears on a later
/// page, one that leaves is simply absent.
@PublicMemberwiseInit
public struct RosterRequest: Codable, Hashable, Sendable {
    /// Opaque: the previous page's `next`; absent for the first page.
    public var cursor: String?
    /// 1...100, default 50.
    public var limit: Int = ProtocolLimits.defaultRosterPageSize
    /// Only peers holding this role.
    public var role: RoleName?
    /// Only peers whose hand is up (true) or down (false).
    public var handRaised: Bool?
    /// Only peers whose display name starts with this, ignoring case (at most 64 characters).
    public var namePrefix: String?

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        cursor = try container.decodeIfPresent(String.self, forKey: .cursor, maximumUTF8Bytes: 256)
        limit =
            try container.decodeIfPresent(Int.self, forKey: .limit, in: 1...ProtocolLimits.maximumRosterPageSize)
            ?? ProtocolLimits.defaultRosterPageSize
        role = try container.decodeIfPresent(RoleName.self, forKey: .role)
        handRaised = try container.decodeIfPresent(Bool.self, forKey: .handRaised)
        namePrefix = try container.decodeIfPresent(
            String.self, forKey: .namePrefix, maximumUTF8Bytes: 4 * ProtocolLimits.maximumNameCharacters)
    }
}

/// `roster.page`: the reply to `roster.list`.
@PublicMemberwiseInit
public struct RosterPage: Codable, Hashable, Sendable {
    /// At most the request's `limit` peers, oldest join first.
    public var peers: [PeerInfo]
    /// The cursor of the next page; absent on the last one.
    public var next: String?
    /// How many connected peers match the filters now (all pages together).
    public var total: Int
}

extension ProtocolLimits {
    /// Peers in one roster page when the request names no limit.
    public static let defaultRosterPageSize = 50
    /// The most peers one roster page may hold.
    public static let maximumRosterPageSize = 100
}
