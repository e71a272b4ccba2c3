// The signal the room timers rest on while no room is live.

@testable import ConfabServer
import ConfabTestSupport
import Synchronization
import Testing

@Suite("Room timers rest while no room is live")
struct RoomOpeningsTests {
    @Test("a waiter returns when a room opens, at once if one opened since it looked, and when cancelled")
    func openingsWakeWaiters() async throws {
        let openings = RoomOpenings()
        let seen = openings.count
        let done = Mutex(false)
        let waiter = Task {
            await openings.wait(after: seen)
            done.withLock { $0 = true }
        }
        // Nothing opened: the waiter is still waiting a moment later.
        try await Task.sleep(for: .milliseconds(50))
        #expect(!done.withLock { $0 })
        openings.noteOpened()
        #expect(await waitUntil(timeout: .seconds(5)) { done.withLock { $0 } })
        await waiter.value

        // An opening between looking and waiting is not missed.
        await openings.wait(after: seen)
        #expect(openings.count == seen + 1)

        let cancelled = Task { await openings.wait(after: openings.count) }
        cancelled.cancel()
        await cancelled.value
    }
}
