import ArgumentParser
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Confab's speed (run on a release build: make bench).",
        subcommands: [BenchCluster.self, BenchMedia.self, BenchSignaling.self, BenchSignalingPeers.self, BenchSFU.self, BenchSFULoad.self, BenchTUI.self, BenchVoice.self])
}

/// What a bench prints: a table for people, or one JSON object with `--json`.
protocol BenchReport: Encodable {
    var table: String { get }
}

extension BenchReport {
    func print(asJSON json: Bool) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            Swift.print(String(decoding: try encoder.encode(self), as: UTF8.self))
        } else {
            Swift.print(table)
        }
    }
}
