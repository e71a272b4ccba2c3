import ALSA
import ArgumentParser
import ConfabMedia
import Foundation

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the ALSA PCMs (sound devices) this machine has, or check a microphone and a speaker (--test).",
        discussion: """
            --test plays a one-second tone on the output, then shows the input's level
            for --seconds (speak into it). It fails when a device cannot be opened or the
            microphone heard nothing, so you know both work before anyone hears you.
            """)

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @Flag(name: .long, help: "Play a tone on --output, then show --input's live level.")
    var test = false

    @Option(help: "With --test: the microphone (alsa:NAME, or a file or generator). Default alsa:default.")
    var input = "alsa:default"

    @Option(help: "With --test: the speaker (alsa:NAME, a .wav file or null). Default alsa:default.")
    var output = "alsa:default"

    @Option(help: "With --test: how long to show the microphone's level, in seconds (1 to 60).")
    var seconds = 3.0

    func validate() throws {
        guard (1...60).contains(seconds) else { throw ValidationError("--seconds must be 1 to 60") }
        guard let source = try? AudioDeviceSpec.parse(input), source != .null else {
            throw ValidationError("--input must be alsa:NAME, FILE.wav, tone:HZ, silence or speech[:SEED]")
        }
        switch try? AudioDeviceSpec.parse(output) {
        case .wav?, .null?, .alsa?: break
        default: throw ValidationError("--output must be alsa:NAME, FILE.wav or null")
        }
    }

    func run() throws {
        if test { return try check() }
        let devices = ALSA.listPCMs()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(devices), as: UTF8.self))
            return
        }
        let cards = devices.filter { $0.name != "null" }
        if cards.isEmpty {
            print("No sound cards found: only the 'null' PCM exists. Confab will use null audio (silence in, nothing out).")
            print("Files and generators still work: --input speech.wav|tone:440|speech, --output out.wav|null.")
            return
        }
        let width = min(40, devices.map(\.name.count).max() ?? 10)
        for device in devices {
            let direction = device.direction.map { " [\($0)]" } ?? ""
            print(device.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + device.description + direction)
        }
    }

    /// The pre-join check: the tone, then the level. A missing card is an error here, not null audio.
    private func check() throws {
        let sink: AudioSink
        let source: AudioSource
        do {
            sink = try AudioDevices.openSink(try AudioDeviceSpec.parse(output), fallBackToNull: false)
        } catch {
            throw CommandFailure("cannot open the output \(output): \(error)")
        }
        do {
            source = try AudioDevices.openSource(
                try AudioDeviceSpec.parse(input), durationSeconds: seconds, fallBackToNull: false)
        } catch {
            throw CommandFailure("cannot open the input \(input): \(error)")
        }
        defer { sink.close(); source.close() }
        print("Playing a tone on \(sink.name) for 1 s: you should hear it.")
        do {
            try DeviceCheck.playTone(on: sink)
        } catch {
            throw CommandFailure("the output \(output) failed: \(error)")
        }
        print("Listening to \(source.name) for \(Self.format(seconds)) s: speak now.")
        let meter = LevelLine(terminal: isatty(1) != 0)
        let loudest: Double
        do {
            loudest = try DeviceCheck.listen(to: source, seconds: seconds) { meter.show($0) }
        } catch {
            throw CommandFailure("the input \(input) failed: \(error)")
        }
        meter.end()
        guard loudest > DeviceCheck.silentDBov else {
            throw CommandFailure(
                "the microphone \(source.name) heard nothing (loudest \(Int(loudest)) dBov): is it muted or unplugged?")
        }
        print("The microphone works: loudest \(Int(loudest.rounded())) dBov.")
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}

/// The microphone's level as a bar: redrawn in place ten times a second on a
/// terminal, a line every half second otherwise (a log, a test).
private final class LevelLine {
    let terminal: Bool
    private var frames = 0
    private var loudest = LevelMeter.silenceDBov

    init(terminal: Bool) { self.terminal = terminal }

    func show(_ dBov: Double) {
        frames += 1
        loudest = max(loudest, dBov)
        // 20 ms frames: 5 to a tenth of a second, 25 to half a second.
        guard frames % (terminal ? 5 : 25) == 0 else { return }
        let width = 30
        let filled = Int((max(0, loudest + 60) / 60 * Double(width)).rounded())
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let text = "level \(bar) \(String(format: "%4d", Int(loudest.rounded()))) dBov"
        if terminal {
            FileHandle.standardOutput.write(Data(("\r" + text).utf8))
        } else {
            print(text)
        }
        loudest = LevelMeter.silenceDBov
    }

    func end() {
        if terminal { print("") }
    }
}
