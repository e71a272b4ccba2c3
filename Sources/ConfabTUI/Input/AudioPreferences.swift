// `[audio]` in config.toml: the microphone's processing before it is sent, and
// whether the front joins muted.
//
//   [audio]
//   echoCancellation = true   # each: true or false; absent, on for a sound card
//   noiseSuppression = true
//   automaticGain = false
//   keyboardSuppression = true
//   joinMuted = false         # the front joins with the microphone on
//   deviceCheck = true        # the front checks the sound before joining (absent: true)
//   input = "alsa:hw:1"       # the front's devices (`confab devices` lists them)
//   output = "alsa:hw:1"
//
// `join`/`connect` flags (--no-echo-cancellation, --[no-]muted, …) override these.
import TOMLKit

public struct AudioPreferences: Hashable, Sendable {
    public var echoCancellation: Bool?
    public var noiseSuppression: Bool?
    public var automaticGain: Bool?
    public var keyboardSuppression: Bool?
    /// Join with the microphone muted; nil: muted unless `--input` names a source.
    public var joinMuted: Bool?
    /// Offer the sound check before joining; nil: yes (when there is a sound card).
    public var deviceCheck: Bool?
    /// `[audio.device."NAME"]`: processing per sound device (DeviceProcessing.swift).
    public var devices: [String: VoiceOverrides] = [:]
    /// The front's microphone and speaker (`alsa:NAME`, …); nil: `alsa:default`.
    public var input: String?
    public var output: String?

    public init(echoCancellation: Bool? = nil, noiseSuppression: Bool? = nil, automaticGain: Bool? = nil,
                keyboardSuppression: Bool? = nil, joinMuted: Bool? = nil, input: String? = nil, output: String? = nil) {
        self.joinMuted = joinMuted
        self.input = input
        self.output = output
        self.echoCancellation = echoCancellation
        self.noiseSuppression = noiseSuppression
        self.automaticGain = automaticGain
        self.keyboardSuppression = keyboardSuppression
    }

    /// The front's sound devices when no option names one: `input` and `output`, else the default card.
    public var frontDevices: (input: String, output: String) { (input ?? "alsa:default", output ?? "alsa:default") }

    /// Whether to join muted: always with nothing to say; else `--[no-]muted`
    /// (`flag`), then `joinMuted`, then muted unless `--input` named the
    /// source (the front's own sound card waits for a key; a bot's file talks at once).
    public func joinsMuted(flag: Bool?, hasInput: Bool, inputNamed: Bool) -> Bool {
        guard hasInput else { return true }
        return flag ?? joinMuted ?? !inputNamed
    }

    static let keys = ["echoCancellation", "noiseSuppression", "automaticGain", "keyboardSuppression", "joinMuted", "deviceCheck"]
    static let deviceKeys = ["input", "output"]

    /// Reads the `[audio]` table; an unknown key or a value that is not a boolean is an error naming the line.
    static func parse(_ table: TOMLTable, text: String, path: String) throws(ThemeError) -> AudioPreferences {
        var preferences = AudioPreferences()
        for name in table.keys {
            if name == "device", let devices = table[name]?.table {
                preferences.devices = try parseDevices(devices, text: text, path: path)
                continue
            }
            guard keys.contains(name) || deviceKeys.contains(name) else {
                throw ThemeError(path: path, line: ThemeLoader.line(of: name, in: "audio", text: text),
                                 message: "audio.\(name): unknown setting (known: \((keys + deviceKeys).joined(separator: ", ")))")
            }
            if deviceKeys.contains(name) {
                guard let device = table[name]?.string, !device.isEmpty else {
                    throw ThemeError(path: path, line: ThemeLoader.line(of: name, in: "audio", text: text),
                                     message: "audio.\(name): a device such as \"alsa:default\" (confab devices lists them)")
                }
                if name == "input" { preferences.input = device } else { preferences.output = device }
                continue
            }
            guard let value = table[name]?.bool else {
                throw ThemeError(path: path, line: ThemeLoader.line(of: name, in: "audio", text: text),
                                 message: "audio.\(name): true or false")
            }
            switch name {
            case "echoCancellation": preferences.echoCancellation = value
            case "noiseSuppression": preferences.noiseSuppression = value
            case "automaticGain": preferences.automaticGain = value
            case "joinMuted": preferences.joinMuted = value
            case "deviceCheck": preferences.deviceCheck = value
            default: preferences.keyboardSuppression = value
            }
        }
        return preferences
    }
}
