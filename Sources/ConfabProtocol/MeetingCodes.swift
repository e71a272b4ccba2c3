// Meeting codes (docs/ADMIN.md, "Meeting codes"): a code names a room and a
// role; whoever has it exchanges it for a short-lived room token over the
// server's pinned TLS, instead of being sent a token minted by hand. The
// bodies of the management API's code endpoints and of the exchange, shared
// by the server and the client.

import ConfabMacros

/// `POST /api/v1/rooms/{room}/codes`.
@PublicMemberwiseInit
public struct AdminCreateCode: Codable, Sendable {
    public var role: RoleName
    /// How many exchanges it allows; absent for no limit.
    public var uses: Int?
    /// How long it lasts from now, in seconds; absent for no expiry.
    public var expiresInSeconds: Int?
}

/// Where a meeting code stands.
public enum MeetingCodeState: String, Codable, Hashable, Sendable {
    case active, revoked, expired, usedUp
}

/// A meeting code as the management API shows it.
@PublicMemberwiseInit
public struct MeetingCodeInfo: Codable, Hashable, Sendable {
    public var code: String
    public var room: RoomName
    public var role: RoleName
    /// How many exchanges it allows; absent for no limit.
    public var uses: Int?
    /// How many times it was exchanged.
    public var used: Int
    public var expiresAt: Timestamp?
    public var createdAt: Timestamp
    /// The admin token's subject that made it.
    public var createdBy: String
    public var revokedAt: Timestamp?
    public var state: MeetingCodeState
}

@PublicMemberwiseInit
public struct MeetingCodeList: Codable, Sendable {
    public var codes: [MeetingCodeInfo]
}

/// `POST /api/v1/rooms/{room}/join`: no admin token, the code is the credential.
@PublicMemberwiseInit
public struct CodeExchangeRequest: Codable, Sendable {
    public var code: String
    /// The display name to join with.
    public var name: String
}

/// A room token for the room and role of the code.
@PublicMemberwiseInit
public struct CodeExchangeReply: Codable, Sendable {
    public var token: String
    public var room: RoomName
    public var role: RoleName
    /// The identity the token names: made for this exchange.
    public var peer: PeerID
    public var expiresAt: Timestamp
}

/// The form of a meeting code: twelve characters from an alphabet without
/// look-alikes (no 0/o, 1/l/i), in three groups: `k7dq-m3xa-9pwe`.
public enum MeetingCodeFormat {
    public static let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
    public static let length = 12

    /// The canonical form of what a person typed: lowercase, dashes and spaces dropped; nil when it cannot be a code.
    public static func normalize(_ text: String) -> String? {
        let characters = text.lowercased().filter { $0 != "-" && $0 != " " }
        guard characters.count == length, characters.allSatisfy({ alphabet.contains($0) }) else { return nil }
        return String(characters)
    }

    /// `abcdefghjkmn` as `abcd-efgh-jkmn`.
    public static func display(_ code: String) -> String {
        let characters = Array(code)
        guard characters.count == length else { return code }
        return [characters[0..<4], characters[4..<8], characters[8..<12]].map { String($0) }.joined(separator: "-")
    }
}
