// What the management API's handlers need of the rest of the server: the
// HTTP status of each catalog error, and a room's state as the API shows it
// (the bodies themselves are in ConfabProtocol/AdminAPI.swift).

import ConfabProtocol
import ConfabRooms
import HTTPTypes

extension CodedError {
    /// The HTTP status the management API answers this error with.
    var httpStatus: HTTPResponse.Status {
        switch code {
        case .notAdminToken: .forbidden
        case .codeNotFound, .unknownEndpoint: .notFound
        case .codeRevoked, .codeExpired, .codeUsedUp: .gone
        case .tokenMissing, .tokenMalformed, .tokenSignatureInvalid, .tokenExpired, .tokenNotYetValid, .unauthorized,
            .adminTokenRevoked:
            .unauthorized
        case .codeRateLimited: .tooManyRequests
        case .roomNotFound, .peerNotFound, .trackNotFound, .callNotFound: .notFound
        case .roomExists, .roomEnded, .roomLocked, .roomFull: .conflict
        case .chatRateLimited: .tooManyRequests
        case .stateFull: .conflict
        // The room cannot be placed now (a cluster without a live node for it): retry.
        case .shuttingDown, .storageUnavailable, .roomUnavailable: .serviceUnavailable
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
            peers: peers, state: room.sharedStateEntries ?? [])
    }

    /// The room in `GET /api/v1/rooms`; nil unless it is open.
    func adminSummary(node: String) -> AdminRoomSummary? {
        guard room.phase == .open else { return nil }
        var byRole: [String: Int] = [:]
        for peer in room.peers.values where peer.isConnected { byRole[peer.role.rawValue, default: 0] += 1 }
        return AdminRoomSummary(
            name: name, startedAt: room.startedAt, peersByRole: byRole, peers: byRole.values.reduce(0, +),
            locked: room.joinsLocked, node: node)
    }

    /// Takes `action` as the server's operator (`PeerID.server`): the same
    /// checks and events as a host's request. Returns the reply a host would get.
    func actAsServer(_ action: PeerAction) async throws(CodedError) -> ServerBody {
        guard room.phase == .open else { throw CodedError(.roomNotFound, "room \(name) is not live") }
        if case .sendChat = action {
            await takeChatTurn()
            defer { passChatTurn() }
            guard room.phase == .open else { throw CodedError(.roomNotFound, "room \(name) is not live") }
            return try await postChat(action, from: .server, idempotencyKey: nil).get()
        }
        var answer: ServerBody = .ok(OkReply())
        let result = await performKeepingSessions(action, from: .server, now: .now()) { answer = $0 }
        if case .failure(let error) = result { throw error }
        return answer
    }
}
