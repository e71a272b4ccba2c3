// The outgoing side of one WebSocket connection.
//
//   a live connection:  RoomHost (fan-out, replies) ─▶ ConnectionSink.send ─▶ outbox of the channel's
//                       event loop (EventLoopOutbox.swift) ─▶ the channel ─▶ TLS
//                       close ─▶ AsyncStream ─▶ writer task ─▶ (what was sent is handed over) ─▶ close handshake
//   in memory (tests, relayed stand-ins): send and close ─▶ AsyncStream (bounded) ─▶ whoever reads it
//
// `send` never waits, so a room can deliver an event to ten thousand peers
// without suspending (an `await` per peer would let other requests interleave
// and reorder events). On a live connection the text frame goes to the
// outbox of the channel's event loop, which writes it in order with every
// other frame of that loop: a writer task per connection cost a
// cooperative-pool job, an actor hop and an async writer per message, and in
// a town hall one broadcast is 10,000 messages that joins queued behind. A client that
// stops reading leaves its frames unwritten; past `queueLimit` of them, or
// `byteLimit` bytes of them, it is dropped (closed with 1008 and `9003
// overloaded`) rather than holding memory for ever.

import ConfabProtocol
import Foundation
import NIOCore
import NIOWebSocket
import Synchronization

/// What a connection's writer sends, in order.
enum Outbound: Sendable {
    case text(String)
    /// Send a close frame (RFC 6455 §5.5.1) with this status code (§7.4) and stop writing.
    case close(UInt16, reason: String)
}

final class ConnectionSink: Sendable {
    /// Unique per connection, so a room can tell a replaced connection from the current one.
    let id: UInt64
    /// The server's address on this connection (the one the client reached),
    /// told to the client as its media address when the server listens on a wildcard.
    let localAddress: String?
    private let continuation: AsyncStream<Outbound>.Continuation
    /// The live connection's channel and the outbox of its event loop; nil for an in-memory sink.
    private let channel: (any Channel)?
    private let outbox: EventLoopOutbox?
    private let queueLimit: Int
    private let byteLimit: Int
    private let state = Mutex(State())

    private struct State {
        var closing = false
        var overflowed = false
        /// Frames handed to the channel and not yet written to the socket, and their bytes.
        var unwritten = 0
        var unwrittenBytes = 0
    }

    /// Messages queued for a slow reader before it is dropped.
    static let queueLimit = 8_192
    /// Bytes queued for a slow reader before it is dropped: a few of the
    /// largest messages (a 200-message history page of long chat is ~12 MB),
    /// so that a client asking and never reading cannot hold gigabytes.
    static let byteLimit = 64 << 20

    private static let counter = Atomic<UInt64>(0)

    private init(
        continuation: AsyncStream<Outbound>.Continuation, channel: (any Channel)?, queueLimit: Int,
        byteLimit: Int = byteLimit, localAddress: String?
    ) {
        id = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue
        self.continuation = continuation
        self.channel = channel
        outbox = channel.map { EventLoopOutbox.of($0.eventLoop) }
        self.queueLimit = queueLimit
        self.byteLimit = byteLimit
        self.localAddress = localAddress
    }

    /// An in-memory sink: messages and the close arrive on the stream.
    static func make(localAddress: String? = nil) -> (ConnectionSink, AsyncStream<Outbound>) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Outbound.self, bufferingPolicy: .bufferingOldest(queueLimit))
        let sink = ConnectionSink(
            continuation: continuation, channel: nil, queueLimit: queueLimit, localAddress: localAddress)
        return (sink, stream)
    }

    /// A sink that writes text frames straight to a WebSocket channel (its
    /// pipeline ends in a `WebSocketFrameEncoder`); only the close arrives on
    /// the stream, for the writer that runs the close handshake.
    static func make(
        writingTo channel: any Channel, queueLimit: Int = queueLimit, byteLimit: Int = byteLimit,
        localAddress: String? = nil
    ) -> (ConnectionSink, AsyncStream<Outbound>) {
        let (stream, continuation) = AsyncStream.makeStream(of: Outbound.self, bufferingPolicy: .bufferingOldest(2))
        let sink = ConnectionSink(
            continuation: continuation, channel: channel, queueLimit: queueLimit, byteLimit: byteLimit,
            localAddress: localAddress)
        return (sink, stream)
    }

    /// Queues an encoded message; ignored once the connection is closing.
    func send(_ text: String) {
        guard let channel, let outbox else {
            sendInMemory(text)
            return
        }
        enum Verdict { case write, ignore, drop }
        let verdict = state.withLock { state -> Verdict in
            guard !state.closing else { return .ignore }
            guard state.unwritten < queueLimit, state.unwrittenBytes + text.utf8.count <= byteLimit else {
                state.overflowed = true
                state.closing = true
                return .drop
            }
            state.unwritten += 1
            state.unwrittenBytes += text.utf8.count
            return .write
        }
        switch verdict {
        case .write:
            // RFC 6455 §5.1: a server's frames are not masked.
            let frame = WebSocketFrame(fin: true, opcode: .text, data: channel.allocator.buffer(string: text))
            outbox.enqueue(.frame(frame, to: channel, counted: self))
        case .ignore:
            return
        case .drop:
            // A reader this far behind would not answer a close handshake
            // either: the close frame goes after what is queued and the
            // channel is closed (its unwritten frames fail, freeing them).
            continuation.finish()
            var payload = channel.allocator.buffer(capacity: 32)
            payload.writeInteger(WebSocketCloseCode.policyViolation.rawValue)
            payload.writeString("\(ErrorCode.overloaded.rawValue) client too slow")
            outbox.enqueue(.drop(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload), closing: channel))
        }
    }

    /// A frame of this connection reached the socket (or failed with it).
    func frameWritten(bytes: Int) {
        state.withLock { state in
            state.unwritten -= 1
            state.unwrittenBytes -= bytes
        }
    }

    /// Waits until every message sent so far has been handed to the channel,
    /// so that a close handshake started next comes after them.
    func handedOver() async {
        await outbox?.handedOver()
    }

    private func sendInMemory(_ text: String) {
        let accepted = state.withLock { state -> Bool in
            guard !state.closing else { return false }
            return true
        }
        guard accepted else { return }
        if case .dropped = continuation.yield(.text(text)) {
            state.withLock {
                $0.overflowed = true
                $0.closing = true
            }
            continuation.finish()
        }
    }

    func send(_ message: ServerMessage) {
        send(Self.encode(message))
    }

    /// Queues the close frame; later sends are dropped. The reason starts
    /// with the catalog number and is cut to fit a control frame (RFC 6455
    /// §5.5: 125 bytes, 2 of them the code).
    func close(_ code: WebSocketCloseCode, reason: String) {
        close(code.rawValue, reason: reason)
    }

    /// Queues a close frame with a status code the protocol's catalog does
    /// not map to (1007 for text that is not UTF-8).
    func close(_ code: UInt16, reason: String) {
        let first = state.withLock { state -> Bool in
            guard !state.closing else { return false }
            state.closing = true
            return true
        }
        guard first else { return }
        continuation.yield(.close(code, reason: Self.fit(reason)))
        continuation.finish()
    }

    /// Sends a coded error (with the request id, if any), closing the
    /// connection when the catalog says the error ends it.
    func send(_ error: CodedError, id: RequestID?) {
        send(ServerMessage(id: id, .error(error)))
        if error.code.closesConnection {
            close(error.code.webSocketCloseCode, reason: error.description)
        }
    }

    /// No more messages: the writer stops after what is queued.
    func finish() {
        continuation.finish()
    }

    var isClosing: Bool { state.withLock { $0.closing } }
    var overflowed: Bool { state.withLock { $0.overflowed } }

    static func encode(_ message: ServerMessage) -> String {
        String(decoding: ProtocolCodec().encode(message), as: UTF8.self)
    }

    static func fit(_ reason: String) -> String {
        guard reason.utf8.count > 123 else { return reason }
        var cut = ""
        for character in reason {
            guard cut.utf8.count + character.utf8.count <= 120 else { break }
            cut.append(character)
        }
        return cut + "..."
    }
}

extension Timestamp {
    /// The wall clock, for the times the protocol shows (joinedAt, sentAt).
    static func now() -> Timestamp {
        Timestamp(millisecondsSince1970: Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down)))
    }
}
