// The audio device a user names on the command line or in the config file
// (`--input speech:7`, `--output out.wav`), parsed once into a value.
//
//   "tone:440" | "silence" | "speech[:SEED]" | "null" | "alsa:NAME" | "….wav"
//        ─▶ AudioDeviceSpec.parse ─▶ AudioDeviceSpec ─▶ (the CLI opens the device)

/// A parsed audio device name. Parsing only: opening is the caller's job.
public enum AudioDeviceSpec: Sendable, Equatable, CustomStringConvertible {
    /// A sine tone, `tone:HZ` (`tone` alone is 440 Hz).
    case tone(frequencyHz: Double)
    /// Digital silence, `silence`.
    case silence
    /// The speech-like generator, `speech` (seed 1) or `speech:SEED`.
    case speech(seed: UInt64)
    /// Discard output (or, as input, nothing), `null`.
    case null
    /// An ALSA PCM by name, `alsa:NAME` (e.g. `alsa:hw:0,0`, `alsa:plughw:1`).
    case alsa(String)
    /// A WAV file: any string ending in `.wav` (any case).
    case wav(String)

    /// The accepted forms, for help texts and error messages.
    public static let acceptedForms = "tone:HZ (e.g. tone:440), silence, speech or speech:SEED, null, alsa:NAME (e.g. alsa:hw:0), or a path ending in .wav"

    /// Parses a device string; leading and trailing spaces are ignored.
    public static func parse(_ text: String) throws(AudioDeviceSpecError) -> AudioDeviceSpec {
        let s = text.trimmingSpaces()
        guard !s.isEmpty else { throw .empty }
        if s.lowercased().hasSuffix(".wav") {
            return .wav(s)
        }
        let (kind, argument) = s.splitOnFirstColon()
        switch (kind, argument) {
        case ("tone", nil):
            return .tone(frequencyHz: 440)
        case ("tone", let value?):
            let nyquist = Double(AudioFormat.sampleRate) / 2
            guard let hz = Double(value), hz.isFinite, hz > 0, hz < nyquist else {
                throw .invalidToneFrequency(value)
            }
            return .tone(frequencyHz: hz)
        case ("silence", nil):
            return .silence
        case ("speech", nil):
            return .speech(seed: 1)
        case ("speech", let value?):
            guard let seed = UInt64(value) else { throw .invalidSeed(value) }
            return .speech(seed: seed)
        case ("null", nil):
            return .null
        case ("alsa", let name?) where !name.isEmpty:
            return .alsa(name)
        case ("alsa", _):
            throw .missingALSAName
        default:
            throw .unknown(s)
        }
    }

    /// The canonical string form; `parse(description)` gives the same value back.
    public var description: String {
        switch self {
        case .tone(let hz):
            return hz == hz.rounded() && Swift.abs(hz) < 1e15 ? "tone:\(Int(hz))" : "tone:\(hz)"
        case .silence: return "silence"
        case .speech(let seed): return "speech:\(seed)"
        case .null: return "null"
        case .alsa(let name): return "alsa:\(name)"
        case .wav(let path): return path
        }
    }
}

/// Why a device string was not understood. Each description is a full
/// sentence that says what is accepted.
public enum AudioDeviceSpecError: Error, Equatable, CustomStringConvertible {
    case empty
    case unknown(String)
    case invalidToneFrequency(String)
    case invalidSeed(String)
    case missingALSAName

    public var description: String {
        switch self {
        case .empty:
            return "No audio device was given; use \(AudioDeviceSpec.acceptedForms)."
        case .unknown(let text):
            return "\"\(text)\" is not an audio device; use \(AudioDeviceSpec.acceptedForms)."
        case .invalidToneFrequency(let text):
            return "\"\(text)\" is not a tone frequency; give a number of Hz above 0 and below 24000, as in tone:440."
        case .invalidSeed(let text):
            return "\"\(text)\" is not a speech seed; give a whole number from 0 to \(UInt64.max), as in speech:7."
        case .missingALSAName:
            return "An ALSA device needs a name after the colon, as in alsa:hw:0 or alsa:plughw:1."
        }
    }
}

extension String {
    /// Drops leading and trailing spaces, tabs and newlines (no Foundation).
    fileprivate func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }

    /// "alsa:hw:0" → ("alsa", "hw:0"); "null" → ("null", nil). The kind is lowercased.
    fileprivate func splitOnFirstColon() -> (kind: String, argument: String?) {
        guard let colon = firstIndex(of: ":") else { return (lowercased(), nil) }
        return (String(self[..<colon]).lowercased(), String(self[index(after: colon)...]))
    }
}
