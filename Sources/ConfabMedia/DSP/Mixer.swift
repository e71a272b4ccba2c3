// The playout mixer: one frame from each remote track in, one frame to the sink out.
//
//   track A frame ─┐
//   track B frame ─┼─▶ add(gain) ─▶ Float accumulator ─▶ SoftLimiter ─▶ finish(into:) ─▶ sink
//   track C frame ─┘     (sum, no clipping yet)          (linear below the knee,
//                                                          tanh-shaped above it)
//
// Mumble-style per-speaker playout: the playout thread pulls one frame from each
// track's jitter buffer, calls `begin()`, `add` once per track and `finish` once.
// Summing happens in Float so two loud talkers never wrap around Int16; the
// limiter then bends the sum smoothly into range instead of clipping it with a
// hard corner (which is audible as crackle).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A soft limiter for sample values in Int16 units (full scale = 32767).
///
/// Below the knee the curve is the identity, so quiet mixes pass bit-exact. Above
/// the knee it follows `knee + (ceiling − knee) · tanh((|x| − knee) / (ceiling − knee))`:
/// the slope is 1 at the knee (no corner) and falls smoothly towards 0, so the
/// output approaches but never exceeds `ceiling`. The curve is odd and
/// monotonically non-decreasing, so louder input never gives quieter output.
public struct SoftLimiter: Sendable, Equatable {
    /// Where the curve stops being linear, in Int16 units.
    public let knee: Float
    /// The asymptote: the largest magnitude the limiter outputs (32767).
    public let ceiling: Float

    /// - Parameter kneeFraction: the knee as a fraction of full scale, clamped to
    ///   0.1…0.99. 0.8 (−1.9 dBFS) keeps normal speech levels untouched.
    public init(kneeFraction: Float = 0.8) {
        let fraction = kneeFraction.isFinite ? Swift.min(0.99, Swift.max(0.1, kneeFraction)) : 0.8
        ceiling = Float(Int16.max)
        knee = fraction * ceiling
    }

    /// The limited value of `x` [Int16 units]; NaN becomes 0.
    @inline(__always)
    public func apply(_ x: Float) -> Float {
        let magnitude = Swift.abs(x)
        if magnitude <= knee { return x }
        if x.isNaN { return 0 }
        let headroom = ceiling - knee
        let bent = knee + headroom * tanhf((magnitude - knee) / headroom)
        let limited = Swift.min(bent, ceiling)
        return x < 0 ? -limited : limited
    }
}

/// Sums frames of equal length with per-input gain and soft-limits the result.
///
/// All storage is allocated in `init`; `begin`, `add` and `finish` do no heap
/// work. Used from one thread at a time (the playout thread), hence
/// `@unchecked Sendable`: it is handed to that thread once.
public final class Mixer: @unchecked Sendable {
    /// Samples per frame (960 for 20 ms at 48 kHz).
    public let frameSamples: Int
    /// How many frames were added since the last `begin()`.
    public private(set) var mixedCount: Int = 0
    /// The curve applied in `finish`.
    public let limiter: SoftLimiter

    private let accumulator: UnsafeMutableBufferPointer<Float>

    /// - Parameters:
    ///   - frameSamples: samples in every frame this mixer sees (negative counts as 0).
    ///   - kneeFraction: where the limiter starts bending, as a fraction of full scale.
    public init(frameSamples: Int, kneeFraction: Float = 0.8) {
        self.frameSamples = Swift.max(0, frameSamples)
        limiter = SoftLimiter(kneeFraction: kneeFraction)
        // Capacity ≥ 1 so the pointer is never a zero-sized allocation.
        accumulator = .allocate(capacity: Swift.max(1, self.frameSamples))
        accumulator.initialize(repeating: 0)
    }

    deinit {
        accumulator.deallocate()
    }

    /// Starts a new output frame: clears the sum and `mixedCount`.
    public func begin() {
        // The first `add` overwrites the accumulator, so nothing is cleared here.
        mixedCount = 0
        peak = 0
    }

    /// The largest |sample| summed so far (an upper bound); below the knee the
    /// limiter is the identity and `finish` can skip it.
    private var peak: Float = 0

    /// Adds one input frame scaled by `gain` (linear, 1 = unchanged).
    ///
    /// A frame shorter than `frameSamples` contributes silence to the rest; extra
    /// samples of a longer frame are ignored. A non-finite gain counts as 0.
    public func add(_ frame: UnsafeBufferPointer<Int16>, gain: Float = 1) {
        let first = mixedCount == 0
        mixedCount += 1
        let usable = gain.isFinite ? gain : 0
        let count = Swift.min(frame.count, frameSamples)
        if first {
            for i in count..<frameSamples { accumulator[i] = 0 }
        }
        var framePeak: Int32 = 0
        if usable == 1 {
            // The common case; also keeps a lone input bit-exact.
            if first {
                for i in 0..<count { accumulator[i] = Float(frame[i]); framePeak = Swift.max(framePeak, abs(Int32(frame[i]))) }
            } else {
                for i in 0..<count { accumulator[i] += Float(frame[i]); framePeak = Swift.max(framePeak, abs(Int32(frame[i]))) }
            }
        } else if first {
            for i in 0..<count { accumulator[i] = Float(frame[i]) * usable; framePeak = Swift.max(framePeak, abs(Int32(frame[i]))) }
        } else {
            for i in 0..<count { accumulator[i] += Float(frame[i]) * usable; framePeak = Swift.max(framePeak, abs(Int32(frame[i]))) }
        }
        peak += Float(framePeak) * Swift.abs(usable)
    }

    /// `x` moved half a step away from zero: converting that to Int16 (which
    /// truncates) rounds half away from zero.
    @inline(__always)
    private static func halfAway(_ x: Float) -> Float {
        x + (x < 0 ? -0.5 : 0.5)
    }

    /// Writes the limited mix into `output`.
    ///
    /// Writes `min(output.count, frameSamples)` samples and zero-fills any rest of
    /// `output`. With nothing added the output is silence.
    public func finish(into output: UnsafeMutableBufferPointer<Int16>) {
        let count = Swift.min(output.count, frameSamples)
        if mixedCount == 0 {
            for i in 0..<output.count { output[i] = 0 }
            return
        }
        // Rounding by hand (add ±0.5, truncate): `rounded()` is a libm call per
        // sample on baseline x86-64, which costs more than the whole mix.
        if peak <= limiter.knee {
            // Below the knee the limiter is the identity: convert only.
            for i in 0..<count { output[i] = Int16(Self.halfAway(accumulator[i])) }
        } else {
            for i in 0..<count {
                // The limiter keeps |y| ≤ 32767, so the conversion cannot trap.
                let y = Swift.max(-32767, Swift.min(32767, limiter.apply(accumulator[i])))
                output[i] = Int16(Self.halfAway(y))
            }
        }
        for i in count..<output.count { output[i] = 0 }
    }
}
