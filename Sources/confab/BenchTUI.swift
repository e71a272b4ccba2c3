import ArgumentParser
import ConfabTUI

/// `confab bench tui`: the cost of one frame of the meeting screen (see BENCHMARKS.md).
struct BenchTUI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tui",
        abstract: "Render a 160×50 meeting (50 tiles, a full chat pane) and report the time per frame; idle must write nothing.")

    @Option(help: "Frames to render.")
    var frames = 2_000

    func run() throws {
        let result = TUIBenchmark().run(frames: frames)
        print("frames: \(result.frames) at 160x50, 50 tiles, 2000-message chat, 8 speakers changing every frame")
        print(String(format: "per frame: mean %.3f ms, p50 %.3f ms, p99 %.3f ms, max %.3f ms (target <= 2 ms)",
                     result.meanMs, result.p50Ms, result.p99Ms, result.maxMs))
        print(String(format: "CPU time per frame (without time the core was taken away): mean %.3f ms, p50 %.3f ms, p99 %.3f ms",
                     result.cpuMeanMs, result.cpuP50Ms, result.cpuP99Ms))
        print(String(format: "idle: %d cells written, %d flushes, %.3f ms to find that nothing changed",
                     result.idleCellsWritten, result.idleFlushes, result.idleMeanMs))
        if result.idleCellsWritten != 0 || result.idleFlushes != 0 {
            throw CommandFailure("idle frames wrote to the terminal")
        }
    }
}
