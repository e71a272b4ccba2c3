// Sound cards plugged in and pulled out while the media runs: the controller
// reads the card list (here a list the test changes), the session reports
// each change once, and the card in use that goes is dropped as on a failure.

@testable import ConfabClient
import ConfabMedia
import ConfabTestSupport
import Synchronization
import Testing

@Suite("Sound cards plugged in and pulled out during a meeting")
struct SoundCardPollingTests {
    /// The speaker in use: a card on the headset (by its card id).
    final class HeadsetSpeaker: AudioSink, @unchecked Sendable {
        let name = "alsa:plughw:CARD=Headset,DEV=0"
        let isClocked = true
        func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {}
        func close() {}
    }

    final class PCHSpeaker: AudioSink, @unchecked Sendable {
        let name = "alsa:hw:0"
        let isClocked = true
        func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {}
        func close() {}
    }

    func isLost(_ sink: FallbackSink) -> Bool { sink.health.isLost.load(ordering: .relaxed) }
    func losses(_ sink: FallbackSink) -> Int { sink.health.losses.load(ordering: .relaxed) }

    @Test("a card plugged in and pulled out is reported once each; the speaker on it falls back")
    func reportsAndFallsBack() async throws {
        let pch = SoundCardEntry(index: 0, id: "PCH", name: "HDA Intel PCH")
        let headset = SoundCardEntry(index: 1, id: "Headset", name: "Logitech USB Headset")
        let cards = Mutex([pch, headset])
        let speaker = HeadsetSpeaker()
        let sink = FallbackSink(speaker, frameMs: 20, retryMs: 60_000) { () throws(AudioDeviceError) -> AudioSink in
            throw .unavailable("no such card")
        }
        let session = ConfabSession(configuration: Fixture.configuration(), transport: FakeServer())
        let media = MediaController(session: session, source: nil, sink: sink)
        let polls = Atomic(0)
        await media.watchSoundCards(from: {
            polls.add(1, ordering: .relaxed)
            return cards.withLock { $0 }
        }, every: .milliseconds(20))
        let recorded = RecordedEvents(session.store)
        @Sendable func changes() -> [SoundCardChange] {
            recorded.picked { if case .soundCard(let change) = $0 { change } else { nil } }
        }
        await media.start()

        // The cards there at the start are not news; the headset pulled out is, and so is another plugged in.
        #expect(await waitUntil(timeout: .seconds(5)) { polls.load(ordering: .relaxed) >= 3 })
        #expect(changes().isEmpty, "the cards at the start are not reported")
        let usb = SoundCardEntry(index: 2, id: "Device", name: "USB Audio Device")
        cards.withLock { $0 = [pch, usb] }
        #expect(await waitUntil(timeout: .seconds(5)) { changes().count >= 2 })
        #expect(changes() == [SoundCardChange(card: headset, present: false), SoundCardChange(card: usb, present: true)])

        // The speaker was on the headset: its next frame takes the failure path.
        let frame = [Int16](repeating: 0, count: 960)
        try frame.withUnsafeBufferPointer { try sink.write($0) }
        #expect(isLost(sink), "the speaker on the card pulled out is dropped")
        #expect(losses(sink) == 1)

        // On another card (a switch), pulling out a card it is not on leaves the speaker alone.
        let onboard = PCHSpeaker()
        sink.switchTo(onboard) { () throws(AudioDeviceError) -> AudioSink in onboard }
        try frame.withUnsafeBufferPointer { try sink.write($0) }
        #expect(!isLost(sink))
        cards.withLock { $0 = [pch] }
        #expect(await waitUntil(timeout: .seconds(5)) { changes().count >= 3 })
        #expect(changes().last == SoundCardChange(card: usb, present: false))
        try frame.withUnsafeBufferPointer { try sink.write($0) }
        #expect(!isLost(sink), "the speaker on the onboard card plays on")
        #expect(losses(sink) == 1)
        await media.stop()
    }
}
