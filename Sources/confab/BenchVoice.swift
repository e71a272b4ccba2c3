// `confab bench voice`: how good speech sounds after the media path, scored
// with PESQ-WB (ITU-T P.862.2) against what was said.
//
//   espeak-ng sentences ─▶ sox 48 kHz ─▶ reference.wav
//   codec alone:  reference ─▶ Opus.Encoder ─▶ Opus.Decoder ─▶ WAV           (in process, no network)
//   path:         WAV source ─▶ MediaEngine (SRTP/UDP) ─▶ ImpairedRelay ─▶ ImpairedRelay ─▶ MediaEngine ─▶ WAV
//                 (two hops, like sender → server → listener; each drops and delays on its own, seeded)
//                 adaptive: every second the listener's loss ─▶ LossAdaptation ─▶ the sender's EncoderControl
//   every WAV ─▶ sox 16 kHz ─▶ PESQ-WB (the `pesq` package from PyPI, installed by make deps)
import ArgumentParser
import ConfabMedia
import ConfabSocket
import Foundation
import Opus
import SRTP

struct BenchVoice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voice",
        abstract: "Speech quality (PESQ-WB) of the codec alone and of the media path, clean and lossy, fixed and adaptive.",
        discussion: """
            Needs espeak-ng, sox and the pesq package (make deps puts it in .build/pesq-venv). \
            Each path run is real time: about 17 s of speech each, eight runs.
            """)

    @Option(help: "Seed of the relays' drops and delays.")
    var seed: UInt64 = 1

    @Option(help: "Python with the pesq package.")
    var python = ".build/pesq-venv/bin/python"

    @Option(help: "Keep the WAV files in this directory (default: a temporary one, removed).")
    var keep: String?

    @Option(help: "Opus bitrate [bit/s].")
    var bitrate: Int32 = 32_000

    @Flag(help: "One sentence, the codec alone and the clean path adaptive only: a sanity check in seconds.")
    var quick = false

    @Option(help: "The adaptive policy's cap on the expected loss [%].")
    var expectedLossCap = Int(LossAdaptationPolicy().maximumExpectedLossPercent)

    @Option(help: "Only the lossy paths with this loss per hop [%] (repeatable): no codec-alone rows, no clean path, no processing.")
    var loss: [Double] = []

    @Option(help: "The lossy paths' jitter per hop [ms]: each packet's delay is uniform in 60 ± this.")
    var jitterMs: Double = 25

    @Option(help: "Runs of each path, fixed and adaptive, each run with the next seed (the figures are noisy).")
    var repeats = 1

    @OptionGroup var output: BenchOutput

    func validate() throws {
        guard (6_000...510_000).contains(bitrate) else { throw ValidationError("--bitrate must be 6000-510000 bit/s") }
        guard loss.allSatisfy({ (0...100).contains($0) }) else { throw ValidationError("--loss must be 0-100 %") }
        guard (0...60).contains(jitterMs) else { throw ValidationError("--jitter-ms must be 0-60 ms") }
        guard (1...20).contains(repeats) else { throw ValidationError("--repeats must be 1-20") }
    }

    func run() throws {
        let directory = keep ?? NSTemporaryDirectory() + "confab-bench-voice-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: directory) } }
        var policy = LossAdaptationPolicy()
        policy.maximumExpectedLossPercent = Int32(clamping: expectedLossCap)
        var bench = VoiceBenchmark(
            directory: directory, python: python, seed: seed, bitrate: bitrate, policy: policy, quick: quick)
        bench.onlyLoss = loss
        bench.jitterMs = jitterMs
        bench.repeats = repeats
        let results = try bench.run { FileHandleOutput.standardError("confab: \($0)") }
        try output.print(results)
        if results.failures > 0 { throw CommandFailure("\(results.failures) run(s) could not be scored") }
    }
}

/// One scored run.
struct VoiceRun: Codable {
    var path: String
    var setting: String
    /// nil when PESQ could not score the output (counted as a failure).
    var pesqWB: Double?
    /// What the listener saw: frames lost, rebuilt from FEC, concealed.
    var lost = 0
    var recoveredByFEC = 0
    /// Frames whose packet was lost but whose copy came in a later RED packet (not in `lost`).
    var recoveredByRED = 0
    var concealed = 0
    /// Packets that came after their turn (counted in `lost` too), and frames
    /// the jitter buffer dropped to bring its delay down.
    var late = 0
    var droppedForDelay = 0
    /// The seed of the relays' draws.
    var seed: UInt64 = 0
    /// The encoder's settings at the end of the run.
    var finalBitrate: Int32 = 0
    var finalFEC = false
    var finalExpectedLossPercent: Int32 = 0
    /// Earlier frames each packet repeated at the end (RED).
    var finalRedundantFrames = 0
    /// What the listener's jitter buffer held ahead of play-out, on average [ms]; 0 in process.
    var meanPlayoutDelayMs = 0.0
    /// From a 20 ms frame's first sample spoken to its audio handed to the
    /// output, the jitter buffer settled (the talk's second half), sound-card
    /// periods excluded [ms]; nil in process or when it could not be found.
    var mouthToEarMs: Double?
}

struct VoiceResults: Codable, BenchReport {
    var runs: [VoiceRun]
    var failures: Int
    var speechSeconds: Double
    /// Echo cancellation and the processing's cost (BenchVoiceProcessing.swift).
    var processing: ProcessingResult?

    var table: String {
        var lines = [String(format: "speech: %.1f s of espeak-ng sentences; PESQ-WB (P.862.2), higher is better (max 4.64)", speechSeconds)]
        lines.append("path                                  setting    PESQ-WB    RED   lost  FEC  PLC late drop delay   m2e   encoder at the end")
        for run in runs {
            let score = run.pesqWB.map { String(format: "%7.2f", $0) } ?? " failed"
            let encoder = "\(run.finalBitrate / 1000) kb/s, FEC \(run.finalFEC ? "on" : "off"), \(run.finalExpectedLossPercent) %, RED \(run.finalRedundantFrames)"
            let mouthToEar = run.mouthToEarMs.map { String(format: "%5.0f", $0) } ?? "    -"
            lines.append(String(format: "%@ %@ %@ %6d %6d %4d %4d %4d %4d %5.1f %@   %@",
                                run.path.padding(toLength: 37, withPad: " ", startingAt: 0),
                                run.setting.padding(toLength: 10, withPad: " ", startingAt: 0), score,
                                run.recoveredByRED, run.lost, run.recoveredByFEC, run.concealed, run.late, run.droppedForDelay,
                                run.meanPlayoutDelayMs, mouthToEar, encoder))
        }
        if let processing { lines.append(processing.line) }
        lines.append("failures: \(failures)")
        return lines.joined(separator: "\n")
    }
}

struct VoiceBenchmark {
    let directory: String
    let python: String
    let seed: UInt64
    let bitrate: Int32
    let policy: LossAdaptationPolicy
    let quick: Bool
    /// Not empty: only the lossy paths with these losses per hop [%].
    var onlyLoss: [Double] = []
    var jitterMs = 25.0
    var repeats = 1

    /// Harvard sentences (IEEE 1969), spoken by espeak-ng: nothing recorded is shipped.
    static let sentences = """
        The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. \
        It is easy to tell the depth of a well. These days a chicken leg is a rare dish. \
        Rice is often served in round bowls. The juice of lemons makes fine punch.
        """

    /// The paths measured: per hop (there are two), loss and delay.
    var paths: [PathImpairment] {
        if quick { return [.none] }
        let lossy = onlyLoss.isEmpty ? [1, 5, 10] : onlyLoss
        return (onlyLoss.isEmpty ? [.none] : [])
            + lossy.map { PathImpairment(lossPercent: $0, delayMs: 60, jitterMs: jitterMs) }
    }

    func run(progress: (String) -> Void) throws -> VoiceResults {
        let reference = try makeReference()
        let speech = try WAVFile.read(path: reference)
        var runs: [VoiceRun] = []
        var outputs: [String] = []

        let codecSettings = [("no FEC", Self.settings(bitrate: bitrate, fec: false)),
                             ("fixed", Self.settings(bitrate: bitrate, fec: true))]
        let codecRuns = quick ? Array(codecSettings.prefix(1)) : onlyLoss.isEmpty ? codecSettings : []
        for (setting, settings) in codecRuns {
            let output = "\(directory)/codec-\(runs.count).wav"
            try Self.codecAlone(speech, settings: settings, output: output)
            runs.append(VoiceRun(path: "codec alone (in process)", setting: setting, finalBitrate: settings.bitrate,
                                 finalFEC: settings.inbandFEC, finalExpectedLossPercent: settings.expectedPacketLossPercent))
            outputs.append(output)
        }
        for path in paths {
            for round in 0..<repeats {
                for adaptive in quick ? [true] : [false, true] {
                    let name = path == .none ? "clean, 2 hops" : "\(path) per hop, 2 hops"
                    let runSeed = seed &+ UInt64(round)
                    progress("\(name), \(adaptive ? "adaptive" : "fixed"), seed \(runSeed)")
                    let output = "\(directory)/path-\(runs.count).wav"
                    var run = try VoicePathRun(reference: reference, output: output, hop: path, seed: runSeed,
                                               settings: Self.settings(bitrate: bitrate, fec: true),
                                               policy: adaptive ? policy : nil).run()
                    run.path = name
                    run.seed = runSeed
                    runs.append(run)
                    outputs.append(output)
                }
            }
        }
        let scores = try score(reference: reference, outputs: outputs)
        for index in runs.indices { runs[index].pesqWB = scores[index] }
        return VoiceResults(runs: runs, failures: scores.filter { $0 == nil }.count,
                            speechSeconds: Double(speech.count) / Double(AudioFormat.sampleRate),
                            processing: onlyLoss.isEmpty ? try ProcessingBenchmark.run(speech: speech) : nil)
    }

    /// Confab's configured settings: FEC for 10 % (the fixed setting), or none.
    static func settings(bitrate: Int32, fec: Bool) -> Opus.EncoderSettings {
        var settings = Opus.EncoderSettings()
        settings.bitrate = bitrate
        if !fec {
            settings.inbandFEC = false
            settings.expectedPacketLossPercent = 0
        }
        return settings
    }

    private func makeReference() throws -> String {
        let spoken = "\(directory)/spoken.wav"
        let reference = "\(directory)/reference.wav"
        let text = quick ? String(Self.sentences.prefix { $0 != "." }) + "." : Self.sentences
        try Self.tool("espeak-ng", ["-v", "en-us", "-s", "150", "-w", spoken, text])
        // Quick: 1.5 s of silence first, so the first feedback (after 1 s) comes before the sentence.
        try Self.tool("sox", [spoken, "-r", "48000", "-b", "16", "-c", "1", reference, "pad", quick ? "1.5" : "0.3", "0.5"])
        return reference
    }

    /// Encodes and decodes in process, frame by frame, as the engine does (20 ms).
    static func codecAlone(_ speech: [Int16], settings: Opus.EncoderSettings, output: String) throws {
        let frame = AudioFormat.samples(forMs: 20)
        let encoder = try Opus.Encoder(settings: settings)
        let decoder = try Opus.Decoder()
        var packet = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        var decoded = [Int16](repeating: 0, count: frame)
        var result: [Int16] = []
        result.reserveCapacity(speech.count + frame)
        var start = 0
        while start < speech.count {
            var input = Array(speech[start..<min(start + frame, speech.count)])
            input += [Int16](repeating: 0, count: frame - input.count)
            let length = try input.withUnsafeBufferPointer { pcm in
                try packet.withUnsafeMutableBytes { try encoder.encode(pcm, into: $0) }
            }
            let samples = try packet.withUnsafeBytes { bytes in
                try decoded.withUnsafeMutableBufferPointer {
                    try decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<length]), into: $0)
                }
            }
            result += decoded[0..<samples]
            start += frame
        }
        try WAVFile.write(result, path: output)
    }

    /// PESQ-WB of each output against the reference; nil where it could not score.
    private func score(reference: String, outputs: [String]) throws -> [Double?] {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw CommandFailure("no \(python): run make deps (it installs the pesq package), or pass --python")
        }
        func narrow(_ path: String) throws -> String {
            let narrowed = path.replacingOccurrences(of: ".wav", with: "-16k.wav")
            try Self.tool("sox", [path, "-r", "16000", narrowed])
            return narrowed
        }
        let script = "\(directory)/pesq-score.py"
        try Self.pesqScript.write(toFile: script, atomically: true, encoding: .utf8)
        let lines = try Self.tool(python, [script, try narrow(reference)] + outputs.map(narrow))
            .split(separator: "\n").map(String.init)
        guard lines.count == outputs.count else { throw CommandFailure("pesq printed \(lines.count) lines for \(outputs.count) files") }
        return lines.map(Double.init)
    }

    /// Scores degraded files against a reference, one line each ("error: …" where PESQ refuses).
    static let pesqScript = """
        import sys, wave
        import numpy
        from pesq import pesq

        def read(path):
            with wave.open(path, "rb") as f:
                return numpy.frombuffer(f.readframes(f.getnframes()), dtype=numpy.int16).astype(numpy.float64)

        reference = read(sys.argv[1])
        for path in sys.argv[2:]:
            try:
                print(f"{pesq(16000, reference, read(path), 'wb'):.3f}")
            except Exception as error:
                print("error: " + str(error).replace("\\n", " "))

        """

    /// Runs a tool and returns its standard output; a missing tool or a failure says which.
    @discardableResult
    static func tool(_ name: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [name] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { throw CommandFailure("cannot run \(name): \(error)") }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailure("\(name) failed (\(process.terminationStatus)); make deps installs it. \(problem.prefix(300))")
        }
        return text
    }
}
