// Audio levels: one number per frame for the RTP audio-level extension and for
// the level bars in participant tiles.
//
//   frame (Int16) ─▶ dBov (RMS re overload) ─┬▶ rfc6464Level 0…127 ─▶ RTP header ext (RFC 6464 §3)
//                                             └▶ uiLevel 0…100 ─▶ LevelSmoother ─▶ tile bar
//
// Reference level: 0 dBov is the RMS of a full-scale digital square wave, RMS
// 32767 (RFC 6464 §3: "dBov ... relative to the overload point of the system").
// A full-scale sine is therefore −3.01 dBov. WebRTC's `rms_level.cc` does the
// same but normalises by 32768², 0.0003 dB away, which does not change a
// rounded RFC 6464 level in practice.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Frame levels in dBov, as RFC 6464 values and as a 0…100 UI scale.
public enum LevelMeter {
    /// The RMS that is 0 dBov: a full-scale square wave.
    public static let overloadRMS = 32767.0
    /// The level reported for digital silence (and anything quieter): −127 dBov,
    /// RFC 6464's floor.
    public static let silenceDBov = -127.0
    /// The bottom of the UI scale: at or below this, `uiLevel` is 0.
    public static let uiFloorDBov = -60.0

    /// The RMS level of `samples` in dBov, in −127…0.
    ///
    /// An empty or all-zero buffer gives −127 (never −∞). A square wave that
    /// touches −32768 would measure a hair above 0; it is clamped to 0.
    public static func dBov(_ samples: UnsafeBufferPointer<Int16>) -> Double {
        guard !samples.isEmpty else { return silenceDBov }
        // Exact integer sum of squares: 2^30 per sample leaves room for 2^33 samples.
        var sumOfSquares: Int64 = 0
        for sample in samples {
            let s = Int64(sample)
            sumOfSquares &+= s * s
        }
        guard sumOfSquares > 0 else { return silenceDBov }
        let meanSquare = Double(sumOfSquares) / Double(samples.count)
        let level = 10 * log10(meanSquare / (overloadRMS * overloadRMS))
        return Swift.min(0, Swift.max(silenceDBov, level))
    }

    /// The RFC 6464 §3 audio level of `samples`: −dBov rounded, 0 (loudest) … 127
    /// (digital silence).
    public static func rfc6464Level(_ samples: UnsafeBufferPointer<Int16>) -> UInt8 {
        rfc6464Level(dBov: dBov(samples))
    }

    /// The RFC 6464 §3 audio level for a level in dBov: −dBov rounded to the
    /// nearest integer and clamped to 0…127; NaN counts as silence.
    public static func rfc6464Level(dBov: Double) -> UInt8 {
        guard !dBov.isNaN else { return 127 }
        let level = (-dBov).rounded()
        return UInt8(Swift.max(0, Swift.min(127, level)))
    }

    /// The level on the UI's 0…100 scale: linear in dB from −60 dBov (0) to
    /// 0 dBov (100), so each 0.6 dB is one step; −60 dBov or below (and NaN)
    /// give 0, anything at or above 0 dBov gives 100. Speech at a typical
    /// −20 dBov shows as 67.
    public static func uiLevel(dBov: Double) -> Int {
        guard !dBov.isNaN else { return 0 }
        let fraction = (dBov - uiFloorDBov) / -uiFloorDBov
        let level = (fraction * 100).rounded()
        return Int(Swift.max(0, Swift.min(100, level)))
    }
}

/// Smooths UI levels for a tile's bar: it jumps up at once (fast attack) so a
/// talker lights up on the first loud frame, and falls at a fixed rate (slow
/// release) so the bar does not flicker between syllables.
public struct LevelSmoother: Sendable, Equatable {
    /// How long a fall from 100 to 0 takes [ms].
    public let releaseMsFullScale: Int
    /// The level shown now, 0…100 (kept as Double so slow falls are not lost to rounding).
    public private(set) var current: Double = 0

    /// - Parameter releaseMsFullScale: the time to fall from 100 to 0 [ms]; 300 ms
    ///   is 15 frames of 20 ms. Values below 1 mean "no smoothing on the way down".
    public init(releaseMsFullScale: Int = 300) {
        self.releaseMsFullScale = Swift.max(0, releaseMsFullScale)
    }

    /// Feeds one frame's level (0…100, clamped) that covered `frameMs`
    /// milliseconds and returns the level to draw.
    public mutating func update(level: Int, frameMs: Int) -> Int {
        let target = Double(Swift.max(0, Swift.min(100, level)))
        if target >= current || releaseMsFullScale == 0 {
            current = target
        } else {
            let fall = 100 * Double(Swift.max(0, frameMs)) / Double(releaseMsFullScale)
            current = Swift.max(target, current - fall)
        }
        return Int(current.rounded())
    }

    /// Drops the bar to 0 immediately (a muted or departed track).
    public mutating func reset() {
        current = 0
    }
}
