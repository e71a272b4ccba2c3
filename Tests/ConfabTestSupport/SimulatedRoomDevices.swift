// A loudspeaker and a microphone in one simulated room (EchoPath), as an
// audio device pair for engine tests: what the play-out thread writes to the
// speaker comes back, delayed and reflected, in what the capture thread reads.
//
//   PlayoutLoop ─▶ speaker.write ─▶ played history ─▶ EchoPath taps ─▶ microphone.read ─▶ MediaSender
//                                                       + near-end talker ─┘
//
// Both sides are paced by the engine's clock (neither device is clocked), but a
// real sound card's two directions share one clock, and the room keeps that:
// the microphone's first sample lines up with what the speaker had played when
// it was first read, less the card's output latency (a written sample sounds
// one playback buffer later; with none, the reference and its echo raced,
// which no card does), and a read waits (briefly) for the speaker to have played
// what the read must echo. The echo path the canceller sees is then the
// EchoPath's delay whenever the threads started and however the scheduler
// delays the play-out thread. (Aligned by count from the speaker's first
// sample, and not waiting, the delay seen was the path plus however long
// play-out ran before capture, and echoes of samples played late were lost:
// on a loaded machine the canceller sometimes never converged.)
import ConfabMedia
import Foundation
import Synchronization

public final class SimulatedRoom: Sendable {
    private struct State {
        var played: [Double] = []
        var captured = 0
        /// The speaker sample playing when the microphone was first read.
        var captureOrigin: Int?
    }
    private let state = Mutex(State())
    private let taps: [(delay: Int, gain: Double)]
    private let drive: Double
    private let near: [Int16]
    private let outputLatency: Int

    public let speaker: Speaker
    public let microphone: Microphone

    /// - Parameter near: what the near-end talker says, from the microphone's first sample.
    /// - Parameter outputLatencyMs: how long after the play-out thread writes a sample the
    ///   loudspeaker sounds it (a real card's playback buffer).
    public init(path: EchoPath = EchoPath(), near: [Int16] = [], outputLatencyMs: Double = 20) {
        outputLatency = Int(outputLatencyMs * 48)
        taps = path.taps
        drive = path.loudspeakerDrive
        self.near = near
        speaker = Speaker()
        microphone = Microphone()
        speaker.room = self
        microphone.room = self
    }

    /// Everything the speaker played, as the room heard it (after the loudspeaker's saturation).
    public var played: [Double] { state.withLock { $0.played } }

    /// The level of what the speaker played from sample `start` on [dBov].
    public func playedLevel(from start: Int) -> Double {
        state.withLock { state in
            guard start < state.played.count else { return -127 }
            let slice = state.played[start...]
            let meanSquare = slice.reduce(0) { $0 + $1 * $1 } / Double(slice.count)
            return 10 * log10(max(meanSquare, 1e-9) / (32_767.0 * 32_767.0))
        }
    }

    fileprivate func play(_ samples: UnsafeBufferPointer<Int16>) {
        state.withLock { state in
            for sample in samples {
                let x = Double(sample) / 32_767
                state.played.append(drive > 0 ? 32_767 * tanh(x * drive) / drive : Double(sample))
            }
        }
    }

    fileprivate func capture(into buffer: UnsafeMutableBufferPointer<Int16>) {
        awaitSpeaker(echoing: buffer.count)
        state.withLock { state in
            let origin = state.captureOrigin ?? max(0, state.played.count - outputLatency)
            state.captureOrigin = origin
            for index in 0..<buffer.count {
                let n = origin + state.captured + index
                let spoken = state.captured + index
                var value = spoken < near.count ? Double(near[spoken]) : 0
                for (delay, gain) in taps where n - delay >= 0 && n - delay < state.played.count {
                    value += gain * state.played[n - delay]
                }
                buffer[index] = Int16(max(-32_768, min(32_767, value.rounded())))
            }
            state.captured += buffer.count
        }
    }

    /// Waits up to 200 ms for the speaker to have played every sample the next
    /// `count` microphone samples echo (the play-out thread ran late).
    private func awaitSpeaker(echoing count: Int) {
        let shortestDelay = taps.map(\.delay).min() ?? 0
        for _ in 0..<400 {
            let ready = state.withLock { state in
                guard let origin = state.captureOrigin else { return true }
                return origin + state.captured + count - shortestDelay <= state.played.count
            }
            if ready { return }
            usleep(500)
        }
    }

    public final class Speaker: AudioSink, @unchecked Sendable {
        public let name = "room speaker"
        public var isClocked: Bool { false }
        fileprivate weak var room: SimulatedRoom?
        public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) { room?.play(samples) }
        public func close() {}
    }

    public final class Microphone: AudioSource, @unchecked Sendable {
        public let name = "room microphone"
        public var isClocked: Bool { false }
        fileprivate weak var room: SimulatedRoom?
        public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
            guard let room else { return 0 }
            room.capture(into: buffer)
            return buffer.count
        }
        public func close() {}
    }
}

/// Keeps everything written to it (a listener's ear in tests).
public final class RecordingAudioSink: AudioSink, Sendable {
    public let name = "recording"
    public var isClocked: Bool { false }
    private let recorded = Mutex<[Int16]>([])
    public init() {}
    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
        recorded.withLock { $0.append(contentsOf: samples) }
    }
    public func close() {}
    public var samples: [Int16] { recorded.withLock { $0 } }
}
