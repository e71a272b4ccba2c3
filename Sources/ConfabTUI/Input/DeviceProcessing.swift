// The microphone's processing per sound device, in config.toml: echo
// cancellation off for a headset (no echo to cancel), on for speakers.
//
//   [audio.device."alsa:hw:1"]      # the device's name as --input/--output and /device take it
//   echoCancellation = false        # any of the four processing settings
//
// Looked up for the microphone and the speaker in use, the speaker's first
// (what plays decides whether there is an echo); flags on `join`/`connect`
// come before both, `[audio]`'s own settings after. The front writes the
// table of the speaker in use when a processing key switches a part.
import ConfabMacros
import ConfabMedia
import TOMLKit

/// What one device's table sets (nil: not set there).
@PublicMemberwiseInit
public struct VoiceOverrides: Hashable, Sendable {
    public var echoCancellation: Bool? = nil
    public var noiseSuppression: Bool? = nil
    public var automaticGain: Bool? = nil
    public var keyboardSuppression: Bool? = nil

    static let keys = ["echoCancellation", "noiseSuppression", "automaticGain", "keyboardSuppression"]

    /// `self`, with what `self` does not set taken from `fallback`.
    public func over(_ fallback: VoiceOverrides) -> VoiceOverrides {
        VoiceOverrides(
            echoCancellation: echoCancellation ?? fallback.echoCancellation,
            noiseSuppression: noiseSuppression ?? fallback.noiseSuppression,
            automaticGain: automaticGain ?? fallback.automaticGain,
            keyboardSuppression: keyboardSuppression ?? fallback.keyboardSuppression)
    }
}

extension VoiceOverrides {
    /// The parts `after` switches from `before` (the others nil): what the
    /// user changed, and all that is written into a device's table.
    public static func switched(from before: VoiceChain, to after: VoiceChain) -> VoiceOverrides {
        func part(_ stage: VoiceStage) -> Bool? {
            before.on.contains(stage) == after.on.contains(stage) ? nil : after.on.contains(stage)
        }
        return VoiceOverrides(
            echoCancellation: part(.echo), noiseSuppression: part(.noise), automaticGain: part(.gain),
            keyboardSuppression: part(.keys))
    }

    /// This table without the parts `flags` set: a command-line flag decides
    /// its part for the whole meeting, whatever device is switched to.
    public func unflagged(by flags: VoiceOverrides) -> VoiceOverrides {
        VoiceOverrides(
            echoCancellation: flags.echoCancellation == nil ? echoCancellation : nil,
            noiseSuppression: flags.noiseSuppression == nil ? noiseSuppression : nil,
            automaticGain: flags.automaticGain == nil ? automaticGain : nil,
            keyboardSuppression: flags.keyboardSuppression == nil ? keyboardSuppression : nil)
    }

    /// The parts set, by their config.toml keys.
    public var entries: [(key: String, value: Bool)] {
        let values = [echoCancellation, noiseSuppression, automaticGain, keyboardSuppression]
        return zip(Self.keys, values).compactMap { key, value in value.map { (key: key, value: $0) } }
    }
}

extension AudioPreferences {
    /// The processing of `input` played against `output`: `flags` (the
    /// command line), else the devices' own tables, else `[audio]`, else on
    /// for a sound card; a file or a generator is sent as it is.
    public func processing(input: String?, output: String?, flags: VoiceOverrides = VoiceOverrides())
        -> VoiceProcessingSettings
    {
        let microphone: Bool
        if let input, case .alsa? = try? AudioDeviceSpec.parse(input) { microphone = true } else { microphone = false }
        let chosen = flags.over(overrides(input: input, output: output)).over(
            VoiceOverrides(
                echoCancellation: echoCancellation, noiseSuppression: noiseSuppression, automaticGain: automaticGain,
                keyboardSuppression: keyboardSuppression))
        return VoiceProcessingSettings(
            echoCancellation: chosen.echoCancellation ?? microphone, noiseSuppression: chosen.noiseSuppression ?? microphone,
            automaticGain: chosen.automaticGain ?? microphone, keyboardSuppression: chosen.keyboardSuppression ?? microphone)
    }

    /// The settings of the devices in use: the speaker's table over the microphone's.
    public func overrides(input: String?, output: String?) -> VoiceOverrides {
        let speaker = output.flatMap { devices[$0] } ?? VoiceOverrides()
        let microphone = input.flatMap { devices[$0] } ?? VoiceOverrides()
        return speaker.over(microphone)
    }

    /// The section a device's settings are written under.
    public static func deviceSection(_ device: String) -> String { "audio.device.\(ConfigFileEditor.quoted(device))" }

    /// Reads `[audio.device."NAME"]` tables; a key that is not a processing setting, or not a boolean, names its line.
    static func parseDevices(_ table: TOMLTable, text: String, path: String) throws(ThemeError) -> [String: VoiceOverrides] {
        var devices: [String: VoiceOverrides] = [:]
        for device in table.keys {
            let section = deviceSection(device)
            guard let settings = table[device]?.table else {
                throw ThemeError(path: path, line: nil, message: "audio.device.\(device): a table of processing settings")
            }
            var overrides = VoiceOverrides()
            for name in settings.keys {
                guard VoiceOverrides.keys.contains(name), let value = settings[name]?.bool else {
                    throw ThemeError(path: path, line: ThemeLoader.line(of: name, in: section, text: text),
                                     message: "\(section).\(name): one of \(VoiceOverrides.keys.joined(separator: ", ")), true or false")
                }
                switch name {
                case "echoCancellation": overrides.echoCancellation = value
                case "noiseSuppression": overrides.noiseSuppression = value
                case "automaticGain": overrides.automaticGain = value
                default: overrides.keyboardSuppression = value
                }
            }
            devices[device] = overrides
        }
        return devices
    }
}
