// Keystrokes as a microphone hears them, for tests and `confab bench voice`:
// 17 ms broadband bursts (2 ms attack, 4 ms decay constant, peaks near
// −12 dBFS) every 120–300 ms, seeded, so nothing recorded is shipped.
import ConfabSocket
import Foundation

public enum KeyboardClicks {
    /// `seconds` of typing at 48 kHz, and where each keystroke starts [samples].
    public static func typing(seconds: Double, seed: UInt64 = 3) -> (samples: [Int16], starts: [Int]) {
        let rate = AudioFormat.sampleRate
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

    /// The energy in the 50 ms after each keystroke, `input` over `output` [dB].
    public static func removedDb(_ input: [Int16], _ output: [Int16], at starts: [Int]) -> Double {
        let window = AudioFormat.sampleRate / 20
        func energy(_ signal: [Int16]) -> Double {
            starts.reduce(0) { sum, start in
                signal[start..<min(signal.count, start + window)].reduce(sum) { $0 + Double($1) * Double($1) }
            }
        }
        return 10 * log10(energy(input) / max(energy(output), 1))
    }
}
