// Mouth to ear in `confab bench voice`: from the moment a 20 ms microphone
// frame is complete to the moment the listener's engine hands its audio to
// the output device, plus the 20 ms the microphone needed to fill the frame.
// Sound-card periods are not in it (the WAV source and sink have none).
//
//   WAVFileSource ─▶ FirstReadClock (when the first frame was read) ─▶ … ─▶ WriteClock (when each frame was written) ─▶ WAVFileSink
//
// Where the reference's audio lies in what was played is found by
// correlating 1 ms loudness envelopes over the second half of the talk, when
// the jitter buffer has settled.
import ConfabMedia
import ConfabSocket
import Foundation
import Synchronization

/// Notes when the first frame was read from the wrapped source.
final class FirstReadClock: AudioSource, @unchecked Sendable {
    private let inner: AudioSource
    private let first = Atomic<UInt64>(0)
    init(_ inner: AudioSource) { self.inner = inner }
    var name: String { inner.name }
    var isClocked: Bool { inner.isClocked }
    /// Monotonic nanoseconds of the first read; nil before it.
    var firstReadNs: UInt64? { let value = first.load(ordering: .acquiring); return value == 0 ? nil : value }
    func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
        _ = first.compareExchange(expected: 0, desired: MonotonicClock.nanoseconds(), ordering: .acquiringAndReleasing)
        return try inner.read(into: buffer)
    }
    func close() { inner.close() }
}

/// Notes when each frame was written to the wrapped sink. Allocates once.
final class WriteClock: AudioSink, @unchecked Sendable {
    private let inner: AudioSink
    /// Monotonic nanoseconds of write `n` (frames of equal size); written by the play-out thread only.
    private let times: UnsafeMutableBufferPointer<UInt64>
    private let written = Atomic<Int>(0)
    private let frameSamples = Atomic<Int>(0)
    init(_ inner: AudioSink, capacity: Int) {
        self.inner = inner
        times = .allocate(capacity: capacity)
        times.initialize(repeating: 0)
    }
    deinit { times.deallocate() }
    var name: String { inner.name }
    var isClocked: Bool { inner.isClocked }
    func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
        let index = written.load(ordering: .relaxed)
        if index < times.count {
            times[index] = MonotonicClock.nanoseconds()
            if index == 0 { frameSamples.store(samples.count, ordering: .relaxed) }
            written.store(index + 1, ordering: .releasing)
        }
        try inner.write(samples)
    }
    func close() { inner.close() }

    /// When the sample at `index` of what was played was handed over.
    func playedNs(sample index: Int) -> UInt64? {
        let count = written.load(ordering: .acquiring), size = frameSamples.load(ordering: .relaxed)
        guard size > 0 else { return nil }
        let frame = index / size
        guard frame < count else { return nil }
        return times[frame] + UInt64(index % size) * 1_000_000_000 / UInt64(AudioFormat.sampleRate)
    }
}

enum MouthToEar {
    /// Where the reference lies in `played` [samples], to the millisecond, or
    /// nil when no lag up to `maximumLagMs` fits (nothing was heard).
    static func lag(reference: [Int16], played: [Int16], maximumLagMs: Int = 1_000) -> Int? {
        let block = AudioFormat.sampleRate / 1_000
        func envelope(_ samples: [Int16]) -> [Double] {
            stride(from: 0, to: samples.count - block + 1, by: block).map { start in
                var sum = 0.0
                for sample in samples[start..<(start + block)] { sum += Double(sample) * Double(sample) }
                return (sum / Double(block)).squareRoot()
            }
        }
        let talk = envelope(reference), heard = envelope(played)
        let from = talk.count / 2
        guard talk.count > 200, heard.count > talk.count / 2 else { return nil }
        var best: (lag: Int, score: Double)?
        for lag in 0...maximumLagMs {
            var dot = 0.0, talkEnergy = 0.0, heardEnergy = 0.0
            for index in from..<talk.count where index + lag < heard.count {
                dot += talk[index] * heard[index + lag]
                talkEnergy += talk[index] * talk[index]
                heardEnergy += heard[index + lag] * heard[index + lag]
            }
            guard talkEnergy > 0, heardEnergy > 0 else { continue }
            let score = dot / (talkEnergy * heardEnergy).squareRoot()
            if score > (best?.score ?? 0.5) { best = (lag, score) }
        }
        return best.map { $0.lag * block }
    }

    /// Milliseconds from a frame's last sample spoken to its audio handed to
    /// the output, for the sample at `from + lag`, plus the frame's fill.
    static func milliseconds(
        source: FirstReadClock, sink: WriteClock, reference: [Int16], played: [Int16], frameMs: Int
    ) -> Double? {
        guard let firstRead = source.firstReadNs, let lag = lag(reference: reference, played: played) else { return nil }
        // The frame starting at sample `from` was read (complete) `from` samples' time after the
        // first (the engine paces an unclocked source in real time); its first sample was spoken a
        // frame before that.
        let frameSamples = AudioFormat.samples(forMs: frameMs)
        let from = reference.count / 2 / frameSamples * frameSamples
        let spokenNs = firstRead + UInt64(from) * 1_000_000_000 / UInt64(AudioFormat.sampleRate)
        guard let playedNs = sink.playedNs(sample: from + lag), playedNs > spokenNs else { return nil }
        return Double(playedNs - spokenNs) / 1e6 + Double(frameMs)
    }
}
