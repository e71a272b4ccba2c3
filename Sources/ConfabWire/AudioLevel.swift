// Client-to-mixer audio level (RFC 6464): one byte per packet that tells the
// SFU how loud the sender is without decrypting the audio.
//
//   0 1 2 3 4 5 6 7
//  +-+-+-+-+-+-+-+-+
//  |V|    level    |   V: voice activity; level: 0...127 in -dBov (0 loudest, 127 silence)
//  +-+-+-+-+-+-+-+-+
//
// Flow: capture level meter ─▶ `AudioLevel(dBov:voiceActivity:)` ─▶
// `HeaderExtensionList.append(audioLevel:)` ─▶ RTP. Server: RTP ─▶
// `RTPPacket.audioLevel(id:in:)` ─▶ speaker detector.

/// Why an audio level element could not be decoded.
public enum AudioLevelError: Error, Sendable, Hashable {
    /// The element data is not exactly one byte (RFC 6464 §3).
    case invalidLength(Int)
}

/// The audio level of one packet (RFC 6464 §3).
public struct AudioLevel: Sendable, Hashable, BitwiseCopyable {
    /// The extension ID Confab negotiates for the level; any 1...14 works.
    public static let defaultExtensionID: UInt8 = 1
    /// The quietest level: silence or anything below -127 dBov (RFC 6464 §3).
    public static let silence: UInt8 = 127

    /// V bit: the sender's voice activity detector thinks this is speech.
    public var voiceActivity: Bool
    /// Level in -dBov, 0...127: 0 is the loudest (full scale), 127 silence.
    public var level: UInt8

    /// A level in -dBov; values above 127 are clamped to 127.
    public init(level: UInt8, voiceActivity: Bool) {
        self.voiceActivity = voiceActivity
        self.level = min(level, Self.silence)
    }

    /// From a measured level in dBov (≤ 0 for real signals): rounded to the
    /// nearest dB and clamped to 0...127, so anything louder than full scale
    /// reads 0 and anything quieter than -127 dBov (or NaN) reads 127.
    public init(dBov: Double, voiceActivity: Bool) {
        let attenuation = -dBov
        let level: UInt8
        if attenuation.isNaN || attenuation >= Double(Self.silence) {
            level = Self.silence
        } else if attenuation <= 0 {
            level = 0
        } else {
            level = UInt8(attenuation.rounded())
        }
        self.init(level: level, voiceActivity: voiceActivity)
    }

    /// Decodes the element byte: top bit V, low 7 bits the level (RFC 6464 §3).
    public init(encoded byte: UInt8) {
        voiceActivity = byte & 0x80 != 0
        level = byte & 0x7F
    }

    /// Decodes an element's data, which must be exactly one byte (RFC 6464 §3).
    public init(element data: UnsafeRawBufferPointer) throws(AudioLevelError) {
        guard data.count == 1 else { throw .invalidLength(data.count) }
        self.init(encoded: data[0])
    }

    /// The element byte (RFC 6464 §3).
    public var encoded: UInt8 {
        (voiceActivity ? 0x80 : 0) | (level & 0x7F)
    }

    /// The level as dBov (0 or negative).
    public var dBov: Double { -Double(level) }
}

extension HeaderExtensionList {
    /// Adds the RFC 6464 element: one byte, so the one-byte form carries it
    /// with a length field of 0 (RFC 6464 §3, RFC 8285 §4.2).
    public mutating func append(audioLevel: AudioLevel, id: UInt8 = AudioLevel.defaultExtensionID) throws(HeaderExtensionListError) {
        try append(id: id, byte: audioLevel.encoded)
    }
}

extension RTPPacket {
    /// The sender's audio level (RFC 6464 §3), or nil when the packet has no
    /// valid RFC 8285 block, no element with `id`, or an element of the wrong size.
    public func audioLevel(id: UInt8 = AudioLevel.defaultExtensionID, in bytes: UnsafeRawBufferPointer) -> AudioLevel? {
        guard let block = try? headerExtensions(in: bytes),
              let range = block.find(id: id, in: bytes),
              range.count == 1
        else { return nil }
        return AudioLevel(encoded: bytes[range.lowerBound])
    }
}
