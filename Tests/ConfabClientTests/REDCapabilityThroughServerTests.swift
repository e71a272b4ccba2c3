// RED and a client that does not play it, through the real server: a
// listener behind a lossy relay makes the host send RED; then a listener that
// declared no RED at join (an older client: payload type 63 is unknown to it)
// joins. The host must send it plain Opus from its first decryptable packet
// on, the listener must hear the host, and RED must come back when it leaves.

@testable import ConfabClient
import ConfabMedia
import ConfabProtocol
import ConfabSocket
import ConfabTestSupport
import Foundation
import Testing

@Suite("RED capability through the server: only listeners that declared RED get it", .timeLimit(.minutes(3)))
struct REDCapabilityThroughServerTests {
    @Test("a listener without RED joins during RED: the host sends it only payload type 111, it hears the host, and RED resumes when it leaves")
    func oldListenerDuringRED() async throws {
        let (server, relay, bob, alice) = try await Talker.lossyListener(room: "mixed", lossPercent: 20, relaySeed: 11, aliceSays: .speech(seed: 8, seconds: 40))
        defer { relay.stop() }
        _ = await eventually(timeoutMs: 10_000) { await alice.controller.mediaEngine?.sender != nil }
        let sender = try #require(await alice.controller.mediaEngine?.sender)
        let bobReceiver = try #require(await bob.controller.mediaEngine?.receiver)
        #expect(await eventually(timeoutMs: 15_000) { sender.encoderControl.appliedRedundantFrames > 0 },
                "bob's fifth lost turns RED on")
        #expect(await eventually(timeoutMs: 5_000) { bobReceiver.stats.redundantPackets.load(ordering: .relaxed) > 0 })

        // Carol, a client that predates RED, joins while RED goes out.
        let carol = try await Talker.join(server, "carol", role: "listener", room: "mixed", source: nil, playsRED: false)
        #expect(alice.participant.state.peers["carol"]?.receives == nil, "carol declared nothing")
        #expect(await eventually(timeoutMs: 5_000) { await alice.controller.hearersWithoutRED == ["carol"] })
        #expect(await eventually(timeoutMs: 1_000) { sender.encoderControl.appliedRedundantFrames == 0 },
                "RED off as soon as carol is in the room")
        let carolReceiver = try #require(await carol.controller.mediaEngine?.receiver)
        // Carol hears three seconds of alice, while bob goes on reporting his loss.
        _ = await eventually(timeoutMs: 5_000) { await carol.controller.monitor(of: "alice") != nil }
        let bobREDBefore = bobReceiver.stats.redundantPackets.load(ordering: .relaxed)
        let heard = await eventually(timeoutMs: 15_000, pollMs: 50) {
            await (carol.controller.monitor(of: "alice")?.stats.received ?? 0) >= 150
        }
        #expect(heard, "carol received alice's packets")
        let carolCounters = carolReceiver.stats.snapshot
        let carolRED = carolReceiver.stats.redundantPackets.load(ordering: .relaxed)
        print("old listener: carol \(carolCounters), RED packets \(carolRED); bob RED packets \(bobREDBefore) → \(bobReceiver.stats.redundantPackets.load(ordering: .relaxed))")
        // Every packet carol could decrypt was plain Opus: payload type 63 would count as unknown to her.
        #expect(carolCounters.accepted >= 150)
        #expect(carolCounters.unknownPayloadType == 0, "no RED (payload type 63) reached carol")
        #expect(carolRED == 0)
        #expect(bobReceiver.stats.redundantPackets.load(ordering: .relaxed) == bobREDBefore,
                "no RED for anyone while carol listens, though bob still loses a fifth")
        #expect(sender.encoderControl.appliedRedundantFrames == 0)
        // What carol played is alice's voice, not silence.
        let peak = carol.sink.samples.reduce(0) { max($0, abs(Int($1))) }
        #expect(peak > 1_000, "carol played alice's speech (peak \(peak))")

        // Carol leaves: RED comes back as bob's loss calls for.
        await Talker.end(carol)
        #expect(await eventually(timeoutMs: 5_000) { await alice.controller.hearersWithoutRED.isEmpty })
        #expect(await eventually(timeoutMs: 10_000) { sender.encoderControl.appliedRedundantFrames > 0 },
                "RED resumes once carol has gone")
        let resumed = await eventually(timeoutMs: 10_000) {
            bobReceiver.stats.redundantPackets.load(ordering: .relaxed) > bobREDBefore + 20
        }
        #expect(resumed, "bob gets RED packets again")
        await Talker.end(alice, bob)
        await server.stop()
    }
}
