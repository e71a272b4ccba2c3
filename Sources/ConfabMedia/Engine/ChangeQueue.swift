// Hand-over of rare changes (tracks and streams coming and going) from control
// threads to one media thread, which applies them between frames.
//
// The media thread's per-frame cost is one atomic load; it takes the lock only
// when the generation counter has moved.
import Synchronization

final class ChangeQueue<Change: Sendable>: Sendable {
    private let pending = Mutex<[Change]>([])
    private let generation = Atomic<Int>(0)

    func post(_ change: Change) {
        pending.withLock { $0.append(change) }
        generation.add(1, ordering: .releasing)
    }

    /// The changes posted since the consumer last looked (`seen` is the
    /// consumer's own counter), or an empty array at the cost of one load.
    @inline(__always)
    func take(since seen: inout Int) -> [Change] {
        let now = generation.load(ordering: .acquiring)
        guard now != seen else { return [] }
        seen = now
        return pending.withLock { changes in
            defer { changes.removeAll() }
            return changes
        }
    }
}

/// Paces a loop at one frame per frame time on CLOCK_MONOTONIC with absolute
/// deadlines, for devices that have no clock of their own.
struct FramePacer {
    let frameNanoseconds: UInt64
    private var deadline = MonotonicClock.nanoseconds()

    init(frameNanoseconds: UInt64) { self.frameNanoseconds = frameNanoseconds }

    mutating func waitForNextFrame() {
        deadline += frameNanoseconds
        let now = MonotonicClock.nanoseconds()
        // After a stall of more than ten frames, resynchronise instead of rushing.
        if deadline + 10 * frameNanoseconds < now { deadline = now }
        MonotonicClock.sleep(until: deadline)
    }
}
