import ConfabMedia
import ConfabTestSupport
import Foundation
import Testing

@Suite("WAV files")
struct WAVTests {
    /// The message of a `.format` error, or nil when `body` did not fail that way.
    private func formatError(_ body: () throws(AudioDeviceError) -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            if case .format(let message) = error { return message }
            return nil
        }
    }

    private func bytes(atPath path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("48 kHz mono round trip is bit-exact, extremes included")
    func roundTrip() throws {
        let directory = try TempDirectory()
        let path = directory.file("round.wav")
        let samples = [Int16.min, Int16.max, 0, -1, 1] + DSPTestSignals.noise(amplitude: 32767, count: 48_000, seed: 5)
        try WAVFile.write(samples, path: path)
        #expect(try WAVFile.read(path: path) == samples)
        let info = try WAVFile.info(path: path)
        #expect(info == WAVFileInfo(encoding: .integer, sampleRate: 48_000, channels: 1, bitsPerSample: 16, frameCount: samples.count))
    }

    @Test("the written header is canonical: 44 bytes, sizes that match the file")
    func canonicalHeader() throws {
        let directory = try TempDirectory()
        let path = directory.file("header.wav")
        try WAVFile.write([Int16](repeating: 3, count: 1000), path: path)
        let file = try bytes(atPath: path)
        #expect(file.count == 44 + 2000)
        #expect(Array(file[0..<4]) == Array("RIFF".utf8))
        #expect(Array(file[4..<8]) == RIFFImage.le32(UInt32(file.count - 8)))
        #expect(Array(file[8..<16]) == Array("WAVEfmt ".utf8))
        #expect(Array(file[16..<36]) == RIFFImage.le32(16) + RIFFImage.fmtBody(channels: 1, sampleRate: 48_000, bits: 16))
        #expect(Array(file[36..<44]) == Array("data".utf8) + RIFFImage.le32(2000))
    }

    @Test("16 kHz stereo becomes 48 kHz mono of three times the length")
    func resampleAndDownmix() throws {
        // 1 s of a 500 Hz tone on both channels.
        let tone = DSPTestSignals.sine(frequencyHz: 500, amplitude: 10000, count: 16_000, sampleRate: 16_000)
        let interleaved = tone.flatMap { [$0, $0] }
        let image = RIFFImage.wave([
            RIFFImage.chunk("fmt ", RIFFImage.fmtBody(channels: 2, sampleRate: 16_000)),
            RIFFImage.chunk("data", RIFFImage.pcm16(interleaved)),
        ])
        let mono = try WAVFile.decode(image)
        #expect(mono.count == 48_000)
        #expect(Swift.abs(DSPTestSignals.zeroCrossings(mono) - 1000) <= 2)
        let peak = mono.map { Swift.abs(Int($0)) }.max() ?? 0
        #expect(peak > 9900 && peak <= 10000)
        // Every third output sample is an input sample, unchanged.
        #expect(stride(from: 0, to: 48_000, by: 3).allSatisfy { mono[$0] == tone[$0 / 3] })
    }

    @Test("downmixing averages the channels: opposite channels cancel")
    func downmixAverages() throws {
        let left: [Int16] = [1000, -2000, 30000, 32767]
        let right: [Int16] = [3000, 2000, -30000, 32767]
        let image = RIFFImage.wave([
            RIFFImage.chunk("fmt ", RIFFImage.fmtBody(channels: 2)),
            RIFFImage.chunk("data", RIFFImage.pcm16(zip(left, right).flatMap { [$0, $1] })),
        ])
        #expect(try WAVFile.decode(image) == [2000, 0, 0, 32767])
    }

    @Test("44.1 kHz input gives exactly 48000 samples per second", arguments: [8_000, 11_025, 22_050, 44_100, 96_000])
    func otherRates(rate: Int) throws {
        let image = RIFFImage.wave([
            RIFFImage.chunk("fmt ", RIFFImage.fmtBody(sampleRate: UInt32(rate))),
            RIFFImage.chunk("data", RIFFImage.pcm16([Int16](repeating: 1200, count: rate))),
        ])
        let mono = try WAVFile.decode(image)
        #expect(mono.count == 48_000)
        #expect(mono.allSatisfy { $0 == 1200 })
    }

    @Test("sample formats decode to the same 16-bit values",
          arguments: [
            ("8-bit unsigned", RIFFImage.fmtBody(bits: 8), [0x80, 0xFF, 0x00, 0xC0] as [UInt8], [0, 32512, -32768, 16384] as [Int16]),
            ("24-bit", RIFFImage.fmtBody(bits: 24), [0x00, 0x00, 0x40, 0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x80], [16384, 32767, -32768]),
            ("32-bit integer", RIFFImage.fmtBody(bits: 32), [0x00, 0x00, 0x00, 0xC0, 0xFF, 0xFF, 0xFF, 0x7F], [-16384, 32767]),
            ("32-bit float", RIFFImage.fmtBody(tag: 3, bits: 32),
             RIFFImage.le32(Float(0.5).bitPattern) + RIFFImage.le32(Float(-1).bitPattern) + RIFFImage.le32(Float(7).bitPattern) + RIFFImage.le32(Float.nan.bitPattern),
             [16384, -32768, 32767, 0]),
            ("64-bit float", RIFFImage.fmtBody(tag: 3, bits: 64),
             RIFFImage.le32(UInt32(truncatingIfNeeded: Double(-0.25).bitPattern)) + RIFFImage.le32(UInt32(Double(-0.25).bitPattern >> 32)),
             [-8192]),
            ("extensible PCM", RIFFImage.extensibleFmtBody(subformat: 1), RIFFImage.pcm16([123, -456]), [123, -456]),
            ("extensible float", RIFFImage.extensibleFmtBody(subformat: 3, bits: 32), RIFFImage.le32(Float(0.25).bitPattern), [8192]),
          ] as [(String, [UInt8], [UInt8], [Int16])])
    func sampleFormats(name: String, fmt: [UInt8], data: [UInt8], expected: [Int16]) throws {
        let image = RIFFImage.wave([RIFFImage.chunk("fmt ", fmt), RIFFImage.chunk("data", data)])
        #expect(try WAVFile.decode(image) == expected, "\(name)")
    }

    @Test("unknown chunks are skipped, odd-sized ones with their pad byte")
    func unknownChunks() throws {
        let samples: [Int16] = [10, -20, 30]
        let image = RIFFImage.wave([
            RIFFImage.chunk("JUNK", [1, 2, 3]),                         // odd: pad byte follows
            RIFFImage.chunk("fmt ", RIFFImage.fmtBody()),
            RIFFImage.chunk("LIST", Array("INFOISFT\u{5}\0\0\0sox!".utf8)), // odd again
            RIFFImage.chunk("data", RIFFImage.pcm16(samples)),
            RIFFImage.chunk("id3 ", [9, 9, 9, 9]),
        ])
        #expect(try WAVFile.decode(image) == samples)
    }

    @Test("a data size of 0, 0xFFFFFFFF or past the end means “to the end of the file”",
          arguments: [UInt32(0), 0xFFFF_FFFF, 1_000_000])
    func streamingDataSize(declared: UInt32) throws {
        let samples: [Int16] = [1, 2, 3, 4, 5]
        let image = RIFFImage.wave([
            RIFFImage.chunk("fmt ", RIFFImage.fmtBody()),
            RIFFImage.chunk("data", RIFFImage.pcm16(samples), declaredSize: declared),
        ], riffSize: 0xFFFF_FFFF)
        #expect(try WAVFile.decode(image) == samples)
    }

    @Test("a trailing half sample is ignored")
    func partialFrame() throws {
        // A writer killed mid-sample: the data runs to the end of the file, no pad byte.
        let image = RIFFImage.wave([RIFFImage.chunk("fmt ", RIFFImage.fmtBody())])
            + Array("data".utf8) + RIFFImage.le32(0) + RIFFImage.pcm16([7, 8]) + [0x01]
        #expect(try WAVFile.decode(image) == [7, 8])
    }

    static let hostileImages: [(String, [UInt8], String)] = {
        let fmt = RIFFImage.chunk("fmt ", RIFFImage.fmtBody())
        let data = RIFFImage.chunk("data", RIFFImage.pcm16([1, 2]))
        func withFmt(_ body: [UInt8]) -> [UInt8] { RIFFImage.wave([RIFFImage.chunk("fmt ", body), data]) }
        let full = RIFFImage.wave([fmt, data])
        return [
            ("empty file", [], "too short"),
            ("11 bytes", Array(full.prefix(11)), "too short"),
            ("header cut inside the fmt chunk", Array(full.prefix(30)), "truncated"),
            ("header cut after the fmt chunk", Array(full.prefix(39)), "no data chunk"),
            ("not RIFF", Array("OggS".utf8) + full.dropFirst(4), "RIFF"),
            ("big-endian RIFX", Array("RIFX".utf8) + full.dropFirst(4), "big-endian"),
            ("AVI, not WAVE", RIFFImage.wave([fmt, data], form: "AVI "), "WAVE"),
            ("no fmt chunk", RIFFImage.wave([data]), "no fmt chunk"),
            ("fmt chunk claims more than the file", RIFFImage.wave([RIFFImage.chunk("fmt ", RIFFImage.fmtBody(), declaredSize: 4000)]), "truncated"),
            ("fmt chunk of 14 bytes", withFmt(Array(RIFFImage.fmtBody().prefix(14))), "at least 16"),
            ("0 channels", withFmt(RIFFImage.fmtBody(channels: 0)), "channels"),
            ("0 Hz", withFmt(RIFFImage.fmtBody(sampleRate: 0)), "sample rate"),
            ("4 GHz", withFmt(RIFFImage.fmtBody(sampleRate: 0xFFFF_FFF0)), "sample rate"),
            ("12-bit samples", withFmt(RIFFImage.fmtBody(bits: 12)), "12-bit"),
            ("0-bit samples", withFmt(RIFFImage.fmtBody(bits: 0)), "0-bit"),
            ("16-bit float", withFmt(RIFFImage.fmtBody(tag: 3, bits: 16)), "16-bit float"),
            ("µ-law", withFmt(RIFFImage.fmtBody(tag: 7, bits: 8)), "µ-law"),
            ("MP3 in WAV", withFmt(RIFFImage.fmtBody(tag: 0x55)), "format tag 85"),
            ("short extensible fmt", withFmt(Array(RIFFImage.extensibleFmtBody(subformat: 1).prefix(24))), "EXTENSIBLE"),
            ("extensible with a foreign GUID", withFmt(RIFFImage.extensibleFmtBody(subformat: 1, guidTail: [UInt8](repeating: 0xAB, count: 12))), "subformat"),
            ("extensible µ-law", withFmt(RIFFImage.extensibleFmtBody(subformat: 7, bits: 8)), "µ-law"),
        ]
    }()

    @Test("hostile and truncated headers give a clear format error", arguments: hostileImages)
    func hostileHeaders(name: String, image: [UInt8], mentions: String) {
        let message = formatError { () throws(AudioDeviceError) in _ = try WAVFile.decode(image) }
        #expect(message != nil, "\(name) was accepted")
        #expect(message?.contains(mentions) == true, "\(name): \(message ?? "no error")")
    }

    @Test("every truncation and 3000 random corruptions of a header are handled without trapping")
    func fuzzedHeaders() {
        let good = RIFFImage.wave([
            RIFFImage.chunk("fmt ", RIFFImage.extensibleFmtBody(subformat: 1, channels: 2, sampleRate: 44_100)),
            RIFFImage.chunk("data", RIFFImage.pcm16([1, 2, 3, 4, 5, 6, 7, 8])),
        ])
        var accepted = 0
        for length in 0..<good.count {
            if (try? WAVFile.decode(Array(good.prefix(length)))) != nil { accepted += 1 }
        }
        // Only cuts inside the sample data (whole or half frames) still decode.
        #expect(accepted <= 18)
        var state: UInt64 = 42
        var failures = 0
        for _ in 0..<3000 {
            var image = good
            for _ in 0..<3 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                image[Int(state >> 33) % 68] = UInt8(truncatingIfNeeded: state >> 20)
            }
            do {
                let samples = try WAVFile.decode(image)
                #expect(samples.count <= 48_000 * 8)
            } catch {
                if case .format = error {} else { failures += 1 }
            }
        }
        #expect(failures == 0, "a corrupted header gave an error other than .format")
    }

    @Test("a missing file is .unavailable and names the path")
    func missingFile() {
        #expect(throws: AudioDeviceError.self) { try WAVFileSource(path: "/nonexistent/x.wav") }
        do {
            _ = try WAVFile.read(path: "/nonexistent/x.wav")
            Issue.record("read succeeded")
        } catch {
            guard case .unavailable(let message) = error else { Issue.record("wrong error \(error)"); return }
            #expect(message.contains("/nonexistent/x.wav"))
            #expect(message.contains("No such file"))
        }
    }

    @Test("a format error from a file names the file")
    func formatErrorNamesFile() throws {
        let directory = try TempDirectory()
        let path = directory.file("bad.wav")
        try Data("not a wav at all".utf8).write(to: URL(fileURLWithPath: path))
        let message = formatError { () throws(AudioDeviceError) in _ = try WAVFileSource(path: path) }
        #expect(message?.hasPrefix(path) == true)
    }

    @Test("the source reads frames, ends with a short read then 0, and rewinds")
    func sourceReads() throws {
        let directory = try TempDirectory()
        let path = directory.file("src.wav")
        let samples = (0..<2500).map { Int16($0) }
        try WAVFile.write(samples, path: path)
        let source = try WAVFileSource(path: path)
        #expect(source.isClocked == false)
        #expect(source.name == "src.wav")
        #expect(source.sampleCount == 2500)
        var buffer = [Int16](repeating: 0, count: 960)
        let counts = try (0..<4).map { _ in try buffer.withUnsafeMutableBufferPointer { try source.read(into: $0) } }
        #expect(counts == [960, 960, 580, 0])
        #expect(Array(buffer[0..<580]) == Array(samples[1920..<2500]))
        source.rewind()
        #expect(try DSPTestSignals.readAll(source) == samples)
        source.rewind()
        source.close()
        #expect(try buffer.withUnsafeMutableBufferPointer { try source.read(into: $0) } == 0)
    }

    @Test("the sink's file is complete after close()")
    func sinkAfterClose() throws {
        let directory = try TempDirectory()
        let path = directory.file("out.wav")
        let sink = try WAVFileSink(path: path)
        #expect(sink.isClocked == false)
        let tone = DSPTestSignals.sine(frequencyHz: 440, amplitude: 8000, count: 960 * 30)
        for start in stride(from: 0, to: tone.count, by: 960) {
            try tone[start..<(start + 960)].withUnsafeBufferPointer { try sink.write($0) }
        }
        sink.close()
        #expect(try WAVFile.read(path: path) == tone)
        #expect(try bytes(atPath: path).count == 44 + tone.count * 2)
        #expect(throws: AudioDeviceError.self) { try tone.withUnsafeBufferPointer { try sink.write($0) } }
    }

    @Test("the sink's file is readable before close() once a second was written")
    func sinkBeforeClose() throws {
        let directory = try TempDirectory()
        let path = directory.file("live.wav")
        let sink = try WAVFileSink(path: path)
        let speech = SpeechLikeSource(seed: 4, durationSeconds: 1.5)
        let audio = try DSPTestSignals.readAll(speech)
        for start in stride(from: 0, to: audio.count, by: 960) {
            try audio[start..<(start + 960)].withUnsafeBufferPointer { try sink.write($0) }
        }
        // As if the process were killed now: the header already covers the first second.
        let early = try WAVFile.read(path: path)
        #expect(early.count == 48_000)
        #expect(early == Array(audio.prefix(48_000)))
        try sink.finish()
        #expect(try WAVFile.read(path: path) == audio)
    }

    @Test("a sink on an impossible path is .unavailable")
    func sinkUnavailable() {
        #expect(throws: AudioDeviceError.self) { try WAVFileSink(path: "/nonexistent/dir/out.wav") }
    }
}
