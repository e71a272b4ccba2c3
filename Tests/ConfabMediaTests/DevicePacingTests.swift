// The play-out thread's pace follows the device actually open: a card with a
// clock paces it by blocking; after a switch mid-call to a device without one
// (alsa-lib's `file` plugin over `null`, real) the wrapper must pace it, and
// after a switch back the card again. Counted: frames played over a measured
// interval, through a real engine's play-out thread.
import ConfabMedia
import ConfabSocket
import ConfabTestSupport
import Foundation
import Synchronization
import Testing

@Suite("device pacing across switches", .serialized)
struct DevicePacingTests {
    /// Stands in for a sound card: each write blocks until its period is due
    /// (absolute deadlines), as `snd_pcm_writei` does on a full buffer.
    final class ClockedCard: AudioSink, @unchecked Sendable {
        let name = "alsa:clocked"
        let isClocked = true
        let writes = Atomic<Int>(0)
        private let periodNs: UInt64
        private var deadline = MonotonicClock.nanoseconds()
        init(periodMs: Int) { periodNs = UInt64(periodMs) * 1_000_000 }
        func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
            deadline = max(deadline + periodNs, MonotonicClock.nanoseconds() - 3 * periodNs)
            MonotonicClock.sleep(until: deadline)
            writes.add(1, ordering: .relaxed)
        }
        func close() {}
    }

    /// Frames the play-out thread plays per second, counted over `seconds`.
    func framesPerSecond(_ playout: PlayoutLoop, over seconds: Double) async -> Double {
        let startFrames = playout.stats.framesPlayed.load(ordering: .relaxed)
        let start = MonotonicClock.nanoseconds()
        try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        let frames = playout.stats.framesPlayed.load(ordering: .relaxed) - startFrames
        return Double(frames) / (Double(MonotonicClock.nanoseconds() - start) / 1e9)
    }

    @Test("switching from a card to a clockless device mid-call keeps play-out at 50 frames a second, and back")
    func clocklessSwitchStaysPaced() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let config = try writeALSAConfig(in: dir)
        let card = ClockedCard(periodMs: 20)
        let sink = FallbackSink(card, frameMs: 20) { () throws(AudioDeviceError) -> AudioSink in card }
        let engine = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0))
        let playout = engine.startReceiving(sink: sink)
        defer { engine.stop() }
        #expect(await waitUntil(timeout: .seconds(5)) { card.writes.load(ordering: .relaxed) >= 5 })

        let openClockless = { () throws(AudioDeviceError) -> AudioSink in
            try ALSAPlaybackSink(pcmName: "play", configFile: config)
        }
        let clockless = try openClockless()
        #expect(clockless.isClocked == false, "alsa-lib's file plugin over null has no clock")
        sink.switchTo(clockless, reopen: openClockless)
        #expect(await waitUntil(timeout: .seconds(5)) { sink.name == "alsa:play" })
        let writesBefore = card.writes.load(ordering: .relaxed)
        let onClockless = await framesPerSecond(playout, over: 1.5)
        // 50 a second at 20 ms; unpaced, the thread plays tens of thousands.
        #expect((40...60).contains(onClockless), "\(onClockless) frames/s on the clockless device")
        #expect(card.writes.load(ordering: .relaxed) <= writesBefore + 1, "the card is no longer written")
        let played = (try? FileManager.default.attributesOfItem(atPath: dir.file("out.raw"))[.size] as? Int) ?? 0
        #expect(played > 0, "what plays reaches the clockless device's file")

        sink.switchTo(card) { () throws(AudioDeviceError) -> AudioSink in card }
        #expect(await waitUntil(timeout: .seconds(5)) { card.writes.load(ordering: .relaxed) > writesBefore + 2 })
        let onCard = await framesPerSecond(playout, over: 1.0)
        #expect((40...60).contains(onCard), "\(onCard) frames/s back on the card (paced once, not twice)")
        #expect(sink.health.losses.load(ordering: .relaxed) == 0)
    }
}
