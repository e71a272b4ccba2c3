// The clock of the engine's loops whose device has none (files, generated
// sources, the null sink).
import ConfabSocket

/// Paces a loop at one frame per frame time on CLOCK_MONOTONIC with absolute
/// deadlines, for devices that have no clock of their own.
struct FramePacer {
    let frameNanoseconds: UInt64
    private var deadline = MonotonicClock.nanoseconds()

    init(frameNanoseconds: UInt64) { self.frameNanoseconds = frameNanoseconds }

    /// Counts frames from now (after another clock kept time for a while).
    mutating func restart() { deadline = MonotonicClock.nanoseconds() }

    mutating func waitForNextFrame() {
        deadline += frameNanoseconds
        let now = MonotonicClock.nanoseconds()
        // After a stall of more than ten frames, resynchronise instead of rushing.
        if deadline + 10 * frameNanoseconds < now { deadline = now }
        MonotonicClock.sleep(until: deadline)
    }
}
