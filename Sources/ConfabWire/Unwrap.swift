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
public typealias SequenceUnwrapper = CounterUnwrapper<UInt16>

/// Extends 32-bit RTP timestamps (RFC 3550 §5.1) to Int64.
public typealias TimestampUnwrapper = CounterUnwrapper<UInt32>

/// Extends a wrapping unsigned counter of at most 32 bits to Int64.
public struct CounterUnwrapper<Counter: FixedWidthInteger & UnsignedInteger & Sendable & BitwiseCopyable>: Sendable, Hashable,
    BitwiseCopyable
{
    /// The highest unwrapped value returned so far; nil before the first.
    public private(set) var highest: Int64?

    public init() {}

    /// The unwrapped value of `value`. The first value maps to itself; later
    /// ones land within −(half − 1)...+half of ``highest`` (half the counter's
    /// range). A distance of exactly half the range is ambiguous (RFC 1982
    /// §3.2) and counts as ahead, so a stream that jumps by half still moves
    /// forward.
    public mutating func unwrap(_ value: Counter) -> Int64 {
        guard let highest else {
            self.highest = Int64(value)
            return Int64(value)
        }
        let distance = Int64(value &- Counter(truncatingIfNeeded: highest))
        let range = Int64(1) << Counter.bitWidth
        let delta = distance > range / 2 ? distance - range : distance
        let unwrapped = highest + delta
        if unwrapped > highest { self.highest = unwrapped }
        return unwrapped
    }

    /// Forgets all history, e.g. when the sender changes SSRC.
    public mutating func reset() {
        highest = nil
    }
}
