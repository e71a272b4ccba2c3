// The frames waiting to be written to the connections of one event loop.
//
//   room actor ─ send ─▶ outbox of the connection's loop (FIFO, a lock and an append)
//                          └ drain on the loop: ≤ framesPerTurn writes, then the loop's
//                            sockets (reads, TLS handshakes), then the next turn
//
// A broadcast in a town hall is ten thousand frames. Handed to the loops one
// task per frame, it cost the room's actor ~7 µs a frame (a task allocation
// and a wake-up each) — 70 ms in which no join was admitted — and then held
// each loop for tens of milliseconds in which no newcomer's handshake or join
// was read. Queued here it costs the actor an append, and each loop writes
// it in slices between its reads. All frames of a connection pass through
// the one outbox of its loop, so they are written in the order sent.

import NIOCore
import NIOWebSocket
import Synchronization

final class EventLoopOutbox: Sendable {
    enum Entry: Sendable {
        /// A frame for a connection, and the sink that counts it until written.
        case frame(WebSocketFrame, to: any Channel, counted: ConnectionSink)
        /// The last frame for a connection that is dropped, then the close.
        case drop(WebSocketFrame, closing: any Channel)
        /// Succeeded once everything queued before it has been handed to its channel.
        case barrier(EventLoopPromise<Void>)
    }

    /// Frames written per turn of the loop before it goes back to its other work.
    static let framesPerTurn = 256
    /// Between two turns: 10,000 frames take 40 turns, so a broadcast waits 2 ms more in all.
    static let pauseBetweenTurns = TimeAmount.microseconds(50)

    private let loop: any EventLoop
    private let state = Mutex(State())

    private struct State {
        var queue = CircularBuffer<Entry>(initialCapacity: 64)
        var draining = false
    }

    private init(loop: any EventLoop) {
        self.loop = loop
    }

    private static let outboxes = Mutex<[ObjectIdentifier: EventLoopOutbox]>([:])

    /// The outbox of `loop`, made on first use (one per event loop: a handful per process).
    static func of(_ loop: any EventLoop) -> EventLoopOutbox {
        outboxes.withLock { outboxes in
            if let outbox = outboxes[ObjectIdentifier(loop)] { return outbox }
            let outbox = EventLoopOutbox(loop: loop)
            outboxes[ObjectIdentifier(loop)] = outbox
            return outbox
        }
    }

    func enqueue(_ entry: Entry) {
        let startDraining = state.withLock { state -> Bool in
            state.queue.append(entry)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if startDraining { loop.execute { self.drainTurn() } }
    }

    /// Waits until everything queued so far has been handed to its channel
    /// (not until the peer read it: a slow reader cannot hold this up).
    func handedOver() async {
        let promise = loop.makePromise(of: Void.self)
        enqueue(.barrier(promise))
        try? await promise.futureResult.get()
    }

    private func drainTurn() {
        var turn: [Entry] = []
        turn.reserveCapacity(Self.framesPerTurn)
        state.withLock { state in
            while turn.count < Self.framesPerTurn, let entry = state.queue.popFirst() { turn.append(entry) }
        }
        for entry in turn {
            switch entry {
            case .frame(let frame, let channel, let sink):
                let bytes = frame.data.readableBytes
                channel.writeAndFlush(frame).whenComplete { _ in sink.frameWritten(bytes: bytes) }
            case .drop(let frame, let channel):
                channel.writeAndFlush(frame, promise: nil)
                channel.close(promise: nil)
            case .barrier(let promise):
                promise.succeed()
            }
        }
        let more = state.withLock { state -> Bool in
            guard state.queue.isEmpty else { return true }
            state.draining = false
            return false
        }
        // Scheduled a moment ahead, not executed: a loop runs the tasks added
        // while it runs tasks in the same tick, and only a task that is not
        // due yet lets it go back to its sockets (reads, handshakes) first.
        if more { loop.scheduleTask(in: Self.pauseBetweenTurns) { self.drainTurn() } }
    }
}
