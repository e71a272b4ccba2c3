import ArgumentParser
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Confab's speed (run on a release build: make bench).",
        subcommands: [BenchCluster.self, BenchMedia.self, BenchSignaling.self, BenchSignalingPeers.self, BenchSignalingProbes.self, BenchSFU.self, BenchSFULoad.self, BenchTUI.self, BenchVoice.self])
}

/// What a bench prints: a table for people, or one JSON object with `--json`.
protocol BenchReport: Encodable {
    var table: String { get }
}

/// `--json`: how a bench prints its report.
struct BenchOutput: ParsableArguments {
    @Flag(help: "Print the results as JSON.")
    var json = false

    func print(_ report: some BenchReport) throws {
        Swift.print(try json ? report.jsonLine() : report.table)
    }

    /// Where a bench reports its progress: standard error, or nowhere when the
    /// results are printed as JSON.
    var progress: @Sendable (String) -> Void {
        let quiet = json
        return { line in if !quiet { FileHandleOutput.standardError(line) } }
    }
}
