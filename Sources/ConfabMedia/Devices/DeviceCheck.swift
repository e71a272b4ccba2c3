// The check before joining (`confab devices --test`): a short tone on the
// speaker, so one hears that it works, then the microphone's live level, so
// one sees that it hears, before anyone in a room does.
//
//   ToneSource ─▶ sink, paced (by the card, else the monotonic clock)     1 s
//   source, paced the same ─▶ LevelMeter.dBov per frame ─▶ `level` callback  N s ─▶ the loudest frame
import ConfabSocket

public enum DeviceCheck {
    /// At or below this, the microphone heard nothing (a muted or unplugged one sends digital silence or hiss).
    public static let silentDBov = -60.0

    /// Plays `seconds` of a `hz` tone (peak −12 dBFS) on `sink`; returns the samples played.
    @discardableResult
    public static func playTone(
        on sink: AudioSink, hz: Double = 440, seconds: Double = 1, frameSamples: Int = 960
    ) throws(AudioDeviceError) -> Int {
        let tone = ToneSource(frequencyHz: hz, amplitude: 0.25, durationSeconds: seconds)
        var frame = [Int16](repeating: 0, count: frameSamples)
        var pace = Pace(clocked: sink.isClocked, frameSamples: frameSamples)
        var played = 0
        while true {
            let count = try frame.withUnsafeMutableBufferPointer { buffer throws(AudioDeviceError) in try tone.read(into: buffer) }
            guard count > 0 else { break }
            try frame.withUnsafeBufferPointer { buffer throws(AudioDeviceError) in
                try sink.write(UnsafeBufferPointer(rebasing: buffer[0..<count]))
            }
            played += count
            pace.wait()
        }
        return played
    }

    /// Reads `source` for `seconds` (or until `stop` says so, between frames),
    /// calling `level` with each frame's level in dBov; returns the loudest
    /// frame's (−127 when nothing was read).
    public static func listen(
        to source: AudioSource, seconds: Double, frameSamples: Int = 960, until stop: () -> Bool = { false },
        level: (Double) -> Void
    ) throws(AudioDeviceError) -> Double {
        var frame = [Int16](repeating: 0, count: frameSamples)
        var pace = Pace(clocked: source.isClocked, frameSamples: frameSamples)
        var loudest = LevelMeter.silenceDBov
        for _ in 0..<Int((seconds * Double(AudioFormat.sampleRate) / Double(frameSamples)).rounded()) {
            if stop() { break }
            let count = try frame.withUnsafeMutableBufferPointer { buffer throws(AudioDeviceError) in try source.read(into: buffer) }
            guard count > 0 else { break }
            let dBov = frame.withUnsafeBufferPointer { LevelMeter.dBov(UnsafeBufferPointer(rebasing: $0[0..<count])) }
            loudest = max(loudest, dBov)
            level(dBov)
            pace.wait()
        }
        return loudest
    }

    /// Real time for devices without a clock (files, generators): absolute deadlines.
    private struct Pace {
        let clocked: Bool
        let frameNs: UInt64
        var deadlineNs = MonotonicClock.nanoseconds()

        init(clocked: Bool, frameSamples: Int) {
            self.clocked = clocked
            frameNs = UInt64(frameSamples) * 1_000_000_000 / UInt64(AudioFormat.sampleRate)
        }

        mutating func wait() {
            guard !clocked else { return }
            deadlineNs += frameNs
            MonotonicClock.sleep(until: deadlineNs)
        }
    }
}
