import Foundation

/// A 20 ms frame of a voice-like buzz: harmonics of a wobbling 150 Hz pitch,
/// amplitude-modulated at a syllable rate (4 Hz) between `level - swing` and
/// `level + swing`, which the Opus VAD treats as continuous speech. Frames
/// follow on from each other by `index`.
public func voicedFrame(_ index: Int, samples: Int = 960, level: Double = 0.75, swing: Double = 0.25) -> [Int16] {
    (0..<samples).map { i in
        let t = Double(index * samples + i) / 48_000
        let f0 = 150 + 20 * sin(2 * .pi * 3 * t)
        let envelope = level + swing * sin(2 * .pi * 4 * t)
        var x = 0.0
        for k in 1...12 { x += sin(2 * .pi * f0 * Double(k) * t + Double(k)) / Double(k) }
        return Int16(clamping: Int(2500 * envelope * x))
    }
}
