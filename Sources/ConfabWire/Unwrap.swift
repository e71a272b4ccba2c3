// Extending wrapping RTP counters to 64 bits (RFC 3550 §5.1, Appendix A.1).
//
//   wire:     65534  65535      0      1  65535      2
//   unwrapped 65534  65535  65536  65537  65535  65538
//                           └ wrapped     └ late packet, still before the wrap
//
// Each new value is placed at the nearest point to the highest value seen so
// far: within half the counter's range ahead it is new, within half behind it
// is late (reordered), as RFC 3550 Appendix A.1 does for sequence numbers
// with its cycle count. Appendix A.1's probation and dropout limits belong to
// the receiver's loss statistics and stay out of this arithmetic.

/// Extends 16-bit RTP sequence numbers (RFC 3550 §5.1) to Int64.
public struct SequenceUnwrapper: Sendable, Hashable, BitwiseCopyable {
    /// The highest unwrapped value returned so far; nil before the first.
    public private(set) var highest: Int64?

    public init() {}

    /// The unwrapped value of `sequence`. The first value maps to itself;
    /// later ones land within -32767...+32768 of ``highest``. A distance of
    /// exactly half the range is ambiguous (RFC 1982 §3.2) and counts as ahead,
    /// so a stream that jumps by half still moves forward.
    public mutating func unwrap(_ sequence: UInt16) -> Int64 {
        guard let highest else {
            self.highest = Int64(sequence)
            return Int64(sequence)
        }
        let distance = sequence &- UInt16(truncatingIfNeeded: highest)
        let delta = distance == 0x8000 ? Int64(0x8000) : Int64(Int16(bitPattern: distance))
        let value = highest + delta
        if value > highest { self.highest = value }
        return value
    }

    /// Forgets all history, e.g. when the sender changes SSRC.
    public mutating func reset() {
        highest = nil
    }
}

/// Extends 32-bit RTP timestamps (RFC 3550 §5.1) to Int64.
public struct TimestampUnwrapper: Sendable, Hashable, BitwiseCopyable {
    /// The highest unwrapped value returned so far; nil before the first.
    public private(set) var highest: Int64?

    public init() {}

    /// The unwrapped value of `timestamp`, by the same rule as
    /// ``SequenceUnwrapper/unwrap(_:)`` with half the 32-bit range.
    public mutating func unwrap(_ timestamp: UInt32) -> Int64 {
        guard let highest else {
            self.highest = Int64(timestamp)
            return Int64(timestamp)
        }
        let distance = timestamp &- UInt32(truncatingIfNeeded: highest)
        let delta = distance == 0x8000_0000 ? Int64(0x8000_0000) : Int64(Int32(bitPattern: distance))
        let value = highest + delta
        if value > highest { self.highest = value }
        return value
    }

    /// Forgets all history, e.g. when the sender changes SSRC.
    public mutating func reset() {
        highest = nil
    }
}
