// Signals and file images shared by the DSP and device tests.

import ConfabMedia
import Foundation

enum DSPTestSignals {
    /// A sine of `amplitude` [Int16 units] at `frequencyHz`, sampled at 48 kHz.
    static func sine(frequencyHz: Double, amplitude: Double, count: Int, sampleRate: Double = 48_000) -> [Int16] {
        (0..<count).map { i in
            Int16((amplitude * sin(2 * Double.pi * frequencyHz * Double(i) / sampleRate)).rounded())
        }
    }

    /// Deterministic white noise, uniform in −amplitude…amplitude.
    static func noise(amplitude: Int, count: Int, seed: UInt64) -> [Int16] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let unit = Double(state >> 11) / Double(1 << 53)
            return Int16((Double(amplitude) * (2 * unit - 1)).rounded())
        }
    }

    /// Everything a finite source produces, read in `chunk`-sized pieces.
    static func readAll(_ source: some AudioSource, chunk: Int = 960, limit: Int = 48_000 * 120) throws -> [Int16] {
        var all: [Int16] = []
        var buffer = [Int16](repeating: 0, count: chunk)
        while all.count < limit {
            let count = try buffer.withUnsafeMutableBufferPointer { try source.read(into: $0) }
            all.append(contentsOf: buffer[0..<count])
            if count < chunk { break }
        }
        return all
    }

    /// Runs a fresh VAD over 20 ms frames and returns its decision per frame.
    static func voiceDecisions(_ samples: [Int16], frameMs: Int = 20) -> [Bool] {
        var vad = VoiceActivityDetector()
        let frame = AudioFormat.samples(forMs: frameMs)
        return stride(from: 0, to: samples.count - frame + 1, by: frame).map { start in
            samples[start..<(start + frame)].withUnsafeBufferPointer { vad.process($0, frameMs: frameMs) }
        }
    }

    /// dBov of each 20 ms frame.
    static func frameLevels(_ samples: [Int16]) -> [Double] {
        let frame = AudioFormat.samples(forMs: 20)
        return stride(from: 0, to: samples.count - frame + 1, by: frame).map { start in
            samples[start..<(start + frame)].withUnsafeBufferPointer { LevelMeter.dBov($0) }
        }
    }

    /// Sign changes, counting a run of zeros as no change (for frequency checks).
    static func zeroCrossings(_ samples: [Int16]) -> Int {
        var crossings = 0
        var previousSign = 0
        for sample in samples where sample != 0 {
            let sign = sample > 0 ? 1 : -1
            if previousSign != 0, sign != previousSign { crossings += 1 }
            previousSign = sign
        }
        return crossings
    }

    /// How many times the decisions go from false to true.
    static func onsets(_ decisions: [Bool]) -> Int {
        zip([false] + decisions, decisions).filter { !$0 && $1 }.count
    }
}

/// Builds RIFF/WAVE file images byte by byte, including broken ones.
enum RIFFImage {
    static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// A chunk: id, size (the real one unless `declaredSize`), body, pad byte if odd.
    static func chunk(_ id: String, _ body: [UInt8], declaredSize: UInt32? = nil) -> [UInt8] {
        Array(id.utf8) + le32(declaredSize ?? UInt32(body.count)) + body + (body.count % 2 == 1 ? [0] : [])
    }

    /// A plain WAVEFORMATEX `fmt ` body (16 bytes).
    static func fmtBody(tag: UInt16 = 1, channels: UInt16 = 1, sampleRate: UInt32 = 48_000, bits: UInt16 = 16) -> [UInt8] {
        let blockAlign = channels * (bits / 8)
        return le16(tag) + le16(channels) + le32(sampleRate) + le32(sampleRate &* UInt32(blockAlign))
            + le16(blockAlign) + le16(bits)
    }

    /// A WAVE_FORMAT_EXTENSIBLE `fmt ` body (40 bytes) whose subformat GUID
    /// starts with `subformat` (1 PCM, 3 float); `guidTail` can break the GUID.
    static func extensibleFmtBody(
        subformat: UInt32, channels: UInt16 = 1, sampleRate: UInt32 = 48_000, bits: UInt16 = 16,
        guidTail: [UInt8] = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
    ) -> [UInt8] {
        fmtBody(tag: 0xFFFE, channels: channels, sampleRate: sampleRate, bits: bits)
            + le16(22) + le16(bits) + le32(channels == 1 ? 0x4 : 0x3) + le32(subformat) + guidTail
    }

    /// RIFF + WAVE around `chunks`; the RIFF size is right unless given.
    static func wave(_ chunks: [[UInt8]], riffSize: UInt32? = nil, magic: String = "RIFF", form: String = "WAVE") -> [UInt8] {
        let body = chunks.flatMap { $0 }
        return Array(magic.utf8) + le32(riffSize ?? UInt32(4 + body.count)) + Array(form.utf8) + body
    }

    /// 16-bit little-endian sample bytes.
    static func pcm16(_ samples: [Int16]) -> [UInt8] {
        samples.flatMap { le16(UInt16(bitPattern: $0)) }
    }
}
