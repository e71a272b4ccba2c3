import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Confab's speed (run on a release build: make bench).",
        subcommands: [BenchMedia.self, BenchSignaling.self, BenchSFU.self, BenchSFULoad.self, BenchTUI.self, BenchVoice.self])
}
