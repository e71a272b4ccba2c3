// The JSON bodies of the management API (`/api/v1/`, docs/ADMIN.md), shared
// by the server and `confab admin`. The OpenAPI document the server serves
// describes the same shapes. Times are milliseconds since 1970 and ids follow
// the identifier rules of docs/PROTOCOL.md.

/// A live room in `GET /api/v1/rooms`.
public struct AdminRoomSummary: Codable, Sendable {
    public var name: RoomName
    public var startedAt: Timestamp
    /// Connected peers, by role name.
    public var peersByRole: [String: Int]
    public var peers: Int
    /// Locked against new joins.
    public var locked: Bool

    public init(name: RoomName, startedAt: Timestamp, peersByRole: [String: Int], peers: Int, locked: Bool) {
        self.name = name
        self.startedAt = startedAt
        self.peersByRole = peersByRole
        self.peers = peers
        self.locked = locked
    }
}

public struct AdminRoomList: Codable, Sendable {
    public var rooms: [AdminRoomSummary]

    public init(rooms: [AdminRoomSummary]) {
        self.rooms = rooms
    }
}

/// One peer in `GET /api/v1/rooms/{room}`.
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

    public init(
        id: PeerID, name: String, role: RoleName, connected: Bool, muted: Bool? = nil, mutedBy: PeerID? = nil,
        handRaisedAt: Timestamp? = nil, joinedAt: Timestamp
    ) {
        self.id = id
        self.name = name
        self.role = role
        self.connected = connected
        self.muted = muted
        self.mutedBy = mutedBy
        self.handRaisedAt = handRaisedAt
        self.joinedAt = joinedAt
    }
}

/// `GET /api/v1/rooms/{room}` and the reply to `POST /api/v1/rooms`.
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

    public init(
        name: RoomName, startedAt: Timestamp, maxPeers: Int? = nil, chatRate: RateLimit, roles: [RoleName],
        emptyRoomTimeoutMs: Int, locked: Bool, peers: [AdminPeer]
    ) {
        self.name = name
        self.startedAt = startedAt
        self.maxPeers = maxPeers
        self.chatRate = chatRate
        self.roles = roles
        self.emptyRoomTimeoutMs = emptyRoomTimeoutMs
        self.locked = locked
        self.peers = peers
    }
}

/// `POST /api/v1/rooms`.
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

    public init(
        name: RoomName, template: RoomName? = nil, maxPeers: Int? = nil, chatRate: RateLimit? = nil,
        emptyTimeoutSeconds: Int? = nil, locked: Bool? = nil
    ) {
        self.name = name
        self.template = template
        self.maxPeers = maxPeers
        self.chatRate = chatRate
        self.emptyTimeoutSeconds = emptyTimeoutSeconds
        self.locked = locked
    }
}

/// `PATCH /api/v1/rooms/{room}`.
public struct AdminUpdateRoom: Codable, Sendable {
    public var locked: Bool

    public init(locked: Bool) {
        self.locked = locked
    }
}

/// `POST /api/v1/rooms/{room}/peers/{peer}/role`.
public struct AdminChangeRole: Codable, Sendable {
    public var role: RoleName
    /// Give the role at once (default), or ask the peer (a prompt it may decline).
    public var force: Bool?

    public init(role: RoleName, force: Bool? = nil) {
        self.role = role
        self.force = force
    }
}

/// The reply when a peer was asked rather than changed.
public struct AdminPromptSent: Codable, Sendable {
    public var prompt: PromptID

    public init(prompt: PromptID) {
        self.prompt = prompt
    }
}

/// `POST /api/v1/rooms/{room}/messages`.
public struct AdminSystemMessage: Codable, Sendable {
    public var text: String

    public init(text: String) {
        self.text = text
    }
}

/// The reply to a posted message: its place in the room's log.
public struct AdminPostedMessage: Codable, Sendable {
    public var id: MessageID
    public var seq: Int
    public var sentAt: Timestamp

    public init(id: MessageID, seq: Int, sentAt: Timestamp) {
        self.id = id
        self.seq = seq
        self.sentAt = sentAt
    }
}

public struct AdminCallList: Codable, Sendable {
    public var calls: [CallInfo]

    public init(calls: [CallInfo]) {
        self.calls = calls
    }
}

public struct AdminCallHistory: Codable, Sendable {
    public var user: PeerID
    public var calls: [CallRecord]

    public init(user: PeerID, calls: [CallRecord]) {
        self.user = user
        self.calls = calls
    }
}

/// Every error: the numbered catalog of docs/PROTOCOL.md.
public struct AdminErrorBody: Codable, Sendable {
    public struct Detail: Codable, Sendable {
        public var code: Int
        public var name: String
        public var message: String

        public init(code: Int, name: String, message: String) {
            self.code = code
            self.name = name
            self.message = message
        }
    }
    public var error: Detail

    public init(_ error: CodedError) {
        self.error = Detail(code: error.code.rawValue, name: "\(error.code)", message: error.message)
    }
}
