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

    @Test("clicks while nobody talks lose 20 dB or more, with the gate alone and after the whole chain")
    func clicksAreSuppressedWhileNotTalking() throws {
        let typing = KeyboardClicks.typing(seconds: 4)
        let keyboardOnly = VoiceProcessingSettings(
            echoCancellation: false, noiseSuppression: false, automaticGain: false, keyboardSuppression: true)
        let (gated, processing) = try Self.run(keyboardOnly, typing.samples)
        let (chained, _) = try Self.run(.all, typing.samples)
        var chainWithoutGate = VoiceProcessingSettings.all
        chainWithoutGate.keyboardSuppression = false
        let (ungated, _) = try Self.run(chainWithoutGate, typing.samples)
        let gate = KeyboardClicks.removedDb(typing.samples, gated, at: typing.starts)
        let chain = KeyboardClicks.removedDb(typing.samples, chained, at: typing.starts)
        let withoutGate = KeyboardClicks.removedDb(typing.samples, ungated, at: typing.starts)
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
