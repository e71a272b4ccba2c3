import ConfabWire
import Testing

/// A TOC byte from its parts (RFC 6716 §3.1).
private func toc(config: UInt8, stereo: Bool = false, code: UInt8) -> UInt8 {
    config << 3 | (stereo ? 0x04 : 0) | code
}

@Suite("Opus TOC byte (RFC 6716 §3.1)")
struct OpusTOCTests {
    // Table 2 of RFC 6716 §3.1, one row per configuration: mode, bandwidth, frame size in 48 kHz samples.
    static let table: [(UInt8, OpusTOC.Mode, OpusTOC.Bandwidth, Int)] = [
        (0, .silk, .narrowband, 480), (1, .silk, .narrowband, 960), (2, .silk, .narrowband, 1_920), (3, .silk, .narrowband, 2_880),
        (4, .silk, .mediumband, 480), (5, .silk, .mediumband, 960), (6, .silk, .mediumband, 1_920), (7, .silk, .mediumband, 2_880),
        (8, .silk, .wideband, 480), (9, .silk, .wideband, 960), (10, .silk, .wideband, 1_920), (11, .silk, .wideband, 2_880),
        (12, .hybrid, .superWideband, 480), (13, .hybrid, .superWideband, 960),
        (14, .hybrid, .fullband, 480), (15, .hybrid, .fullband, 960),
        (16, .celt, .narrowband, 120), (17, .celt, .narrowband, 240), (18, .celt, .narrowband, 480), (19, .celt, .narrowband, 960),
        (20, .celt, .wideband, 120), (21, .celt, .wideband, 240), (22, .celt, .wideband, 480), (23, .celt, .wideband, 960),
        (24, .celt, .superWideband, 120), (25, .celt, .superWideband, 240), (26, .celt, .superWideband, 480), (27, .celt, .superWideband, 960),
        (28, .celt, .fullband, 120), (29, .celt, .fullband, 240), (30, .celt, .fullband, 480), (31, .celt, .fullband, 960),
    ]

    @Test("every configuration has the mode, bandwidth and frame size of Table 2", arguments: table)
    func configuration(config: UInt8, mode: OpusTOC.Mode, bandwidth: OpusTOC.Bandwidth, samples: Int) {
        let parsed = OpusTOC(toc(config: config, code: 0))
        #expect(parsed.config == config)
        #expect(parsed.mode == mode)
        #expect(parsed.bandwidth == bandwidth)
        #expect(parsed.frameDurationSamples48k == samples)
    }

    @Test("the stereo bit and frame count code are split out and re-encoded")
    func fields() {
        let parsed = OpusTOC(0x7E)  // config 15, stereo, code 2
        #expect(parsed.config == 15)
        #expect(parsed.stereo)
        #expect(parsed.frameCountCode == 2)
        #expect(parsed.byte == 0x7E)
        for byte in UInt8.min...UInt8.max {
            #expect(OpusTOC(byte).byte == byte)
        }
    }

    @Test("RTP constants of RFC 7587")
    func constants() {
        #expect(OpusRTP.clockRate == 48_000)
        #expect(OpusRTP.defaultPayloadType == 111)
        #expect(OpusRTP.maxPacketDurationSamples48k == 5_760)
    }
}

@Suite("Opus packet duration and framing (RFC 6716 §3.2, §3.4)")
struct OpusDurationTests {
    // MARK: code 0

    @Test("code 0: one 20 ms hybrid frame, as WebRTC voice sends")
    func code0() throws {
        #expect(try opusDuration([0x78] + [UInt8](repeating: 0x5A, count: 60)) == 960)
    }

    @Test("code 0 with only the TOC is a valid empty (DTX) frame")
    func code0Empty() throws {
        #expect(try opusDuration([toc(config: 1, code: 0)]) == 960)
    }

    @Test("code 0: a frame of 1275 bytes is the limit (R2)")
    func code0Longest() throws {
        #expect(try opusDuration([0xF8] + [UInt8](repeating: 1, count: 1_275)) == 960)
        #expect(throws: OpusPayloadError.frameTooLong) { try opusDuration([0xF8] + [UInt8](repeating: 1, count: 1_276)) }
    }

    @Test("an empty payload is not an Opus packet (R1)")
    func empty() {
        #expect(throws: OpusPayloadError.emptyPacket) { try opusDuration([]) }
    }

    // MARK: code 1

    @Test("code 1: two equal 10 ms CELT frames")
    func code1() throws {
        #expect(try opusDuration([toc(config: 30, code: 1)] + [UInt8](repeating: 3, count: 80)) == 960)
        #expect(try opusDuration([toc(config: 30, code: 1)]) == 960)  // two empty frames
    }

    @Test("code 1 needs an odd total length (R3)")
    func code1EvenLength() {
        #expect(throws: OpusPayloadError.invalidCode1Length) {
            try opusDuration([toc(config: 30, code: 1)] + [UInt8](repeating: 3, count: 81))
        }
    }

    @Test("code 1 frames are limited to 1275 bytes each (R2)")
    func code1TooLong() {
        #expect(throws: OpusPayloadError.frameTooLong) {
            try opusDuration([toc(config: 30, code: 1)] + [UInt8](repeating: 3, count: 2 * 1_276))
        }
    }

    // MARK: code 2

    @Test("code 2: first frame length in one byte, the second takes the rest")
    func code2() throws {
        #expect(try opusDuration([0x7A, 30] + [UInt8](repeating: 1, count: 30 + 45)) == 1_920)
        #expect(try opusDuration([0x7A, 0]) == 1_920)  // both frames empty
    }

    @Test("code 2: a two-byte length is second × 4 + first")
    func code2TwoByteLength() throws {
        // 252 + 4 × 1 = 256 bytes for the first frame, 10 for the second.
        #expect(try opusDuration([0x7A, 252, 1] + [UInt8](repeating: 1, count: 256 + 10)) == 1_920)
        #expect(throws: OpusPayloadError.frameLengthOverrun) {
            try opusDuration([0x7A, 252, 1] + [UInt8](repeating: 1, count: 255))
        }
    }

    @Test("code 2 without its length byte(s) is truncatedFrameLength (R4)")
    func code2Truncated() {
        #expect(throws: OpusPayloadError.truncatedFrameLength) { try opusDuration([0x7A]) }
        #expect(throws: OpusPayloadError.truncatedFrameLength) { try opusDuration([0x7A, 253]) }
    }

    @Test("code 2 with a first frame longer than the packet is frameLengthOverrun (R4)")
    func code2Overrun() {
        #expect(throws: OpusPayloadError.frameLengthOverrun) { try opusDuration([0x7A, 10, 1, 2, 3]) }
    }

    @Test("code 2 with a second frame over 1275 bytes is frameTooLong (R2)")
    func code2SecondTooLong() {
        #expect(throws: OpusPayloadError.frameTooLong) {
            try opusDuration([0x7A, 1, 9] + [UInt8](repeating: 1, count: 1_276))
        }
    }

    // MARK: code 3

    @Test("code 3 CBR: three 20 ms SILK frames of equal size")
    func code3CBR() throws {
        #expect(try opusDuration([toc(config: 1, code: 3), 0x03] + [UInt8](repeating: 2, count: 3 * 20)) == 2_880)
    }

    @Test("code 3: 120 ms is the longest packet, one more frame is too long (R5)")
    func code3Duration() throws {
        #expect(try opusDuration([toc(config: 1, code: 3), 6] + [UInt8](repeating: 2, count: 6 * 10)) == 5_760)
        #expect(throws: OpusPayloadError.durationTooLong(samples48k: 6_720)) {
            try opusDuration([toc(config: 1, code: 3), 7] + [UInt8](repeating: 2, count: 7 * 10))
        }
        // 48 CELT frames of 2.5 ms are 120 ms; 49 are not.
        #expect(try opusDuration([toc(config: 16, code: 3), 48]) == 5_760)
        #expect(throws: OpusPayloadError.durationTooLong(samples48k: 5_880)) { try opusDuration([toc(config: 16, code: 3), 49]) }
        // 60 ms SILK frames: two fit, three do not.
        #expect(try opusDuration([toc(config: 3, code: 3), 2]) == 5_760)
        #expect(throws: OpusPayloadError.durationTooLong(samples48k: 8_640)) { try opusDuration([toc(config: 3, code: 3), 3]) }
    }

    @Test("code 3 needs its frame count byte and at least one frame (R5)")
    func code3Count() {
        #expect(throws: OpusPayloadError.missingFrameCount) { try opusDuration([toc(config: 1, code: 3)]) }
        #expect(throws: OpusPayloadError.zeroFrameCount) { try opusDuration([toc(config: 1, code: 3), 0x00, 1, 2]) }
        #expect(throws: OpusPayloadError.zeroFrameCount) { try opusDuration([toc(config: 1, code: 3), 0xC0, 0]) }
    }

    @Test("code 3 CBR frame bytes must split evenly into M frames (R6)")
    func code3CBRUneven() {
        #expect(throws: OpusPayloadError.invalidCBRLength) {
            try opusDuration([toc(config: 1, code: 3), 0x03] + [UInt8](repeating: 2, count: 31))
        }
    }

    @Test("code 3 CBR frames are limited to 1275 bytes (R2)")
    func code3CBRTooLong() {
        #expect(throws: OpusPayloadError.frameTooLong) {
            try opusDuration([toc(config: 1, code: 3), 0x01] + [UInt8](repeating: 2, count: 1_276))
        }
    }

    @Test("code 3 VBR: M-1 coded lengths, the last frame takes the rest (R7)")
    func code3VBR() throws {
        // v=1, M=3: lengths 10 and 300 (252 + 4 × 12), then 7 bytes for the last frame.
        let packet = [toc(config: 9, code: 3), 0x83, 10, 252, 12] + [UInt8](repeating: 4, count: 10 + 300 + 7)
        #expect(try opusDuration(packet) == 2_880)
    }

    @Test("code 3 VBR with lengths missing or too long is rejected (R7)")
    func code3VBRErrors() {
        #expect(throws: OpusPayloadError.truncatedFrameLength) { try opusDuration([toc(config: 9, code: 3), 0x83, 10]) }
        #expect(throws: OpusPayloadError.frameLengthOverrun) {
            try opusDuration([toc(config: 9, code: 3), 0x82, 50] + [UInt8](repeating: 4, count: 49))
        }
    }

    @Test("code 3 padding: each 255 adds 254 bytes and another length byte")
    func code3Padding() throws {
        // p=1, CBR, M=2: padding length 5, frames 2 × 8, then 5 padding bytes.
        #expect(try opusDuration([toc(config: 9, code: 3), 0x42, 5] + [UInt8](repeating: 1, count: 16) + [UInt8](repeating: 0, count: 5)) == 1_920)
        // 255, 10 → 254 + 10 = 264 padding bytes, no frame data (two empty frames).
        #expect(try opusDuration([toc(config: 9, code: 3), 0x42, 255, 10] + [UInt8](repeating: 0, count: 264)) == 1_920)
        // VBR with padding: M=2, padding 3, first frame 4 bytes, last frame 6.
        #expect(try opusDuration([toc(config: 9, code: 3), 0xC2, 3, 4] + [UInt8](repeating: 1, count: 10) + [0, 0, 0]) == 1_920)
    }

    @Test("code 3 padding that runs past the packet is paddingOverrun (R6, R7)")
    func code3PaddingOverrun() {
        #expect(throws: OpusPayloadError.paddingOverrun) { try opusDuration([toc(config: 9, code: 3), 0x42]) }
        #expect(throws: OpusPayloadError.paddingOverrun) { try opusDuration([toc(config: 9, code: 3), 0x42, 255]) }
        #expect(throws: OpusPayloadError.paddingOverrun) { try opusDuration([toc(config: 9, code: 3), 0x42, 9, 0, 0]) }
    }

    @Test("frameCount agrees with the framing code")
    func frameCount() throws {
        #expect(try [UInt8]([0x78, 1]).withUnsafeBytes { try OpusTOC.frameCount($0) } == 1)
        #expect(try [UInt8]([0x79, 1, 2]).withUnsafeBytes { try OpusTOC.frameCount($0) } == 2)
        #expect(try [UInt8]([0x7B, 0x05]).withUnsafeBytes { try OpusTOC.frameCount($0) } == 5)
    }
}
