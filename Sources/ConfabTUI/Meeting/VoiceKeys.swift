// Switching the microphone's processing during a meeting: a key per part
// (e, n, g, k by default) and `/audio`, shown in the status bar.
//
//   key / "/audio echo off" ─▶ MeetingModel.voice (what the bar shows) ─▶ .setVoice(chain)
//   ─▶ the app ─▶ AudioControls.setChain ─▶ the engine's atomic settings word (read by the
//      capture thread between frames: nothing waits, locks or allocates per frame)
//   "/audio" ─▶ .reportVoice ─▶ AudioControls.counters ─▶ a notice with what the engine did
//
// The screen knows the parts by its own names, so ConfabTUI stays free of
// the media engine; the program hands it an adapter (`AudioControls`), which
// also lists and switches the sound devices (`/device`).
import ConfabClient

/// One part of the processing of the microphone.
public enum VoiceStage: String, CaseIterable, Hashable, Sendable {
    case echo, noise, gain, keys

    /// For notices: "echo cancellation".
    public var title: String {
        switch self {
        case .echo: "echo cancellation"
        case .noise: "noise suppression"
        case .gain: "automatic gain"
        case .keys: "keyboard suppression"
        }
    }

    /// The key action that switches it.
    var action: KeyAction {
        switch self {
        case .echo: .echoCancellation
        case .noise: .noiseSuppression
        case .gain: .automaticGain
        case .keys: .keyboardSuppression
        }
    }
}

/// Which parts of the processing run.
public struct VoiceChain: Hashable, Sendable {
    public var on: Set<VoiceStage>

    public init(on: Set<VoiceStage>) { self.on = on }

    public static let all = VoiceChain(on: Set(VoiceStage.allCases))

    /// The status bar's field: "voice: all on", "voice: echo, gain off", "voice: off".
    public var statusText: String {
        if on.count == VoiceStage.allCases.count { return "voice: all on" }
        if on.isEmpty { return "voice: off" }
        return "voice: " + VoiceStage.allCases.filter { !on.contains($0) }.map(\.rawValue).joined(separator: ", ") + " off"
    }
}

/// What the engine's processing has done so far.
public struct VoiceCounters: Hashable, Sendable {
    /// 10 ms microphone frames through echo cancellation, noise suppression or gain.
    public var cleaned: Int
    /// 10 ms frames of what was played, given to the echo canceller.
    public var echoReference: Int
    /// 10 ms frames the keyboard gate turned down.
    public var clicksGated: Int

    public init(cleaned: Int, echoReference: Int, clicksGated: Int) {
        self.cleaned = cleaned
        self.echoReference = echoReference
        self.clicksGated = clicksGated
    }
}

/// The running engine's processing, as the front switches it.
public protocol AudioControls: Sendable {
    /// The processing now; nil without a microphone (nothing to process).
    func chain() async -> VoiceChain?
    /// Applies `chain` soon, without waiting; of several calls the last one wins.
    func setChain(_ chain: VoiceChain)
    func counters() async -> VoiceCounters
    /// The sound devices there are, one line each.
    func devices() async -> [String]
    /// Switches the microphone (`input`) or the speaker to the device `name`
    /// during the call; what to tell the user, and whether it worked.
    func switchDevice(input: Bool, to name: String) async -> (switched: Bool, text: String)
}

extension MeetingModel {
    // Short usages: the help's key column is as wide as its widest entry.
    static let voiceCommand: SlashCommand = ("/audio", "/audio [PART on|off]", "the mic's processing (PART: echo noise gain keys all)")
    static let voiceUsage = "usage: /audio [echo|noise|gain|keys|all] [on|off]"

    /// Gives the screen the microphone's processing (nil: none to switch):
    /// its keys and `/audio` are listed in the help from then on.
    public mutating func offerVoice(_ chain: VoiceChain?) {
        voice = chain
        extraCommands.removeAll { $0.name == Self.voiceCommand.name }
        if chain != nil { extraCommands.append(Self.voiceCommand) }
    }

    /// A stage's key: switches it.
    mutating func toggleVoice(_ stage: VoiceStage) -> [MeetingCommand] {
        guard let chain = voice else {
            setNotice("no microphone processing to switch", error: true)
            return []
        }
        return setVoice(stage, on: !chain.on.contains(stage))
    }

    private mutating func setVoice(_ stage: VoiceStage, on: Bool) -> [MeetingCommand] {
        guard var chain = voice else { return [] }
        if on { chain.on.insert(stage) } else { chain.on.remove(stage) }
        voice = chain
        let key = keyMap.keys(for: stage.action).first.map { " (\($0) switches)" } ?? ""
        setNotice("\(stage.title) \(on ? "on" : "off")\(key)")
        return [.setVoice(chain)]
    }

    /// `/audio`: the state and the engine's counts; `/audio STAGE [on|off]`
    /// switches one part (no on/off: the other way), `/audio all on|off` all.
    mutating func runVoice(_ words: [String]) -> [MeetingCommand] {
        guard let chain = voice else {
            setNotice("no microphone processing to switch", error: true)
            return []
        }
        let lowered = words.map { $0.lowercased() }
        guard let first = lowered.first else { return [.reportVoice] }
        let value: Bool?
        switch lowered.count > 1 ? lowered[1] : nil {
        case nil: value = nil
        case "on"?: value = true
        case "off"?: value = false
        default: value = nil
        }
        let wellFormed = lowered.count == 1 || (lowered.count == 2 && value != nil)
        if wellFormed, first == "all", let value {
            voice = value ? .all : VoiceChain(on: [])
            setNotice("all processing \(value ? "on" : "off")")
            return [.setVoice(voice ?? chain)]
        }
        guard wellFormed, let stage = VoiceStage(rawValue: first) else {
            setNotice(Self.voiceUsage, error: true)
            return []
        }
        return setVoice(stage, on: value ?? !chain.on.contains(stage))
    }

    /// The notice `/audio` shows: the parts and what the engine did with them.
    static func voiceReport(_ chain: VoiceChain, _ counters: VoiceCounters) -> String {
        let parts = VoiceStage.allCases.map { "\($0.rawValue) \(chain.on.contains($0) ? "on" : "off")" }.joined(separator: " · ")
        return "\(parts) — \(counters.cleaned) frames cleaned, \(counters.echoReference) echo reference, \(counters.clicksGated) clicks gated"
    }
}

extension MeetingModel {
    static let deviceCommand: SlashCommand = ("/device", "/device [DIR NAME]", "list sound devices; DIR input|output: switch one")

    /// The meeting plays through devices `/device` can switch: it is listed from then on.
    public mutating func offerDevices() {
        hasAudioDevices = true
        extraCommands.removeAll { $0.name == Self.deviceCommand.name }
        extraCommands.append(Self.deviceCommand)
    }

    /// `/device` lists; `/device input NAME` / `/device output NAME` switch
    /// (NAME as `confab devices` prints it, with or without `alsa:`).
    mutating func runDevice(_ words: [String], line: String) -> [MeetingCommand] {
        guard hasAudioDevices else {
            setNotice("no sound devices in this meeting", error: true)
            return []
        }
        guard let first = words.first else { return [.listDevices] }
        let direction = first.lowercased()
        let name = Self.rest(of: line, after: 1)
        guard direction == "input" || direction == "output", !name.isEmpty else {
            setNotice("usage: /device [input|output NAME]", error: true)
            return []
        }
        setNotice("switching the \(direction == "input" ? "microphone" : "speaker") to \(name)…")
        return [.switchDevice(input: direction == "input", name)]
    }
}
