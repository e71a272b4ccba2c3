// Lets the server's room timers (the sweep and the speakers tick) rest while
// no room is live, so an idle server does not wake up at all: they wait here
// until the next room opens instead of polling once a second.
import Synchronization

final class RoomOpenings: Sendable {
    private struct State {
        var opened = 0
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// How many rooms have opened so far; read it before checking that none
    /// is live, and pass it to `wait(after:)`, so an opening in between is not missed.
    var count: Int { state.withLock { $0.opened } }

    func noteOpened() {
        let woken = state.withLock { state in
            state.opened += 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns once a room has opened after the `seen`-th, or the task is cancelled.
    func wait(after seen: Int) async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.opened > seen || Task.isCancelled { return true }
                    state.waiters[id] = waiter
                    return false
                }
                if resumeNow { waiter.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

extension RoomRegistry {
    /// Returns at once while a room is live; otherwise when one opens.
    /// Throws `CancellationError` when the server stops meanwhile.
    nonisolated func waitForLiveRoom() async throws {
        while true {
            let seen = openings.count
            guard await isIdle else { return }
            await openings.wait(after: seen)
            try Task.checkCancellation()
        }
    }
}
