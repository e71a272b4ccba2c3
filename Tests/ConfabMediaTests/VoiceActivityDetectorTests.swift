import ConfabMedia
import Testing

@Suite("Voice activity detector")
struct VoiceActivityDetectorTests {
    let frameMs = 20
    var frameSamples: Int { AudioFormat.samples(forMs: frameMs) }

    /// A −20 dBov tone frame (amplitude 4634).
    var toneFrame: [Int16] { DSPTestSignals.sine(frequencyHz: 440, amplitude: 4634, count: frameSamples) }
    var silentFrame: [Int16] { [Int16](repeating: 0, count: frameSamples) }

    private func run(_ vad: inout VoiceActivityDetector, _ frame: [Int16], frames: Int) -> [Bool] {
        (0..<frames).map { _ in frame.withUnsafeBufferPointer { vad.process($0, frameMs: frameMs) } }
    }

    @Test("digital silence and faint room noise are not voice")
    func silenceIsNotVoice() {
        var vad = VoiceActivityDetector()
        #expect(run(&vad, silentFrame, frames: 100).allSatisfy { !$0 })
        var noisy = VoiceActivityDetector()
        let hiss = DSPTestSignals.noise(amplitude: 20, count: frameSamples, seed: 3) // about −67 dBov
        #expect(run(&noisy, hiss, frames: 100).allSatisfy { !$0 })
    }

    @Test("a tone after silence is voice from its first frame")
    func toneIsVoice() {
        var vad = VoiceActivityDetector()
        _ = run(&vad, silentFrame, frames: 50)
        let decisions = run(&vad, toneFrame, frames: 50)
        #expect(decisions.allSatisfy { $0 })
        #expect(Swift.abs(vad.lastLevelDBov - -20) < 0.1)
    }

    @Test("voice holds through a 100 ms word gap and ends within 500 ms of silence")
    func hangover() {
        var vad = VoiceActivityDetector()
        _ = run(&vad, silentFrame, frames: 25)
        #expect(run(&vad, toneFrame, frames: 25).allSatisfy { $0 })
        // 100 ms gap: still talking.
        #expect(run(&vad, silentFrame, frames: 100 / frameMs).allSatisfy { $0 })
        #expect(run(&vad, toneFrame, frames: 10).allSatisfy { $0 })
        // Then 500 ms of silence: the 200 ms hangover runs out and it stays off.
        let tail = run(&vad, silentFrame, frames: 500 / frameMs)
        #expect(tail.prefix(200 / frameMs).allSatisfy { $0 })
        #expect(tail.dropFirst(200 / frameMs).allSatisfy { !$0 })
        #expect(vad.isVoice == false)
    }

    @Test("a sound below −50 dBov is not voice even over digital silence")
    func absoluteThreshold() {
        var vad = VoiceActivityDetector()
        _ = run(&vad, silentFrame, frames: 25)
        let faint = DSPTestSignals.sine(frequencyHz: 440, amplitude: 82, count: frameSamples) // −55 dBov
        #expect(run(&vad, faint, frames: 25).allSatisfy { !$0 })
        let audible = DSPTestSignals.sine(frequencyHz: 440, amplitude: 200, count: frameSamples) // −47.3 dBov
        #expect(run(&vad, audible, frames: 5).allSatisfy { $0 })
    }

    @Test("a noisy room is learned: then the hiss alone is not voice, speech over it is")
    func speechOverNoise() {
        var vad = VoiceActivityDetector()
        let noise = DSPTestSignals.noise(amplitude: 400, count: frameSamples, seed: 9) // −43 dBov
        // The floor starts at −70 dBov and creeps up 1 dB/s: within 9 dB of −43 after 18 s.
        let learning = run(&vad, noise, frames: 25 * 1000 / frameMs)
        #expect(learning[5 * 1000 / frameMs] == true)
        #expect(learning.suffix(5 * 1000 / frameMs).allSatisfy { !$0 })
        // 25 s at 1 dB/s from −70: the floor is at −45, within the 9 dB margin of the hiss.
        #expect(Swift.abs(vad.noiseFloorDBov - -45) < 0.01)
        let speech = zip(noise, toneFrame).map { Int16(Int($0) + Int($1)) }
        #expect(run(&vad, speech, frames: 10).allSatisfy { $0 })
        #expect(run(&vad, noise, frames: 30).suffix(10).allSatisfy { !$0 })
    }

    @Test("a steady sound that never pauses becomes noise as the floor creeps up")
    func floorRises() {
        var vad = VoiceActivityDetector()
        let hum = DSPTestSignals.sine(frequencyHz: 100, amplitude: 4634, count: frameSamples) // −20 dBov
        let decisions = run(&vad, hum, frames: 60 * 1000 / frameMs)
        // At 1 dB/s the floor climbs from −70 to within 9 dB of −20 dBov in 41 s.
        #expect(decisions[30 * 1000 / frameMs] == true)
        #expect(decisions[50 * 1000 / frameMs] == false)
        #expect(Swift.abs(vad.noiseFloorDBov - -20) < 0.1)
    }

    @Test("process(levelDBov:) decides like process(_:) and reset forgets the floor")
    func levelEntryPoint() {
        var a = VoiceActivityDetector()
        var b = VoiceActivityDetector()
        _ = run(&a, toneFrame, frames: 3)
        for _ in 0..<3 { _ = b.process(levelDBov: -20, frameMs: frameMs) }
        #expect(a.isVoice == b.isVoice)
        #expect(Swift.abs(a.noiseFloorDBov - b.noiseFloorDBov) < 0.01)
        _ = b.process(levelDBov: -127, frameMs: frameMs)
        #expect(b.noiseFloorDBov == -127)
        b.reset()
        #expect(b.noiseFloorDBov == -70)
        #expect(b.isVoice == false)
    }
}
