// `confab bench voice`, the processing part: echo cancellation on a simulated
// room (EchoPath) and what the capture-side processing costs per 10 ms frame,
// against libopus encoding the same audio.
//
//   reference speech ─▶ the far end, played ─▶ EchoPath (60 ms, −10 dB, reflections, saturation)
//   ─▶ microphone ─▶ CaptureProcessing (all on), 20 ms at a time as the capture thread does
//   ERLE: microphone energy over output energy in single talk, from 1 s on
//   double talk: the same, with a near-end talker throughout; how well the output keeps that
//     talker (correlation in the second half, the canceller settled, at the best lag up to 20 ms)
//   keyboard: generated keystrokes and nobody talking; their energy before over after the chain
//   cost: the thread's CPU time in the chain per 10 ms frame, and in opus_encode for the same
//     microphone audio, in single talk (echo only) and in double talk (someone at the microphone:
//     the chain costs the same, Opus more); thread time, since on a shared host the wall clock
//     also counts the time spent waiting for a core
import ConfabMedia
import ConfabSocket
import Foundation
import Opus

struct ProcessingResult: Codable {
    var erleDb: Double
    /// The near-end talker kept in double talk: correlation of the output with it (goal ≥ 0.85).
    var doubleTalkCorrelation: Double
    /// Keystroke energy removed while nobody talks [dB] (goal ≥ 20).
    var clicksRemovedDb: Double
    /// Mean processing time per 10 ms frame [µs], and libopus encoding the same 10 ms [µs]:
    /// the thread's CPU time, so a busy host's preemption does not count. Single talk.
    var processingMicroseconds: Double
    var opusMicroseconds: Double
    /// The same in double talk.
    var doubleTalkProcessingMicroseconds: Double
    var doubleTalkOpusMicroseconds: Double
    var failures: Int

    var line: String {
        String(format: "processing (echo, noise, gain, clicks): ERLE %.1f dB after 1 s (simulated room, 60 ms, -10 dB); double talk keeps the near end at correlation %.2f; keystrokes %.1f dB down; CPU per 10 ms frame %.0f us, %.2f x opus_encode of the same microphone (%.0f us), in double talk %.0f us, %.2f x (%.0f us); failures %d",
               erleDb, doubleTalkCorrelation, clicksRemovedDb,
               processingMicroseconds, processingMicroseconds / max(opusMicroseconds, 0.001), opusMicroseconds,
               doubleTalkProcessingMicroseconds, doubleTalkProcessingMicroseconds / max(doubleTalkOpusMicroseconds, 0.001),
               doubleTalkOpusMicroseconds, failures)
    }
}

enum ProcessingBenchmark {
    static func run(speech: [Int16]) throws -> ProcessingResult {
        let microphone = EchoPath().microphone(played: speech, near: [])
        let (output, processingNs, frames, failures) = try process(microphone: microphone, played: speech)
        let settled = AudioFormat.sampleRate..<(frames * AudioFormat.samples(forMs: 10))
        func energy(_ samples: ArraySlice<Int16>) -> Double { samples.reduce(0) { $0 + Double($1) * Double($1) } }
        let erle = 10 * log10(energy(microphone[settled]) / max(energy(output[settled]), 1))

        // Double talk: another talker near the microphone for the whole talk.
        var near = [Int16](repeating: 0, count: speech.count)
        _ = try near.withUnsafeMutableBufferPointer { try SpeechLikeSource(seed: 11).read(into: $0) }
        let doubleTalkMicrophone = EchoPath().microphone(played: speech, near: near)
        let (doubleTalk, doubleTalkNs, doubleTalkFrames, doubleTalkFailures) = try process(
            microphone: doubleTalkMicrophone, played: speech)
        let keptNear = bestCorrelation(reference: Array(near[(near.count / 2)...]), output: Array(doubleTalk[(near.count / 2)...]),
                                       maximumLag: AudioFormat.samples(forMs: 20))

        // Keystrokes with nobody talking and nothing played.
        let typing = KeyboardClicks.typing(seconds: 6)
        let (typed, _, _, typingFailures) = try process(microphone: typing.samples, played: [])
        let clicks = KeyboardClicks.removedDb(typing.samples, typed, at: typing.starts)

        return ProcessingResult(
            erleDb: erle, doubleTalkCorrelation: keptNear, clicksRemovedDb: clicks,
            processingMicroseconds: Double(processingNs) / Double(max(1, frames)) / 1_000,
            opusMicroseconds: try opusCost(microphone) / 2,
            doubleTalkProcessingMicroseconds: Double(doubleTalkNs) / Double(max(1, doubleTalkFrames)) / 1_000,
            doubleTalkOpusMicroseconds: try opusCost(doubleTalkMicrophone) / 2,
            failures: failures + doubleTalkFailures + typingFailures)
    }

    /// The chain (all on) over `microphone`, 20 ms at a time as the capture
    /// thread runs it, with `played` handed over as the far end before each
    /// frame. Returns the output, the time spent in the chain, the 10 ms frames and the failures.
    private static func process(microphone: [Int16], played: [Int16]) throws -> ([Int16], UInt64, Int, Int) {
        let frame = AudioFormat.samples(forMs: 20)
        var output = microphone
        let processing = try CaptureProcessing(settings: .all)
        var processingNs: UInt64 = 0
        var frames = 0
        output.withUnsafeMutableBufferPointer { out in
            played.withUnsafeBufferPointer { far in
                var start = 0
                while start + frame <= out.count {
                    if start + frame <= far.count {
                        processing.farEnd.write(UnsafeBufferPointer(rebasing: far[start..<(start + frame)]))
                    }
                    let begin = ThreadCPUClock.nanoseconds()
                    processing.process(UnsafeMutableBufferPointer(rebasing: out[start..<(start + frame)]))
                    processingNs += ThreadCPUClock.nanoseconds() - begin
                    start += frame
                    frames += 2
                }
            }
        }
        return (output, processingNs, frames, processing.stats.failures.load(ordering: .relaxed))
    }

    /// Pearson correlation of `output` with `reference` at the best lag from 0
    /// to `maximumLag` samples (the chain delays by at most 20 ms): 1 ms steps,
    /// then the samples around the best.
    static func bestCorrelation(reference: [Int16], output: [Int16], maximumLag: Int) -> Double {
        func correlation(at lag: Int) -> Double {
            var dot = 0.0, referenceEnergy = 0.0, outputEnergy = 0.0
            for index in 0..<min(reference.count, output.count - lag) {
                let a = Double(reference[index]), b = Double(output[index + lag])
                dot += a * b
                referenceEnergy += a * a
                outputEnergy += b * b
            }
            return referenceEnergy > 0 && outputEnergy > 0 ? dot / (referenceEnergy * outputEnergy).squareRoot() : 0
        }
        let step = AudioFormat.samples(forMs: 1)
        let coarse = stride(from: 0, through: maximumLag, by: step).map { (lag: $0, value: correlation(at: $0)) }
            .max { $0.value < $1.value }?.lag ?? 0
        let fine = max(0, coarse - step)...min(maximumLag, coarse + step)
        return fine.map(correlation(at:)).max() ?? 0
    }

    /// Mean time libopus takes to encode a 20 ms frame of `audio` [µs], Confab's settings.
    static func opusCost(_ audio: [Int16]) throws -> Double {
        let frame = AudioFormat.samples(forMs: 20)
        let encoder = try Opus.Encoder(settings: Opus.EncoderSettings())
        var packet = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        var total: UInt64 = 0
        var frames = 0
        try audio.withUnsafeBufferPointer { pcm in
            var start = 0
            while start + frame <= pcm.count {
                let begin = ThreadCPUClock.nanoseconds()
                _ = try packet.withUnsafeMutableBytes {
                    try encoder.encode(UnsafeBufferPointer(rebasing: pcm[start..<(start + frame)]), into: $0)
                }
                total += ThreadCPUClock.nanoseconds() - begin
                frames += 1
                start += frame
            }
        }
        return Double(total) / Double(max(1, frames)) / 1_000
    }
}
