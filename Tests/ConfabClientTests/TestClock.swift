import ConfabClient
import Synchronization

/// A SignalClock that moves only when the test says: timeouts, keepalive
/// ticks and reconnection delays happen at exact, chosen instants.
final class TestClock: SignalClock {
    private struct Sleeper {
        let id: Int
        let deadline: Int64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Int64 = 0
        var sleepers: [Sleeper] = []
        var nextID = 0
        /// Sleeps cancelled before they were registered.
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())

    var nowMs: Int64 { state.withLock { $0.now } }

    /// When the sleeping tasks wake, earliest first.
    var deadlines: [Int64] { state.withLock { $0.sleepers.map(\.deadline).sorted() } }

    func sleep(milliseconds: Int) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelledAlready = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return true }
                    state.sleepers.append(
                        Sleeper(id: id, deadline: state.now + Int64(max(milliseconds, 0)), continuation: continuation))
                    return false
                }
                if cancelledAlready { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { state in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time on by `ms` and wakes every sleeper now due, earliest first.
    func advance(byMs ms: Int) {
        let due: [Sleeper] = state.withLock { state in
            state.now += Int64(ms)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Waits (in real time, with a deadline) until some task sleeps until
    /// `deadline`. Require it (`try #require`): a test that advances the
    /// clock past a sleeper not yet asleep leaves that sleeper a deadline
    /// nobody reaches, and an await on it would hang the whole run.
    func waitForSleeper(until deadline: Int64) async -> Bool {
        // Generous: with a build on the same cores the sleeping task started
        // over 15 s late; the test clock, not this deadline, decides every
        // instant the test checks.
        await eventually(timeoutMs: 60_000) { deadlines.contains(deadline) }
    }
}

/// A session (not joined yet) to a fresh in-memory server, on a fresh test clock.
func sessionOnTestClock(
    _ configuration: SessionConfiguration = Fixture.configuration(), random: @escaping @Sendable () -> Double = { 0 }
) -> (FakeServer, TestClock, ConfabSession) {
    let server = FakeServer()
    let clock = TestClock()
    return (server, clock, ConfabSession(configuration: configuration, transport: server, random: random, clock: clock))
}
