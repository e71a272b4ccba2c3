// One WebSocket signalling connection, from upgrade to close.
//
//   frames ─▶ connection rate, every frame before parsing (1008; sustained: close 1008)
//          ─▶ assemble (text only; > 64 KiB: counted, dropped, 1001)
//          ─▶ screen (invalid UTF-8: close 1007; nested too deep: 1000) ─▶ decode (1000/1002/1003/1004/1005)
//          ─▶ not joined: ping | join (token ─▶ room) | resume
//             joined:     ping | RoomHost.handle
//   the server root (`/`, no room): ─▶ not connected: ping | connect (user token) ─▶ CallManager
//                                     connected:     ping | CallManager.handle (calls, history)
//   messages:    ConnectionSink ─▶ the channel's event loop, in order (ConnectionSink.swift)
//   writer task: the close handshake, when the sink closes
//   deadlines:   silent for deadAfterMs, or not joined/connected within joinTimeoutMs ─▶ close
//                (one sweep for all connections: ConnectionWatch.swift)
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
    }

    private func read(_ inbound: WebSocketInboundStream, sink: ConnectionSink, watched: WatchedConnection)
        async
    {
        var session = Session.new
        let now = Timestamp.now()
        var rate = TokenBucket(limit: shared.configuration.connectionRate, now: now)
        // Refusals allowed on top (twice the burst, then the same rate): a
        // client briefly over the rate is told so; one that keeps sending at
        // twice the rate or more is closed.
        let rateLimit = shared.configuration.connectionRate
        var refusals = TokenBucket(
            limit: RateLimit(perSecond: rateLimit.perSecond, burst: rateLimit.burst * 2), now: now)
        var message: [UInt8] = []
        var messageBytes = 0
        var isText = true
        var overRate = false
        do {
            for try await frame in inbound {
                watched.touch()
                switch frame.opcode {
                case .text, .binary:
                    message.removeAll(keepingCapacity: true)
                    messageBytes = 0
                    isText = frame.opcode == .text
                    overRate = false
                case .continuation:
                    break
                }
                // Every frame costs a token before anything is parsed, before
                // and after join (PROTOCOL.md, Limits).
                if !rate.take(now: Timestamp.now()) { overRate = true }
                messageBytes += frame.data.readableBytes
                // RFC 6455 §5.4: a message may span frames; the limit is on the message.
                // Over the rate only the start is kept, for the request id.
                if messageBytes <= ProtocolLimits.maximumClientMessageBytes, isText,
                    !overRate || message.count < MessageScreen.idScanBytes
                {
                    message.append(contentsOf: frame.data.readableBytesView)
                }
                guard frame.fin else { continue }
                shared.metrics.messageReceived()
                if case .over = session { continue }  // the close frame is on its way
                if overRate {
                    guard refusals.take(now: Timestamp.now()) else {
                        logger.debug("message rate exceeded again and again; closing the connection")
                        let error = CodedError(.tooManyMessages, "over the message rate for too long; closing")
                        shared.metrics.error(error.code)
                        sink.send(error, id: nil)
                        sink.close(.policyViolation, reason: error.description)
                        session = .over
                        continue
                    }
                    refuse(
                        CodedError(
                            .tooManyMessages,
                            "at most \(shared.configuration.connectionRate.perSecond) messages a second (bursts of \(shared.configuration.connectionRate.burst))"
                        ), id: isText ? MessageScreen.requestID(in: message) : nil, sink: sink)
                } else if !isText {
                    refuse(CodedError(.malformedMessage, "binary frames are not accepted; send JSON text"), sink: sink)
                } else if messageBytes > ProtocolLimits.maximumClientMessageBytes {
                    // Refused unparsed; the connection stays open (PROTOCOL.md, Limits).
                    let error = ProtocolError(
                        .tooLarge(byteCount: messageBytes, limit: ProtocolLimits.maximumClientMessageBytes))
                    refuse(error.codedError, sink: sink)
                } else if !MessageScreen.isValidUTF8(message) {
                    // RFC 6455 §8.1: text that is not UTF-8 fails the connection, with 1007 (§7.4.1).
                    logger.debug("invalid UTF-8 in a text message; failing the connection")
                    shared.metrics.error(.malformedMessage)
                    sink.close(
                        UInt16(1007),
                        reason: "\(ErrorCode.malformedMessage.rawValue) a text message that is not UTF-8")
                    session = .over
                } else if MessageScreen.nestsTooDeep(message) {
                    refuse(
                        CodedError(.malformedMessage, "arrays and objects nest deeper than \(MessageScreen.maximumDepth) levels"),
                        sink: sink)
                } else {
                    watched.beginHandling()
                    session = await handle(Data(message), session: session, sink: sink)
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
                // Do not keep a large buffer for the life of the connection.
                if message.capacity > 256 * 1024 { message = [] }
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
        if case .ping = message.body {
            sink.send(ServerMessage(id: message.id, .pong(Pong(serverTime: Timestamp.now()))))
            return session
        }
        let onPresence = pathRoom == nil
        if message.type.isPresenceMessage != onPresence, message.type.requiresSession || message.type == .connect {
            let detail =
                onPresence
                ? "this is the server's presence connection (wss://HOST:PORT/): join rooms at wss://HOST:PORT/ROOM"
                : "\(message.type.rawValue) belongs on the server's presence connection (wss://HOST:PORT/)"
            refuse(CodedError(.wrongConnection, detail), id: message.id, sink: sink)
            return session
        }
        switch session {
        case .over:
            return .over
        case .joined(let host, let peer):
            switch message.body {
            case .join, .resume:
                refuse(CodedError(.alreadyJoined, "this connection has already joined"), id: message.id, sink: sink)
                return session
            case .reportLoss(let report):
                await host.recordLoss(report, from: peer, id: message.id, sink: sink)
                return session
            default:
                return await host.handle(message, from: peer, sink: sink) ? session : .over
            }
        case .online(let user):
            if case .connect = message.body {
                refuse(CodedError(.alreadyJoined, "this connection is already connected"), id: message.id, sink: sink)
            } else {
                await shared.calls.handle(message, from: user, sink: sink)
            }
            return session
        case .new:
            if pathRoom == nil {
                guard case .connect(let request) = message.body else {
                    let error =
                        message.type.requiresSession
                        ? CodedError(.notJoined, "send connect first")
                        : CodedError(.wrongConnection, "join rooms at wss://HOST:PORT/ROOM")
                    refuse(error, id: message.id, sink: sink)
                    return session
                }
                return await connect(request, id: message.id, sink: sink)
            }
            switch message.body {
            case .join(let request):
                return await join(request, id: message.id, sink: sink, receivedAt: receivedAt)
            case .resume(let request):
                return await resume(request, id: message.id, sink: sink, receivedAt: receivedAt)
            default:
                refuse(CodedError(.notJoined, "send join (or resume) first"), id: message.id, sink: sink)
                return session
            }
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
        guard let pathRoom, request.room == pathRoom else {
            refuse(
                CodedError(.invalidMessage, "room: must be the room of the URL path (\(pathRoom?.rawValue ?? "/"))"), id: id, sink: sink)
            return .new
        }
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
        guard let pathRoom, request.room == pathRoom else {
            refuse(
                CodedError(.invalidMessage, "room: must be the room of the URL path (\(pathRoom?.rawValue ?? "/"))"), id: id, sink: sink)
            return .new
        }
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
