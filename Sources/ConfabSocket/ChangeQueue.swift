// Hand-over of rare changes from control threads to one real-time thread,
// which applies them between frames or batches: the engine's tracks and
// streams coming and going, the server's forwarding table (MediaPlane).
//
// The real-time thread's per-frame cost is one atomic load; it takes the lock only
// when the generation counter has moved.
import Synchronization

public final class ChangeQueue<Change: Sendable>: Sendable {
    // Inlinable into the consumers' loops (other modules), so the empty case
    // stays one load there too, specialised for their change type.
    @usableFromInline let pending = Mutex<[Change]>([])
    @usableFromInline let generation = Atomic<Int>(0)

    public init() {}

    public func post(_ change: Change) {
        pending.withLock { $0.append(change) }
        generation.add(1, ordering: .releasing)
    }

    /// The changes posted since the consumer last looked (`seen` is the
    /// consumer's own counter), or an empty array at the cost of one load.
    @inlinable
    public func take(since seen: inout Int) -> [Change] {
        let now = generation.load(ordering: .acquiring)
        guard now != seen else { return [] }
        seen = now
        return pending.withLock { changes in
            defer { changes.removeAll() }
            return changes
        }
    }
}
