// Hands-free mid-call, through the real server: bob plays a tone; lee hears
// it on one sound card, switches to another with the SDK's switchDevice, then
// that card vanishes (writes fail as an unplugged headset's do) and comes
// back. The cards are alsa-lib's file plugin over `null` (no sound card in
// CI), each write stamped on its way in, so what was played, where and when
// is what a user would have heard.

@testable import ConfabClient
import ConfabMedia
import ConfabSocket
import ConfabTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Switching and losing the speaker mid-call through the server", .timeLimit(.minutes(2)))
struct DeviceSwitchThroughServerTests {
    /// Every frame a card was given: when, on which card, and whether it held sound.
    final class PlayLog: Sendable {
        struct Write: Sendable {
            var atNs: UInt64
            var card: String
            var audible: Bool
        }
        let writes = Mutex<[Write]>([])
        /// While set, the cards fail as an unplugged one does, and none opens.
        let unplugged = Atomic<Bool>(false)

        var all: [Write] { writes.withLock { $0 } }
        func audible(on card: String, afterNs: UInt64 = 0) -> Int {
            all.filter { $0.card == card && $0.audible && $0.atNs > afterNs }.count
        }
    }

    /// A real ALSA playback device whose writes are logged, and fail while "unplugged".
    final class StampedCard: AudioSink, @unchecked Sendable {
        let card: ALSAPlaybackSink
        let log: PlayLog
        init(_ card: ALSAPlaybackSink, log: PlayLog) {
            self.card = card
            self.log = log
        }
        var name: String { card.name }
        var isClocked: Bool { card.isClocked }
        func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
            guard !log.unplugged.load(ordering: .acquiring) else { throw .io("snd_pcm_writei: No such device") }
            try card.write(samples)
            let audible = samples.contains { abs(Int($0)) > 1_000 }
            log.writes.withLock { $0.append(.init(atNs: MonotonicClock.nanoseconds(), card: card.name, audible: audible)) }
        }
        func close() { card.close() }
    }

    @Test("switching the speaker keeps the tone going (no gap over 100 ms); a card that vanishes falls back and the call goes on")
    func switchThenVanish() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let config = dir.file("asound.conf")
        try ["one", "two"].map {
            "pcm.\($0) { type file slave.pcm { type null } file \"\(dir.file("\($0).raw"))\" format \"raw\" perm 0644 }\n"
        }.joined().write(toFile: config, atomically: true, encoding: .utf8)
        let log = PlayLog()
        let open = { @Sendable (name: String, frameSamples: Int) throws(AudioDeviceError) -> AudioSink in
            if log.unplugged.load(ordering: .acquiring) { throw .unavailable("no such card") }
            return StampedCard(try ALSAPlaybackSink(pcmName: name, frameSamples: frameSamples, configFile: config), log: log)
        }

        let server = try await LiveServer.start()
        let bob = try await Talker.join(server, "bob", role: "host", room: "hands", source: .tone(hz: 440, seconds: 12))
        let participant = try await server.participant("lee", role: "speaker", room: "hands")
        let sink = FallbackSink(try open("one", 960), frameMs: 20, retryMs: 200) { () throws(AudioDeviceError) -> AudioSink in
            try open("one", 960)
        }
        let lee = MediaController(session: participant.session, source: nil, sink: sink)
        await lee.openSoundCards(with: SoundCardOpener(
            capture: { (_: String, _: Int) throws(AudioDeviceError) -> AudioSource in throw .unavailable("no capture here") },
            playback: open))
        let changes = Mutex<[AudioDeviceChange]>([])
        let cardStats = Mutex<[AudioDeviceStats]>([])
        let observation = participant.session.store.observe { update in
            if case .audioDevice(let change) = update.event { changes.withLock { $0.append(change) } }
            if case .mediaStats(_, let devices) = update.event { cardStats.withLock { $0 = devices } }
        }
        defer { observation.cancel() }
        await lee.start()
        try await participant.session.join()
        #expect(await eventually(timeoutMs: 10_000, pollMs: 20) { await lee.isBound })
        #expect(await eventually(timeoutMs: 10_000, pollMs: 20) { log.audible(on: "alsa:one") >= 25 }, "the tone plays on the first card")

        // The switch: every frame the engine plays from here reaches a card.
        let played = { (await lee.mediaEngine?.playout?.stats.framesPlayed.load(ordering: .relaxed)) ?? 0 }
        let (framesBefore, writesBefore) = (await played(), log.all.count)
        let switchedAt = MonotonicClock.nanoseconds()
        try await lee.switchDevice(.output, to: "alsa:two")
        #expect(await eventually(timeoutMs: 5_000, pollMs: 20) { log.audible(on: "alsa:two") >= 50 }, "the tone plays on the second card")
        let (framesAfter, writesAfter) = (await played(), log.all.count)
        #expect(abs((framesAfter - framesBefore) - (writesAfter - writesBefore)) <= 2, "no frame was dropped in the switch")
        #expect(changes.withLock { $0 }.contains(AudioDeviceChange(direction: .output, device: "alsa:two", kind: .switched)))

        // The played stream around the switch: no stretch over 100 ms without sound, in time or in frames.
        let around = log.all.filter { $0.atNs + 500_000_000 > switchedAt && $0.atNs < switchedAt + 1_000_000_000 }
        let lastOnOne = try #require(around.last { $0.card == "alsa:one" })
        let firstOnTwo = try #require(around.first { $0.card == "alsa:two" })
        let handoverMs = Double(firstOnTwo.atNs - lastOnOne.atNs) / 1e6
        var silentRun = 0
        var longestSilentRun = 0
        for write in around {
            silentRun = write.audible ? 0 : silentRun + 1
            longestSilentRun = max(longestSilentRun, silentRun)
        }
        print("device switch: \(handoverMs) ms from the last frame on one to the first on two; longest silence \(longestSilentRun * 20) ms")
        #expect(handoverMs <= 100)
        #expect(longestSilentRun * 20 <= 100)

        // The card vanishes: the call goes on, the session says so, and the card is back when it opens again.
        log.unplugged.store(true, ordering: .releasing)
        #expect(await eventually(timeoutMs: 3_000, pollMs: 20) {
            changes.withLock { $0 }.contains(AudioDeviceChange(direction: .output, device: "alsa:two", available: false))
        })
        try await letAudioFlow(forMs: 500)
        #expect(participant.session.state.disconnectReasonForTest == nil, "the call is still on")
        let replugged = MonotonicClock.nanoseconds()
        log.unplugged.store(false, ordering: .releasing)
        #expect(await eventually(timeoutMs: 3_000, pollMs: 20) { log.audible(on: "alsa:two", afterNs: replugged) >= 25 },
                "the tone plays again on the card that came back")
        #expect(changes.withLock { $0 }.contains(AudioDeviceChange(direction: .output, device: "alsa:two", available: true)))
        #expect(await eventually(timeoutMs: 3_000, pollMs: 50) {
            cardStats.withLock { $0 }.contains { $0.direction == .output && $0.device == "alsa:two" && $0.failures == 1 }
        }, "media.stats counts the failure")

        // alsa-lib wrote what was played into both cards' files.
        await Talker.end(bob)
        await participant.session.leave()
        await lee.stop()
        // (two.raw was opened again when the card came back, which empties it.)
        for (card, least) in [("one", 25 * 960 * 2), ("two", 1)] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.file("\(card).raw")))
            #expect(bytes.count >= least, "\(card).raw holds what was played on it")
        }
        await server.stop()
    }
}

extension RoomState {
    /// Why the session ended, or nil while it goes on.
    fileprivate var disconnectReasonForTest: DisconnectReason? {
        if case .disconnected(let reason) = connection { return reason }
        return nil
    }
}
