// Writes that are a record, not a promise to anyone: a room's start and end,
// a peer's joins and leaves, a user's calls.
//
//   RoomHost / CallManager ─▶ record(…) ─▶ one task after another ─▶ ServerStore
//                                          (a failure is logged; the meeting goes on)
//
// They run off the caller's path and in the order they were asked for: a
// room goes on while the database is slow or down, and a leave is written
// after the join it closes (the join's row id is known by then).

import ConfabProtocol
import Logging
import Synchronization

final class HistoryRecorder: Sendable {
    private let store: any ServerStore
    private let logger: Logger
    /// The last write asked for; each new one waits for it.
    private let tail = Mutex<Task<Void, Never>?>(nil)

    init(store: any ServerStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Queues a write after those already queued.
    func record(_ what: String, _ write: @escaping @Sendable (any ServerStore) async throws -> Void) {
        tail.withLock { tail in
            let previous = tail
            tail = Task { [store, logger] in
                await previous?.value
                do {
                    try await write(store)
                } catch {
                    logger.error("cannot \(what)", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Returns when every write queued so far has ended, or after `limit`
    /// (with the database away, each waits for its deadline in turn: a
    /// shutdown must not wait for all of them).
    func flush(within limit: Duration) async {
        guard let last = tail.withLock({ $0 }) else { return }
        let waiter = Waiter()
        await withCheckedContinuation { continuation in
            waiter.set(continuation)
            Task {
                await last.value
                waiter.resume()
            }
            Task {
                try? await Task.sleep(for: limit)
                waiter.resume()
            }
        }
    }

    /// Resumes a continuation once, whichever comes first.
    private final class Waiter: Sendable {
        private let continuation = Mutex<CheckedContinuation<Void, Never>?>(nil)

        func set(_ continuation: CheckedContinuation<Void, Never>) {
            self.continuation.withLock { $0 = continuation }
        }

        func resume() {
            continuation.withLock { $0.take() }?.resume()
        }
    }
}

/// The open peer_session row of each peer of a room, written and read only by
/// the room's recorder tasks (in order), so a leave finds its join's row.
final class PeerSessionRows: Sendable {
    private let rows = Mutex<[PeerID: Int64]>([:])

    func set(_ row: Int64, for peer: PeerID) {
        rows.withLock { $0[peer] = row }
    }

    func take(_ peer: PeerID) -> Int64? {
        rows.withLock { $0.removeValue(forKey: peer) }
    }
}
