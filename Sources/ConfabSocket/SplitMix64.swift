// A seeded generator shared by the generated audio sources and the impaired relay.
/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same on every platform.
public struct SplitMix64: Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<1.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in −1..<1.
    public mutating func nextSigned() -> Double {
        2 * nextUnit() - 1
    }

    /// Uniform in 0..<bound (bound ≥ 1); the modulo bias is irrelevant here.
    public mutating func nextInt(below bound: Int) -> Int {
        Int(next() % UInt64(Swift.max(1, bound)))
    }
}

/// Seeded randomness wherever the standard library takes a generator
/// (`random(using:)`), so a test or a fuzz input replays exactly.
extension SplitMix64: RandomNumberGenerator {}
