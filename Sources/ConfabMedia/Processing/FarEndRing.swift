// What the loudspeaker played, from the play-out thread to the capture thread:
// the echo canceller's reference.
//
//   play-out thread: Mixer ─▶ output frame ─▶ AudioSink.write ─▶ FarEndRing.write (the same samples)
//   capture thread:  FarEndRing.read (10 ms at a time) ─▶ VoiceProcessor.analyzeFarEnd
//
// A single-producer single-consumer ring of samples allocated once; the two
// threads meet only through two atomic positions (acquire/release), so the
// play-out thread never waits for the capture thread nor the other way round.
import Synchronization

public final class FarEndRing: @unchecked Sendable {
    public let capacity: Int
    private let samples: UnsafeMutableBufferPointer<Int16>
    /// Samples written / read since the start; both only grow.
    private let writePosition = Atomic<Int>(0)
    private let readPosition = Atomic<Int>(0)
    /// Samples the play-out thread dropped because nobody read them (no sender, or processing off).
    public let overflowSamples = Atomic<Int>(0)

    /// - Parameter capacity: samples held at most (1 s at 48 kHz by default).
    public init(capacity: Int = 48_000) {
        self.capacity = max(1, capacity)
        samples = .allocate(capacity: self.capacity)
        samples.initialize(repeating: 0)
    }

    deinit { samples.deallocate() }

    /// Samples waiting to be read.
    public var available: Int {
        writePosition.load(ordering: .acquiring) - readPosition.load(ordering: .acquiring)
    }

    // MARK: Producer (the play-out thread)

    /// Appends what was just played; a frame that does not fit is dropped whole and counted.
    @discardableResult
    public func write(_ frame: UnsafeBufferPointer<Int16>) -> Bool {
        let write = writePosition.load(ordering: .relaxed)
        let read = readPosition.load(ordering: .acquiring)
        guard frame.count <= capacity - (write - read) else {
            overflowSamples.add(frame.count, ordering: .relaxed)
            return false
        }
        for index in 0..<frame.count { samples[(write + index) % capacity] = frame[index] }
        writePosition.store(write + frame.count, ordering: .releasing)
        return true
    }

    // MARK: Consumer (the capture thread)

    /// Fills `frame` with the oldest waiting samples when that many are waiting.
    @discardableResult
    public func read(into frame: UnsafeMutableBufferPointer<Int16>) -> Bool {
        let read = readPosition.load(ordering: .relaxed)
        let write = writePosition.load(ordering: .acquiring)
        guard write - read >= frame.count else { return false }
        for index in 0..<frame.count { frame[index] = samples[(read + index) % capacity] }
        readPosition.store(read + frame.count, ordering: .releasing)
        return true
    }

    /// Forgets the oldest waiting samples so that at most `count` wait.
    public func discardOldest(keeping count: Int) {
        let write = writePosition.load(ordering: .acquiring)
        let read = readPosition.load(ordering: .relaxed)
        if write - read > count { readPosition.store(write - max(0, count), ordering: .releasing) }
    }

    /// Forgets everything waiting (processing off: the backlog would be stale when it comes back on).
    public func discardAll() {
        readPosition.store(writePosition.load(ordering: .acquiring), ordering: .releasing)
    }
}
