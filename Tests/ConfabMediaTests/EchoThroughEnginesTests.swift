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
    /// What B played and what A heard back from B over a call of `seconds`, from `settleSeconds` on.
    struct Levels {
        /// What B's loudspeaker played (A's voice, through the network) [dBov].
        var played: Double
        /// What A heard back, in half-second windows [dBov].
        var returnedWindows: [Double]

        /// Enough of the call was heard to judge it.
        var windowsCountable: Bool { returnedWindows.count >= 10 }
        /// The median window: one burst while the canceller re-estimates the delay (the two
        /// engines' threads are scheduled, not clocked by one sound card) does not decide it.
        var typicalReturn: Double { returnedWindows.isEmpty ? 0 : returnedWindows.sorted()[returnedWindows.count / 2] }
        /// The share of windows at least `decibels` below what was played.
        func shareCancelled(by decibels: Double) -> Double {
            Double(returnedWindows.filter { played - $0 >= decibels }.count) / Double(max(returnedWindows.count, 1))
        }
    }

    /// Runs the call and measures from `settleSeconds` on: the canceller's delay estimate
    /// locks after 1 to 3 s.
    func call(processing: VoiceProcessingSettings, seconds: Double = 20, settleSeconds: Double = 4) async throws
        -> Levels
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
        let window = 24_000
        let windows = stride(from: Int(settleSeconds * 48_000), to: heard.count - window + 1, by: window).map {
            SignalComparison.rmsDBov(Array(heard[$0..<($0 + window)]))
        }
        let levels = Levels(played: room.playedLevel(from: Int(settleSeconds * 48_000)), returnedWindows: windows)
        print("echo through engines, processing \(processing.summary): B played \(levels.played) dBov, A heard back \(levels.typicalReturn) dBov typically (windows: \(windows.map { Int($0) })), \(b.processing.stats.farFrames.load(ordering: .relaxed)) far-end frames analysed")
        return levels
    }

    @Test("with B's echo canceller on, A typically hears its own voice back at least 25 dB below what B played")
    func echoCancelledEndToEnd() async throws {
        let levels = try await call(processing: .all)
        #expect(levels.windowsCountable)
        #expect(levels.played - levels.typicalReturn >= 25)
        #expect(levels.shareCancelled(by: 20) >= 0.7)
    }

    @Test("with B's processing off, A hears itself back (so the test above can fail)")
    func echoHeardWithoutProcessing() async throws {
        let levels = try await call(processing: .off)
        #expect(levels.windowsCountable)
        #expect(levels.played - levels.typicalReturn < 15)
        #expect(levels.shareCancelled(by: 20) < 0.3)
    }
}
