// The JSON bodies of the management API, as docs/ADMIN.md and the OpenAPI
// document (AdminOpenAPI.swift) describe them. Times are milliseconds since
// 1970 (as in docs/PROTOCOL.md); ids follow PROTOCOL.md's identifier rules.

import ConfabProtocol
import ConfabRooms
import HTTPTypes

/// A live room in `GET /api/v1/rooms`.
struct AdminRoomSummary: Codable, Sendable {
    var name: RoomName
    var startedAt: Timestamp
    /// Connected peers, by role name.
    var peersByRole: [String: Int]
    var peers: Int
    /// Locked against new joins.
    var locked: Bool
}

struct AdminRoomList: Codable, Sendable {
    var rooms: [AdminRoomSummary]
}

/// One peer in `GET /api/v1/rooms/{room}`.
struct AdminPeer: Codable, Sendable {
    var id: PeerID
    var name: String
    var role: RoleName
    /// False while it is away within its resume grace.
    var connected: Bool
    /// Whether its microphone is muted; absent when its role may not publish.
    var muted: Bool?
    /// Who muted it (itself, a host, or `@server`), when muted.
    var mutedBy: PeerID?
    /// When its hand went up; absent while it is down.
    var handRaisedAt: Timestamp?
    var joinedAt: Timestamp
}

/// `GET /api/v1/rooms/{room}` and the reply to `POST /api/v1/rooms`.
struct AdminRoomDetail: Codable, Sendable {
    var name: RoomName
    var startedAt: Timestamp
    var maxPeers: Int?
    var chatRate: RateLimit
    var roles: [RoleName]
    var emptyRoomTimeoutMs: Int
    /// Locked against new joins: peers in it stay, anyone else gets `4002 roomLocked`.
    var locked: Bool
    var peers: [AdminPeer]
}

/// `POST /api/v1/rooms`.
struct AdminCreateRoom: Codable, Sendable {
    var name: RoomName
    /// Take the template of this room in the server's configuration
    /// (`[rooms.NAME]`); by default the room's own, or the default template.
    var template: RoomName?
    var maxPeers: Int?
    var chatRate: RateLimit?
    /// How long the room stays open with nobody in it, in seconds.
    var emptyTimeoutSeconds: Int?
    /// Open it locked against joins, to unlock later (`PATCH`).
    var locked: Bool?
}

/// `PATCH /api/v1/rooms/{room}`.
struct AdminUpdateRoom: Codable, Sendable {
    var locked: Bool
}

/// `POST /api/v1/rooms/{room}/peers/{peer}/role`.
struct AdminChangeRole: Codable, Sendable {
    var role: RoleName
    /// Give the role at once (default), or ask the peer (a prompt it may decline).
    var force: Bool?
}

/// The reply when a peer was asked rather than changed.
struct AdminPromptSent: Codable, Sendable {
    var prompt: PromptID
}

/// `POST /api/v1/rooms/{room}/messages`.
struct AdminSystemMessage: Codable, Sendable {
    var text: String
}

/// The reply to a posted message: its place in the room's log.
struct AdminPostedMessage: Codable, Sendable {
    var id: MessageID
    var seq: Int
    var sentAt: Timestamp
}

struct AdminCallList: Codable, Sendable {
    var calls: [CallInfo]
}

struct AdminCallHistory: Codable, Sendable {
    var user: PeerID
    var calls: [CallRecord]
}

/// Every error: the numbered catalog of docs/PROTOCOL.md.
struct AdminErrorBody: Codable, Sendable {
    struct Detail: Codable, Sendable {
        var code: Int
        var name: String
        var message: String
    }
    var error: Detail

    init(_ error: CodedError) {
        self.error = Detail(code: error.code.rawValue, name: "\(error.code)", message: error.message)
    }
}

extension CodedError {
    /// The HTTP status the management API answers this error with.
    var httpStatus: HTTPResponse.Status {
        switch code {
        case .notAdminToken: .forbidden
        case .tokenMissing, .tokenMalformed, .tokenSignatureInvalid, .tokenExpired, .tokenNotYetValid, .unauthorized:
            .unauthorized
        case .roomNotFound, .peerNotFound, .trackNotFound, .callNotFound: .notFound
        case .roomExists, .roomEnded, .roomLocked, .roomFull: .conflict
        case .chatRateLimited: .tooManyRequests
        case .shuttingDown: .serviceUnavailable
        case .storageFailure, .internalError: .internalServerError
        default:
            switch code.area {
            case .permission: .forbidden
            case .server: .internalServerError
            default: .badRequest
            }
        }
    }
}

extension RoomHost {
    /// The room as the management API shows it; nil unless it is open.
    func adminDetail() -> AdminRoomDetail? {
        guard room.phase == .open else { return nil }
        let peers = room.peers.values.sorted { ($0.joinedAt, $0.id) < ($1.joinedAt, $1.id) }.map { peer in
            AdminPeer(
                id: peer.id, name: peer.name, role: peer.role, connected: peer.isConnected,
                muted: peer.microphone?.muted, mutedBy: peer.microphone?.mutedBy, handRaisedAt: peer.handRaisedAt,
                joinedAt: peer.joinedAt)
        }
        let template = room.template
        return AdminRoomDetail(
            name: name, startedAt: room.startedAt, maxPeers: template.maxPeers, chatRate: template.chatRate,
            roles: template.roles.map(\.name), emptyRoomTimeoutMs: template.emptyRoomTimeoutMs, locked: room.joinsLocked,
            peers: peers)
    }

    /// The room in `GET /api/v1/rooms`; nil unless it is open.
    func adminSummary() -> AdminRoomSummary? {
        guard room.phase == .open else { return nil }
        var byRole: [String: Int] = [:]
        for peer in room.peers.values where peer.isConnected { byRole[peer.role.rawValue, default: 0] += 1 }
        return AdminRoomSummary(
            name: name, startedAt: room.startedAt, peersByRole: byRole, peers: byRole.values.reduce(0, +),
            locked: room.joinsLocked)
    }

    /// Takes `action` as the server's operator (`PeerID.server`): the same
    /// checks and events as a host's request. Returns the reply a host would get.
    func actAsServer(_ action: PeerAction) throws(CodedError) -> ServerBody {
        guard room.phase == .open else { throw CodedError(.roomNotFound, "room \(name) is not live") }
        var answer: ServerBody = .ok(OkReply())
        let result = perform(action, from: .server, idempotencyKey: nil, now: .now()) { answer = $0 }
        if case .failure(let error) = result { throw error }
        return answer
    }
}
