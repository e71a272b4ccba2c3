// Sound cards plugged in or pulled out while the media runs.
//
//   every 2 s, on the controller (never an audio thread): the kernel's card list ─▶ SoundCardWatch
//     ─▶ SessionEvent.soundCard (front: a notice; bots: `media.card`)
//     ─▶ the card in use went ─▶ FallbackSource/Sink.cardRemoved() ─▶ the failure path (the default takes over)
//     ─▶ a card fallen back from is listed again ─▶ taken back (DeviceFailover.swift)
//
// alsa-lib has no hot-plug callback for PCMs; why polling, in docs/MEDIA.md.
import ConfabMedia

/// Where the card list comes from and how often it is read.
struct SoundCardPolling: Sendable {
    /// The kernel's list; tests give a list of their own.
    var cards: @Sendable () -> [SoundCardEntry] = { SoundCardList.current() }
    var interval: Duration = .seconds(2)
    var watch = SoundCardWatch()
}

extension MediaController {
    /// Tests: read the card list from `cards` every `interval`. Call before `start()`.
    func watchSoundCards(from cards: @escaping @Sendable () -> [SoundCardEntry], every interval: Duration) {
        cardPolling.cards = cards
        cardPolling.interval = interval
    }

    /// Starts looking at the card list (from `start()`).
    func watchSoundCards() {
        let interval = cardPolling.interval
        tasks.append(Task { [weak self] in
            while !Task.isCancelled {
                await self?.pollSoundCards()
                try? await Task.sleep(for: interval)
            }
        })
    }

    /// Reads the card list once: reports what changed, and drops a card in use that went.
    func pollSoundCards() async {
        guard !stopped else { return }
        let listed = cardPolling.cards()
        let changes = cardPolling.watch.update(listed)
        for card in changes.disappeared {
            if let input = source as? FallbackSource, card.holds(pcm: Self.alsaName(input.name)) { input.cardRemoved() }
            if let output = sink as? FallbackSink, card.holds(pcm: Self.alsaName(output.name)) { output.cardRemoved() }
            await session.reportMedia(.soundCard(SoundCardChange(card: card, present: false)))
        }
        for card in changes.appeared {
            await session.reportMedia(.soundCard(SoundCardChange(card: card, present: true)))
        }
        await returnToPreferred(cards: listed)
    }

    /// `hw:1` of `alsa:hw:1`.
    private static func alsaName(_ device: String) -> String {
        device.hasPrefix("alsa:") ? String(device.dropFirst(5)) : device
    }
}
