// Keyboard clicks while not talking, and a voice that starts: the first must
// go, the second must come through whole.
import ConfabMedia
import ConfabSocket
import ConfabTestSupport
import Foundation
import Testing

@Suite("Keyboard click suppression")
struct KeyClickGateTests {
    static let rate = AudioFormat.sampleRate

    /// Keystrokes: 17 ms broadband bursts (2 ms attack, 4 ms decay constant,
    /// peaks near −12 dBFS) every 120–300 ms, seeded; returns the signal and where each starts.
    static func typing(seconds: Double, seed: UInt64 = 3) -> (samples: [Int16], starts: [Int]) {
        var random = SplitMix64(seed: seed)
        var samples = [Int16](repeating: 0, count: Int(seconds * Double(rate)))
        var starts: [Int] = []
        var at = rate / 2
        let length = rate * 17 / 1000
        while at + length < samples.count - rate / 10 {
            for index in 0..<length {
                let decay = exp(-Double(index) / (0.004 * Double(rate)))
                let attack = min(1, Double(index) / (0.002 * Double(rate)))
                samples[at + index] = Int16(8_000 * random.nextSigned() * decay * attack)
            }
            starts.append(at)
            at += Int((0.12 + 0.18 * random.nextUnit()) * Double(rate))
        }
        return (samples, starts)
    }

    static func run(_ settings: VoiceProcessingSettings, _ input: [Int16]) throws -> ([Int16], CaptureProcessing) {
        let processing = try CaptureProcessing(settings: settings)
        var output = input
        let frame = AudioFormat.samples(forMs: 20)
        output.withUnsafeMutableBufferPointer { buffer in
            var start = 0
            while start + frame <= buffer.count {
                processing.process(UnsafeMutableBufferPointer(rebasing: buffer[start..<(start + frame)]))
                start += frame
            }
        }
        return (output, processing)
    }

    /// Energy in the 50 ms after each click, before over after [dB].
    static func removedDb(_ input: [Int16], _ output: [Int16], at starts: [Int]) -> Double {
        func energy(_ signal: [Int16]) -> Double {
            starts.reduce(0) { sum, start in
                signal[start..<(start + rate / 20)].reduce(sum) { $0 + Double($1) * Double($1) }
            }
        }
        return 10 * log10(energy(input) / max(energy(output), 1))
    }

    @Test("clicks while nobody talks lose 20 dB or more, with the gate alone and after the whole chain")
    func clicksAreSuppressedWhileNotTalking() throws {
        let typing = Self.typing(seconds: 4)
        let keyboardOnly = VoiceProcessingSettings(
            echoCancellation: false, noiseSuppression: false, automaticGain: false, keyboardSuppression: true)
        let (gated, processing) = try Self.run(keyboardOnly, typing.samples)
        let (chained, _) = try Self.run(.all, typing.samples)
        var chainWithoutGate = VoiceProcessingSettings.all
        chainWithoutGate.keyboardSuppression = false
        let (ungated, _) = try Self.run(chainWithoutGate, typing.samples)
        let gate = Self.removedDb(typing.samples, gated, at: typing.starts)
        let chain = Self.removedDb(typing.samples, chained, at: typing.starts)
        let withoutGate = Self.removedDb(typing.samples, ungated, at: typing.starts)
        print("clicks removed: gate \(gate) dB, whole chain \(chain) dB, chain without the gate \(withoutGate) dB")
        #expect(gate >= 20)
        #expect(chain >= 20)
        #expect(withoutGate < 10, "WebRTC's chain alone does not remove clicks (so this test can fail)")
        #expect(processing.clicksSuppressed.load(ordering: .relaxed) >= typing.starts.count)
    }

    @Test("a voice starting from silence passes the gate whole: no onset clipped")
    func speechOnsetsPassWhole() throws {
        var speech = [Int16](repeating: 0, count: Self.rate)
        speech += CaptureProcessingTests.read(SpeechLikeSource(seed: 11), seconds: 6)
        let keyboardOnly = VoiceProcessingSettings(
            echoCancellation: false, noiseSuppression: false, automaticGain: false, keyboardSuppression: true)
        let (output, processing) = try Self.run(keyboardOnly, speech)
        let lossDb = SignalComparison.rmsDBov(speech) - SignalComparison.rmsDBov(output)
        let correlation = SignalComparison.normalizedCrossCorrelation(speech[...], output[...])
        print("speech through the gate: \(lossDb) dB lost, correlation \(correlation), \(processing.clicksSuppressed.load(ordering: .relaxed)) frames gated")
        #expect(lossDb < 0.5)
        #expect(correlation > 0.99)
    }
}
