// The loudest few through the real server: a town hall whose listeners hear
// the two loudest publishers. Three speakers (two quiet tones, then a voice)
// and one listener, real SDK sessions with MediaControllers, real SRTP and
// forwarding. What the listener's tracks receive and what it plays out is
// what a user hears.

@testable import ConfabClient
import ConfabMedia
import ConfabProtocol
import ConfabRooms
import ConfabSocket
import ConfabTestSupport
import Foundation
import Synchronization
import Testing

@Suite("The loudest few through the server: top-N forwarding, switching, pause and resume", .timeLimit(.minutes(3)))
struct LoudestFewThroughServerTests {
    static let speechOnsetSeconds = 2.5

    /// Joins `user` with `source` (already wrapped) and binds its media, as `Talker.join` does.
    static func join(_ server: LiveServer, _ user: PeerID, role: String, source: TimedSource?) async throws -> Talker {
        let participant = try await server.participant(user, role: role, room: "hall")
        let sink = RecordingSink()
        let controller = MediaController(session: participant.session, source: source, sink: sink)
        await controller.start()
        try await participant.session.join()
        if participant.session.state.yourMicrophone != nil { try await participant.session.unmuteSelf() }
        guard await eventually(timeoutMs: 10_000, pollMs: 20, { await controller.isBound }) else {
            throw ToolError("\(user) did not bind its media address")
        }
        return Talker(participant: participant, controller: controller, source: source, sink: sink)
    }

    /// What `sink` played from `fromNs` (on the monotonic clock) for `seconds`.
    static func played(_ sink: RecordingSink, fromNs: UInt64, seconds: Double) throws -> [Int16] {
        let started = try #require(sink.startedAt)
        let samples = sink.samples
        let first = max(0, Int((Int64(fromNs) - Int64(started)) * 48 / 1_000_000))
        let last = min(samples.count, first + Int(seconds * 48_000))
        guard first < last else { throw ToolError("nothing was played from then") }
        return Array(samples[first..<last])
    }

    /// Received-packet counters of the listener's tracks, sampled every 10 ms.
    final class Sampler: Sendable {
        struct Sample: Sendable {
            var atNs: UInt64
            var received: [PeerID: Int]
        }
        let samples = Mutex<[Sample]>([])

        func run(_ listener: MediaController, peers: [PeerID], until done: @escaping @Sendable () -> Bool) async {
            while !done() {
                var received: [PeerID: Int] = [:]
                for peer in peers { received[peer] = await listener.monitor(of: peer)?.stats.received ?? 0 }
                let sample = Sample(atNs: MonotonicClock.nanoseconds(), received: received)
                samples.withLock { $0.append(sample) }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }

        /// When `peer`'s counter first grew after `afterNs`.
        func firstGrowth(of peer: PeerID, afterNs: UInt64) -> UInt64? {
            let all = samples.withLock { $0 }
            guard let base = all.last(where: { $0.atNs <= afterNs })?.received[peer] else { return nil }
            return all.first { $0.atNs > afterNs && ($0.received[peer] ?? 0) > base }?.atNs
        }

        /// Packets received of all `peers` together between two times.
        func packets(of peers: [PeerID], fromNs: UInt64, toNs: UInt64) -> Int {
            let all = samples.withLock { $0 }
            guard let start = all.last(where: { $0.atNs <= fromNs }), let end = all.last(where: { $0.atNs <= toNs })
            else { return 0 }
            return peers.reduce(0) { $0 + (end.received[$1] ?? 0) - (start.received[$1] ?? 0) }
        }
    }

    @Test("a listener hears only the two loudest; a new loudest voice takes over at once, and a paused track resumes cleanly")
    func loudestTwo() async throws {
        // Listeners announced (no quiet roles), so that speakers know them and
        // seal them their keys; the audience section alone limits what they hear.
        var template = RoomTemplate.townHall
        template.audience = AudienceSettings(quietRoles: [], loudest: 2)
        let server = try await LiveServer.start(template: template)
        let lee = try await Self.join(server, "lee", role: "listener", source: nil)
        // Bob and Dan: steady quiet tones (−43 and −53.5 dBov). Carl: silent, then a voice far louder than both.
        let bob = try await Self.join(
            server, "bob", role: "speaker", source: TimedSource(ToneSource(frequencyHz: 440, amplitude: 0.01, durationSeconds: 9)))
        let dan = try await Self.join(
            server, "dan", role: "speaker", source: TimedSource(ToneSource(frequencyHz: 660, amplitude: 0.003, durationSeconds: 9)))
        let carl = try await Self.join(
            server, "carl", role: "speaker",
            source: TimedSource(SpeechLikeSource(seed: 2, durationSeconds: 3), silenceFirst: Self.speechOnsetSeconds))
        let speakers: [PeerID] = ["bob", "dan", "carl"]
        let sampler = Sampler()
        let (leeController, bobSource) = (lee.controller, bob.source)
        let sampling = Task { await sampler.run(leeController, peers: speakers, until: { bobSource?.ended == true }) }
        try await bob.waitUntilSent(seconds: 9)
        try await letAudioFlow(forMs: 300)
        await sampling.value

        let carlStart = try #require(carl.source?.firstReadAt)
        let onsetNs = carlStart + UInt64(Self.speechOnsetSeconds * 1e9)
        // Before carl's voice: the two tones, nothing of carl's silent frames.
        let before = sampler.packets(of: ["carl"], fromNs: onsetNs - 1_500_000_000, toNs: onsetNs)
        #expect(before <= 2, "carl's silence is not forwarded while the tones hold both places (\(before) packets)")
        #expect(sampler.packets(of: ["bob"], fromNs: onsetNs - 1_500_000_000, toNs: onsetNs) >= 60)
        #expect(sampler.packets(of: ["dan"], fromNs: onsetNs - 1_500_000_000, toNs: onsetNs) >= 60)

        // The voice takes dan's place within 300 ms of the server's decision,
        // measured here from the first loud frame's capture to its arrival.
        let heardNs = try #require(sampler.firstGrowth(of: "carl", afterNs: onsetNs))
        let switchMs = Double(heardNs - onsetNs) / 1e6
        print("loudest few: carl heard \(switchMs) ms after his voice began")
        #expect(switchMs <= 450, "the speech's first syllable, one 20 ms frame and the loopback included")

        // Never more than two streams at a time: at 50 packets a second each,
        // the listener's packets over any stretch stay within two streams' worth.
        let whole = sampler.packets(of: speakers, fromNs: onsetNs - 1_500_000_000, toNs: onsetNs + 3_000_000_000)
        #expect(whole <= 2 * 225 + 10, "\(whole) packets in 4.5 s, over two streams' worth")
        #expect(sampler.packets(of: ["bob"], fromNs: onsetNs, toNs: onsetNs + 3_000_000_000) >= 140, "bob, louder than dan, keeps his place")

        // What the listener played while carl spoke is carl's voice.
        let reference = try pcmOf(SpeechLikeSource(seed: 2, durationSeconds: 3))
        let match = SignalComparison.segmentedMatch(reference: reference, received: lee.sink.samples, maxLagSamples: 48_000 * 10)
        print("loudest few: the listener's audio correlates \(match.correlation) with carl's voice over \(match.segments) segments")
        #expect(match.correlation >= 0.8)
        #expect(match.segments >= 3)

        // Carl's source ended: dan's track, paused for seconds, resumes, and
        // its jitter buffer starts over instead of counting the pause as loss.
        let resumedNs = try #require(sampler.firstGrowth(of: "dan", afterNs: onsetNs + 3_200_000_000))
        let danTrack = try #require(await lee.controller.monitor(of: "dan"))
        let danStats = danTrack.stats
        print("loudest few: dan resumed \(Double(resumedNs - onsetNs) / 1e6 - 3_000) ms after carl's voice ended; \(danStats)")
        #expect(danStats.lost <= 10, "a pause is not loss")
        #expect(sampler.packets(of: ["dan"], fromNs: resumedNs, toNs: resumedNs + 1_000_000_000) >= 40)
        // Played out: a second from 300 ms after the resumption holds both
        // tones, dan's 10.5 dB below bob's (about 8 % of the energy).
        let played = try Self.played(lee.sink, fromNs: resumedNs + 300_000_000, seconds: 1)
        let danShare = SignalComparison.toneShare(played, frequencyHz: 660)
        let bobShare = SignalComparison.toneShare(played, frequencyHz: 440)
        print("loudest few: after the resumption dan's tone has \(danShare), bob's \(bobShare) of the listener's audio")
        #expect(danShare > 0.04, "dan is heard again")
        #expect(bobShare > 0.6, "bob is still heard")
        await Talker.end(bob, dan, carl, lee)
        await server.stop()
    }
}
