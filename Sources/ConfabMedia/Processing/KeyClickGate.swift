// Keyboard clicks out of the microphone while the user is not talking.
//
//   10 ms frame (after WebRTC's processing) ─▶ energy + high-frequency share (first-difference energy / energy)
//     voiced (loud, mostly low frequencies) for 20 ms ─▶ talking: open for the hangover (300 ms)
//     not talking, a sudden broadband rise ─▶ a click: ×0.03 (−30 dB) for up to 30 ms, ramped
//
// A keystroke is a short broadband burst (a few ms of attack, 10–20 ms of
// decay); a voice starts with voiced sound, loud below 4 kHz, which opens the
// gate before anything is cut. Only an unvoiced onset ("s", "t") with nothing
// voiced before it can lose up to 30 ms. Measured (docs/MEDIA.md): WebRTC's
// chain alone leaves clicks 4.6 dB louder (its gain control lifts them).
import Foundation

public struct KeyClickGate: Sendable {
    /// How long after the last voiced frame the gate stays open [ms].
    public var hangoverMs = 300
    /// The longest burst taken for a click [ms]; longer is a sound worth sending.
    public var maximumClickMs = 30
    /// The gain on a click (−30 dB).
    public var clickGain: Float = 0.03

    private var floorDb: Float = -70
    private var previousDb: Float = -90
    private var openMs = 0
    /// Voiced frames in a row; two (20 ms) open the gate, so a click's first
    /// smoothed edge (after noise suppression) does not pass for a voice.
    private var voicedRun = 0
    private var clickMs = 0
    private var gain: Float = 1
    /// 10 ms frames attenuated so far.
    public private(set) var clicksSuppressed = 0

    public init() {}

    /// Gates one 10 ms frame in place.
    public mutating func process(_ frame: UnsafeMutableBufferPointer<Int16>, frameMs: Int = 10) {
        var energy: Float = 0
        var difference: Float = 0
        var previous: Float = frame.isEmpty ? 0 : Float(frame[0])
        for sample in frame {
            let x = Float(sample)
            energy += x * x
            difference += (x - previous) * (x - previous)
            previous = x
        }
        let levelDb = 10 * log10f(max(energy / Float(max(frame.count, 1)), 1) / (32_767 * 32_767))
        // White noise has a first-difference energy twice its energy; a voice below 1 kHz, a tenth.
        let highShare = energy > 0 ? difference / (2 * energy) : 0
        let loud = levelDb > floorDb + 12 && levelDb > -55
        voicedRun = loud && highShare < 0.25 ? voicedRun + 1 : 0
        if voicedRun >= 2 {
            openMs = hangoverMs
            clickMs = 0
        } else if openMs > 0 {
            openMs -= frameMs
        }
        var target: Float = 1
        if openMs <= 0 {
            let onset = loud && highShare >= 0.25 && levelDb > previousDb + 10
            if onset && clickMs == 0 { clickMs = 1 }
            if clickMs > 0 {
                if clickMs <= maximumClickMs && levelDb > floorDb + 6 {
                    target = clickGain
                    clickMs += frameMs
                    clicksSuppressed += 1
                } else {
                    clickMs = 0
                }
            }
        }
        // Down at once (the click's attack is its loudest part and masks the
        // step); back up over the frame, so opening never clicks itself.
        let step = target > gain ? (target - gain) / Float(max(frame.count, 1)) : 0
        if target < gain { gain = target }
        if gain < 1 || step > 0 {
            for index in frame.indices {
                gain += step
                frame[index] = Int16(max(-32_768, min(32_767, (Float(frame[index]) * gain).rounded())))
            }
        }
        gain = target
        previousDb = levelDb
        // The floor follows quiet frames at once and rises 3 dB/s otherwise.
        floorDb = levelDb < floorDb ? levelDb : min(levelDb, floorDb + 3 * Float(frameMs) / 1000)
    }
}
