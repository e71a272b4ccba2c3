import ConfabMedia
import ConfabTestSupport
import Testing

@Suite("Generated sources")
struct GeneratedSourcesTests {
    @Test("a tone has the asked frequency (zero crossings over 1 s)", arguments: [100.0, 440, 1000, 3000])
    func toneFrequency(hz: Double) throws {
        let tone = ToneSource(frequencyHz: hz, durationSeconds: 1)
        let samples = try DSPTestSignals.readAll(tone)
        #expect(samples.count == 48_000)
        #expect(Swift.abs(DSPTestSignals.zeroCrossings(samples) - Int(2 * hz)) <= 2)
    }

    @Test("a tone's default amplitude is 0.3 of full scale (−13.5 dBov)")
    func toneAmplitude() throws {
        let samples = try DSPTestSignals.readAll(ToneSource(frequencyHz: 440, durationSeconds: 1))
        #expect(samples.max() == 9830)
        #expect(samples.min() == -9830)
        #expect(Swift.abs(SignalComparison.rmsDBov(samples) - -13.47) < 0.05)
        let full = try DSPTestSignals.readAll(ToneSource(frequencyHz: 1000, amplitude: 5, durationSeconds: 0.1))
        #expect(full.max() == 32767)
    }

    @Test("finite sources end with a short read, then 0; endless ones do not end")
    func durations() throws {
        var buffer = [Int16](repeating: 1, count: 960)
        let tone = ToneSource(frequencyHz: 440, durationSeconds: 0.05) // 2400 samples
        let counts = try (0..<4).map { _ in try buffer.withUnsafeMutableBufferPointer { try tone.read(into: $0) } }
        #expect(counts == [960, 960, 480, 0])

        let silence = SilenceSource(durationSeconds: 0.5)
        let quiet = try DSPTestSignals.readAll(silence)
        #expect(quiet.count == 24_000)
        #expect(quiet.allSatisfy { $0 == 0 })

        let speech = SpeechLikeSource(seed: 1, durationSeconds: 0.25)
        #expect(try DSPTestSignals.readAll(speech).count == 12_000)

        let endless = ToneSource(frequencyHz: 440)
        let endlessSilence = SilenceSource()
        for _ in 0..<100 {
            #expect(try buffer.withUnsafeMutableBufferPointer { try endless.read(into: $0) } == 960)
            #expect(try buffer.withUnsafeMutableBufferPointer { try endlessSilence.read(into: $0) } == 960)
        }
        #expect(SilenceSource(durationSeconds: -3).name == "silence")
        #expect(try DSPTestSignals.readAll(SilenceSource(durationSeconds: -3)).isEmpty)
        #expect(try DSPTestSignals.readAll(ToneSource(frequencyHz: 440, durationSeconds: .nan)).isEmpty)
    }

    @Test("closed sources read 0; generators and the null sink are unclocked")
    func closeAndClock() throws {
        let sources: [any AudioSource] = [ToneSource(frequencyHz: 440), SilenceSource(), SpeechLikeSource(seed: 2)]
        var buffer = [Int16](repeating: 0, count: 960)
        for source in sources {
            #expect(source.isClocked == false)
            source.close()
            #expect(try buffer.withUnsafeMutableBufferPointer { try source.read(into: $0) } == 0, "\(source.name)")
        }
        let sink = NullSink()
        #expect(sink.isClocked == false)
        try buffer.withUnsafeBufferPointer { try sink.write($0) }
        try buffer.withUnsafeBufferPointer { try sink.write($0) }
        #expect(sink.samplesWritten == 1920)
        #expect(ToneSource(frequencyHz: 440).name == "tone:440 Hz")
        #expect(SpeechLikeSource(seed: 9).name == "speech:9")
    }

    @Test("speech-like audio has talk-spurts: the VAD switches on and off, levels like speech")
    func speechHasTalkSpurts() throws {
        let audio = try DSPTestSignals.readAll(SpeechLikeSource(seed: 11, durationSeconds: 20))
        let decisions = DSPTestSignals.voiceDecisions(audio)
        let voiced = Double(decisions.filter { $0 }.count) / Double(decisions.count)
        #expect(DSPTestSignals.onsets(decisions) >= 5, "talk-spurts: \(DSPTestSignals.onsets(decisions))")
        #expect(voiced > 0.5 && voiced < 0.95, "voice fraction \(voiced)")

        let levels = DSPTestSignals.frameLevels(audio).sorted()
        let loudest = levels.last ?? -127
        #expect(loudest > -24 && loudest < -10, "loudest frame \(loudest) dBov")
        // Pauses carry only a faint floor, well under the VAD threshold.
        #expect(levels[levels.count / 20] < -70)
        // Never clipped: the loudest sample stays under the soft limiter's knee region.
        #expect((audio.map { Swift.abs(Int($0)) }.max() ?? 0) < 30000)
    }

    @Test("speech-like audio is deterministic per seed and differs between seeds")
    func speechSeeds() throws {
        let a = try DSPTestSignals.readAll(SpeechLikeSource(seed: 1, durationSeconds: 3))
        let again = try DSPTestSignals.readAll(SpeechLikeSource(seed: 1, durationSeconds: 3))
        let b = try DSPTestSignals.readAll(SpeechLikeSource(seed: 2, durationSeconds: 3))
        #expect(a == again)
        #expect(a != b)
        #expect(Swift.abs(SignalComparison.normalizedCrossCorrelation(a[...], b[...])) < 0.2)
    }

    @Test("the talker's pitch lies in 100–220 Hz and depends on the seed")
    func speechPitch() {
        let pitches = (0..<50).map { SpeechLikeSource(seed: UInt64($0)).basePitchHz }
        #expect(pitches.allSatisfy { $0 >= 100 && $0 <= 220 })
        #expect((pitches.max() ?? 0) - (pitches.min() ?? 0) > 60)
    }

    @Test("speech-like audio is voiced: a loud stretch is periodic at the talker's pitch", arguments: [UInt64(3), 8, 21])
    func speechIsVoiced(seed: UInt64) throws {
        let source = SpeechLikeSource(seed: seed, durationSeconds: 4)
        let audio = try DSPTestSignals.readAll(source)
        let levels = DSPTestSignals.frameLevels(audio)
        guard let loudest = levels.indices.max(by: { levels[$0] < levels[$1] }) else { return }
        // 40 ms around the loudest 20 ms frame; autocorrelation over 80–400 Hz periods.
        let start = Swift.max(0, loudest * 960 - 480)
        let stretch = audio[start..<Swift.min(audio.count, start + 1920)]
        var bestLag = 0
        var bestCorrelation = -1.0
        for lag in (48_000 / 400)...(48_000 / 80) {
            let r = SignalComparison.normalizedCrossCorrelation(stretch.dropLast(lag), stretch.dropFirst(lag))
            if r > bestCorrelation { (bestLag, bestCorrelation) = (lag, r) }
        }
        let pitchHz = 48_000 / Double(bestLag)
        #expect(bestCorrelation > 0.6, "periodicity \(bestCorrelation)")
        // Declination, stress and the syllable contour keep f0 within −20 %…+25 % of the base.
        #expect(pitchHz > source.basePitchHz * 0.78 && pitchHz < source.basePitchHz * 1.25,
                "pitch \(pitchHz) Hz, talker \(source.basePitchHz) Hz")
    }
}
