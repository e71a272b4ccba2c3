import ArgumentParser
struct BenchMedia: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "media", abstract: "Per-frame cost of the media paths.")
    func run() throws {}
}
