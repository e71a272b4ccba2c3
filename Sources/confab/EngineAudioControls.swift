// The terminal front's processing keys, `/audio` and `/device`, on a
// MediaController (ConfabTUI knows the parts by its own names and no engine).
import ConfabClient
import ConfabMedia
import ConfabTUI
import Synchronization

final class EngineAudioControls: AudioControls {
    private let controller: MediaController
    /// Where a device switched to is remembered for the next meeting (config.toml's `[audio]`); nil: nowhere.
    private let configPath: String?
    /// What `--[no-]echo-cancellation` and the other flags set: a device's
    /// `[audio.device."NAME"]` table does not override them after a switch.
    private let flags: VoiceOverrides
    /// The last chain asked for; each switch's task applies whatever is latest.
    private let latest = Mutex<VoiceProcessingSettings?>(nil)

    init(controller: MediaController, configPath: String? = nil, flags: VoiceOverrides = VoiceOverrides()) {
        self.controller = controller
        self.configPath = configPath
        self.flags = flags
    }

    func chain() async -> VoiceChain? {
        await controller.hasMicrophone ? Self.chain(await controller.processing) : nil
    }

    func setChain(_ chain: VoiceChain) {
        let settings = Self.settings(chain)
        latest.withLock { $0 = settings }
        Task {
            let applied = await controller.setProcessing { self.latest.withLock { $0 } ?? settings }
            // Remembered for the speaker in use: the next meeting on it starts so (DeviceProcessing.swift).
            await rememberForSpeaker(VoiceOverrides.switched(from: Self.chain(applied.before), to: Self.chain(applied.now)))
        }
    }

    /// Writes the parts the user switched into `[audio.device."SPEAKER"]` when
    /// the speaker is a sound card; the parts left alone stay unwritten, so
    /// they keep following `[audio]` and the defaults.
    private func rememberForSpeaker(_ switched: VoiceOverrides) async {
        guard let configPath, !switched.entries.isEmpty, case let speaker = await controller.devices.output,
            speaker.hasPrefix("alsa:")
        else { return }
        let section = AudioPreferences.deviceSection(speaker)
        for (key, value) in switched.entries { try? ConfigFileEditor.setBoolean(key, to: value, in: section, path: configPath) }
    }

    /// After a switch: the processing the devices now in use have in config.toml,
    /// over what runs, except for the parts a command-line flag set.
    private func applyDeviceSettings() async {
        guard let configPath, let preferences = try? ClientConfig.load(path: configPath).audio else { return }
        let (input, output) = await controller.devices
        let device = preferences.overrides(input: input, output: output).unflagged(by: flags)
        guard device != VoiceOverrides() else { return }
        let now = await controller.processing
        let settings = VoiceProcessingSettings(
            echoCancellation: device.echoCancellation ?? now.echoCancellation,
            noiseSuppression: device.noiseSuppression ?? now.noiseSuppression,
            automaticGain: device.automaticGain ?? now.automaticGain,
            keyboardSuppression: device.keyboardSuppression ?? now.keyboardSuppression)
        latest.withLock { $0 = settings }
        await controller.setProcessing { settings }
    }

    func counters() async -> VoiceCounters {
        guard let processing = await controller.mediaEngine?.processing else {
            return VoiceCounters(cleaned: 0, echoReference: 0, clicksGated: 0)
        }
        return VoiceCounters(
            cleaned: processing.stats.nearFrames.load(ordering: .relaxed),
            echoReference: processing.stats.farFrames.load(ordering: .relaxed),
            clicksGated: processing.clicksSuppressed.load(ordering: .relaxed))
    }

    func devices() async -> [String] {
        let cards = AudioDevices.soundCards()
        guard !cards.isEmpty else { return ["no sound cards here (only the null device)"] }
        return cards.map { card in "\(card.spec) · \(card.description)" + (card.direction.map { " [\($0)]" } ?? "") }
    }

    func switchDevice(input: Bool, to name: String) async -> (switched: Bool, text: String) {
        let spec = name.hasPrefix("alsa:") ? name : "alsa:" + name
        do {
            try await controller.switchDevice(input ? .input : .output, to: spec)
        } catch {
            return (false, "\(error)")
        }
        await applyDeviceSettings()
        let switched = "\(input ? "microphone" : "speaker"): \(spec)"
        guard let configPath else { return (true, switched) }
        do {
            try ConfigFileEditor.set(input ? "input" : "output", to: spec, in: "audio", path: configPath)
            return (true, switched + " (remembered in config.toml)")
        } catch {
            return (true, switched + " (not remembered: \(error.message))")
        }
    }

    static func chain(_ settings: VoiceProcessingSettings) -> VoiceChain {
        let parts: [(Bool, VoiceStage)] = [
            (settings.echoCancellation, .echo), (settings.noiseSuppression, .noise), (settings.automaticGain, .gain),
            (settings.keyboardSuppression, .keys),
        ]
        return VoiceChain(on: Set(parts.filter(\.0).map(\.1)))
    }

    static func settings(_ chain: VoiceChain) -> VoiceProcessingSettings {
        VoiceProcessingSettings(
            echoCancellation: chain.on.contains(.echo), noiseSuppression: chain.on.contains(.noise),
            automaticGain: chain.on.contains(.gain), keyboardSuppression: chain.on.contains(.keys))
    }
}
