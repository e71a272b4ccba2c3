import ConfabProtocol

/// What the media thread reports about one peer.
public struct MediaPeerReport: Sendable, Hashable {
    public var slot: Int
    public var room: Int
    public var peer: PeerID
    /// Whether a UDP address is bound to the peer.
    public var bound: Bool
    /// The loudest RFC 6464 level since the previous report (0 loudest … 127 silence).
    public var loudest: UInt8
    /// Whether any packet since the previous report carried the voice-activity bit.
    public var voice: Bool
    /// A packet arrived in the last second.
    public var heardRecently: Bool
    public var packets: Int64
    public var lost: Int64
    public var expected: Int64
    /// Interarrival jitter (RFC 3550 §6.4.1) [ms].
    public var jitterMs: Double
    public var forwardedPackets: Int64
    /// How long the peer has sent nothing on its current SSRC while it may
    /// publish [ms]; nil when it is not expected to send (muted, a role that
    /// does not publish, no SSRC announced).
    public var silentMs: Int?

    /// The level on the 0…100 scale clients use: linear in dB from −60 dBov
    /// (0) to 0 dBov (100), like ConfabMedia's `LevelMeter.uiLevel`.
    public var level: Int {
        let attenuation = Int(loudest)
        return max(0, min(100, ((60 - attenuation) * 100 + 30) / 60))
    }
}
