// The capture side's processing with the real libwebrtc-audio-processing, on
// a simulated room (EchoPath): the far end's speech comes back into the
// microphone after a delay, through reflections and a saturating loudspeaker.
import ConfabMedia
import Foundation
import ConfabTestSupport
import Testing

@Suite("Capture processing on a simulated room")
struct CaptureProcessingTests {
    static let rate = AudioFormat.sampleRate
    static let frame = AudioFormat.samples(forMs: 20)
    /// The near-end talker starts here; before it, only the far end talks.
    static let nearStart = 7 * rate

    static func read(_ source: AudioSource, seconds: Double) -> [Int16] {
        var samples = [Int16](repeating: 0, count: Int(seconds * Double(rate)))
        _ = samples.withUnsafeMutableBufferPointer { try? source.read(into: $0) }
        return samples
    }

    /// Far end: 12 s of one talker. Near end: silence, then another talker from 7 s.
    static func room(_ path: EchoPath = EchoPath()) -> (played: [Int16], near: [Int16], microphone: [Int16]) {
        let played = read(SpeechLikeSource(seed: 4), seconds: 12)
        let talker = read(SpeechLikeSource(seed: 11), seconds: 5)
        let near = [Int16](repeating: 0, count: nearStart) + talker
        return (played, near, path.microphone(played: played, near: near))
    }

    /// As the engine runs it: every 20 ms the play-out thread hands over what
    /// it played, then the capture thread processes a microphone frame.
    static func process(_ processing: CaptureProcessing, played: [Int16], microphone: [Int16],
                        switchAt: (frame: Int, settings: VoiceProcessingSettings)? = nil) -> [Int16] {
        var output = microphone
        output.withUnsafeMutableBufferPointer { out in
            played.withUnsafeBufferPointer { far in
                var index = 0
                var start = 0
                while start + frame <= out.count {
                    if let switchAt, switchAt.frame == index { processing.settings = switchAt.settings }
                    processing.farEnd.write(UnsafeBufferPointer(rebasing: far[start..<(start + frame)]))
                    processing.process(UnsafeMutableBufferPointer(rebasing: out[start..<(start + frame)]))
                    start += frame
                    index += 1
                }
            }
        }
        return output
    }

    /// Echo return loss enhancement [dB]: how much quieter the output is than the microphone.
    static func erle(microphone: [Int16], output: [Int16], seconds range: Range<Double>) -> Double {
        let slice = Int(range.lowerBound * Double(rate))..<Int(range.upperBound * Double(rate))
        let before = SignalComparison.rmsDBov(microphone[slice])
        let after = SignalComparison.rmsDBov(output[slice])
        return before - after
    }

    @Test("single talk: the echo is 20 dB down after the first second, 25 dB once settled")
    func echoIsCancelledInSingleTalk() throws {
        let room = Self.room()
        let processing = try CaptureProcessing(settings: .all)
        let output = Self.process(processing, played: room.played, microphone: room.microphone)
        let settled = Self.erle(microphone: room.microphone, output: output, seconds: 1..<7)
        let late = Self.erle(microphone: room.microphone, output: output, seconds: 4..<7)
        print("ERLE 1-7 s: \(settled) dB, 4-7 s: \(late) dB")
        #expect(settled >= 20)
        #expect(late >= 25)
        #expect(processing.stats.failures.load(ordering: .relaxed) == 0)
        #expect(processing.stats.farFrames.load(ordering: .relaxed) == room.played.count / 480)
    }

    @Test("noise suppression and gain alone leave the echo (so the test above can fail)")
    func withoutEchoCancellationTheEchoStays() throws {
        let room = Self.room()
        let processing = try CaptureProcessing(
            settings: VoiceProcessingSettings(echoCancellation: false, noiseSuppression: true, automaticGain: true))
        let output = Self.process(processing, played: room.played, microphone: room.microphone)
        let erle = Self.erle(microphone: room.microphone, output: output, seconds: 1..<7)
        print("ERLE without echo cancellation: \(erle) dB")
        #expect(erle < 6, "noise suppression alone must not pass for an echo canceller")
        #expect(processing.farEnd.available == 0, "the reference is not kept when nothing uses it")
    }

    @Test("automatic gain lifts a quiet talker (20 dB under the usual level) by 6 dB or more once it has adapted")
    func automaticGainLiftsAQuietTalker() throws {
        let talker = Self.read(SpeechLikeSource(seed: 11), seconds: 12).map { Int16($0 / 10) }
        let processing = try CaptureProcessing(
            settings: VoiceProcessingSettings(echoCancellation: false, noiseSuppression: false, automaticGain: true))
        let output = Self.process(processing, played: [Int16](repeating: 0, count: talker.count), microphone: talker)
        let lift = -Self.erle(microphone: talker, output: output, seconds: 6..<12)
        print("automatic gain: a quiet talker \(lift) dB louder after 6 s")
        #expect(lift >= 6)
    }

    @Test("double talk: the near-end talker comes through, delayed by at most 20 ms")
    func nearEndSpeechSurvivesDoubleTalk() throws {
        let room = Self.room()
        let processing = try CaptureProcessing(settings: .all)
        let output = Self.process(processing, played: room.played, microphone: room.microphone)
        let spoken = Array(room.near[Self.nearStart...])
        let sent = Array(output[Self.nearStart...])
        let match = SignalComparison.align(reference: spoken, received: sent, maxLagSamples: 1_440)
        let raw = SignalComparison.align(reference: spoken, received: Array(room.microphone[Self.nearStart...]),
                                         maxLagSamples: 1_440)
        print("double talk: output ~ near end \(match), microphone ~ near end \(raw)")
        #expect(match.correlation >= 0.8)
        #expect(abs(match.lagSamples) <= 960)
    }

    @Test("a lone talker comes through whole: the chain changes the waveform no more than a little (correlation ≥ 0.97)")
    func loneTalkerComesThroughWhole() throws {
        let talker = Self.read(SpeechLikeSource(seed: 11), seconds: 8)
        let processing = try CaptureProcessing(settings: .all)
        let output = Self.process(processing, played: [Int16](repeating: 0, count: talker.count), microphone: talker)
        let match = SignalComparison.align(reference: Array(talker[(2 * Self.rate)...]), received: Array(output[(2 * Self.rate)...]),
                                           maxLagSamples: 960)
        print("a lone talker through the chain: \(match)")
        #expect(match.correlation >= 0.97)
    }

    @Test("a microphone's DC offset is taken out and a low voice's 100 Hz fundamental keeps its level (within 1 dB)")
    func offsetGoesLowVoiceStays() throws {
        let offset = 2_000.0
        let fundamental = (0..<(4 * Self.rate)).map { 3_000 * sin(2 * Double.pi * 100 * Double($0) / Double(Self.rate)) }
        let microphone = fundamental.map { Int16(($0 + offset).rounded()) }
        let processing = try CaptureProcessing(
            settings: VoiceProcessingSettings(echoCancellation: true, noiseSuppression: false, automaticGain: false,
                                              keyboardSuppression: false))
        let output = Self.process(processing, played: [Int16](repeating: 0, count: microphone.count), microphone: microphone)
        let settled = output[Self.rate...]
        let mean = settled.reduce(0.0) { $0 + Double($1) } / Double(settled.count)
        let levelChange = SignalComparison.rmsDBov(settled) - SignalComparison.rmsDBov(fundamental[Self.rate...].map { Int16($0.rounded()) })
        print("DC \(offset) in, \(mean) out; the 100 Hz fundamental \(levelChange) dB")
        #expect(abs(mean) < 20)
        #expect(abs(levelChange) < 1)
    }

    @Test("all off: the microphone passes bit-exact and the library is not called")
    func offPassesTheMicrophoneThroughUntouched() throws {
        let room = Self.room()
        let processing = try CaptureProcessing(settings: .off)
        let output = Self.process(processing, played: room.played, microphone: room.microphone)
        #expect(output == room.microphone)
        #expect(processing.stats.nearFrames.load(ordering: .relaxed) == 0)
    }

    @Test("switched off mid-call, the next frame on passes untouched")
    func switchingOffMidCallBypassesFromTheNextFrame() throws {
        let room = Self.room()
        let processing = try CaptureProcessing(settings: .all)
        let switchFrame = 150  // 3 s
        let output = Self.process(processing, played: room.played, microphone: room.microphone,
                                  switchAt: (switchFrame, .off))
        let from = switchFrame * Self.frame
        #expect(Array(output[from...]) == Array(room.microphone[from...]))
        #expect(Self.erle(microphone: room.microphone, output: output, seconds: 1..<3) > 15)
        #expect(processing.settings == .off)
    }

    @Test("the canceller reads one 10 ms far-end frame per 10 ms of microphone: a burst waits in the ring, a backlog over 60 ms is cut to the newest 20 ms")
    func farEndIsFedAtTheMicrophonesPace() throws {
        let processing = try CaptureProcessing(settings: .all)
        let tenMs = AudioFormat.samples(forMs: 10)
        func played(ms: Int) {
            let samples = [Int16](repeating: 1_000, count: tenMs * ms / 10)
            samples.withUnsafeBufferPointer { _ = processing.farEnd.write($0) }
        }
        var microphone = [Int16](repeating: 0, count: 2 * tenMs)
        func capture() { microphone.withUnsafeMutableBufferPointer { processing.process($0) } }
        func analysed() -> Int { processing.stats.farFrames.load(ordering: .relaxed) }

        played(ms: 40)
        capture()
        #expect(analysed() == 2, "two 10 ms frames for 20 ms of microphone, not all four")
        #expect(processing.farEnd.available == 2 * tenMs, "the other 20 ms wait for the next microphone frame")

        played(ms: 80)
        #expect(processing.farEnd.available == 10 * tenMs)
        capture()
        #expect(analysed() == 4)
        #expect(processing.farEnd.available == 0, "cut to the newest 20 ms, then both read")
    }

    @Test("the far-end ring keeps order across its wrap and drops a frame that does not fit")
    func farEndRingKeepsOrderWrapsAndDropsWhatDoesNotFit() {
        let ring = FarEndRing(capacity: 1_000)
        let frame = (0..<480).map { Int16($0) }
        var out = [Int16](repeating: 0, count: 480)
        func write() -> Bool { frame.withUnsafeBufferPointer { ring.write($0) } }
        func read() -> Bool { out.withUnsafeMutableBufferPointer { ring.read(into: $0) } }
        for round in 0..<5 {
            let written = write(), wasRead = read()
            #expect(written && wasRead, "round \(round)")
            #expect(out == frame)
        }
        let readFromEmpty = read()
        #expect(!readFromEmpty, "nothing waiting")
        let first = write(), second = write(), third = write()
        #expect(first && second)
        #expect(!third, "a third frame does not fit in 1000")
        #expect(ring.overflowSamples.load(ordering: .relaxed) == 480)
        ring.discardAll()
        #expect(ring.available == 0)
    }
}
