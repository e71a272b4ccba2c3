// The JSON bodies of the management API (`/api/v1/`, docs/ADMIN.md), shared
// by the server and `confab admin`. The OpenAPI document the server serves
// describes the same shapes. Times are milliseconds since 1970 and ids follow
// the identifier rules of docs/PROTOCOL.md.

import ConfabMacros

/// A live room in `GET /api/v1/rooms`.
@PublicMemberwiseInit
public struct AdminRoomSummary: Codable, Sendable {
    public var name: RoomName
    public var startedAt: Timestamp
    /// Connected peers, by role name.
    public var peersByRole: [String: Int]
    public var peers: Int
    /// Locked against new joins.
    public var locked: Bool
    /// The id of the node that holds the room (a cluster's node id; a single server's own id).
    public var node: String
}

@PublicMemberwiseInit
public struct AdminRoomList: Codable, Sendable {
    public var rooms: [AdminRoomSummary]
    /// In a cluster: the advertised URLs of live nodes that did not answer
    /// (their rooms are missing from `rooms`); absent when every node answered.
    public var unreachable: [String]? = nil
}

/// One peer in `GET /api/v1/rooms/{room}`.
@PublicMemberwiseInit
public struct AdminPeer: Codable, Sendable {
    public var id: PeerID
    public var name: String
    public var role: RoleName
    /// False while it is away within its resume grace.
    public var connected: Bool
    /// Whether its microphone is muted; absent when its role may not publish.
    public var muted: Bool?
    /// Who muted it (itself, a host, or `@server`), when muted.
    public var mutedBy: PeerID?
    /// When its hand went up; absent while it is down.
    public var handRaisedAt: Timestamp?
    public var joinedAt: Timestamp
}

/// `GET /api/v1/rooms/{room}` and the reply to `POST /api/v1/rooms`.
@PublicMemberwiseInit
public struct AdminRoomDetail: Codable, Sendable {
    public var name: RoomName
    public var startedAt: Timestamp
    public var maxPeers: Int?
    public var chatRate: RateLimit
    public var roles: [RoleName]
    public var emptyRoomTimeoutMs: Int
    /// Locked against new joins: peers in it stay, anyone else gets `4002 roomLocked`.
    public var locked: Bool
    public var peers: [AdminPeer]
    /// The room's shared state, sorted by key (docs/PROTOCOL.md, `state.set`).
    public var state: [StateEntry] = []
}

/// `GET /api/v1/rooms/{room}/state`.
@PublicMemberwiseInit
public struct AdminRoomState: Codable, Sendable {
    public var state: [StateEntry]
}

/// `POST /api/v1/tokens/revoke`: the admin token to refuse from now on.
@PublicMemberwiseInit
public struct AdminRevokeToken: Codable, Sendable {
    public var token: String
}

/// `PUT /api/v1/rooms/{room}/state/{key}`.
@PublicMemberwiseInit
public struct AdminSetState: Codable, Sendable {
    public var value: String
}

/// `POST /api/v1/rooms`.
@PublicMemberwiseInit
public struct AdminCreateRoom: Codable, Sendable {
    public var name: RoomName
    /// Take the template of this room in the server's configuration
    /// (`[rooms.NAME]`); by default the room's own, or the default template.
    public var template: RoomName?
    public var maxPeers: Int?
    public var chatRate: RateLimit?
    /// How long the room stays open with nobody in it, in seconds.
    public var emptyTimeoutSeconds: Int?
    /// Open it locked against joins, to unlock later (`PATCH`).
    public var locked: Bool?
}

/// `PATCH /api/v1/rooms/{room}`.
@PublicMemberwiseInit
public struct AdminUpdateRoom: Codable, Sendable {
    public var locked: Bool
}

/// `POST /api/v1/rooms/{room}/peers/{peer}/role`.
@PublicMemberwiseInit
public struct AdminChangeRole: Codable, Sendable {
    public var role: RoleName
    /// Give the role at once (default), or ask the peer (a prompt it may decline).
    public var force: Bool?
}

/// The reply when a peer was asked rather than changed.
@PublicMemberwiseInit
public struct AdminPromptSent: Codable, Sendable {
    public var prompt: PromptID
}

/// `POST /api/v1/rooms/{room}/messages`.
@PublicMemberwiseInit
public struct AdminSystemMessage: Codable, Sendable {
    public var text: String
}

/// The reply to a posted message: its place in the room's log.
@PublicMemberwiseInit
public struct AdminPostedMessage: Codable, Sendable {
    public var id: MessageID
    public var seq: Int
    public var sentAt: Timestamp
}

@PublicMemberwiseInit
public struct AdminCallList: Codable, Sendable {
    public var calls: [CallInfo]
}

@PublicMemberwiseInit
public struct AdminCallHistory: Codable, Sendable {
    public var user: PeerID
    public var calls: [CallRecord]
}

/// Every error: the numbered catalog of docs/PROTOCOL.md.
public struct AdminErrorBody: Codable, Sendable {
    @PublicMemberwiseInit
    public struct Detail: Codable, Sendable {
        public var code: Int
        public var name: String
        public var message: String
        /// With a rate limit (HTTP 429, also in the `Retry-After` header, in seconds).
        public var retryAfterMs: Int? = nil
    }
    public var error: Detail

    public init(_ error: CodedError) {
        self.error = Detail(
            code: error.code.rawValue, name: "\(error.code)", message: error.message, retryAfterMs: error.retryAfterMs)
    }
}
