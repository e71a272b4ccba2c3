// The outgoing side of one WebSocket connection.
//
//   RoomHost (fan-out, replies) ─▶ ConnectionSink.send ─▶ AsyncStream (bounded) ─▶ writer task ─▶ WebSocket
//
// `send` never waits, so a room can deliver an event to a thousand peers
// without suspending (an `await` per peer would let other requests interleave
// and reorder events). Each connection's writer drains its own queue in
// order. A client that stops reading fills its queue; it is then dropped
// (closed with 1008 and `9003 overloaded`) rather than holding memory for ever.

import ConfabProtocol
import Foundation
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
    private let state = Mutex(State())

    private struct State {
        var closing = false
        var overflowed = false
    }

    /// Messages queued for a slow reader before it is dropped.
    static let queueLimit = 8_192

    private static let counter = Atomic<UInt64>(0)

    init(continuation: AsyncStream<Outbound>.Continuation, localAddress: String? = nil) {
        id = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue
        self.continuation = continuation
        self.localAddress = localAddress
    }

    static func make(localAddress: String? = nil) -> (ConnectionSink, AsyncStream<Outbound>) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Outbound.self, bufferingPolicy: .bufferingOldest(queueLimit))
        return (ConnectionSink(continuation: continuation, localAddress: localAddress), stream)
    }

    /// Queues an encoded message; ignored once the connection is closing.
    func send(_ text: String) {
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
