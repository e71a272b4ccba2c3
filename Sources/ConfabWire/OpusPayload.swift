// Opus in RTP (RFC 7587) and the Opus packet's own framing (RFC 6716 §3).
//
//   RTP payload = one Opus packet:
//   +-+-+-+-+-+-+-+-+
//   | config  |s| c |  TOC byte (RFC 6716 §3.1), then frames framed by code c (§3.2):
//   +-+-+-+-+-+-+-+-+    c=0: 1 frame        c=1: 2 frames, equal size
//                        c=2: 2 frames, the first length-prefixed
//                        c=3: frame count byte |v|p|  M  |, padding, M frames (CBR or VBR)
//
// Flow: RTP payload ─▶ `OpusTOC.packetDurationSamples48k` (how far the RTP
// timestamp should move, and a cheap sanity check before the decoder) ─▶ jitter
// buffer ─▶ Opus decoder. Only the framing is checked here; the frames stay opaque.

/// RTP payload format constants for Opus (RFC 7587).
public enum OpusRTP {
    /// The RTP clock rate is always 48 kHz, whatever the coded bandwidth (RFC 7587 §4.1).
    public static let clockRate = 48_000
    /// The dynamic payload type Confab uses (RFC 7587 §7 leaves it to signaling; 111 is the common choice).
    public static let defaultPayloadType: UInt8 = 111
    /// Longest packet duration: 120 ms at 48 kHz (RFC 6716 §3.2.5, R5).
    public static let maxPacketDurationSamples48k = 5_760
    /// Longest single frame in bytes (RFC 6716 §3.2.1, R2).
    public static let maxFrameLength = 1_275
}

/// Why an Opus packet's framing is invalid (RFC 6716 §3.4, rules R1–R7).
public enum OpusPayloadError: Error, Sendable, Hashable {
    /// R1: a packet has at least one byte (the TOC).
    case emptyPacket
    /// R2: a frame is longer than 1275 bytes.
    case frameTooLong
    /// R3: a code 1 packet has an odd total length, so both frames are equal.
    case invalidCode1Length
    /// R4, R7: a frame length byte is missing.
    case truncatedFrameLength
    /// R4, R7: the declared frame lengths run past the end of the packet.
    case frameLengthOverrun
    /// R5, R6: a code 3 packet needs its frame count byte.
    case missingFrameCount
    /// R5: a code 3 packet has at least one frame.
    case zeroFrameCount
    /// R5: the packet lasts more than 120 ms.
    case durationTooLong(samples48k: Int)
    /// R6, R7: the padding runs past the end of the packet.
    case paddingOverrun
    /// R6: a constant-bitrate code 3 packet's frame data is not a multiple of M.
    case invalidCBRLength
}

/// The TOC (table-of-contents) byte that starts every Opus packet (RFC 6716 §3.1).
public struct OpusTOC: Sendable, Hashable, BitwiseCopyable {
    /// The coding mode a configuration uses (RFC 6716 §3.1, Table 2).
    public enum Mode: Sendable, Hashable, BitwiseCopyable {
        case silk, hybrid, celt
    }

    /// The audio bandwidth a configuration codes (RFC 6716 §2, Table 1).
    public enum Bandwidth: Sendable, Hashable, BitwiseCopyable {
        /// 4 kHz audio bandwidth, 8 kHz effective sample rate.
        case narrowband
        /// 6 kHz, 12 kHz effective sample rate.
        case mediumband
        /// 8 kHz, 16 kHz effective sample rate.
        case wideband
        /// 12 kHz, 24 kHz effective sample rate.
        case superWideband
        /// 20 kHz, 48 kHz effective sample rate.
        case fullband
    }

    /// Configuration number 0...31 (mode, bandwidth and frame size).
    public let config: UInt8
    /// s bit: the frames are coded stereo.
    public let stereo: Bool
    /// c: how frames are packed (0...3, RFC 6716 §3.2).
    public let frameCountCode: UInt8

    public init(_ byte: UInt8) {
        config = byte >> 3
        stereo = byte & 0x04 != 0
        frameCountCode = byte & 0x03
    }

    /// The byte this TOC encodes.
    public var byte: UInt8 {
        config << 3 | (stereo ? 0x04 : 0) | frameCountCode
    }

    /// RFC 6716 §3.1, Table 2.
    public var mode: Mode {
        switch config {
        case 0...11: .silk
        case 12...15: .hybrid
        default: .celt
        }
    }

    /// RFC 6716 §3.1, Table 2.
    public var bandwidth: Bandwidth {
        switch config {
        case 0...3: .narrowband
        case 4...7: .mediumband
        case 8...11: .wideband
        case 12...13: .superWideband
        case 14...15: .fullband
        case 16...19: .narrowband
        case 20...23: .wideband
        case 24...27: .superWideband
        default: .fullband
        }
    }

    /// One frame's duration in 48 kHz samples: 2.5, 5, 10, 20, 40 or 60 ms
    /// (RFC 6716 §3.1, Table 2).
    public var frameDurationSamples48k: Int {
        // A switch, not an array lookup: an array literal may allocate.
        switch mode {
        case .silk:
            // 10, 20, 40, 60 ms
            switch config & 0x03 {
            case 0: 480
            case 1: 960
            case 2: 1_920
            default: 2_880
            }
        case .hybrid:
            // 10, 20 ms
            config & 0x01 == 0 ? 480 : 960
        case .celt:
            // 2.5, 5, 10, 20 ms
            switch config & 0x03 {
            case 0: 120
            case 1: 240
            case 2: 480
            default: 960
            }
        }
    }

    /// The duration of a whole Opus packet in 48 kHz samples, which is also
    /// how far the RTP timestamp advances for it (RFC 7587 §4.2), after
    /// checking the framing rules of RFC 6716 §3.4 that concern lengths.
    public static func packetDurationSamples48k(_ payload: UnsafeRawBufferPointer) throws(OpusPayloadError) -> Int {
        let frames = try frameCount(payload)
        return frames * OpusTOC(payload[0]).frameDurationSamples48k
    }

    /// The number of frames in an Opus packet (RFC 6716 §3.2), after the same
    /// checks as ``packetDurationSamples48k(_:)``.
    public static func frameCount(_ payload: UnsafeRawBufferPointer) throws(OpusPayloadError) -> Int {
        let end = payload.count
        guard end >= 1 else { throw .emptyPacket }  // R1
        let toc = OpusTOC(payload[0])

        switch toc.frameCountCode {
        case 0:
            // §3.2.2: one frame, the rest of the packet.
            guard end - 1 <= OpusRTP.maxFrameLength else { throw .frameTooLong }  // R2
            return 1

        case 1:
            // §3.2.3: two frames of (N-1)/2 bytes each.
            guard (end - 1) % 2 == 0 else { throw .invalidCode1Length }  // R3
            guard (end - 1) / 2 <= OpusRTP.maxFrameLength else { throw .frameTooLong }  // R2
            return 2

        case 2:
            // §3.2.4: first frame's length coded, the second takes the rest.
            let (firstLength, lengthBytes) = try readFrameLength(payload, at: 1, end: end)
            let remaining = end - 1 - lengthBytes
            guard firstLength <= remaining else { throw .frameLengthOverrun }  // R4
            guard remaining - firstLength <= OpusRTP.maxFrameLength else { throw .frameTooLong }  // R2
            return 2

        default:
            return try code3FrameCount(payload, toc: toc)
        }
    }

    /// §3.2.5: frame count byte, optional padding, then M frames.
    private static func code3FrameCount(_ payload: UnsafeRawBufferPointer, toc: OpusTOC) throws(OpusPayloadError) -> Int {
        let end = payload.count
        guard end >= 2 else { throw .missingFrameCount }  // R6, R7: at least 2 bytes
        let countByte = payload[1]
        let isVariableBitrate = countByte & 0x80 != 0
        let hasPadding = countByte & 0x40 != 0
        let frameCount = Int(countByte & 0x3F)
        guard frameCount > 0 else { throw .zeroFrameCount }  // R5
        let duration = frameCount * toc.frameDurationSamples48k
        guard duration <= OpusRTP.maxPacketDurationSamples48k else { throw .durationTooLong(samples48k: duration) }  // R5

        var position = 2
        // Bytes after the header that hold frames: the packet minus the padding
        // bytes at the end, once the padding length is known.
        var dataEnd = end
        if hasPadding {
            // Each 255 means 254 bytes of padding and another length byte.
            var padding = 0
            while true {
                guard position < end else { throw .paddingOverrun }
                let value = Int(payload[position])
                position += 1
                padding += value == 255 ? 254 : value
                if value != 255 { break }
            }
            guard padding <= end - position else { throw .paddingOverrun }
            dataEnd = end - padding
        }

        if isVariableBitrate {
            // R7: M-1 coded lengths, the last frame takes what is left.
            var declared = 0
            for _ in 1..<frameCount {
                let (length, lengthBytes) = try readFrameLength(payload, at: position, end: dataEnd)
                position += lengthBytes
                declared += length
            }
            guard declared <= dataEnd - position else { throw .frameLengthOverrun }
            guard dataEnd - position - declared <= OpusRTP.maxFrameLength else { throw .frameTooLong }  // R2
        } else {
            // R6: M frames of equal size share what is left.
            let frameBytes = dataEnd - position
            guard frameBytes % frameCount == 0 else { throw .invalidCBRLength }
            guard frameBytes / frameCount <= OpusRTP.maxFrameLength else { throw .frameTooLong }  // R2
        }
        return frameCount
    }

    /// §3.2.1: a frame length in one byte (0...251) or two (252...255, then
    /// `second * 4 + first`). Returns the length and the bytes it took.
    private static func readFrameLength(
        _ payload: UnsafeRawBufferPointer,
        at position: Int,
        end: Int
    ) throws(OpusPayloadError) -> (length: Int, byteCount: Int) {
        guard position < end else { throw .truncatedFrameLength }
        let first = Int(payload[position])
        if first < 252 { return (first, 1) }
        guard position + 1 < end else { throw .truncatedFrameLength }
        return (Int(payload[position + 1]) * 4 + first, 2)
    }
}
