// The check before joining, in the terminal front: a short tone on the
// speaker, the microphone's live level, and the devices to choose, before
// anyone in the room hears them (100ms's preview; `confab devices --test`
// does the same on the command line).
//
//   keys ─▶ DeviceCheckModel ─▶ .playTone / .listen ─▶ DeviceProbe (the program: ALSA, off the loop)
//   DeviceProbe ─▶ levels, the tone's end ─▶ DeviceCheckMessage ─▶ the model ─▶ render
//   Enter / s / n / q ─▶ outcome ─▶ the program joins (or not) and remembers the choice in config.toml
import ConfabMacros
import Foundation

/// A device one can choose: its name for `--input`/`--output` and what it is.
@PublicMemberwiseInit
public struct DeviceOption: Hashable, Sendable {
    public var spec: String
    public var description: String
}

/// The sound devices, as the front checks them (ConfabTUI knows no engine).
public protocol DeviceProbe: Sendable {
    /// Plays the check tone (about a second) on `output`; nil when it played, else why not.
    func playTone(on output: String) async -> String?
    /// Reads `input`, calling `level` with each frame's level [dBov], until
    /// `stopped` says so; nil when it stopped, else why it could not listen.
    func listen(to input: String, level: @escaping @Sendable (Double) -> Void,
                stopped: @escaping @Sendable () -> Bool) async -> String?
}

/// How the check ended.
public enum DeviceCheckOutcome: Hashable, Sendable {
    /// Join on these devices; `stopAsking`: no check before the next meetings.
    case join(input: String?, output: String, stopAsking: Bool)
    /// Join as if there had been no check (the devices as they were).
    case skip
    /// Do not join.
    case quit
}

/// What the check does: the devices chosen, the tone, the level heard.
public struct DeviceCheckModel: Sendable {
    public enum Row: Hashable, Sendable { case output, input }
    public enum Command: Hashable, Sendable {
        case playTone(String)
        /// Listen to this input from now on (`generation` tells its levels from an earlier input's).
        case listen(String, generation: Int)
    }

    public let inputs: [DeviceOption]
    public let outputs: [DeviceOption]
    public private(set) var input: Int
    public private(set) var output: Int
    public var row = Row.output
    /// The microphone's level [dBov] now (the loudest of the last tenth of a second), and the loudest since it was chosen.
    public private(set) var levelDBov = -127.0
    public private(set) var loudestDBov = -127.0
    public private(set) var tone: String = "playing a tone…"
    public private(set) var inputProblem: String?
    public private(set) var generation = 0
    public var outcome: DeviceCheckOutcome?

    /// At or below this the microphone heard nothing (DeviceCheck.silentDBov).
    static let silentDBov = -60.0

    /// Starts on `input` and `output` (added to the lists when missing).
    public init(inputs: [DeviceOption], outputs: [DeviceOption], input: String?, output: String) {
        func placing(_ spec: String, in options: [DeviceOption]) -> ([DeviceOption], Int) {
            if let index = options.firstIndex(where: { $0.spec == spec }) { return (options, index) }
            return ([DeviceOption(spec: spec, description: "in use")] + options, 0)
        }
        (self.outputs, self.output) = placing(output, in: outputs)
        if let input {
            (self.inputs, self.input) = placing(input, in: inputs)
        } else {
            (self.inputs, self.input) = ([], 0)
        }
        if self.inputs.isEmpty { row = .output }
    }

    public var chosenInput: String? { inputs.isEmpty ? nil : inputs[input].spec }
    public var chosenOutput: String { outputs[output].spec }

    /// What to start with: the tone, and listening.
    public func start() -> [Command] {
        [.playTone(chosenOutput)] + (chosenInput.map { [.listen($0, generation: generation)] } ?? [])
    }

    public mutating func handle(_ key: Key) -> [Command] {
        switch key {
        case .enter: outcome = .join(input: chosenInput, output: chosenOutput, stopAsking: false)
        case .character("n"), .character("N"): outcome = .join(input: chosenInput, output: chosenOutput, stopAsking: true)
        case .character("s"), .character("S"): outcome = .skip
        case .character("q"), .character("Q"), .escape, .control("c"): outcome = .quit
        case .character("t"), .character("T"):
            tone = "playing a tone…"
            return [.playTone(chosenOutput)]
        case .up, .down, .tab, .backTab:
            if !inputs.isEmpty { row = row == .input ? .output : .input }
        case .left: return choose(-1)
        case .right, .character(" "): return choose(1)
        default: break
        }
        return []
    }

    /// The next (or previous) device in the row: a new speaker plays the tone, a new microphone is listened to.
    private mutating func choose(_ step: Int) -> [Command] {
        switch row {
        case .output:
            guard outputs.count > 1 else { return [] }
            output = (output + step + outputs.count) % outputs.count
            tone = "playing a tone…"
            return [.playTone(chosenOutput)]
        case .input:
            guard inputs.count > 1 else { return [] }
            input = (input + step + inputs.count) % inputs.count
            generation += 1
            (levelDBov, loudestDBov, inputProblem) = (-127, -127, nil)
            return [.listen(inputs[input].spec, generation: generation)]
        }
    }

    /// A level from the input listened to as `generation` (older ones are dropped).
    public mutating func level(_ dBov: Double, generation: Int) {
        guard generation == self.generation else { return }
        levelDBov = dBov
        loudestDBov = max(loudestDBov, dBov)
    }

    public mutating func toneEnded(_ problem: String?, on output: String) {
        guard output == chosenOutput else { return }
        tone = problem.map { "does not play: \($0)" } ?? "did you hear the tone? (t plays it again)"
    }

    public mutating func listeningFailed(_ problem: String, generation: Int) {
        guard generation == self.generation else { return }
        inputProblem = problem
    }

    /// What the microphone line says.
    public var microphoneVerdict: String {
        if let inputProblem { return "does not open: \(inputProblem)" }
        return loudestDBov > Self.silentDBov ? "it hears you" : "speak: nothing heard yet"
    }
}

/// What reaches the check's screen besides keys.
public enum DeviceCheckMessage: Sendable {
    case level(Double, generation: Int)
    case toneEnded(String?, output: String)
    case listeningFailed(String, generation: Int)
}

/// The check as a screen of the front loop.
public final class DeviceCheckScreen: FrontScreen {
    public typealias Message = DeviceCheckMessage
    public typealias Outcome = DeviceCheckOutcome

    public private(set) var model: DeviceCheckModel
    private let perform: (DeviceCheckModel.Command) -> Void
    private var requests = FrontRequests()

    public init(model: DeviceCheckModel, perform: @escaping (DeviceCheckModel.Command) -> Void) {
        self.model = model
        self.perform = perform
    }

    public var outcome: DeviceCheckOutcome? { model.outcome }

    /// Plays the tone and starts listening.
    public func start() { for command in model.start() { perform(command) } }

    public func handle(_ input: TerminalInput, at time: Date) {
        guard case .key(let key) = input else { return }
        for command in model.handle(key) { perform(command) }
    }

    public func handle(_ message: DeviceCheckMessage, at time: Date) -> Bool {
        switch message {
        case .level(let dBov, let generation): model.level(dBov, generation: generation)
        case .toneEnded(let problem, let output): model.toneEnded(problem, on: output)
        case .listeningFailed(let problem, let generation): model.listeningFailed(problem, generation: generation)
        }
        return true
    }

    public func tick(at time: Date) -> Bool { false }
    public func interrupted() { model.outcome = .quit }
    public func keyReleasesReported() {}
    public func takeRequests() -> FrontRequests { requests.take() }

    public func render(into frame: inout Frame, at time: Date) {
        frame.buffer.fill(frame.area, style: Style(.text, on: .background))
        DeviceCheckView(model: model).render(in: frame.area, into: &frame.buffer)
    }
}

/// The check's box: the speaker and the microphone, each a row to choose in, and the keys.
struct DeviceCheckView: Widget {
    var model: DeviceCheckModel

    static let keys = "Enter join · ↑↓ row · ←→ device · t tone · s skip · n join, never ask again · q quit"

    func render(in area: Rect, into buffer: inout Buffer) {
        let width = min(area.width - 2, 76)
        let box = area.centered(width: width, height: min(area.height, 12))
        let block = Block(
            title: "Check your sound before joining", titleStyle: Style(.accent, on: .surface, [.bold]),
            borderStyle: Style(.accent, on: .surface, [.bold]), fillStyle: Style(.text, on: .surface), heavy: true)
        block.render(in: box, into: &buffer)
        let inner = block.inner(box).inset(horizontal: 1, vertical: 0)
        var y = inner.y
        func line(_ text: String, _ style: Style) {
            guard y < inner.bottom else { return }
            buffer.put(text, x: inner.x, y: y, style: style, limit: inner.width)
            y += 1
        }
        let speaker = model.outputs[model.output]
        line(Self.choice("Speaker", speaker, selected: model.row == .output, count: model.outputs.count),
             Style(model.row == .output ? .accent : .text, on: .surface, model.row == .output ? [.bold] : []))
        line("             " + model.tone, Style(model.tone.hasPrefix("does not") ? .error : .dim, on: .surface))
        y += 1
        if model.inputs.isEmpty {
            line("Microphone   none: you will listen only", Style(.dim, on: .surface))
        } else {
            let microphone = model.inputs[model.input]
            line(Self.choice("Microphone", microphone, selected: model.row == .input, count: model.inputs.count),
                 Style(model.row == .input ? .accent : .text, on: .surface, model.row == .input ? [.bold] : []))
            line("             level " + Self.bar(model.levelDBov, width: max(10, inner.width - 32)) + " "
                    + String(format: "%4d dBov", Int(model.levelDBov.rounded())),
                 Style(model.loudestDBov > DeviceCheckModel.silentDBov ? .ok : .dim, on: .surface))
            line("             " + model.microphoneVerdict,
                 Style(model.inputProblem != nil ? .error : model.loudestDBov > DeviceCheckModel.silentDBov ? .ok : .warning, on: .surface))
        }
        y = max(y + 1, inner.bottom - 2)
        for text in TextWidth.wrap(Self.keys, columns: inner.width) { line(text, Style(.dim, on: .surface)) }
    }

    static func choice(_ label: String, _ option: DeviceOption, selected: Bool, count: Int) -> String {
        let arrows = count > 1 ? ("◀ ", " ▶") : ("", "")
        return TextWidth.pad(label, to: 12) + " " + arrows.0 + option.spec + " · " + option.description + arrows.1
    }

    /// A bar from −60 dBov (empty) to 0 (full).
    static func bar(_ dBov: Double, width: Int) -> String {
        let filled = Int((max(0, min(60, dBov + 60)) / 60 * Double(width)).rounded())
        return String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
    }
}
