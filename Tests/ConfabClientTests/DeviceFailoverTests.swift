// A sound card in use that goes away: the system's default takes over at
// once, and the card is taken back when it is plugged in again. Cards and
// devices are the test's own (a card list it changes, sinks that count what
// they play), the controller and the fallback wrapper are the real ones.

@testable import ConfabClient
import ConfabMedia
import ConfabTestSupport
import Synchronization
import Testing

@Suite("The default device takes over from a card that goes, and hands back")
struct DeviceFailoverTests {
    /// A speaker that counts the frames it plays and can be made to fail.
    final class CountingSpeaker: AudioSink, @unchecked Sendable {
        let name: String
        let isClocked = true
        let frames = Atomic(0)
        let failing = Atomic(false)
        init(_ name: String) { self.name = name }
        func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
            if failing.load(ordering: .relaxed) { throw .unavailable("No such device") }
            frames.add(1, ordering: .relaxed)
        }
        func close() {}
    }

    /// A microphone whose samples say which one it is.
    final class MarkedMicrophone: AudioSource, @unchecked Sendable {
        let name: String
        let mark: Int16
        let isClocked = true
        let xruns = 0
        init(_ name: String, mark: Int16) { (self.name, self.mark) = (name, mark) }
        func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
            buffer.update(repeating: mark)
            return buffer.count
        }
        func close() {}
    }

    /// What the controller opens by name: the default, and the headset while it is plugged in.
    final class Cards: Sendable {
        let pch = SoundCardEntry(index: 0, id: "PCH", name: "HDA Intel PCH")
        let headset = SoundCardEntry(index: 1, id: "Headset", name: "Logitech USB Headset")
        let listed: Mutex<[SoundCardEntry]>
        let defaultOpens: Bool
        /// The default opens but fails at its first frame (a device that is busy or broken too).
        let defaultFails = Atomic(false)
        let opened = Mutex<[CountingSpeaker]>([])
        /// Times the controller read the list.
        let polls = Atomic(0)

        init(defaultOpens: Bool = true) {
            listed = Mutex([pch, headset])
            self.defaultOpens = defaultOpens
        }

        var headsetIn: Bool { listed.withLock { $0.contains(headset) } }
        func plug(_ present: Bool) { listed.withLock { $0 = present ? [pch, headset] : [pch] } }
        func last(_ name: String) -> CountingSpeaker? { opened.withLock { $0.last { $0.name == name } } }

        /// `media` opens its cards through `opener` and polls `listed` every 20 ms (counted in `polls`).
        func watched(by media: MediaController) async {
            await media.openSoundCards(with: opener)
            await media.watchSoundCards(from: {
                self.polls.add(1, ordering: .relaxed)
                return self.listed.withLock { $0 }
            }, every: .milliseconds(20))
        }

        var opener: SoundCardOpener {
            SoundCardOpener(
                capture: { (name: String, _: Int) throws(AudioDeviceError) -> AudioSource in
                    guard name == "default" ? self.defaultOpens : self.headsetIn else { throw .unavailable("No such device") }
                    return MarkedMicrophone("alsa:" + name, mark: name == "default" ? 2 : 1)
                },
                playback: { (name: String, _: Int) throws(AudioDeviceError) -> AudioSink in
                    let isDefault = name == "default"
                    guard isDefault ? self.defaultOpens : self.headsetIn else { throw .unavailable("No such device") }
                    let speaker = CountingSpeaker("alsa:" + name)
                    if isDefault, self.defaultFails.load(ordering: .relaxed) { speaker.failing.store(true, ordering: .relaxed) }
                    self.opened.withLock { $0.append(speaker) }
                    return speaker
                })
        }
    }

    static let headsetName = "alsa:plughw:CARD=Headset,DEV=0"

    /// The controller and wrapper under test, and what the session reported.
    final class Meeting: Sendable {
        /// The card the meeting starts on.
        let headset: CountingSpeaker
        let cards: Cards
        let media: MediaController
        let sink: FallbackSink
        private let recorded: RecordedEvents

        init(_ cards: Cards) async {
            let headset = CountingSpeaker(DeviceFailoverTests.headsetName)
            self.headset = headset
            self.cards = cards
            sink = FallbackSink(headset, frameMs: 20, retryMs: 60_000) { () throws(AudioDeviceError) -> AudioSink in
                throw .unavailable("no such card")
            }
            let session = ConfabSession(configuration: Fixture.configuration(), transport: FakeServer())
            media = MediaController(session: session, source: nil, sink: sink)
            await cards.watched(by: media)
            recorded = RecordedEvents(session.store)
            await media.start()
            // The first poll is the list the meeting starts with: a card pulled out before it would not be news.
            await waitUntil(timeout: .seconds(5)) { cards.polls.load(ordering: .relaxed) >= 2 }
        }

        /// One frame through the wrapper, as the play-out thread would play it.
        func play() throws {
            let frame = [Int16](repeating: 0, count: 960)
            try frame.withUnsafeBufferPointer { try sink.write($0) }
        }

        var reported: [AudioDeviceChange] { recorded.picked(Self.deviceChange) }

        static func deviceChange(_ event: SessionEvent) -> AudioDeviceChange? {
            if case .audioDevice(let change) = event { change } else { nil }
        }

        /// The headset fails (`unplugged`: and leaves the card list for good), a frame
        /// plays, and the first change reaches the session.
        func headsetFails(unplugged: Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            headset.failing.store(true, ordering: .relaxed)
            if unplugged { cards.plug(false) }
            try play()
            await media.reportDeviceChanges()
            #expect(await waitUntil(timeout: .seconds(5)) { !reported.isEmpty }, sourceLocation: sourceLocation)
        }

        func end() async {
            recorded.cancel()
            await media.stop()
        }
    }

    @Test("a headset pulled out: the default plays at once; plugged in again: back on the headset")
    func fallsBackAndReturns() async throws {
        let cards = Cards()
        let meeting = await Meeting(cards)
        try meeting.play()
        #expect(meeting.headset.frames.load(ordering: .relaxed) == 1)

        // Pulled out: the card poll drops it, the next frame loses it, the controller moves to the default.
        cards.plug(false)
        #expect(await waitUntil(timeout: .seconds(5)) {
            try? meeting.play()
            await meeting.media.reportDeviceChanges()
            return !meeting.reported.isEmpty
        })
        #expect(meeting.reported == [AudioDeviceChange(
            direction: .output, device: "alsa:default", kind: .fellBack, replaced: Self.headsetName)])
        #expect(meeting.reported.first?.text == "The speaker \(Self.headsetName) stopped working: using alsa:default until it is back.")
        try meeting.play()
        let fallback = try #require(cards.last("alsa:default"))
        #expect(fallback.frames.load(ordering: .relaxed) >= 1, "what plays goes to the default")
        #expect(meeting.sink.name == "alsa:default")
        await meeting.media.reportDeviceChanges()

        // Plugged in again: the next poll takes it back.
        cards.plug(true)
        #expect(await waitUntil(timeout: .seconds(5)) { meeting.reported.count >= 2 })
        // Nothing between: the default taking over is not the card "coming back".
        #expect(meeting.reported.count == 2)
        #expect(meeting.reported.last == AudioDeviceChange(direction: .output, device: Self.headsetName, kind: .back))
        try meeting.play()
        let returned = try #require(cards.last(Self.headsetName))
        #expect(returned.frames.load(ordering: .relaxed) == 1, "what plays is on the headset again")
        #expect(meeting.sink.name == Self.headsetName)
        let before = fallback.frames.load(ordering: .relaxed)
        try meeting.play()
        #expect(fallback.frames.load(ordering: .relaxed) == before, "the default no longer plays")
        await meeting.media.reportDeviceChanges()
        cards.plug(false)
        // The next report is the headset lost again, to the default: nothing was reported in between.
        #expect(await waitUntil(timeout: .seconds(5)) {
            try? meeting.play()
            await meeting.media.reportDeviceChanges()
            return meeting.reported.count >= 3
        })
        #expect(meeting.reported.map(\.kind) == [.fellBack, .back, .fellBack])
        await meeting.end()
    }

    @Test("a headset's microphone pulled out: the default microphone is heard at once, and the headset again when it is back")
    func microphoneFallsBackAndReturns() async throws {
        let cards = Cards()
        let microphone = FallbackSource(MarkedMicrophone(Self.headsetName, mark: 1), frameMs: 20, retryMs: 60_000) {
            () throws(AudioDeviceError) -> AudioSource in throw .unavailable("no such card")
        }
        let session = ConfabSession(configuration: Fixture.configuration(), transport: FakeServer())
        let media = MediaController(session: session, source: microphone, sink: NullSink())
        await cards.watched(by: media)
        let recorded = RecordedEvents(session.store)
        @Sendable func changes() -> [AudioDeviceChange] { recorded.picked(Meeting.deviceChange) }
        await media.start()
        #expect(await waitUntil(timeout: .seconds(5)) { cards.polls.load(ordering: .relaxed) >= 2 })
        var frame = [Int16](repeating: 0, count: 960)
        /// One frame as the capture thread reads it: which microphone it came from.
        func heard() throws -> Int16 {
            _ = try frame.withUnsafeMutableBufferPointer { try microphone.read(into: $0) }
            return frame[0]
        }
        #expect(try heard() == 1)

        cards.plug(false)
        #expect(await waitUntil(timeout: .seconds(5)) {
            _ = try? heard()
            await media.reportDeviceChanges()
            return !changes().isEmpty
        })
        #expect(changes() == [AudioDeviceChange(
            direction: .input, device: "alsa:default", kind: .fellBack, replaced: Self.headsetName)])
        #expect(try heard() == 2, "what is sent comes from the default microphone")

        cards.plug(true)
        #expect(await waitUntil(timeout: .seconds(5)) { changes().count >= 2 })
        #expect(changes().last == AudioDeviceChange(direction: .input, device: Self.headsetName, kind: .back))
        #expect(try heard() == 1, "the headset's microphone again")
        await media.reportDeviceChanges()
        #expect(changes().count == 2, "taking the headset back is no loss or return of its own")
        await media.stop()
    }

    @Test("when the default does not open either, the loss is reported and the card waited for")
    func noDefault() async throws {
        let cards = Cards(defaultOpens: false)
        let meeting = await Meeting(cards)
        try await meeting.headsetFails(unplugged: false)
        #expect(meeting.reported == [AudioDeviceChange(direction: .output, device: Self.headsetName, kind: .lost)])
        let lost = meeting.sink.health.isLost.load(ordering: .relaxed)
        #expect(lost, "silence until the card opens again")
        await meeting.end()
    }

    @Test("when the default fails as soon as it has taken over, that loss is reported too")
    func defaultFailsAfterTakingOver() async throws {
        let cards = Cards()
        cards.defaultFails.store(true, ordering: .relaxed)
        let meeting = await Meeting(cards)
        // Pulled out for good (not listed, so never taken back during the test).
        try await meeting.headsetFails(unplugged: true)
        #expect(meeting.reported.map(\.kind) == [.fellBack])
        // The next frame takes the default, which fails at once: "lost" never cleared between two looks.
        try meeting.play()
        await meeting.media.reportDeviceChanges()
        #expect(await waitUntil(timeout: .seconds(5)) { meeting.reported.count >= 2 })
        #expect(meeting.reported.last == AudioDeviceChange(direction: .output, device: "alsa:default", kind: .lost))
        #expect(meeting.reported.count == 2)
        await meeting.end()
    }

    @Test("a card chosen with /device after the fallback is not replaced by the one that went")
    func userChoiceWins() async throws {
        let cards = Cards()
        let meeting = await Meeting(cards)
        try await meeting.headsetFails(unplugged: true)
        #expect(meeting.reported.first?.kind == .fellBack)
        try await meeting.media.switchDevice(.output, to: "alsa:default")
        // The headset is plugged in again; with the user's choice made, the polls leave it be.
        cards.plug(true)
        let seen = cards.polls.load(ordering: .relaxed)
        #expect(await waitUntil(timeout: .seconds(5)) { cards.polls.load(ordering: .relaxed) >= seen + 3 })
        #expect(meeting.reported.map(\.kind) == [.fellBack, .switched])
        #expect(meeting.sink.name == "alsa:default")
        await meeting.end()
    }
}
