// Echo cancellation end to end through the real server: alice talks; bob's
// loudspeaker plays her into his simulated room, whose microphone hears her
// again (and, later, bob himself); bob's engine sends that back through the
// server, and what alice hears of bob is her own voice returning unless bob's
// echo canceller took it out.
//
//   alice: speech ─▶ SRTP ─▶ server ─▶ bob: jitter buffer ─▶ mix ─▶ room speaker ─┐
//   alice's ear ◀─ server ◀─ SRTP ◀─ bob: processing (AEC, NS, AGC) ◀─ room microphone ◀─ echo path + bob's talk

@testable import ConfabClient
import ConfabMedia
import ConfabSocket
import ConfabTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Echo through the server: bob's room echoes alice, and his canceller takes it out", .serialized, .timeLimit(.minutes(3)))
struct EchoThroughServerTests {
    /// What one call measured.
    struct Heard {
        /// What bob's loudspeaker played of alice while only she talked [dBov].
        var played: Double
        /// What alice heard back from bob in the same stretch, in half-second windows [dBov].
        var returnedWindows: [Double]
        /// How well alice's ear carries bob's own talk while both talk (correlation with what he said).
        var bobWhileBothTalk: Double?

        var typicalReturn: Double { returnedWindows.sorted()[returnedWindows.count / 2] }
    }

    /// Notes when the first sound was handed to the loudspeaker (the ear's clock).
    final class FirstSound: AudioSink, Sendable {
        let inner: AudioSink
        private let first = Atomic<UInt64>(0)
        init(_ inner: AudioSink) { self.inner = inner }
        var name: String { inner.name }
        var isClocked: Bool { inner.isClocked }
        var at: UInt64? { let value = first.load(ordering: .acquiring); return value == 0 ? nil : value }
        func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
            if samples.contains(where: { $0 != 0 }) {
                _ = first.compareExchange(expected: 0, desired: MonotonicClock.nanoseconds(), ordering: .acquiringAndReleasing)
            }
            try inner.write(samples)
        }
        func close() { inner.close() }
    }

    /// What bob says when both talk.
    static func bobSays() throws -> [Int16] { try pcmOf(SpeechLikeSource(seed: 11, durationSeconds: 6)) }
    /// The canceller's delay estimate locks within 1 to 3 s of alice's voice.
    static let settleSeconds = 4.0

    /// Alice talks for 20 s; bob talks too from `bobTalksAfter` s of his microphone on.
    func call(processing: VoiceProcessingSettings, bobTalksAfter: Double? = nil) async throws -> Heard {
        let server = try await LiveServer.start()
        let bobTalk = try bobTalksAfter.map { [Int16](repeating: 0, count: Int($0 * 48_000)) + (try Self.bobSays()) }
        let room = SimulatedRoom(path: EchoPath(delayMs: 40, echoGainDb: -10), near: bobTalk ?? [])
        let loudspeaker = FirstSound(room.speaker)
        var withProcessing = MediaConfiguration()
        withProcessing.processing = processing

        let bob = try await server.participant("bob", role: "speaker", room: "echo")
        let bobMedia = try await Talker.joinWithMedia(
            bob, source: room.microphone, sink: loudspeaker, configuration: withProcessing)
        let alice = try await server.participant("alice", role: "host", room: "echo")
        let aliceSpeech = TimedSource(SpeechLikeSource(seed: 4, durationSeconds: 20))
        let aliceEar = RecordingSink()
        let aliceMedia = try await Talker.joinWithMedia(alice, source: aliceSpeech, sink: aliceEar)

        _ = await eventually(timeoutMs: 40_000, pollMs: 100) { aliceSpeech.ended }
        try await letAudioFlow(forMs: 600)
        await bobMedia.stop()
        await aliceMedia.stop()
        await alice.session.leave()
        await bob.session.leave()
        await server.stop()

        // Single talk: from `settleSeconds` after alice's voice reached bob's loudspeaker until bob talks.
        let firstSound = try #require(loudspeaker.at, "bob's loudspeaker never played alice")
        // Bob's talk is timed from his microphone's start, a little before alice joined: 3 s spare.
        let singleTalkSeconds = (bobTalksAfter ?? 20) - Self.settleSeconds - 3
        let played = room.played
        let playedStart = try #require(played.firstIndex { $0 != 0 }) + Int(Self.settleSeconds * 48_000)
        let playedEnd = min(played.count, playedStart + Int(singleTalkSeconds * 48_000))
        let playedLevel = SignalComparison.rmsDBov(played[playedStart..<playedEnd].map { Int16(clamping: Int($0.rounded())) })
        let heard = aliceEar.samples
        let heardStart = try #require(aliceEar.sampleIndex(at: firstSound + UInt64(Self.settleSeconds * 1e9)))
        let heardEnd = min(heard.count, heardStart + playedEnd - playedStart)
        let window = 24_000
        let windows = stride(from: heardStart, to: heardEnd - window + 1, by: window).map {
            SignalComparison.rmsDBov(heard[$0..<($0 + window)])
        }
        var result = Heard(played: playedLevel, returnedWindows: windows)
        if bobTalksAfter != nil {
            // His talk reaches alice's ear about when single talk ends (his microphone started up to 3 s earlier).
            let from = heardEnd - 48_000
            let match = SignalComparison.segmentedMatch(
                reference: try Self.bobSays(), received: Array(heard[max(0, from)...]), maxLagSamples: 48_000 * 6)
            result.bobWhileBothTalk = match.correlation
        }
        print("echo through the server, bob's processing \(processing.summary): bob played \(playedLevel) dBov, alice heard back \(result.typicalReturn) dBov typically (windows: \(windows.map { Int($0) })), bob's own talk correlates \(result.bobWhileBothTalk.map { "\($0)" } ?? "-")")
        return result
    }

    @Test("with bob's processing on, alice hears her voice back 25 dB or more below what bob's room played; when bob talks too, his voice reaches her whole")
    func echoCancelledAndDoubleTalkKept() async throws {
        let heard = try await call(processing: .all, bobTalksAfter: 14)
        #expect(heard.returnedWindows.count >= 10)
        #expect(heard.played - heard.typicalReturn >= 25)
        // Through the codec, the jitter buffer and a canceller in double talk (0.89 when measured).
        #expect((heard.bobWhileBothTalk ?? 0) >= 0.8)
    }

    @Test("with bob's processing off, alice hears herself back (so the test above can fail)")
    func echoHeardWithoutProcessing() async throws {
        let heard = try await call(processing: .off)
        #expect(heard.returnedWindows.count >= 10)
        #expect(heard.played - heard.typicalReturn < 15)
    }
}
