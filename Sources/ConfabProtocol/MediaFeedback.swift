// Loss feedback: listeners tell the server what they lose of each track, the
// server tells each publisher the worst of it (docs/PROTOCOL.md, `media.loss`
// and `media.feedback`; docs/MEDIA.md, "Loss feedback").
//
//   listener ─ media.loss {track, expected, lost} every second ─▶ server
//   server ─ media.feedback {track, lossPermille, uplinkLossPermille, listeners} ─▶ publisher (at most every second)
//
// The server cannot read SRTCP receiver reports (it holds no media keys), so
// the figures travel in the signalling. Integers only: loss in parts per thousand.

import ConfabMacros

/// `media.loss`: what a listener lost of each track it plays since its last report.
@PublicMemberwiseInit
public struct LossReport: Codable, Hashable, Sendable {
    /// One entry per track heard (at most `ProtocolLimits.maximumLossReportTracks`).
    public var tracks: [TrackLoss]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tracks = try container.decode([TrackLoss].self, forKey: .tracks)
        guard tracks.count <= ProtocolLimits.maximumLossReportTracks else {
            throw DecodingError.dataCorruptedError(
                forKey: .tracks, in: container,
                debugDescription: "at most \(ProtocolLimits.maximumLossReportTracks) tracks")
        }
    }
}

/// One track's packets in a `media.loss` report.
@PublicMemberwiseInit
public struct TrackLoss: Codable, Hashable, Sendable {
    public var track: TrackID
    /// Packets the sequence numbers say should have arrived since the last report.
    public var expected: Int
    /// Of those, how many never arrived in time to play (0 … `expected`).
    public var lost: Int

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        track = try container.decode(TrackID.self, forKey: .track)
        expected = try container.decode(Int.self, forKey: .expected, in: 0...ProtocolLimits.maximumLossReportPackets)
        lost = try container.decode(Int.self, forKey: .lost, in: 0...expected)
    }
}

/// `media.feedback`: to a publisher, what its listeners lose of its track.
@PublicMemberwiseInit
public struct MediaFeedback: Codable, Hashable, Sendable {
    public var track: TrackID
    /// The worst loss any listener reported over the last few seconds [‰], 0 … 1000.
    /// A listener's loss is end to end: the publisher's uplink and its own downlink.
    @InRange<Permille> public var lossPermille: Int
    /// What the server itself lost of the track's packets [‰] (the uplink alone);
    /// absent while it has too few packets to tell.
    @InRangeIfPresent<Permille> public var uplinkLossPermille: Int?
    /// How many listeners' reports the figure is made of.
    @InRange<JSONCount> public var listeners: Int
}

extension ProtocolLimits {
    /// Tracks in one `media.loss` report.
    public static let maximumLossReportTracks = 1_000
    /// Packets one `media.loss` entry may count (about 200 s of 20 ms packets).
    public static let maximumLossReportPackets = 10_000
}
