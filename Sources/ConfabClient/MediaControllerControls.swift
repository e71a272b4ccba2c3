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
    /// stays, whatever order their tasks reach the actor in.
    public func setProcessing(_ latest: @Sendable () -> VoiceProcessingSettings) {
        configuration.processing = latest()
        engine?.processing.settings = configuration.processing
    }

    /// Tells the session when a sound card went away or came back.
    func reportDeviceChanges() async {
        if let card = source as? FallbackSource,
            let change = deviceWatches.input.change(card.health, direction: .input, device: card.name)
        {
            await session.reportMedia(.audioDevice(change))
        }
        if let card = sink as? FallbackSink,
            let change = deviceWatches.output.change(card.health, direction: .output, device: card.name)
        {
            await session.reportMedia(.audioDevice(change))
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
        let (frameSamples, cards) = (configuration.frameSamples, soundCards)
        let now: String
        do {
            switch direction {
            case .input:
                guard let card = source as? FallbackSource else {
                    throw DeviceSwitchError(description: "the microphone here is not a sound card (\(source?.name ?? "none")): nothing to switch")
                }
                let open = { () throws(AudioDeviceError) -> AudioSource in try cards.capture(name, frameSamples) }
                card.switchTo(try open(), reopen: open)
                now = card.name
            case .output:
                guard let card = sink as? FallbackSink else {
                    throw DeviceSwitchError(description: "the speaker here is not a sound card (\(sink.name)): nothing to switch")
                }
                let open = { () throws(AudioDeviceError) -> AudioSink in try cards.playback(name, frameSamples) }
                card.switchTo(try open(), reopen: open)
                now = card.name
            }
        } catch let error as DeviceSwitchError {
            throw error
        } catch {
            throw DeviceSwitchError(description: "cannot open \(spec): \(error); still on the previous device")
        }
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
