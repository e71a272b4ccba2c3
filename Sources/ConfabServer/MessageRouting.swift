// Where a signalling connection sends a decoded message, by what the
// connection has become so far: I/O-free, so that every order of join,
// resume, connect and the rest is tested without a server
// (SignalingConnection does what the route says).
//
//   a room's URL (wss://HOST:PORT/ROOM):   new ─▶ join | resume ─▶ joined ─▶ the room
//   the server root (wss://HOST:PORT/):    new ─▶ connect ─▶ online ─▶ calls, history
//   either, any phase but over: ping ─▶ pong; the other connection's messages ─▶ 1010 wrongConnection
//   over (left, removed, refused for good): nothing more is read

import ConfabProtocol

/// What a connection is, as far as its messages go.
package enum ConnectionPhase: Hashable, Sendable {
    /// Not joined a room or connected for presence yet.
    case new
    /// In the room of its URL.
    case joined
    /// Online on the presence connection.
    case online
    /// The session ended (leave, removal, a refusal that closes); further input is ignored.
    case over
}

/// What to do with one message.
package enum MessageRoute: Hashable, Sendable {
    case ignore
    case pong
    /// Refuse it with this error; the phase stays.
    case refuse(CodedError)
    /// Verify the token and admit: the phase becomes joined (or online) on success.
    case join(JoinRequest)
    case resume(ResumeRequest)
    case connect(ConnectRequest)
    /// The joined peer's room handles it.
    case room
    /// A joined peer's loss report, for the room's media plane.
    case loss(LossReport)
    /// The online user's calls and history.
    case calls

    /// `pathRoom`: the room of the connection's URL; nil for the server root.
    package static func of(_ message: ClientMessage, phase: ConnectionPhase, pathRoom: RoomName?) -> MessageRoute {
        if phase == .over { return .ignore }
        if case .ping = message.body { return .pong }
        let onPresence = pathRoom == nil
        if message.type.isPresenceMessage != onPresence, message.type.requiresSession || message.type == .connect {
            return .refuse(
                CodedError(
                    .wrongConnection,
                    onPresence
                        ? "this is the server's presence connection (wss://HOST:PORT/): join rooms at wss://HOST:PORT/ROOM"
                        : "\(message.type.rawValue) belongs on the server's presence connection (wss://HOST:PORT/)"))
        }
        switch phase {
        case .over:
            return .ignore
        case .joined:
            switch message.body {
            case .join, .resume: return .refuse(CodedError(.alreadyJoined, "this connection has already joined"))
            case .reportLoss(let report): return .loss(report)
            default: return .room
            }
        case .online:
            if case .connect = message.body {
                return .refuse(CodedError(.alreadyJoined, "this connection is already connected"))
            }
            // join and resume (the rest of the room's messages met the check above).
            guard message.type.isPresenceMessage else {
                return .refuse(CodedError(.wrongConnection, "join rooms at wss://HOST:PORT/ROOM"))
            }
            return .calls
        case .new:
            guard let pathRoom else {
                if case .connect(let request) = message.body { return .connect(request) }
                return .refuse(
                    message.type.requiresSession
                        ? CodedError(.notJoined, "send connect first")
                        : CodedError(.wrongConnection, "join rooms at wss://HOST:PORT/ROOM"))
            }
            let wrongRoom = CodedError(.invalidMessage, "room: must be the room of the URL path (\(pathRoom.rawValue))")
            switch message.body {
            case .join(let request): return request.room == pathRoom ? .join(request) : .refuse(wrongRoom)
            case .resume(let request): return request.room == pathRoom ? .resume(request) : .refuse(wrongRoom)
            default: return .refuse(CodedError(.notJoined, "send join (or resume) first"))
            }
        }
    }
}
