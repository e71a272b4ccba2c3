// A simulated room for tests and `confab bench voice`: what the loudspeaker
// plays comes back into the microphone.
//
//   played ─▶ loudspeaker (soft saturation) ─▶ delay ─▶ reflections (a sparse
//   impulse response decaying like a room's, seeded) ─▶ × echo gain ─▶ + near-end talker ─▶ microphone
//
// Sparse on purpose: a few dozen reflections sound like a small room to an echo
// canceller and cost little enough to run in unoptimised test builds.
import ConfabSocket
import Foundation

public struct EchoPath: Sendable, Equatable {
    /// From the loudspeaker's sample to its first echo [ms] (device buffers + air).
    public var delayMs: Double
    /// The echo's level against what was played [dB], −6 to −20 in a room.
    public var echoGainDb: Double
    /// The reverberation time (−60 dB) of the reflections [ms].
    public var reverberationMs: Double
    /// How hard the loudspeaker saturates (tanh drive; 0 is linear).
    public var loudspeakerDrive: Double
    public var seed: UInt64

    public init(delayMs: Double = 60, echoGainDb: Double = -10, reverberationMs: Double = 200,
                loudspeakerDrive: Double = 1.2, seed: UInt64 = 7) {
        self.delayMs = delayMs
        self.echoGainDb = echoGainDb
        self.reverberationMs = reverberationMs
        self.loudspeakerDrive = loudspeakerDrive
        self.seed = seed
    }

    /// The reflections: (delay [samples], gain), the direct path first.
    public var taps: [(delay: Int, gain: Double)] {
        var random = SplitMix64(seed: seed)
        let rate = Double(AudioFormat.sampleRate)
        let base = Int(delayMs * rate / 1000)
        var taps: [(delay: Int, gain: Double)] = [(base, 1)]
        let span = reverberationMs * rate / 1000
        for _ in 0..<48 {
            let offset = random.nextUnit() * span
            let decay = pow(10, -3 * offset / span)  // −60 dB at the reverberation time
            let sign = random.nextUnit() < 0.5 ? -1.0 : 1.0
            taps.append((base + 1 + Int(offset), sign * decay * 0.5))
        }
        let energy = taps.reduce(0) { $0 + $1.gain * $1.gain }
        let scale = pow(10, echoGainDb / 20) / energy.squareRoot()
        return taps.map { ($0.delay, $0.gain * scale) }
    }

    /// The echo of `played` as the microphone hears it (same length).
    public func echo(of played: [Int16]) -> [Double] {
        let drive = loudspeakerDrive
        let speaker = played.map { sample -> Double in
            let x = Double(sample) / 32_767
            return drive > 0 ? 32_767 * tanh(x * drive) / drive : Double(sample)
        }
        var echo = [Double](repeating: 0, count: played.count)
        let taps = self.taps
        speaker.withUnsafeBufferPointer { input in
            echo.withUnsafeMutableBufferPointer { output in
                for (delay, gain) in taps where delay < output.count {
                    for index in delay..<output.count { output[index] += gain * input[index - delay] }
                }
            }
        }
        return echo
    }

    /// What the microphone hears: the echo of `played` plus `near` (and nothing else).
    public func microphone(played: [Int16], near: [Int16]) -> [Int16] {
        let echo = self.echo(of: played)
        return (0..<played.count).map { index in
            let value = echo[index] + (index < near.count ? Double(near[index]) : 0)
            return Int16(max(-32_768, min(32_767, value.rounded())))
        }
    }
}
