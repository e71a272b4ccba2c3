// Keys as the screens see them, independent of curses, and the key map
// (defaults, overridable in ~/.config/confab/config.toml under [keys]).
import Foundation
import TOMLKit

/// One key press (or, with the kitty keyboard protocol, a release).
public enum Key: Hashable, Sendable {
    case character(Character)
    /// Ctrl with a letter, as the lowercase letter.
    case control(Character)
    case enter, escape, tab, backTab, backspace, delete
    case up, down, left, right, home, end, pageUp, pageDown
    /// A function key, F1 … F12.
    case function(Int)
    case resize
    /// A text key released (kitty keyboard protocol, flag 2), as it was
    /// pressed (shifted while shift is held). Only the push-to-talk key's
    /// release does anything.
    case released(Character)

    /// The key a terminal byte or scalar stands for (C0 controls become
    /// named keys or Ctrl-letters).
    public static func from(scalar: Unicode.Scalar) -> Key {
        switch scalar.value {
        case 0x0D, 0x0A: return .enter
        case 0x09: return .tab
        case 0x1B: return .escape
        case 0x7F, 0x08: return .backspace
        case 0x01...0x1A: return .control(Character(Unicode.Scalar(scalar.value + 0x60) ?? "?"))
        default: return .character(Character(scalar))
        }
    }
}

/// What a single key does outside the input line.
public enum KeyAction: String, CaseIterable, Hashable, Sendable {
    case mute
    case pushToTalk
    case hand
    case muteAll
    case endRoom
    case volumeUp
    case volumeDown
    case audience
    case leave
    case help
    case chat
    case echoCancellation
    case noiseSuppression
    case automaticGain
    case keyboardSuppression

    /// The config key and a short description, for the help overlay.
    public var summary: String {
        switch self {
        case .mute: "mute / unmute yourself"
        case .pushToTalk: "push to talk"
        case .hand: "raise / lower your hand"
        case .muteAll: "mute everyone else (host)"
        case .endRoom: "end the room (host)"
        case .volumeUp: "volume up (selected, else everyone)"
        case .volumeDown: "volume down (selected, else everyone)"
        case .audience: "browse and search the audience (host)"
        case .leave: "leave (asks first)"
        case .help: "this help"
        case .chat: "write in the chat"
        case .echoCancellation: "echo cancellation on / off"
        case .noiseSuppression: "noise suppression on / off"
        case .automaticGain: "automatic gain on / off"
        case .keyboardSuppression: "keyboard-click suppression on / off"
        }
    }
}

/// Which character triggers which action.
public struct KeyMap: Hashable, Sendable {
    public var bindings: [Character: KeyAction]

    public static let standard = KeyMap(bindings: [
        "m": .mute, " ": .pushToTalk, "h": .hand, "M": .muteAll, "E": .endRoom, "+": .volumeUp, "=": .volumeUp,
        "-": .volumeDown, "A": .audience, "q": .leave, "?": .help, "i": .chat, "/": .chat,
        "e": .echoCancellation, "n": .noiseSuppression, "g": .automaticGain, "k": .keyboardSuppression,
    ])

    public func action(for character: Character) -> KeyAction? { bindings[character] }

    /// The keys bound to `action`, for the help overlay.
    public func keys(for action: KeyAction) -> [String] {
        bindings.filter { $0.value == action }.keys.sorted().map { $0 == " " ? "Space" : String($0) }
    }
}

/// The client's own settings: ~/.config/confab/config.toml.
///
/// ```toml
/// theme = "light"
/// [keys]
/// mute = "m"          # each action takes one character
/// hand = "r"
/// [chat]
/// mentionBell = true  # ring the bell when someone writes your name
/// [calls]
/// ringBell = true     # ring the bell while a call invitation rings
/// [audio]
/// echoCancellation = true  # and noiseSuppression, automaticGain (AudioPreferences)
/// ```
public struct ClientConfig: Hashable, Sendable {
    public var theme: String?
    public var keyMap = KeyMap.standard
    public var mentionBell = true
    /// Ring the bell while a call invitation rings (`[calls] ringBell`).
    public var ringBell = true
    /// The microphone's processing (`[audio]`); nil: the default.
    public var audio = AudioPreferences()

    public init() {}

    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let config = environment["XDG_CONFIG_HOME"], !config.isEmpty { return config + "/confab/config.toml" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.config/confab/config.toml"
    }

    /// Reads the file; a missing file is the defaults, a broken one an error naming the line.
    public static func load(path: String) throws(ThemeError) -> ClientConfig {
        guard FileManager.default.fileExists(atPath: path) else { return ClientConfig() }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ThemeError(path: path, line: nil, message: "cannot read: \(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(ThemeError) -> ClientConfig {
        let table = try ThemeLoader.table(text, path: path)
        var config = ClientConfig()
        config.theme = table["theme"]?.string
        if let keys = table["keys"]?.table {
            for name in keys.keys {
                guard let action = KeyAction(rawValue: name) else {
                    throw ThemeError(
                        path: path, line: ThemeLoader.line(of: name, in: "keys", text: text),
                        message: "keys.\(name): unknown action (known: \(KeyAction.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                guard let value = keys[name]?.string, value.count == 1 || value.lowercased() == "space" else {
                    throw ThemeError(
                        path: path, line: ThemeLoader.line(of: name, in: "keys", text: text),
                        message: "keys.\(name): one character, or \"space\"")
                }
                let character: Character = value.lowercased() == "space" ? " " : Character(value)
                config.keyMap.bindings = config.keyMap.bindings.filter { $0.value != action }
                config.keyMap.bindings[character] = action
            }
        }
        if let chat = table["chat"]?.table, let bell = chat["mentionBell"]?.bool {
            config.mentionBell = bell
        }
        if let calls = table["calls"]?.table, let bell = calls["ringBell"]?.bool {
            config.ringBell = bell
        }
        if let audio = table["audio"]?.table {
            config.audio = try AudioPreferences.parse(audio, text: text, path: path)
        }
        return config
    }
}
