// Whether a published track is healthy, from what the forwarder saw of it.
//
//   media thread ─▶ MediaPeerReport (silence since, expected/received so far) every 100 ms
//   speakers timer ─▶ RoomHost ─▶ TrackHealth.assess per peer ─▶ verdict changed?
//                  ─▶ Room.markTrack ─▶ track.degraded {reason} / track.restored to everyone
//
// Two reasons (PROTOCOL.md, `track.degraded`; thresholds in docs/SFU.md):
//   noMedia     an unmuted peer whose role publishes and who announced an SSRC
//               sent nothing for `noMediaAfterMs`; restored by its next packet.
//   packetLoss  more than `degradedLossPercent` of the packets expected
//               (RFC 3550 Appendix A.3, from sequence numbers) over the last
//               `lossWindowMs` never arrived; restored below `restoredLossPercent`
//               (the gap between the two keeps a borderline link from flapping).

import ConfabProtocol

/// The knobs of the health verdicts, with the defaults documented in docs/SFU.md.
public struct TrackHealthConfiguration: Sendable, Hashable {
    /// A track expected to send and silent this long is `noMedia` [ms].
    public var noMediaAfterMs: Int
    /// Loss is measured over this sliding window [ms].
    public var lossWindowMs: Int
    /// Loss above this share of the window's expected packets degrades the track [%].
    public var degradedLossPercent: Double
    /// A degraded track is restored when the window's loss falls below this [%].
    public var restoredLossPercent: Double
    /// Fewer packets expected in the window than this say nothing about loss.
    public var minimumExpectedPackets: Int

    public init(
        noMediaAfterMs: Int = 3_000, lossWindowMs: Int = 5_000, degradedLossPercent: Double = 10,
        restoredLossPercent: Double = 5, minimumExpectedPackets: Int = 50
    ) {
        self.noMediaAfterMs = noMediaAfterMs
        self.lossWindowMs = lossWindowMs
        self.degradedLossPercent = degradedLossPercent
        self.restoredLossPercent = restoredLossPercent
        self.minimumExpectedPackets = minimumExpectedPackets
    }
}

/// One track's recent history and verdict. A value owned by its room's actor.
struct TrackHealth {
    private struct Sample {
        var atNs: UInt64
        var expected: Int64
        var received: Int64
    }

    /// The verdict of the last `assess` (nil: fine, or not expected to send).
    private(set) var verdict: DegradationReason?
    private var samples: [Sample] = []
    /// Whether the loss figures alone say degraded (kept apart from noMedia for the hysteresis).
    private var lossy = false
    /// The share of the window's expected packets that never arrived [%]; nil while too few were expected.
    private(set) var lossPercent: Double?

    /// Takes the newest report of the track's peer and returns the verdict.
    mutating func assess(_ report: MediaPeerReport, nowNs: UInt64, configuration: TrackHealthConfiguration)
        -> DegradationReason?
    {
        guard let silentMs = report.silentMs else {
            // Muted, a role that does not publish, or nothing announced yet: nothing to judge.
            self = TrackHealth()
            return nil
        }
        if silentMs >= configuration.noMediaAfterMs {
            // The outage is the verdict; the sequence numbers it skips are not
            // counted again as loss when packets come back: the window restarts.
            samples.removeAll()
            lossy = false
            lossPercent = nil
            verdict = .noMedia
            return verdict
        }
        if let last = samples.last, report.expected < last.expected {
            // A new SSRC (a rotation): its sequence numbers start a new count.
            samples.removeAll()
            lossy = false
            lossPercent = nil
        }
        samples.append(Sample(atNs: nowNs, expected: report.expected, received: report.packets))
        // Keep the newest sample at or before the window's start as its baseline.
        let windowNs = UInt64(max(1, configuration.lossWindowMs)) * 1_000_000
        let start = nowNs > windowNs ? nowNs - windowNs : 0
        while samples.count > 1, samples[1].atNs <= start { samples.removeFirst() }
        if let first = samples.first, let last = samples.last {
            let expected = last.expected - first.expected
            let lost = max(0, expected - (last.received - first.received))
            // Too few packets in the window to tell: the last word on loss stands.
            if expected >= Int64(configuration.minimumExpectedPackets) {
                let percent = Double(lost) * 100 / Double(expected)
                lossPercent = percent
                lossy = lossy ? percent >= configuration.restoredLossPercent : percent > configuration.degradedLossPercent
            }
        }
        verdict = lossy ? .packetLoss : nil
        return verdict
    }
}
