// The system's default device takes over from a sound card that goes away,
// and hands back when the card returns.
//
//   card in use fails or is pulled out ─▶ DeviceHealth.isLost ─▶ reportDeviceChanges (every 50 ms)
//     ─▶ not on the default already? open it here (off the audio threads) ─▶ FallbackSource/Sink.switchTo
//        ─▶ SessionEvent.audioDevice (kind fellBack: "now on alsa:default")
//     └─ the default does not open either ─▶ as before: silence, the card tried again every second
//   every 2 s (SoundCardPolling): the chosen card is listed again ─▶ open it here ─▶ switchTo ─▶ kind back
//
// A user expects what a laptop does when a headset is pulled out: the sound
// moves to the speakers at once, and back to the headset when it is plugged
// in again. The default is usually another card then (the one the headset
// was not); when the card that went was the default's own, the default does
// not open, and the card is waited for as before.
import ConfabMedia

/// Which direction has fallen back to the default, and from what.
struct DeviceFailover: Sendable {
    /// The device that takes over (`alsa:default`; tests name another).
    var fallback = "alsa:default"
    /// The card each direction was on before it fell back, to return to.
    var preferred: [AudioDeviceChange.Direction: String] = [:]

    /// Whether losing `device` should move `direction` to the fallback.
    func shouldFallBack(from device: String) -> Bool {
        device != fallback && device.hasPrefix("alsa:")
    }

    /// Whether to try `preferred` again: its card is listed (or it names no card in particular).
    static func mayReturn(to preferred: String, cards: [SoundCardEntry]) -> Bool {
        let pcm = String(preferred.dropFirst("alsa:".count))
        let namesCard = pcm.contains(":")
        return !namesCard || cards.contains { $0.holds(pcm: pcm) }
    }
}

extension MediaController {
    /// Opens the sound card `name` here (off the audio threads) and hands it
    /// to `direction`'s wrapper, which takes it at its next frame; false when
    /// that direction is not on a sound card (nothing to switch).
    func offerCard(_ direction: AudioDeviceChange.Direction, name: String) throws(AudioDeviceError) -> Bool {
        let (frameSamples, cards) = (configuration.frameSamples, soundCards)
        switch direction {
        case .input:
            guard let card = source as? FallbackSource else { return false }
            let open = { () throws(AudioDeviceError) -> AudioSource in try cards.capture(name, frameSamples) }
            card.switchTo(try open(), reopen: open)
            // The wrapper stops being "lost" by the switch: that is not the card coming back.
            deviceWatches.input.expectSwitch(card.health)
        case .output:
            guard let card = sink as? FallbackSink else { return false }
            let open = { () throws(AudioDeviceError) -> AudioSink in try cards.playback(name, frameSamples) }
            card.switchTo(try open(), reopen: open)
            deviceWatches.output.expectSwitch(card.health)
        }
        return true
    }

    /// A device in use was lost: the fallback opened and offered in its place,
    /// and the change to report (nil: none could take over; report the loss).
    func fallBack(_ direction: AudioDeviceChange.Direction, from lost: String) -> AudioDeviceChange? {
        guard failover.shouldFallBack(from: lost), failover.preferred[direction] == nil,
            case .alsa(let name)? = try? AudioDeviceSpec.parse(failover.fallback)
        else { return nil }
        do {
            guard try offerCard(direction, name: name) else { return nil }
        } catch {
            logger.info("the fallback \(failover.fallback) does not open either: \(error)")
            return nil
        }
        failover.preferred[direction] = lost
        return AudioDeviceChange(direction: direction, device: failover.fallback, kind: .fellBack, replaced: lost)
    }

    /// From the card poll: a card fallen back from that is listed again is taken back.
    func returnToPreferred(cards listed: [SoundCardEntry]) async {
        for (direction, preferred) in failover.preferred where DeviceFailover.mayReturn(to: preferred, cards: listed) {
            guard case .alsa(let name)? = try? AudioDeviceSpec.parse(preferred),
                (try? offerCard(direction, name: name)) == true
            else { continue }  // Listed but not ready yet (or busy): the next poll tries again.
            failover.preferred[direction] = nil
            await session.reportMedia(.audioDevice(AudioDeviceChange(direction: direction, device: preferred, kind: .back)))
        }
    }
}
