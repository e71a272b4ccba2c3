// Loss feedback end to end through the real server: a listener behind a
// lossy relay reports what it loses (media.loss), the server relays the
// worst figure to the publisher (media.feedback), and the publisher's
// encoder follows it; on a clean path FEC goes off.

@testable import ConfabClient
import ConfabMedia
import ConfabProtocol
import ConfabSocket
import ConfabTestSupport
import Foundation
import Testing

@Suite("Loss feedback through the server: listeners' loss reaches the publisher's encoder", .timeLimit(.minutes(3)))
struct LossFeedbackThroughServerTests {
    @Test("a listener losing a few percent reaches the publisher, whose encoder plans FEC for that loss instead of the fixed 10 %")
    func lossyListener() async throws {
        // Bob's downlink drops 4 % of what the server forwards him.
        let (server, relay, bob, alice) = try await Talker.lossyListener(room: "lossy", lossPercent: 4, relaySeed: 7, aliceSays: .speech(seed: 4, seconds: 12))
        defer { relay.stop() }
        await alice.untilLossReported(atLeastPermille: 10)
        let sender = try #require(await alice.controller.mediaEngine?.sender)
        // Configured: FEC for 10 %. Adapted: FEC on, planned for what bob loses.
        let adapted = await eventually(timeoutMs: 10_000) {
            let applied = sender.encoderControl.applied
            return applied.inbandFEC && (1...9).contains(applied.expectedPacketLossPercent)
        }
        let applied = sender.encoderControl.applied
        print("lossy listener: relay dropped \(relay.stats.droppedDown.load(ordering: .relaxed)); alice's encoder \(applied)")
        #expect(adapted, "the expected loss followed bob's few percent")
        #expect(applied.bitrate == 32_000, "a few percent lost is no congestion: the bitrate stays")
        // A bot sees the figure as a line.
        let lines = alice.participant.events.filter(HeadlessEvents.prints).map(HeadlessEvents.line(for:))
        #expect(lines.contains { $0.hasPrefix(#"{"event":"media.feedback","track":"alice:mic","lossPermille":"#) })
        // Bob is told nothing: he publishes nothing anyone loses.
        #expect(!bob.participant.events.contains { if case .mediaFeedback = $0 { true } else { false } })
        await Talker.end(alice, bob)
        await server.stop()
    }

    @Test("a listener losing a fifth of the packets gets RED through the server and plays lost frames from the copies")
    func heavyLossTurnsOnRED() async throws {
        let (server, relay, bob, alice) = try await Talker.lossyListener(room: "red", lossPercent: 20, relaySeed: 11, aliceSays: .speech(seed: 5, seconds: 12))
        defer { relay.stop() }
        await alice.untilLossReported(atLeastPermille: 100)
        let sender = try #require(await alice.controller.mediaEngine?.sender)
        #expect(await eventually(timeoutMs: 10_000) { sender.encoderControl.appliedRedundantFrames == 2 },
                "two copies for a fifth lost")
        // The server forwarded the RED packets as they were, and bob's client took the copies.
        let recovered = await eventually(timeoutMs: 10_000) {
            await (bob.controller.monitor(of: "alice")?.stats.recoveredByRED ?? 0) >= 10
        }
        let stats = await bob.controller.monitor(of: "alice")?.stats
        print("RED through the server: relay dropped \(relay.stats.droppedDown.load(ordering: .relaxed)); bob \(String(describing: stats))")
        #expect(recovered)
        // A bot hears of it in media.stats: frames played from RED copies, beside FEC and concealment.
        let reported = await bob.participant.until("bob's media.stats counts frames recovered from RED", events: { events in
            events.contains { if case .mediaStats(let figures, _) = $0 { (figures["alice"]?.redRecovered ?? 0) > 0 } else { false } }
        })
        #expect(reported)
        let line = bob.participant.events.last { if case .mediaStats = $0 { true } else { false } }.map(HeadlessEvents.line(for:))
        #expect(line?.contains(#""redRecovered":"#) == true, "\(line ?? "no media.stats line")")
        await Talker.end(alice, bob)
        await server.stop()
    }

    @Test("when no listener loses anything, FEC goes off and no loss is expected")
    func cleanListener() async throws {
        let server = try await LiveServer.start()
        let bob = try await Talker.join(server, "bob", role: "speaker", room: "clean", source: nil)
        let alice = try await Talker.join(
            server, "alice", role: "host", room: "clean", source: .speech(seed: 6, seconds: 10))
        await alice.participant.until("alice hears bob loses nothing", events: { events in
            events.contains { if case .mediaFeedback(let feedback) = $0 { feedback.lossPermille == 0 } else { false } }
        })
        let sender = try #require(await alice.controller.mediaEngine?.sender)
        let off = await eventually(timeoutMs: 10_000) { !sender.encoderControl.applied.inbandFEC }
        #expect(off, "FEC went off")
        #expect(sender.encoderControl.applied.expectedPacketLossPercent == 0)
        #expect(sender.encoderControl.applied.bitrate == 32_000, "a clean path keeps the configured bitrate")
        // Nothing lost, no RED: media.stats counts no frame recovered from a copy.
        await bob.participant.until("bob's media.stats shows alice's packets", events: { events in
            events.contains { if case .mediaStats(let figures, _) = $0 { (figures["alice"]?.packetsReceived ?? 0) >= 100 } else { false } }
        })
        let figures = bob.participant.events.compactMap { if case .mediaStats(let figures, _) = $0 { figures["alice"] } else { nil } }
        #expect(!figures.isEmpty && figures.allSatisfy { $0.redRecovered == 0 }, "\(figures.last.map { "\($0)" } ?? "no stats")")
        #expect(sender.encoderControl.appliedRedundantFrames == 0)
        await Talker.end(alice, bob)
        await server.stop()
    }
}
