// A WebSocket client that speaks raw JSON: tests write the exact text a
// client in any language would send and read what the server answers.
//
//   test ─▶ send(text) ─▶ outgoing queue ─▶ WebSocket (TLS, pinned) ─▶ server
//   test ◀─ next()     ◀─ inbox (every text message, in order) ◀──────┘

import ConfabProtocol
import ConfabTestSupport
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL
import NIOWebSocket
import Synchronization

final class RawClient: Sendable {
    private enum Outgoing: Sendable {
        case text(String)
        /// One frame holding exactly these bytes, UTF-8 or not, in or out of order.
        case frame(WebSocketOpcode, fin: Bool, [UInt8])
        case close
    }

    private let messages: Inbox
    private let outgoing: AsyncStream<Outgoing>.Continuation
    private let task: Task<WebSocketCloseFrame?, any Error>

    static func connect(host: String = "127.0.0.1", port: Int, room: String, tls: TLSConfiguration) async throws -> RawClient {
        let authority = host.contains(":") ? "[\(host)]" : host
        let (stream, continuation) = AsyncStream.makeStream(of: Outgoing.self)
        let inbox = Inbox()
        var logger = Logger(label: "confab.test.client")
        logger.logLevel = .critical
        let task = Task {
            defer { inbox.finish() }
            return try await WebSocketClient.connect(
                url: "wss://\(authority):\(port)/\(room)",
                configuration: WebSocketClientConfiguration(
                    maxFrameSize: 16 << 20, closeTimeout: .seconds(2), sniHostname: "localhost"),
                tlsConfiguration: tls, logger: logger
            ) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await item in stream {
                            switch item {
                            case .text(let text): try await outbound.write(.text(text))
                            case .frame(let opcode, let fin, let bytes):
                                try await outbound.write(
                                    .custom(WebSocketFrame(fin: fin, opcode: opcode, data: ByteBuffer(bytes: bytes))))
                            case .close:
                                try await outbound.close(.normalClosure, reason: nil)
                                return
                            }
                        }
                    }
                    for try await message in inbound.messages(maxSize: 16 << 20) {
                        if case .text(let text) = message { inbox.push(text) }
                    }
                    group.cancelAll()
                }
            }
        }
        return RawClient(outgoing: continuation, task: task, inbox: inbox)
    }

    private init(
        outgoing: AsyncStream<Outgoing>.Continuation, task: Task<WebSocketCloseFrame?, any Error>, inbox: Inbox
    ) {
        self.outgoing = outgoing
        self.task = task
        messages = inbox
    }

    /// Sends one text message exactly as given.
    func send(_ text: String) {
        outgoing.yield(.text(text))
    }

    /// Sends one text frame with these bytes as its payload (tests of invalid UTF-8).
    func send(textBytes bytes: [UInt8]) {
        outgoing.yield(.frame(.text, fin: true, bytes))
    }

    /// Sends one frame as given, whether or not it is in order (RFC 6455 §5.4).
    func send(frame opcode: WebSocketOpcode, fin: Bool, _ bytes: [UInt8]) {
        outgoing.yield(.frame(opcode, fin: fin, bytes))
    }

    /// The next message, decoded; throws if none comes within `timeout` or the connection ended.
    func next(timeout: Duration = .seconds(60)) async throws -> ServerMessage {
        let text = try await nextText(timeout: timeout)
        return try ProtocolCodec().decode(Data(text.utf8), as: ServerMessage.self)
    }

    /// The next message as sent.
    func nextText(timeout: Duration = .seconds(60)) async throws -> String {
        var popped = Inbox.Popped.empty
        _ = await waitUntil(timeout: timeout, every: .milliseconds(2)) {
            popped = messages.pop()
            if case .empty = popped { return false }
            return true
        }
        switch popped {
        case .message(let text): return text
        case .ended:
            // Surface why: a failed connect or TLS handshake throws here.
            let frame = try await task.value
            throw ToolError("the connection ended (close \(frame.map { "\($0.closeCode) \($0.reason ?? "")" } ?? "none"))")
        case .empty:
            throw ToolError("no message within \(timeout)")
        }
    }

    /// Skips messages until one of `type` arrives; returns it.
    func next(_ type: ServerMessageType, timeout: Duration = .seconds(60)) async throws -> ServerMessage {
        let deadline = ContinuousClock.now + timeout
        while true {
            let message = try await next(timeout: max(.zero, deadline - ContinuousClock.now))
            if message.type == type { return message }
        }
    }

    /// Skips messages until one that `predicate` accepts arrives; returns it.
    func next(
        timeout: Duration = .seconds(60), where predicate: (ServerMessage) -> Bool
    ) async throws -> ServerMessage {
        let deadline = ContinuousClock.now + timeout
        while true {
            let message = try await next(timeout: max(.zero, deadline - ContinuousClock.now))
            if predicate(message) { return message }
        }
    }

    /// Proves nothing else was queued for this client: a ping's pong is the
    /// next message. (Events caused by an earlier request are queued before
    /// that request's reply, so any would come first.)
    func expectQuiet(_ note: String = "") async throws -> ServerMessage? {
        send(#"{"v": 1, "type": "ping", "id": "quiet"}"#)
        let message = try await next()
        if case .pong = message.body, message.id?.rawValue == "quiet" { return nil }
        return message
    }

    /// Sends a close frame (a polite client).
    func close() {
        outgoing.yield(.close)
    }

    /// Drops the TCP connection without a close frame, as a killed process would.
    func kill() {
        task.cancel()
    }

    /// Waits until the server closes; the close frame it sent, if any.
    func closeFrame(timeout: Duration = .seconds(60)) async throws -> WebSocketCloseFrame? {
        guard await waitUntil(timeout: timeout, every: .milliseconds(5), { messages.isEnded }) else {
            throw ToolError("the connection stayed open")
        }
        return try await task.value
    }
}

/// Received messages, in order.
private final class Inbox: Sendable {
    enum Popped {
        case message(String)
        case empty
        case ended
    }

    private let state = Mutex<(messages: [String], head: Int, ended: Bool)>(([], 0, false))

    func push(_ text: String) { state.withLock { $0.messages.append(text) } }
    func finish() { state.withLock { $0.ended = true } }
    var isEnded: Bool { state.withLock { $0.ended } }

    func pop() -> Popped {
        state.withLock { state in
            guard state.head < state.messages.count else { return state.ended ? .ended : .empty }
            defer { state.head += 1 }
            return .message(state.messages[state.head])
        }
    }
}
