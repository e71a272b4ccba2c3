import ConfabTestSupport
import Foundation
import Opus
import Testing

/// A 20 ms frame of a sine at `hz`, continuing phase from `frameIndex`.
func sineFrame(hz: Double, frameIndex: Int, samples: Int = 960, amplitude: Double = 8000) -> [Int16] {
    (0..<samples).map { i in
        let t = Double(frameIndex * samples + i) / 48_000
        return Int16(amplitude * sin(2 * .pi * hz * t))
    }
}

/// The voiced frames these tests use swing deeper than the default, down to
/// a tenth of their peak.
func deepVoicedFrame(_ index: Int) -> [Int16] { voicedFrame(index, level: 0.55, swing: 0.45) }

func rms(_ x: ArraySlice<Int16>) -> Double {
    guard !x.isEmpty else { return 0 }
    return (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
}

@Suite("Opus wrapper")
struct OpusTests {
    @Test("a 440 Hz tone survives encode and decode with its level")
    func roundTrip() throws {
        let encoder = try Opus.Encoder()
        let decoder = try Opus.Decoder()
        var packet = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        var pcm = [Int16](repeating: 0, count: Opus.maxFrameSamples)
        var decoded: [Int16] = []
        for f in 0..<25 {
            let frame = sineFrame(hz: 440, frameIndex: f)
            let n = try frame.withUnsafeBufferPointer { input in
                try packet.withUnsafeMutableBytes { try encoder.encode(input, into: $0) }
            }
            #expect(n > 2 && n < 400)
            let m = try packet.withUnsafeBytes { bytes in
                try pcm.withUnsafeMutableBufferPointer { try decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<n]), into: $0) }
            }
            #expect(m == 960)
            decoded += pcm[0..<m]
        }
        // Skip the codec's start-up; the level must come through within 1 dB.
        let inLevel = rms(ArraySlice(sineFrame(hz: 440, frameIndex: 0)))
        let outLevel = rms(decoded[9600...])
        #expect(abs(20 * log10(outLevel / inLevel)) < 1.0)
        #expect(decoder.lastPacketDurationSamples == 960)
    }

    @Test("10 ms frames encode to 480-sample packets")
    func tenMillisecondFrames() throws {
        let encoder = try Opus.Encoder()
        let frame = sineFrame(hz: 300, frameIndex: 0, samples: 480)
        var packet = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        let n = try frame.withUnsafeBufferPointer { input in try packet.withUnsafeMutableBytes { try encoder.encode(input, into: $0) } }
        let samples = try packet.withUnsafeBytes { try Opus.sampleCount(of: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        #expect(samples == 480)
    }

    @Test("FEC is present with in-band FEC on and absent with it off")
    func fecFlag() throws {
        for fecOn in [true, false] {
            let encoder = try Opus.Encoder(settings: .init(bitrate: 32_000, inbandFEC: fecOn, expectedPacketLossPercent: 10))
            var packet = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
            var sawFEC = false
            for f in 0..<20 {
                let frame = deepVoicedFrame(f)
                let n = try frame.withUnsafeBufferPointer { input in try packet.withUnsafeMutableBytes { try encoder.encode(input, into: $0) } }
                if packet.withUnsafeBytes({ Opus.hasFEC(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) { sawFEC = true }
            }
            #expect(sawFEC == fecOn)
        }
    }

    @Test("a lost frame recovered from the next packet's FEC resembles the original")
    func fecRecovery() throws {
        let encoder = try Opus.Encoder()
        let decoder = try Opus.Decoder()
        var packets: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        for f in 0..<30 {
            let frame = deepVoicedFrame(f)
            let n = try frame.withUnsafeBufferPointer { input in try buffer.withUnsafeMutableBytes { try encoder.encode(input, into: $0) } }
            packets.append(Array(buffer[0..<n]))
        }
        var pcm = [Int16](repeating: 0, count: 960)
        for f in 0..<20 {
            _ = try packets[f].withUnsafeBytes { p in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(p, into: $0) } }
        }
        // Frame 20 is lost; recover it from frame 21.
        #expect(packets[21].withUnsafeBytes { Opus.hasFEC($0) })
        let m = try packets[21].withUnsafeBytes { p in try pcm.withUnsafeMutableBufferPointer { try decoder.decodeFEC(from: p, into: $0) } }
        #expect(m == 960)
        let original = deepVoicedFrame(20)
        // FEC is a coarser copy; its level must be within 3 dB of the original.
        #expect(abs(20 * log10(rms(pcm[...]) / rms(original[...]))) < 3)
    }

    @Test("concealment continues the signal, then fades")
    func concealment() throws {
        let encoder = try Opus.Encoder()
        let decoder = try Opus.Decoder()
        var buffer = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        var pcm = [Int16](repeating: 0, count: 960)
        for f in 0..<10 {
            let frame = sineFrame(hz: 200, frameIndex: f, amplitude: 6000)
            let n = try frame.withUnsafeBufferPointer { input in try buffer.withUnsafeMutableBytes { try encoder.encode(input, into: $0) } }
            _ = try buffer.withUnsafeBytes { p in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(UnsafeRawBufferPointer(rebasing: p[0..<n]), into: $0) } }
        }
        let first = try pcm.withUnsafeMutableBufferPointer { try decoder.conceal(into: $0) }
        #expect(first == 960)
        #expect(rms(pcm[...]) > 500)
        for _ in 0..<20 { _ = try pcm.withUnsafeMutableBufferPointer { try decoder.conceal(into: $0) } }
        #expect(rms(pcm[...]) < 100)
    }

    @Test("garbage packets are refused with invalidPacket, never a crash")
    func garbage() throws {
        let decoder = try Opus.Decoder()
        var pcm = [Int16](repeating: 0, count: Opus.maxFrameSamples)
        // Code 3 with 0 frames is invalid (RFC 6716 §3.2.5 R5).
        let bad: [UInt8] = [0x03, 0x00]
        #expect(throws: Opus.Error.invalidPacket) {
            _ = try bad.withUnsafeBytes { p in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(p, into: $0) } }
        }
        #expect(throws: Opus.Error.invalidPacket) {
            _ = try [UInt8]().withUnsafeBytes { p in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(p, into: $0) } }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let junk = (0..<Int.random(in: 1...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if let n = try? junk.withUnsafeBytes({ p in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(p, into: $0) } }) {
                #expect(n > 0 && n <= Opus.maxFrameSamples)
            }
        }
    }
}
