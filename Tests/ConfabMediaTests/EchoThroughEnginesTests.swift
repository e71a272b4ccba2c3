// End to end through two real engines (UDP, SRTP, Opus, both sides' threads):
// A talks; B's loudspeaker plays A into B's simulated room, whose microphone
// hears it back; what A receives from B is A's own voice returning, unless
// B's echo canceller takes it out.
import ConfabMedia
import ConfabSocket
import ConfabTestSupport
import Foundation
import SRTP
import Testing

@Suite("Echo through two engines", .serialized)
struct EchoThroughEnginesTests {
    /// Runs the call for `seconds` and returns (what B played, what A heard back) levels [dBov]
    /// from `settleSeconds` on. The canceller's delay estimate locks after 1 to 5 s, depending
    /// on how the two engines' threads happen to run; the level is taken after that.
    func call(processing: VoiceProcessingSettings, seconds: Double = 12, settleSeconds: Double = 7) async throws
        -> (played: Double, returned: Double)
    {
        var configuration = MediaConfiguration()
        let keyA = SRTPKeyMaterial.random(), keyB = SRTPKeyMaterial.random()
        let ssrcA: UInt32 = 0xA11C_E001, ssrcB: UInt32 = 0xB0B0_0002
        let room = SimulatedRoom(path: EchoPath(delayMs: 40, echoGainDb: -10))

        let a = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), configuration: configuration)
        configuration.processing = processing
        let b = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), configuration: configuration)
        let ear = RecordingAudioSink()
        a.startReceiving(sink: ear)
        b.startReceiving(sink: room.speaker)
        let fromB = try a.addRemoteTrack(ssrc: ssrcB, key: keyB)
        _ = try b.addRemoteTrack(ssrc: ssrcA, key: keyA)
        try b.startSending(source: room.microphone, ssrc: ssrcB, key: keyB, to: a.socket.localAddress)
        try a.startSending(source: SpeechLikeSource(seed: 4), ssrc: ssrcA, key: keyA, to: b.socket.localAddress)

        let frames = Int(seconds * 50)
        let arrived = await waitUntil(timeout: .seconds(Int(seconds) + 20)) { fromB.stats.received >= frames }
        a.stop()
        b.stop()
        #expect(arrived, "A received \(fromB.stats.received) of \(frames) frames from B")

        let heard = ear.samples
        let settle = Int(settleSeconds * 48_000)
        // What B's loudspeaker played over the same stretch (A's voice, through the network).
        let played = room.playedLevel(from: settle)
        let returned = SignalComparison.rmsDBov(Array(heard.dropFirst(settle)))
        print("echo through engines, processing \(processing.summary): B played \(played) dBov, A heard back \(returned) dBov, \(b.processing.stats.farFrames.load(ordering: .relaxed)) far-end frames analysed")
        return (played, returned)
    }

    @Test("with B's echo canceller on, A hears its own voice back at least 25 dB below what B played")
    func echoCancelledEndToEnd() async throws {
        let levels = try await call(processing: .all)
        #expect(levels.played - levels.returned >= 25)
    }

    @Test("with B's processing off, A hears itself back (so the test above can fail)")
    func echoHeardWithoutProcessing() async throws {
        let levels = try await call(processing: .off)
        #expect(levels.played - levels.returned < 15)
    }
}
