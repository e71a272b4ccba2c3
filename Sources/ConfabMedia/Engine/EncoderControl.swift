// Encoder settings handed to the capture thread without a lock.
//
//   any thread: request(settings) ─▶ one atomic word (bitrate, expected loss, FEC)
//   capture thread, between frames: load ─▶ changed? ─▶ Opus.Encoder.apply (ctl calls only) ─▶ applied word
//
// One 64-bit word holds everything that adapts, so a reader never sees half
// of a change, and the capture thread's check is a single relaxed load.
import Opus
import Synchronization

/// The mailbox between whoever adapts the encoder and the capture thread.
public final class EncoderControl: Sendable {
    private let requested = Atomic<UInt64>(0)
    private let appliedWord = Atomic<UInt64>(0)

    init(initial: Opus.EncoderSettings) {
        let word = Self.pack(initial)
        requested.store(word, ordering: .relaxed)
        appliedWord.store(word, ordering: .relaxed)
    }

    /// Asks the sender to encode with these bitrate, FEC and expected-loss
    /// settings from its next frame on (complexity and DTX stay as configured),
    /// and to repeat `redundantFrames` earlier frames in each packet (RFC 2198; 0…2).
    public func request(_ settings: Opus.EncoderSettings, redundantFrames: Int = 0) {
        requested.store(Self.pack(settings, redundantFrames: redundantFrames), ordering: .releasing)
    }

    /// How many earlier frames each packet repeats now.
    public var appliedRedundantFrames: Int { Self.redundantFrames(appliedWord.load(ordering: .acquiring)) }

    /// What the encoder runs with now: bitrate [bit/s], in-band FEC, expected loss [%].
    public var applied: (bitrate: Int32, inbandFEC: Bool, expectedPacketLossPercent: Int32) {
        Self.unpack(appliedWord.load(ordering: .acquiring))
    }

    /// On the capture thread: a requested change not applied yet, if any.
    @inline(__always)
    func pendingChange(current: UInt64) -> UInt64? {
        let word = requested.load(ordering: .acquiring)
        return word == current ? nil : word
    }

    func markApplied(_ word: UInt64) { appliedWord.store(word, ordering: .releasing) }

    static func pack(_ settings: Opus.EncoderSettings, redundantFrames: Int = 0) -> UInt64 {
        let bitrate = UInt64(UInt32(clamping: max(0, settings.bitrate)))
        let loss = UInt64(UInt8(clamping: max(0, min(100, settings.expectedPacketLossPercent))))
        let redundancy = UInt64(max(0, min(maxRedundantFrames, redundantFrames)))
        return bitrate | loss << 32 | (settings.inbandFEC ? UInt64(1) : 0) << 40 | redundancy << 41
    }

    /// The most earlier frames a packet repeats.
    public static let maxRedundantFrames = 2

    @inline(__always)
    static func redundantFrames(_ word: UInt64) -> Int { Int(word >> 41 & 0x3) }

    static func unpack(_ word: UInt64) -> (bitrate: Int32, inbandFEC: Bool, expectedPacketLossPercent: Int32) {
        (Int32(truncatingIfNeeded: word & 0xFFFF_FFFF), word >> 40 & 1 == 1, Int32(word >> 32 & 0xFF))
    }

    /// `base` with the adapted fields of `word`.
    static func settings(_ word: UInt64, over base: Opus.EncoderSettings) -> Opus.EncoderSettings {
        let (bitrate, fec, loss) = unpack(word)
        var settings = base
        settings.bitrate = bitrate
        settings.inbandFEC = fec
        settings.expectedPacketLossPercent = loss
        return settings
    }
}
