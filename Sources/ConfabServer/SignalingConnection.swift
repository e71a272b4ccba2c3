// One WebSocket signalling connection, from upgrade to close.
//
//   frames ─▶ InboundMessageGate: the connection's rate, assembly, size, UTF-8, depth
//          ─▶ decode (1000/1002/1003/1004/1005)
//          ─▶ MessageRoute: not joined: ping | join (token ─▶ room) | resume
//                           joined:     ping | RoomHost.handle
//   the server root (`/`, no room): ─▶ not connected: ping | connect (user token) ─▶ CallManager
//                                     connected:     ping | CallManager.handle (calls, history)
//   messages:    ConnectionSink ─▶ the channel's event loop, in order (ConnectionSink.swift)
//   writer task: the close handshake, when the sink closes
//   deadlines:   silent for deadAfterMs, or not joined/connected within joinTimeoutMs ─▶ close
//                (one sweep for all connections; a message frame marks its connection heard
//                when the event loop decodes it, before the reader takes it: ConnectionWatch.swift)
//
// Two tasks share the connection: the reader (this file's loop, a child) and
// the writer (the connection's task). The writer ends the connection: when it
// has sent a close frame (or the reader finished), the reader is cancelled.

import ConfabProtocol
import ConfabRooms
import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

struct SignalingConnection: Sendable {
    /// The room of the URL path; nil for the server root, the presence connection.
    let pathRoom: RoomName?
    let shared: ConnectionContext
    /// The connection's NIO channel: admission counts it until it authenticates.
    let channel: any Channel
    let logger: Logger
    /// The server's IP address on this connection (see `ConnectionSink.localAddress`).
    var localAddress: String? = nil

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let (sink, queue) = ConnectionSink.make(writingTo: channel, localAddress: localAddress)
        let watched = WatchedConnection(sink: sink, pathRoom: pathRoom, logger: logger)
        shared.watch.register(watched)
        defer { shared.watch.unregister(watched) }
        do {
            try await HeardMark.install(for: watched, on: channel)
        } catch {
            // A channel closed already has no pipeline left; anything else means
            // the WebSocket library's pipeline changed, and only the reader marks.
            if channel.isActive {
                logger.warning("liveness is marked by the reader alone", metadata: ["error": "\(error)"])
            }
        }
        // The connection's own task waits for the close while a child reads:
        // two tasks per connection, not three (each suspended task keeps its
        // async stack, and a town hall holds ten thousand connections).
        await withDiscardingTaskGroup { group in
            group.addTask {
                await read(inbound, sink: sink, watched: watched)
                // Let the writer finish the queue, then stop.
                sink.finish()
            }
            await Self.write(queue, to: outbound, sink: sink)
            group.cancelAll()
        }
    }

    // MARK: - Writing

    private static func write(_ queue: AsyncStream<Outbound>, to outbound: WebSocketOutboundWriter, sink: ConnectionSink)
        async
    {
        for await item in queue {
            switch item {
            case .text(let text):
                do {
                    try await outbound.write(.text(text))
                } catch {
                    return  // the connection is gone
                }
            case .close(let code, let reason):
                // The close frame goes after every message sent before it (an error, say).
                await sink.handedOver()
                try? await outbound.close(WebSocketErrorCode(codeNumber: Int(code)), reason: reason)
                return
            }
        }
        await sink.handedOver()
        if sink.overflowed {
            try? await outbound.close(.policyViolation, reason: "\(ErrorCode.overloaded.rawValue) client too slow")
        }
    }

    // MARK: - Reading

    private enum Session {
        case new
        case joined(RoomHost, PeerID)
        /// Online on the presence connection.
        case online(PeerID)
        /// The session ended (leave, removal, failed join…); further input is ignored.
        case over

        var phase: ConnectionPhase {
            switch self {
            case .new: .new
            case .joined: .joined
            case .online: .online
            case .over: .over
            }
        }
    }

    private func read(_ inbound: WebSocketInboundStream, sink: ConnectionSink, watched: WatchedConnection)
        async
    {
        var session = Session.new
        var gate = InboundMessageGate(rate: shared.configuration.connectionRate, now: Timestamp.now())
        do {
            for try await frame in inbound {
                watched.touch()
                let kind: InboundMessageGate.FrameKind =
                    switch frame.opcode {
                    case .text: .text
                    case .binary: .binary
                    default: .continuation
                    }
                guard
                    let outcome = gate.take(kind, fin: frame.fin, payload: frame.data.readableBytesView, now: Timestamp.now())
                else { continue }
                shared.metrics.messageReceived()
                if case .over = session { continue }  // the close frame is on its way
                switch outcome {
                case .refuse(let error, let id):
                    refuse(error, id: id, sink: sink)
                case .close(let code, let error, let sendError):
                    logger.debug("failing the connection", metadata: ["code": "\(error.code.rawValue)", "message": "\(error.message)"])
                    shared.metrics.error(error.code)
                    if sendError { sink.send(error, id: nil) }
                    sink.close(code, reason: error.description)
                    session = .over
                case .message(let bytes):
                    watched.beginHandling()
                    session = await handle(Data(bytes), session: session, sink: sink)
                    watched.endHandling()
                    switch session {
                    case .joined, .online:
                        if !watched.isAdmitted {
                            watched.admit()
                            shared.admission.authenticated(channel)
                        }
                    case .new, .over: break
                    }
                }
            }
        } catch {
            logger.debug("connection read failed", metadata: ["error": "\(error)"])
        }
        switch session {
        case .joined(let host, let peer): await host.connectionLost(peer, sink: sink)
        case .online(let user): await shared.calls.disconnect(user, sink: sink)
        case .new, .over: break
        }
    }

    private func handle(_ data: Data, session: Session, sink: ConnectionSink) async -> Session {
        let receivedAt = ContinuousClock.now
        let message: ClientMessage
        do {
            message = try ProtocolCodec().decode(data, as: ClientMessage.self)
        } catch {
            refuse(error.codedError, id: error.requestID, sink: sink)
            return error.codedError.code.closesConnection ? .over : session
        }
        switch (MessageRoute.of(message, phase: session.phase, pathRoom: pathRoom), session) {
        case (.ignore, _):
            return session
        case (.pong, _):
            sink.send(ServerMessage(id: message.id, .pong(Pong(serverTime: Timestamp.now()))))
            return session
        case (.refuse(let error), _):
            refuse(error, id: message.id, sink: sink)
            return session
        case (.connect(let request), _):
            return await connect(request, id: message.id, sink: sink)
        case (.join(let request), _):
            return await join(request, id: message.id, sink: sink, receivedAt: receivedAt)
        case (.resume(let request), _):
            return await resume(request, id: message.id, sink: sink, receivedAt: receivedAt)
        case (.loss(let report), .joined(let host, let peer)):
            await host.recordLoss(report, from: peer, id: message.id, sink: sink)
            return session
        case (.room, .joined(let host, let peer)):
            return await host.handle(message, from: peer, sink: sink) ? session : .over
        case (.calls, .online(let user)):
            await shared.calls.handle(message, from: user, sink: sink)
            return session
        case (.loss, _), (.room, _), (.calls, _):
            return session  // routed only in the phase that has them
        }
    }

    private func connect(_ request: ConnectRequest, id: RequestID, sink: ConnectionSink) async -> Session {
        do throws(CodedError) {
            let user = try await shared.authority.verifyUser(request.token, now: Timestamp.now())
            try await shared.calls.connect(user, request: request, requestID: id, sink: sink)
            return .online(user.user)
        } catch {
            refuse(error, id: id, sink: sink)
            return error.code.closesConnection ? .over : .new
        }
    }

    private func join(_ request: JoinRequest, id: RequestID, sink: ConnectionSink, receivedAt: ContinuousClock.Instant)
        async -> Session
    {
        do throws(CodedError) {
            let token = try await shared.authority.verify(request.token, room: request.room, now: Timestamp.now())
            // A room retired between lookup and join is looked up again (made afresh).
            for _ in 0..<3 {
                let host = try await shared.registry.placedHost(for: request.room)
                if case .admitted(let peer) = try await host.join(
                    token, request: request, requestID: id, sink: sink, receivedAt: receivedAt)
                {
                    return .joined(host, peer)
                }
            }
            throw CodedError(.roomUnavailable, "the room is restarting; try again")
        } catch {
            refuse(error, id: id, sink: sink)
            return error.code.closesConnection ? .over : .new
        }
    }

    private func resume(
        _ request: ResumeRequest, id: RequestID, sink: ConnectionSink, receivedAt: ContinuousClock.Instant
    ) async -> Session {
        do throws(CodedError) {
            if let elsewhere = await shared.registry.redirectForResume(request.room) { throw elsewhere }
            if let host = await shared.registry.existingHost(for: request.room) {
                do throws(CodedError) {
                    if case .admitted(let peer) = try await host.resume(
                        request, requestID: id, sink: sink, receivedAt: receivedAt)
                    {
                        return .joined(host, peer)
                    }
                } catch {
                    // Unknown here: perhaps kept by a node that died (a cluster).
                    guard error.code == .resumeRejected else { throw error }
                }
            }
            if let (host, peer) = try await shared.registry.restoreAfterFailover(
                request, requestID: id, sink: sink, receivedAt: receivedAt)
            {
                return .joined(host, peer)
            }
            throw CodedError(.resumeRejected, "no session to resume in \(request.room); join again")
        } catch {
            refuse(error, id: id, sink: sink)
            return error.code.closesConnection ? .over : .new
        }
    }

    private func refuse(_ error: CodedError, id: RequestID? = nil, sink: ConnectionSink) {
        shared.metrics.error(error.code)
        logger.debug("refused", metadata: ["code": "\(error.code.rawValue)", "message": "\(error.message)"])
        sink.send(error, id: id)
    }
}
