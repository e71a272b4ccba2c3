// How the encoder follows the loss its listeners report (docs/MEDIA.md, "Loss feedback").
//
//   loss reported [%] ─▶ smoothed (up at once, down slowly) ─▶ FEC on/off, expected loss, bitrate,
//                                                               RED copies of earlier frames (0, 1, 2)
//
// Why these choices:
// - In-band FEC (RFC 6716 §2.1.7, LBRR) is paid for whether or not anything is
//   lost: libopus takes the redundancy out of the same bitrate, so a fixed 10 %
//   costs quality on every clean path. It is turned on only when loss is seen.
// - The expected loss is the measured loss, rounded up, but at most 10 %:
//   below that, libopus spends no more on redundancy than the path needs;
//   above it, libopus also codes the primary frames more defensively (less
//   prediction across frames) and `bench voice` measured about 0.2 PESQ lost
//   at 21 % expected against 10 % under the same loss, with the same share of
//   frames recovered (recovery needs only that the next packet arrives).
// - Loss rises fast and falls slowly: a listener that just lost packets needs
//   protection now, and a path that was lossy tends to be lossy again.
// - In-band FEC recovers a frame only when the very next packet arrives,
//   and carries a coarser copy. Over two lossy hops (10 % each, about 19 %
//   of packets lost) that leaves most losses to concealment. RED (RFC 2198)
//   repeats whole earlier frames: with one copy a frame is lost only when two
//   packets in a row are, with two copies three. It costs bitrate on the
//   path, not quality in the encoder, so it goes on only at a loss where FEC
//   alone falls short, and off again only well below it.
// - Heavy sustained loss (30 % and more) on the Internet is mostly congestion,
//   and sending less is the only thing that eases it: the bitrate steps down
//   there. Below that, random loss is better answered with redundancy than
//   with fewer bits.
import Opus

/// The knobs of the adaptation, with Confab's defaults.
public struct LossAdaptationPolicy: Sendable, Equatable {
    /// FEC goes on when the smoothed loss reaches this [%]…
    public var fecOnLossPercent = 1.0
    /// …and off again only below this [%] (the gap keeps it from flapping).
    public var fecOffLossPercent = 0.5
    /// The expected loss told to libopus is capped here [%] (see the file comment).
    public var maximumExpectedLossPercent: Int32 = 10
    /// From this loss on [%], the bitrate is three quarters of the configured one…
    public var reducedBitrateLossPercent = 30.0
    /// …and from this one [%], half of it.
    public var halvedBitrateLossPercent = 50.0
    /// The bitrate never goes below this [bit/s].
    public var minimumBitrate: Int32 = 12_000
    /// One RED copy of the previous frame from this smoothed loss on [%]…
    public var redundancyOnLossPercent = 5.0
    /// …until it falls below this [%].
    public var redundancyOffLossPercent = 2.0
    /// Two copies (the two previous frames) from this loss on [%]…
    public var doubleRedundancyOnLossPercent = 15.0
    /// …back to one below this [%].
    public var doubleRedundancyOffLossPercent = 10.0
    /// The most copies sent, 0…2; 0 never sends RED (for listeners that predate it).
    public var maximumRedundantFrames = 2
    /// How much of the gap a falling report closes at once (0…1).
    public var fallingWeight = 0.3

    public init() {}
}

/// The state of one sender's adaptation: feed it reports, apply what it returns.
public struct LossAdaptation: Sendable, Equatable {
    public let policy: LossAdaptationPolicy
    /// What the sender was configured with: the bitrate ceiling and the other settings.
    public let configured: Opus.EncoderSettings
    /// The loss the settings are planned for [%].
    public private(set) var smoothedLossPercent: Double?
    public private(set) var settings: Opus.EncoderSettings
    /// Earlier frames each packet repeats (RED), 0…2.
    public private(set) var redundantFrames = 0

    public init(configured: Opus.EncoderSettings, policy: LossAdaptationPolicy = LossAdaptationPolicy()) {
        self.policy = policy
        self.configured = configured
        settings = configured
    }

    /// Takes the loss listeners saw since the last report [%] and returns the settings to encode with.
    @discardableResult
    public mutating func update(lossPercent reported: Double) -> Opus.EncoderSettings {
        let loss = min(100, max(0, reported.isFinite ? reported : 0))
        let hadReport = smoothedLossPercent != nil
        let smoothed: Double
        if let previous = smoothedLossPercent, loss < previous {
            smoothed = previous + (loss - previous) * policy.fallingWeight
        } else {
            smoothed = loss
        }
        smoothedLossPercent = smoothed

        var next = configured
        let stayOn = hadReport && settings.inbandFEC && smoothed >= policy.fecOffLossPercent
        let fec = stayOn || smoothed >= policy.fecOnLossPercent
        next.inbandFEC = fec
        next.expectedPacketLossPercent =
            fec ? min(policy.maximumExpectedLossPercent, max(1, Int32(smoothed.rounded(.up)))) : 0
        if smoothed >= policy.halvedBitrateLossPercent {
            next.bitrate = max(policy.minimumBitrate, configured.bitrate / 2)
        } else if smoothed >= policy.reducedBitrateLossPercent {
            next.bitrate = max(policy.minimumBitrate, configured.bitrate * 3 / 4)
        }
        next.bitrate = min(next.bitrate, configured.bitrate)
        settings = next
        redundantFrames = Self.redundancy(after: redundantFrames, smoothedLoss: smoothed, policy: policy)
        return next
    }
}

extension LossAdaptation {
    /// The RED level for `loss`, with a gap between each step's on and off so it does not flap.
    static func redundancy(after current: Int, smoothedLoss loss: Double, policy: LossAdaptationPolicy) -> Int {
        min(max(0, policy.maximumRedundantFrames), unlimitedRedundancy(after: current, smoothedLoss: loss, policy: policy))
    }

    private static func unlimitedRedundancy(after current: Int, smoothedLoss loss: Double, policy: LossAdaptationPolicy) -> Int {
        if loss >= policy.doubleRedundancyOnLossPercent || (current == 2 && loss >= policy.doubleRedundancyOffLossPercent) {
            return 2
        }
        if loss >= policy.redundancyOnLossPercent || (current >= 1 && loss >= policy.redundancyOffLossPercent) {
            return 1
        }
        return 0
    }
}

/// The listener's side: the share of a track's frames lost since the last look,
/// from its jitter buffer's counters (what arrived too late to play counts as lost).
public struct ReceiveLossMeter: Sendable, Equatable {
    private var lastReceived = 0
    private var lastLost = 0

    public init() {}

    /// Frames expected and lost since the last call, capped to what the protocol carries.
    public mutating func take(_ stats: JitterStats) -> (expected: Int, lost: Int) {
        // A frame recovered from a RED copy was still lost by the path: the
        // sender must go on hearing about it, or it would stop the redundancy
        // that hides the loss.
        let received = max(0, stats.received - lastReceived)
        let lost = max(0, stats.lost + stats.recoveredByRED - lastLost)
        lastReceived = stats.received
        lastLost = stats.lost + stats.recoveredByRED
        let expected = min(received + lost, 10_000)
        return (expected, min(lost, expected))
    }

    /// Loss since the last call [%]; nil when nothing was expected in between (a pause).
    public mutating func lossPercent(since stats: JitterStats) -> Double? {
        let (expected, lost) = take(stats)
        return expected > 0 ? Double(lost) * 100 / Double(expected) : nil
    }
}
