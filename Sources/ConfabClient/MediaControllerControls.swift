// What a front switches on a running MediaController, and the device
// changes it reports: the processing's parts (an atomic word the capture
// thread reads between frames) and sound cards that go away or come back.
import ConfabMedia

extension MediaController {
    /// Whether we have something to say (a source), hence processing to switch.
    public var hasMicrophone: Bool { source != nil }

    /// The microphone's processing: what runs now, or will once the engine starts.
    public var processing: VoiceProcessingSettings { configuration.processing }

    /// Switches parts of the processing during a call: one atomic store the
    /// capture thread reads between frames. `latest` is read here, on the
    /// actor, so of several switches made in quick succession the last one
    /// stays, whatever order their tasks reach the actor in. Returns what ran
    /// before and what runs now.
    @discardableResult
    public func setProcessing(
        _ latest: @Sendable () -> VoiceProcessingSettings
    ) -> (before: VoiceProcessingSettings, now: VoiceProcessingSettings) {
        let before = configuration.processing
        configuration.processing = latest()
        engine?.processing.settings = configuration.processing
        return (before, configuration.processing)
    }

    /// Tells the session when a sound card went away or came back.
    /// A card lost is replaced by the default when it opens (DeviceFailover.swift).
    func reportDeviceChanges() async {
        if let card = source as? FallbackSource,
            let change = deviceWatches.input.change(card.health, direction: .input, device: card.name)
        {
            await session.reportMedia(.audioDevice(change.kind == .lost ? fallBack(.input, from: change.device) ?? change : change))
        }
        if let card = sink as? FallbackSink,
            let change = deviceWatches.output.change(card.health, direction: .output, device: card.name)
        {
            await session.reportMedia(.audioDevice(change.kind == .lost ? fallBack(.output, from: change.device) ?? change : change))
        }
    }
}

/// Why a device switch did not happen; the call goes on with the old device.
public struct DeviceSwitchError: Error, CustomStringConvertible {
    public var description: String
}

/// Opens the sound card a switch names; tests give alsa-lib a configuration of their own.
struct SoundCardOpener: Sendable {
    var capture: @Sendable (_ name: String, _ frameSamples: Int) throws(AudioDeviceError) -> AudioSource
    var playback: @Sendable (_ name: String, _ frameSamples: Int) throws(AudioDeviceError) -> AudioSink

    static let alsa = SoundCardOpener(
        capture: { (name: String, frameSamples: Int) throws(AudioDeviceError) -> AudioSource in
            try ALSACaptureSource(pcmName: name, frameSamples: frameSamples)
        },
        playback: { (name: String, frameSamples: Int) throws(AudioDeviceError) -> AudioSink in
            try ALSAPlaybackSink(pcmName: name, frameSamples: frameSamples)
        })
}

extension MediaController {
    /// The microphone (nil: listening only) and the speaker in use now.
    public var devices: (input: String?, output: String) { (source?.name, sink.name) }

    /// Switches the microphone or the speaker to `spec` (`alsa:NAME`) during
    /// the call: the card is opened here, and the audio thread takes it at
    /// its next frame (docs/MEDIA.md, "Devices"). The session then reports
    /// the new route (`SessionEvent.audioDevice`, kind `switched`).
    public func switchDevice(_ direction: AudioDeviceChange.Direction, to spec: String) async throws(DeviceSwitchError) {
        guard case .alsa(let name)? = try? AudioDeviceSpec.parse(spec) else {
            throw DeviceSwitchError(description: "\(spec): a sound device is alsa:NAME (`confab devices` lists them)")
        }
        do {
            guard try offerCard(direction, name: name) else {
                let what = direction == .input ? "microphone" : "speaker"
                let current = direction == .input ? source?.name ?? "none" : sink.name
                throw DeviceSwitchError(description: "the \(what) here is not a sound card (\(current)): nothing to switch")
            }
        } catch let error as DeviceSwitchError {
            throw error
        } catch {
            throw DeviceSwitchError(description: "cannot open \(spec): \(error); still on the previous device")
        }
        // The user's choice: a card fallen back from is not taken back over it.
        failover.preferred[direction] = nil
        let now = direction == .input ? source?.name ?? spec : sink.name
        await session.reportMedia(.audioDevice(AudioDeviceChange(direction: direction, device: now, kind: .switched)))
    }

    /// Tests: open the cards a switch names with `opener`.
    func openSoundCards(with opener: SoundCardOpener) { soundCards = opener }

    /// The sound cards' recovered xruns and failures, for `mediaStats`.
    func deviceStats() -> [AudioDeviceStats] {
        func stats(_ direction: AudioDeviceChange.Direction, _ name: String, _ health: DeviceHealth) -> AudioDeviceStats {
            AudioDeviceStats(
                direction: direction, device: name, xruns: health.xruns.load(ordering: .relaxed),
                failures: health.losses.load(ordering: .relaxed))
        }
        var all: [AudioDeviceStats] = []
        if let card = source as? FallbackSource { all.append(stats(.input, card.name, card.health)) }
        if let card = sink as? FallbackSink { all.append(stats(.output, card.name, card.health)) }
        return all
    }
}
