// The two ways server tests let real time pass: waiting for a condition (a
// state, a message, a packet) with a deadline (`waitUntil`, shared by every
// test target), and pacing real-time traffic such as 20 ms audio frames.

/// Runs `body` `count` times, one every `interval` on the clock (as a sender
/// of 20 ms frames does); late, it waits a whole interval rather than bursting
/// to catch up. Throws `CancellationError` when the task is cancelled.
func paced(every interval: Duration, count: Int = .max, _ body: (Int) async throws -> Void) async throws {
    var next = ContinuousClock.now
    for index in 0..<count {
        try await body(index)
        next += interval
        let now = ContinuousClock.now
        if next < now { next = now + interval }
        try await Task.sleep(until: next, clock: .continuous)
    }
}
