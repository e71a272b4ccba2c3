import ConfabMacros
import ConfabProtocol

// The audience of a large room. A peer joins quiet when its role is quiet in
// the template, or when the room is already big and its role neither
// publishes nor sees the audience. Who hears of a peer:
//
//   announced peer ─▶ everyone connected (as in any room)
//   quiet peer     ─▶ itself + roles with `seeAudience` + peers introduced to it
//                     (a direct message, a prompt: both sides then see each other)
//   everyone       ─▶ counts per role (the server coalesces them; Room only computes)
//
// A quiet peer that takes a role that is not quiet is announced for good:
// those who did not know it get `peer.joined`, those who did `peer.updated`.

/// Which peers of a room join quiet, and how often counts go out.
@PublicMemberwiseInit
public struct AudienceSettings: Codable, Hashable, Sendable {
    /// Roles whose peers join quiet in a room of any size.
    public var quietRoles: [RoleName] = []
    /// Once the room holds this many peers, a peer joining with a role that
    /// neither publishes audio nor sees the audience joins quiet (in the
    /// built-in template: every listener after the first this many). Nil: never.
    public var quietAbove: Int?
    /// `room.counts` goes out at most once per this long, and only when the counts changed.
    public var countsIntervalMs: Int = AudienceSettings.defaultCountsIntervalMs
    /// Chat the audience together (roles in `quietRoles`, or that neither
    /// publish nor see the audience, whatever the room's size) may send to
    /// the whole room or to an audience role: each such message reaches
    /// thousands. Beyond it `chatRateLimited`. Other roles are never held by it.
    public var broadcastRate: RateLimit = AudienceSettings.defaultBroadcastRate
    /// How many publishers a peer whose role does not publish hears at a
    /// time: the loudest, from the RFC 6464 levels of their packets.
    public var loudest: Int = AudienceSettings.defaultLoudest

    public static let defaultCountsIntervalMs = 1_000
    /// 2 a second, bursts of 5: at 10,000 peers, 20,000 deliveries a second.
    public static let defaultBroadcastRate = RateLimit(perSecond: 2, burst: 5)
    public static let defaultLoudest = 3
    /// The most `loudest` may be: more is no longer a few.
    public static let maximumLoudest = 16

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        quietRoles = try container.decodeIfPresent([RoleName].self, forKey: .quietRoles) ?? []
        quietAbove = try container.decodeIfPresent(Int.self, forKey: .quietAbove)
        countsIntervalMs =
            try container.decodeIfPresent(Int.self, forKey: .countsIntervalMs) ?? Self.defaultCountsIntervalMs
        broadcastRate = try container.decodeIfPresent(RateLimit.self, forKey: .broadcastRate) ?? Self.defaultBroadcastRate
        loudest = try container.decodeIfPresent(Int.self, forKey: .loudest) ?? Self.defaultLoudest
    }

    func validate(roles: Set<RoleName>) throws(TemplateError) {
        for role in quietRoles where !roles.contains(role) {
            throw .invalidSetting("audience.quietRoles names \(role), which is not defined")
        }
        if let quietAbove, quietAbove < 0 { throw .invalidSetting("audience.quietAbove must not be negative") }
        guard countsIntervalMs >= 100 else { throw .invalidSetting("audience.countsIntervalMs must be at least 100") }
        guard (1...Self.maximumLoudest).contains(loudest) else {
            throw .invalidSetting("audience.loudest must be 1 to \(Self.maximumLoudest)")
        }
        if broadcastRate.perSecond <= 0 || broadcastRate.burst <= 0 {
            throw .invalidSetting("audience.broadcastRate needs positive perSecond and burst")
        }
    }
}

extension RoomTemplate {
    /// The built-in roles with an audience: listeners join quiet.
    public static let townHall = RoomTemplate(
        roles: [.host, .speaker, .listener], audience: AudienceSettings(quietRoles: ["listener"]))
}

extension Room {
    /// Whether the template gives the room an audience (counts, quiet peers).
    public var hasAudience: Bool { template.audience != nil }

    /// Whether a peer joining now with `role` joins quiet.
    func joinsQuiet(_ role: Role) -> Bool {
        guard let audience = template.audience else { return false }
        if audience.quietRoles.contains(role.name) { return true }
        guard let threshold = audience.quietAbove else { return false }
        return peers.count >= threshold && !role.publishAudio && !role.permissions.seeAudience
    }

    /// Whether a message from `sender` to `target` spends the audience's
    /// allowance (`audience.broadcastRate`): from a role of the audience, to
    /// everyone or to a role of the audience. Chat to the stage or to peers does not.
    func spendsAudienceAllowance(_ sender: Peer, _ target: ChatTarget) -> Bool {
        guard template.audience != nil, !isAnnouncedRole(role(of: sender)) else { return false }
        switch target {
        case .broadcast: return true
        case .roles(let names): return names.contains { name in template.role(named: name).map { !isAnnouncedRole($0) } ?? false }
        case .peers: return false
        }
    }

    /// What to do instead when the audience's allowance refuses: write to the
    /// stage's roles, which it does not hold, when the sender may write to roles.
    func audienceAdvice(_ permissions: ChatPermissions) -> String {
        let stage = template.roles.filter(isAnnouncedRole).map(\.name.rawValue)
        guard permissions.toRoles, !stage.isEmpty else { return "try again" }
        return "write to \(stage.joined(separator: " or ")), or try again"
    }

    /// Whether a role that is not quiet in the template: taking it announces a quiet peer.
    func isAnnouncedRole(_ role: Role) -> Bool {
        !(template.audience?.quietRoles.contains(role.name) ?? false)
            && (role.publishAudio || role.permissions.seeAudience)
    }

    /// Whether `viewer` hears of `peer`'s arrival, departure and changes.
    public func sees(_ viewer: PeerID, _ peer: PeerID) -> Bool {
        guard let target = peers[peer], target.isQuiet, viewer != peer else { return true }
        if introductions[peer]?.contains(viewer) == true { return true }
        return peers[viewer].map { role(of: $0).permissions.seeAudience } ?? false
    }

    /// The connected peers that hear of `id`'s changes, itself included.
    public func watchers(of id: PeerID) -> Set<PeerID> {
        guard let peer = peers[id], peer.isQuiet else { return connectedIDs }
        // The roles first (a handful), then one set lookup per peer: this runs on every quiet join.
        var result = Set<PeerID>()
        for role in template.roles where role.permissions.seeAudience {
            result.formUnion(peers.connectedByRole[role.name] ?? [])
        }
        for viewer in introductions[id] ?? [] where peers[viewer]?.isConnected == true { result.insert(viewer) }
        if peer.isConnected { result.insert(id) }
        return result
    }

    /// Makes each of `peers` visible to the others; returns the `peer.joined`
    /// each must hear first. The server itself needs no introduction.
    mutating func introduce(_ group: Set<PeerID>) -> [RoomEvent] {
        var events: [RoomEvent] = []
        for peer in group.sorted() {
            guard let info = peers[peer], info.isQuiet, info.isConnected else { continue }
            let strangers = group.filter { $0 != peer && $0 != .server && !sees($0, peer) }
            guard !strangers.isEmpty else { continue }
            introductions[peer, default: []].formUnion(strangers)
            events.append(RoomEvent(audience: strangers, body: .peerJoined(PeerJoined(peer: info.info))))
        }
        return events
    }

    /// What a peer that lost `seeAudience` must forget: a `peer.left`
    /// (`outOfView`, to it alone) for every connected quiet peer it no longer
    /// sees, since it will hear nothing more of them, not even their leaving.
    func audienceOutOfView(for viewer: PeerID) -> [RoomEvent] {
        peers.values.filter { $0.isQuiet && $0.isConnected && $0.id != viewer && !sees(viewer, $0.id) }
            .map(\.id).sorted()
            .map { RoomEvent(audience: [viewer], body: .peerLeft(PeerLeft(peer: $0, reason: .outOfView))) }
    }

    /// Forgets the introductions of a peer that left the room.
    mutating func forgetIntroductions(of id: PeerID) {
        introductions[id] = nil
        guard !introductions.isEmpty else { return }
        for key in Array(introductions.keys) where introductions[key]?.contains(id) == true {
            introductions[key]?.remove(id)
        }
    }

    /// Connected peers per role, in the template's order.
    public var counts: RoomCounts {
        RoomCounts(
            total: peers.connectedCount,
            roles: template.roles.map { RoleCount(role: $0.name, count: peers.connectedByRole[$0.name]?.count ?? 0) })
    }

    /// What `joined.peers` lists for `id`: the announced peers, and of the
    /// quiet ones those it was introduced to and, for a role that sees the
    /// audience, those with a hand up. The rest it meets through `roster.list`.
    func joinedPeers(for id: PeerID) -> [PeerInfo] {
        guard hasAudience else { return visiblePeers(excluding: id) }
        let seesAudience = peers[id].map { role(of: $0).permissions.seeAudience } ?? false
        // From the indexes, not a walk of the audience: the announced, the
        // quiet ones introduced to `id`, and raised hands for those who see the audience.
        var shown = peers.connectedAnnounced
        for (quiet, viewers) in introductions where viewers.contains(id) { shown.insert(quiet) }
        if seesAudience { shown.formUnion(peers.connectedRaisedHands) }
        shown.remove(id)
        return ordered(shown.compactMap { peers[$0] }.filter(\.isConnected))
    }
}
