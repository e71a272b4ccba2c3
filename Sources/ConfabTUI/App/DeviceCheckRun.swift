// Running the check before joining: full screen on a terminal, or as plain
// lines with --screen-reader (the same steps, said one line each).
//
//   DeviceCheckScreen ◀─ keys, levels (10 a second), the tone's end ─▶ outcome
//   plain: tone ─▶ 3 s of listening ─▶ the loudest level ─▶ a typed answer ─▶ outcome
import Foundation
import Synchronization

/// Listening to one input at a time: the last one asked for runs, earlier ones stop.
/// It also counts the tones and listenings still holding a device, so the
/// meeting opens the devices only once the check has closed them (a card
/// opened twice is busy).
final class ListeningSlot: Sendable {
    private let current = Atomic<Int>(0)
    private let holding = Atomic<Int>(0)

    /// Runs `work` on a device in a task of its own, counted while it runs.
    func hold(_ work: @escaping @Sendable () async -> Void) {
        holding.add(1, ordering: .relaxed)
        Task.detached { [self] in
            await work()
            holding.subtract(1, ordering: .releasing)
        }
    }

    /// Stops listening and waits (2 s at most: a tone lasts one) until no device is held.
    func stopAndWait() async {
        stop()
        let deadline = ContinuousClock.now + .seconds(2)
        while holding.load(ordering: .acquiring) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Starts listening to `input` as `generation`; levels come ten times a second (the loudest of each tenth).
    func listen(to input: String, generation: Int, probe: any DeviceProbe,
                post: @escaping @Sendable (DeviceCheckMessage) -> Void) {
        current.store(generation, ordering: .releasing)
        let loudest = Mutex((frames: 0, dBov: -127.0))
        hold { [self] in
            let problem = await probe.listen(to: input, level: { dBov in
                let due: Double? = loudest.withLock { window in
                    window = (window.frames + 1, max(window.dBov, dBov))
                    guard window.frames >= 5 else { return nil }
                    defer { window = (0, -127) }
                    return window.dBov
                }
                if let due { post(.level(due, generation: generation)) }
            }, stopped: { self.current.load(ordering: .acquiring) != generation })
            if let problem { post(.listeningFailed(problem, generation: generation)) }
        }
    }

    /// Stops whatever is being listened to.
    func stop() { current.store(-1, ordering: .releasing) }
}

extension DeviceCheckScreen {
    /// Runs the check on the terminal until the user joins, skips or quits; the terminal is given back after.
    public static func run(
        _ model: DeviceCheckModel, probe: any DeviceProbe, theme: Theme, noColor: Bool
    ) async throws -> DeviceCheckOutcome {
        let (inputs, continuation) = AsyncStream<FrontInput<DeviceCheckMessage>>.makeStream(bufferingPolicy: .unbounded)
        let post: @Sendable (DeviceCheckMessage) -> Void = { continuation.yield(.message($0)) }
        let listening = ListeningSlot()
        defer { listening.stop() }
        let screen = DeviceCheckScreen(model: model) { command in
            switch command {
            case .playTone(let output):
                listening.hold { post(.toneEnded(await probe.playTone(on: output), output: output)) }
            case .listen(let input, let generation):
                listening.listen(to: input, generation: generation, probe: probe, post: post)
            }
        }
        screen.start()
        let outcome = try await runFrontInTerminal(
            screen, theme: theme, noColor: noColor, inputs: inputs, continuation: continuation
        ) { _ in await listening.stopAndWait() }
        return outcome ?? .quit
    }
}

/// The check as plain lines (`--screen-reader`): said step by step, answered with a typed line.
public struct DeviceCheckLines {
    let probe: any DeviceProbe
    let write: @Sendable (String) -> Void
    /// How long the microphone is listened to each time [s].
    var listenSeconds = 3.0

    public init(probe: any DeviceProbe, listenSeconds: Double = 3, write: @escaping @Sendable (String) -> Void) {
        self.probe = probe
        self.listenSeconds = listenSeconds
        self.write = write
    }

    static let answers = "Press Enter to join; or type: tone, listen, input NAME, output NAME, devices, skip, never (join and stop this check), quit."

    /// Runs the check, reading answers from `lines` (which the meeting goes on reading afterwards).
    public func run(_ model: DeviceCheckModel, lines: AsyncStream<String>) async -> DeviceCheckOutcome {
        var (input, output) = (model.chosenInput, model.chosenOutput)
        write("Sound check before joining.")
        await tone(output)
        if let input { await listen(input) }
        write(Self.answers)
        for await typed in lines {
            let words = typed.split(separator: " ", maxSplits: 1).map(String.init)
            switch words.first?.lowercased() ?? "" {
            case "": return .join(input: input, output: output, stopAsking: false)
            case "never": return .join(input: input, output: output, stopAsking: true)
            case "skip": return .skip
            case "quit", "q": return .quit
            case "tone": await tone(output)
            case "listen":
                if let input { await listen(input) } else { write("No microphone: you will listen only.") }
            case "devices":
                write("Speakers: " + model.outputs.map(\.spec).joined(separator: ", ") + ".")
                write("Microphones: " + (model.inputs.isEmpty ? "none" : model.inputs.map(\.spec).joined(separator: ", ")) + ".")
            case "output" where words.count == 2:
                output = Self.spec(words[1])
                await tone(output)
            case "input" where words.count == 2:
                input = Self.spec(words[1])
                await listen(Self.spec(words[1]))
            default:
                write("Not understood. " + Self.answers)
                continue
            }
            write(Self.answers)
        }
        return .quit
    }

    /// `hw:1` is `alsa:hw:1`, as `/device` takes it.
    static func spec(_ name: String) -> String { name.hasPrefix("alsa:") ? name : "alsa:" + name }

    private func tone(_ output: String) async {
        write("Speaker \(output): playing a tone for a second.")
        if let problem = await probe.playTone(on: output) {
            write("The speaker \(output) does not play: \(problem)")
        } else {
            write("Did you hear it? Type tone to play it again.")
        }
    }

    private func listen(_ input: String) async {
        write("Microphone \(input): speak now, for \(Int(listenSeconds)) seconds.")
        let frames = Int(listenSeconds * 50)
        let heard = Mutex((frames: 0, loudest: -127.0))
        let problem = await probe.listen(to: input, level: { dBov in
            heard.withLock { $0 = ($0.frames + 1, max($0.loudest, dBov)) }
        }, stopped: { heard.withLock { $0.frames } >= frames })
        if let problem { return write("The microphone \(input) does not open: \(problem)") }
        let loudest = heard.withLock { $0.loudest }
        write(loudest > DeviceCheckModel.silentDBov
              ? "The microphone hears you: loudest \(Int(loudest.rounded())) dBov."
              : "The microphone heard nothing (loudest \(Int(loudest.rounded())) dBov): is it muted or unplugged?")
    }
}
