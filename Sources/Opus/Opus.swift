// A typed Swift face on libopus (RFC 6716), 48 kHz mono for voice.
//
//   PCM frame (10/20 ms) ─▶ Encoder.encode ─▶ Opus packet (RFC 7587 payload)
//   Opus packet ─▶ Decoder.decode ─▶ PCM;  next packet ─▶ Decoder.decodeFEC ─▶ the lost frame;
//   nothing ─▶ Decoder.conceal (PLC)
//
// Shape after swift-system and swift-opus: the C state is created in `init`
// and freed in `deinit`; encode and decode write into buffers the caller owns,
// so the per-frame path allocates nothing; every return code is checked.
import COpus

public enum Opus {
    /// The only rate Confab uses: Opus' native clock (RFC 7587 §4.1).
    public static let sampleRate: Int32 = 48_000
    /// The largest packet libopus can produce for one frame (RFC 6716 §3.2.1 limit is 1275 per frame).
    public static let maxPacketBytes = 1_275
    /// The longest frame a packet can hold: 120 ms at 48 kHz.
    public static let maxFrameSamples = 5_760

    /// The libopus version string, e.g. "libopus 1.3.1".
    public static var version: String { String(cString: opus_get_version_string()) }

    /// libopus error codes, named. The corresponding C constants are `OPUS_*`.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case badArgument
        case bufferTooSmall
        case internalError
        case invalidPacket
        case unimplemented
        case invalidState
        case allocationFailed
        case unknown(Int32)

        init(code: Int32) {
            switch code {
            case OPUS_BAD_ARG: self = .badArgument
            case OPUS_BUFFER_TOO_SMALL: self = .bufferTooSmall
            case OPUS_INTERNAL_ERROR: self = .internalError
            case OPUS_INVALID_PACKET: self = .invalidPacket
            case OPUS_UNIMPLEMENTED: self = .unimplemented
            case OPUS_INVALID_STATE: self = .invalidState
            case OPUS_ALLOC_FAIL: self = .allocationFailed
            default: self = .unknown(code)
            }
        }

        public var description: String {
            switch self {
            case .badArgument: return "Opus: bad argument"
            case .bufferTooSmall: return "Opus: buffer too small"
            case .internalError: return "Opus: internal error"
            case .invalidPacket: return "Opus: invalid packet"
            case .unimplemented: return "Opus: unimplemented request"
            case .invalidState: return "Opus: invalid state"
            case .allocationFailed: return "Opus: allocation failed"
            case .unknown(let code): return "Opus: error \(code)"
            }
        }
    }

    /// One funnel for libopus status codes: negative means an error.
    @inline(__always)
    static func check(_ code: Int32) throws(Opus.Error) {
        if code < 0 { throw Opus.Error(code: code) }
    }

    /// Settings for a voice encoder. Defaults are Confab's: VOIP, 32 kb/s,
    /// in-band FEC on for 10 % expected loss, DTX off.
    public struct EncoderSettings: Sendable, Equatable {
        /// Target bitrate [bit/s], 6 000…510 000.
        public var bitrate: Int32 = 32_000
        /// 0 (fastest) … 10 (best).
        public var complexity: Int32 = 9
        /// In-band forward error correction (LBRR): each packet carries a coarse copy of the previous frame.
        public var inbandFEC: Bool = true
        /// The loss the encoder plans FEC for [%]; FEC needs a non-zero value.
        public var expectedPacketLossPercent: Int32 = 10
        /// Discontinuous transmission: near-empty packets during silence.
        public var dtx: Bool = false

        public init(bitrate: Int32 = 32_000, complexity: Int32 = 9, inbandFEC: Bool = true,
                    expectedPacketLossPercent: Int32 = 10, dtx: Bool = false) {
            self.bitrate = bitrate
            self.complexity = complexity
            self.inbandFEC = inbandFEC
            self.expectedPacketLossPercent = expectedPacketLossPercent
            self.dtx = dtx
        }
    }

    /// A 48 kHz mono encoder in the VOIP application mode.
    public final class Encoder: @unchecked Sendable {
        private let state: OpaquePointer
        public private(set) var settings: EncoderSettings

        /// The corresponding C function is `opus_encoder_create`.
        public init(settings: EncoderSettings = EncoderSettings()) throws(Opus.Error) {
            var error: Int32 = OPUS_OK
            guard let state = opus_encoder_create(Opus.sampleRate, 1, OPUS_APPLICATION_VOIP, &error), error == OPUS_OK else {
                throw Opus.Error(code: error)
            }
            self.state = state
            self.settings = settings
            try Opus.check(confab_opus_set_signal_voice(state))
            try apply(settings)
        }

        deinit { opus_encoder_destroy(state) }

        /// Changes the settings of a running encoder (each ctl is checked).
        public func apply(_ settings: EncoderSettings) throws(Opus.Error) {
            try Opus.check(confab_opus_set_bitrate(state, settings.bitrate))
            try Opus.check(confab_opus_set_complexity(state, settings.complexity))
            try Opus.check(confab_opus_set_inband_fec(state, settings.inbandFEC ? 1 : 0))
            try Opus.check(confab_opus_set_packet_loss_perc(state, settings.expectedPacketLossPercent))
            try Opus.check(confab_opus_set_dtx(state, settings.dtx ? 1 : 0))
            self.settings = settings
        }

        /// The encoder's algorithmic delay [samples at 48 kHz].
        public var lookaheadSamples: Int {
            var value: Int32 = 0
            _ = confab_opus_get_lookahead(state, &value)
            return Int(value)
        }

        /// Encodes one frame (2.5, 5, 10, 20, 40 or 60 ms of 48 kHz samples) into
        /// `packet`, returning the packet length. A length of 1–2 bytes in DTX mode
        /// means "nothing worth sending" (libopus' DTX convention).
        /// The corresponding C function is `opus_encode`.
        @inline(__always)
        public func encode(_ pcm: UnsafeBufferPointer<Int16>, into packet: UnsafeMutableRawBufferPointer) throws(Opus.Error) -> Int {
            guard let input = pcm.baseAddress, let output = packet.baseAddress else { throw .badArgument }
            let n = opus_encode(state, input, Int32(pcm.count), output.assumingMemoryBound(to: UInt8.self), Int32(min(packet.count, Int(Int32.max))))
            try Opus.check(n)
            return Int(n)
        }

        /// The corresponding C request is `OPUS_RESET_STATE`.
        public func reset() throws(Opus.Error) { try Opus.check(confab_opus_encoder_reset(state)) }
    }

    /// A 48 kHz mono decoder with FEC recovery and packet-loss concealment.
    public final class Decoder: @unchecked Sendable {
        private let state: OpaquePointer

        /// The corresponding C function is `opus_decoder_create`.
        public init() throws(Opus.Error) {
            var error: Int32 = OPUS_OK
            guard let state = opus_decoder_create(Opus.sampleRate, 1, &error), error == OPUS_OK else {
                throw Opus.Error(code: error)
            }
            self.state = state
        }

        deinit { opus_decoder_destroy(state) }

        /// Decodes one packet into `pcm`, returning the samples written. `pcm`
        /// must hold the packet's whole duration (up to 120 ms).
        /// The corresponding C function is `opus_decode`.
        @inline(__always)
        public func decode(_ packet: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) throws(Opus.Error) -> Int {
            try decode(packet, into: pcm, fec: 0)
        }

        /// Recovers the frame *before* `nextPacket` from the in-band FEC data that
        /// `nextPacket` carries (RFC 6716 §2.1.7 LBRR). `pcm.count` must be exactly
        /// the lost frame's duration. If the packet carries no FEC, libopus
        /// conceals instead; `hasFEC(nextPacket)` tells which.
        /// The corresponding C function is `opus_decode` with `decode_fec = 1`.
        @inline(__always)
        public func decodeFEC(from nextPacket: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) throws(Opus.Error) -> Int {
            try decode(nextPacket, into: pcm, fec: 1)
        }

        @inline(__always)
        private func decode(
            _ packet: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>, fec: Int32
        ) throws(Opus.Error) -> Int {
            guard let output = pcm.baseAddress, let input = packet.baseAddress, packet.count > 0 else { throw .invalidPacket }
            let n = opus_decode(state, input.assumingMemoryBound(to: UInt8.self), Int32(packet.count), output, Int32(pcm.count), fec)
            try Opus.check(n)
            return Int(n)
        }

        /// Packet-loss concealment: synthesises `pcm.count` samples (a multiple of
        /// 2.5 ms) continuing the last decoded audio.
        /// The corresponding C function is `opus_decode` with a NULL packet.
        @inline(__always)
        public func conceal(into pcm: UnsafeMutableBufferPointer<Int16>) throws(Opus.Error) -> Int {
            guard let output = pcm.baseAddress else { throw .badArgument }
            let n = opus_decode(state, nil, 0, output, Int32(pcm.count), 0)
            try Opus.check(n)
            return Int(n)
        }

        /// The duration of the last decoded packet [samples at 48 kHz].
        public var lastPacketDurationSamples: Int {
            var value: Int32 = 0
            _ = confab_opus_decoder_get_last_packet_duration(state, &value)
            return Int(value)
        }

        /// The corresponding C request is `OPUS_RESET_STATE`.
        public func reset() throws(Opus.Error) { try Opus.check(confab_opus_decoder_reset(state)) }
    }

    /// Samples (at 48 kHz) in a packet, from its TOC and frame count; throws on a malformed packet.
    /// The corresponding C function is `opus_packet_get_nb_samples`.
    @inline(__always)
    public static func sampleCount(of packet: UnsafeRawBufferPointer) throws(Opus.Error) -> Int {
        guard let input = packet.baseAddress, packet.count > 0 else { throw .invalidPacket }
        let n = opus_packet_get_nb_samples(input.assumingMemoryBound(to: UInt8.self), Int32(packet.count), Opus.sampleRate)
        try Opus.check(n)
        return Int(n)
    }

    /// Whether a packet carries in-band FEC (LBRR) for the frame before it.
    ///
    /// libopus 1.3 has no `opus_packet_has_lbrr` (it arrived in 1.5), so this
    /// reads the flag itself: CELT-only packets (TOC config 16…31) carry none;
    /// in SILK and hybrid packets the first byte of the first frame starts with
    /// one VAD flag per 20 ms SILK frame followed by the LBRR flag
    /// (RFC 6716 §4.2.3, §4.2.4). Mono only, as Confab sends.
    public static func hasFEC(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard packet.count >= 2 else { return false }
        let toc = packet[0]
        let config = Int(toc >> 3)
        guard config < 16 else { return false }
        // SILK frame count inside one Opus frame: 10 and 20 ms → 1, 40 ms → 2, 60 ms → 3.
        // SILK-only configs 0…11 cycle 10/20/40/60 ms; hybrid 12…15 are 10/20 ms.
        let silkFrames: Int
        if config < 12 {
            switch config & 3 {
            case 2: silkFrames = 2
            case 3: silkFrames = 3
            default: silkFrames = 1
            }
        } else {
            silkFrames = 1
        }
        guard let firstFrame = firstFrameOffset(packet) else { return false }
        return (packet[firstFrame] >> UInt8(7 - silkFrames)) & 1 == 1
    }

    /// Offset of the first frame's data (RFC 6716 §3.2), nil if malformed or empty.
    private static func firstFrameOffset(_ packet: UnsafeRawBufferPointer) -> Int? {
        let count = packet.count
        switch packet[0] & 0x3 {
        case 0, 1:
            return count > 1 ? 1 : nil
        case 2:
            // One or two bytes give the first frame's length (§3.2.1).
            guard count > 1 else { return nil }
            let start = packet[1] < 252 ? 2 : 3
            return start < count ? start : nil
        default:
            // Code 3 (§3.2.5): frame count byte, optional padding length, VBR lengths.
            guard count > 2 else { return nil }
            let header = packet[1]
            let frames = Int(header & 0x3f)
            let vbr = header & 0x80 != 0
            let padded = header & 0x40 != 0
            var offset = 2
            if padded {
                while offset < count {
                    let b = packet[offset]
                    offset += 1
                    if b != 255 { break }
                }
            }
            if vbr {
                for _ in 0..<max(0, frames - 1) {
                    guard offset < count else { return nil }
                    offset += packet[offset] < 252 ? 1 : 2
                }
            }
            return offset < count ? offset : nil
        }
    }
}
