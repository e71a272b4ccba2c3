import ConfabWire
import Opus
import SRTP

/// How the media engine encodes, packetises and plays out.
public struct MediaConfiguration: Sendable, Equatable {
    /// Frame length [ms]: 20 by default, 10 for lower delay at a higher packet rate.
    public var frameMs = 20
    public var encoder = Opus.EncoderSettings()
    /// RTP payload type for Opus (dynamic, RFC 7587 §7); 111 as in most WebRTC offers.
    public var payloadType: UInt8 = OpusRTP.defaultPayloadType
    /// RTP payload type for RED (RFC 2198) around Opus, sent when listeners
    /// lose packets; 63 as in WebRTC's offers.
    public var redPayloadType: UInt8 = AudioRED.defaultPayloadType
    /// Whether the receiver plays RED. Off, it counts payload type 63 as
    /// unknown and plays nothing of it, as a client that predates RED does
    /// (such a client's session must not declare `red` at `join`).
    public var playsRED = true
    /// RFC 8285 id that carries the RFC 6464 audio level.
    public var audioLevelExtensionID: UInt8 = AudioLevel.defaultExtensionID
    public var jitter = JitterBufferConfiguration()
    public var profile: SRTPProfile = .aes128CmHmacSha1_80
    /// How often a sender sends an RTCP sender report (SRTCP) [ms]; RFC 3550
    /// §6.2 asks for at least 5 s between reports. The first goes after half.
    public var senderReportIntervalMs = 5_000
    /// Echo cancellation, noise suppression and automatic gain before the
    /// encoder. Off here, so files and generators go out as they are; `join`,
    /// `connect` and the terminal front turn it on for a microphone.
    public var processing = VoiceProcessingSettings.off
    /// Try SCHED_FIFO for the audio threads (needs CAP_SYS_NICE; silently normal otherwise).
    public var realtimeThreads = false

    public init() {}

    public var frameSamples: Int { AudioFormat.samples(forMs: frameMs) }
    public var frameNanoseconds: UInt64 { UInt64(frameMs) * 1_000_000 }
}
