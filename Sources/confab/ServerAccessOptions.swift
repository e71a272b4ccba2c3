// The options shared by the commands that talk to a server as a client
// (`join`, `connect`, `calls`): who you are (the token) and whom you trust
// (the certificate pin, known_servers, also `admin`'s); and who you are in a
// room and the audio devices, for the two that talk (`join`, `connect`).
import ArgumentParser
import ConfabClient
import ConfabMedia
import ConfabProtocol
import ConfabTUI
import Foundation
import Logging

struct ServerAccessOptions: ParsableArguments {
    @Option(help: "Your token, from `confab token` on the server (or set CONFAB_TOKEN).")
    var token: String?

    @OptionGroup var trust: ServerTrustOptions

    func validate() throws {
        if resolvedToken == nil {
            throw ValidationError("--token is required (or set CONFAB_TOKEN)")
        }
    }

    /// `--token`, else CONFAB_TOKEN (which keeps the token out of `ps`).
    var resolvedToken: String? { token ?? ProcessInfo.processInfo.environment["CONFAB_TOKEN"] }

    var fingerprint: String? { trust.fingerprint }
    var knownServersPath: String { trust.knownServersPath }
}

/// Whom you trust: the certificate pin and the known_servers file (also `confab admin`'s).
struct ServerTrustOptions: ParsableArguments {
    @Option(help: "Pin the server certificate: SHA256: and 64 hex digits, as `confab serve` prints it.")
    var fingerprint: String?

    @Option(name: .customLong("known-servers"), help: "The known_servers file (default ~/.config/confab/known_servers).")
    var knownServers: String?

    func validate() throws {
        if let fingerprint, CertificateFingerprint(fingerprint) == nil {
            throw ValidationError("--fingerprint must be SHA256: followed by 64 hex digits")
        }
    }

    var knownServersPath: String { knownServers ?? KnownServers.defaultPath() }
}

/// Who you are in a room and how you take part: the options `join` and
/// `connect` share besides the server's.
struct ParticipantOptions: ParsableArguments {
    @Option(help: "Your display name, when the token carries none.")
    var name: String?

    @Flag(help: "Run without the terminal front: commands on stdin, results (and with --events every event) as JSON lines.")
    var headless = false

    @Flag(help: "Print every event as one JSON line on stdout (without it, only results and errors).")
    var events = false

    /// The command's logger, at warning level. In the terminal front the
    /// process's log lines are silenced first: nothing may print over it.
    func commandLogger(label: String) -> Logger {
        if !headless { FrontOptions.silenceLogs() }
        var logger = Logger(label: label)
        logger.logLevel = .warning
        return logger
    }
}

/// What you say and where what you hear goes.
struct AudioDeviceOptions: ParsableArguments {
    @Option(help: "What you say: FILE.wav, tone:HZ, silence, speech[:SEED], or alsa:NAME (default: the sound card in the terminal front; headless, nothing).")
    var input: String?

    @Option(help: "Where what you hear goes: FILE.wav, null, or alsa:NAME (default: the sound card in the terminal front; headless, null).")
    var output: String?

    @Flag(inversion: .prefixedNo, help: "Cancel the echo of what you hear from what you say (default: config.toml's [audio], else on for a sound card, off for files and generators).")
    var echoCancellation: Bool?

    @Flag(inversion: .prefixedNo, help: "Suppress steady background noise (default as --echo-cancellation).")
    var noiseSuppression: Bool?

    @Flag(inversion: .prefixedNo, help: "Even out your level automatically (default as --echo-cancellation).")
    var automaticGain: Bool?

    @Flag(inversion: .prefixedNo, help: "Gate keyboard clicks out while you are not talking (default as --echo-cancellation).")
    var keyboardSuppression: Bool?

    /// What the processing flags set (nil: not given), which no device's table overrides.
    var voiceFlags: VoiceOverrides {
        VoiceOverrides(
            echoCancellation: echoCancellation, noiseSuppression: noiseSuppression, automaticGain: automaticGain,
            keyboardSuppression: keyboardSuppression)
    }

    /// The processing of `input` played against `output`: a flag, else the
    /// devices' own `[audio.device."NAME"]`, else config.toml's `[audio]`,
    /// else on for a sound card (a file or a generator is sent as it is).
    func processing(input: String?, output: String? = nil, preferences: AudioPreferences) -> VoiceProcessingSettings {
        preferences.processing(input: input, output: output, flags: voiceFlags)
    }

    /// `--input` takes any source but null; `--output` a sink (a file, null or a card).
    func validate() throws {
        if let input {
            guard let spec = try? AudioDeviceSpec.parse(input), spec != .null else {
                throw ValidationError("--input must be FILE.wav, tone:HZ, silence, speech[:SEED] or alsa:NAME")
            }
        }
        if let output {
            switch try? AudioDeviceSpec.parse(output) {
            case .wav?, .null?, .alsa?: break
            default: throw ValidationError("--output must be FILE.wav, null, or alsa:NAME")
            }
        }
    }

    /// The devices to open: the terminal front talks and listens on the sound
    /// card (`[audio] input`/`output`, else the default; null audio when there
    /// is none); headless, only what the options name, and nil when they name nothing.
    func devices(headless: Bool, preferences: AudioPreferences = AudioPreferences()) -> (input: String?, output: String)? {
        let input = self.input ?? (headless ? nil : preferences.frontDevices.input)
        let output = self.output ?? (headless ? nil : preferences.frontDevices.output)
        guard input != nil || output != nil else { return nil }
        return (input, output ?? "null")
    }

    /// Opens the devices and starts a MediaController on them for `session`:
    /// it binds UDP through the server, publishes our sealed key and plays
    /// what we hear. `notice` hears what fell back (no sound card: null audio).
    static func startMedia(
        _ devices: (input: String?, output: String), processing: VoiceProcessingSettings, session: ConfabSession,
        logLevel: Logger.Level, notice: (String) -> Void
    ) async throws -> MediaController {
        var configuration = MediaConfiguration()
        configuration.processing = processing
        let source = try devices.input.map {
            try AudioDevices.openSource(
                try AudioDeviceSpec.parse($0), frameSamples: configuration.frameSamples, notice: notice)
        }
        let sink = try AudioDevices.openSink(
            try AudioDeviceSpec.parse(devices.output), frameSamples: configuration.frameSamples, notice: notice)
        var logger = Logger(label: "confab.media")
        logger.logLevel = logLevel
        let media = MediaController(
            session: session, source: source, sink: sink, configuration: configuration, logger: logger)
        await media.start()
        return media
    }
}
