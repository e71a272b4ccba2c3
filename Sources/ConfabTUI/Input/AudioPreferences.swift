// `[audio]` in config.toml: the microphone's processing before it is sent.
//
//   [audio]
//   echoCancellation = true   # each: true or false; absent, on for a sound card
//   noiseSuppression = true
//   automaticGain = false
//   keyboardSuppression = true
//
// `join`/`connect` flags (--no-echo-cancellation, …) override these.
import TOMLKit

public struct AudioPreferences: Hashable, Sendable {
    public var echoCancellation: Bool?
    public var noiseSuppression: Bool?
    public var automaticGain: Bool?
    public var keyboardSuppression: Bool?

    public init(echoCancellation: Bool? = nil, noiseSuppression: Bool? = nil, automaticGain: Bool? = nil,
                keyboardSuppression: Bool? = nil) {
        self.echoCancellation = echoCancellation
        self.noiseSuppression = noiseSuppression
        self.automaticGain = automaticGain
        self.keyboardSuppression = keyboardSuppression
    }

    static let keys = ["echoCancellation", "noiseSuppression", "automaticGain", "keyboardSuppression"]

    /// Reads the `[audio]` table; an unknown key or a value that is not a boolean is an error naming the line.
    static func parse(_ table: TOMLTable, text: String, path: String) throws(ThemeError) -> AudioPreferences {
        var preferences = AudioPreferences()
        for name in table.keys {
            guard keys.contains(name) else {
                throw ThemeError(path: path, line: ThemeLoader.line(of: name, in: "audio", text: text),
                                 message: "audio.\(name): unknown setting (known: \(keys.joined(separator: ", ")))")
            }
            guard let value = table[name]?.bool else {
                throw ThemeError(path: path, line: ThemeLoader.line(of: name, in: "audio", text: text),
                                 message: "audio.\(name): true or false")
            }
            switch name {
            case "echoCancellation": preferences.echoCancellation = value
            case "noiseSuppression": preferences.noiseSuppression = value
            case "automaticGain": preferences.automaticGain = value
            default: preferences.keyboardSuppression = value
            }
        }
        return preferences
    }
}
