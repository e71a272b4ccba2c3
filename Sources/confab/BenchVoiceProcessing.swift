// `confab bench voice`, the processing part: echo cancellation on a simulated
// room (EchoPath) and what the capture-side processing costs per 10 ms frame,
// against libopus encoding the same audio.
//
//   reference speech ─▶ the far end, played ─▶ EchoPath (60 ms, −10 dB, reflections, saturation)
//   ─▶ microphone ─▶ CaptureProcessing (all on), 20 ms at a time as the capture thread does
//   ERLE: microphone energy over output energy in single talk, from 1 s on
import ConfabMedia
import ConfabSocket
import Foundation
import Opus

struct ProcessingResult: Codable {
    var erleDb: Double
    /// Mean processing time per 10 ms frame [µs], and libopus encoding the same 10 ms [µs].
    var processingMicroseconds: Double
    var opusMicroseconds: Double
    var failures: Int

    var line: String {
        String(format: "processing (echo, noise, gain, clicks): ERLE %.1f dB after 1 s (simulated room, 60 ms, -10 dB); %.0f us per 10 ms frame, %.2f x opus_encode (%.0f us); failures %d",
               erleDb, processingMicroseconds, processingMicroseconds / max(opusMicroseconds, 0.001), opusMicroseconds,
               failures)
    }
}

enum ProcessingBenchmark {
    static func run(speech: [Int16]) throws -> ProcessingResult {
        let frame = AudioFormat.samples(forMs: 20)
        let microphone = EchoPath().microphone(played: speech, near: [])
        var output = microphone
        let processing = try CaptureProcessing(settings: .all)
        var processingNs: UInt64 = 0
        output.withUnsafeMutableBufferPointer { out in
            speech.withUnsafeBufferPointer { far in
                var start = 0
                while start + frame <= out.count {
                    processing.farEnd.write(UnsafeBufferPointer(rebasing: far[start..<(start + frame)]))
                    let begin = MonotonicClock.nanoseconds()
                    processing.process(UnsafeMutableBufferPointer(rebasing: out[start..<(start + frame)]))
                    processingNs += MonotonicClock.nanoseconds() - begin
                    start += frame
                }
            }
        }
        let frames = speech.count / frame
        let settled = AudioFormat.sampleRate..<(frames * frame)
        func energy(_ samples: ArraySlice<Int16>) -> Double { samples.reduce(0) { $0 + Double($1) * Double($1) } }
        let erle = 10 * log10(energy(microphone[settled]) / max(energy(output[settled]), 1))
        return ProcessingResult(
            erleDb: erle, processingMicroseconds: Double(processingNs) / Double(max(1, frames * 2)) / 1_000,
            opusMicroseconds: try opusCost(speech) / 2,
            failures: processing.stats.failures.load(ordering: .relaxed))
    }

    /// Mean time libopus takes to encode a 20 ms frame of `speech` [µs], Confab's settings.
    static func opusCost(_ speech: [Int16]) throws -> Double {
        let frame = AudioFormat.samples(forMs: 20)
        let encoder = try Opus.Encoder(settings: Opus.EncoderSettings())
        var packet = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        var total: UInt64 = 0
        var frames = 0
        try speech.withUnsafeBufferPointer { pcm in
            var start = 0
            while start + frame <= pcm.count {
                let begin = MonotonicClock.nanoseconds()
                _ = try packet.withUnsafeMutableBytes {
                    try encoder.encode(UnsafeBufferPointer(rebasing: pcm[start..<(start + frame)]), into: $0)
                }
                total += MonotonicClock.nanoseconds() - begin
                frames += 1
                start += frame
            }
        }
        return Double(total) / Double(max(1, frames)) / 1_000
    }
}
