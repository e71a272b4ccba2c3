import ConfabMedia
import ConfabSocket
import ConfabTestSupport
import Foundation
import SRTP
import Testing

/// Headless ALSA through the `file` plugin over `null` (DESIGN.md): capture
/// reads `in.raw`, play-out writes `out.raw`, both through real alsa-lib.
func writeALSAConfig(in directory: TempDirectory) throws -> String {
    let path = directory.file("asound.conf")
    let config = """
    pcm.cap { type file slave.pcm { type null } file "\(directory.file("cap-tap.raw"))" infile "\(directory.file("in.raw"))" format "raw" perm 0644 }
    pcm.play { type file slave.pcm { type null } file "\(directory.file("out.raw"))" format "raw" perm 0644 }
    """
    try config.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

func readRaw(_ path: String) throws -> [Int16] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
}

@Suite("Media engine end to end", .serialized)
struct EngineLoopbackTests {
    @Test("speech captured from ALSA arrives at the other engine's ALSA output, matching, with its delay measured")
    func speechThroughTwoEngines() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let speechWAV = dir.file("speech.wav")
        try Speech.espeak(text: "Confab carries this sentence from one engine to another over real sockets.", to: speechWAV)
        var speech = try WAVFile.read(path: speechWAV)
        // Half a second of silence after the speech, so the tail is played out too.
        speech += [Int16](repeating: 0, count: 24_000)
        try speech.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: dir.file("in.raw"))) }
        let alsaConfig = try writeALSAConfig(in: dir)

        var configuration = MediaConfiguration()
        configuration.encoder.bitrate = 48_000
        let key = SRTPKeyMaterial.random()
        let ssrc: UInt32 = 0x5EED_0001

        let listener = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), configuration: configuration)
        let sink = try ALSAPlaybackSink(pcmName: "play", configFile: alsaConfig)
        #expect(sink.isClocked == false)
        let playoutStart = MonotonicClock.nanoseconds()
        listener.startReceiving(sink: sink)
        let track = try listener.addRemoteTrack(ssrc: ssrc, key: key)

        let talker = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), configuration: configuration)
        let source = try ALSACaptureSource(pcmName: "cap", configFile: alsaConfig)
        let captureStart = MonotonicClock.nanoseconds()
        let sender = try talker.startSending(source: source, ssrc: ssrc, key: key, to: listener.socket.localAddress)

        // Every frame of the sentence (and its half second of silence) sent and
        // received: the spoken part has been played out long before the last.
        let frames = speech.count / 960
        let arrived = await waitUntil(timeout: .seconds(30)) { track.stats.received >= frames }
        talker.stop()
        listener.stop()
        sink.close()

        let stats = track.stats
        #expect(arrived, "received \(stats.received) of \(frames) frames")
        #expect(sender.stats.packetsSent.load(ordering: .relaxed) >= frames)
        #expect(listener.receiver.stats.snapshot.authenticationFailures == 0)
        #expect(stats.lost == 0)

        let output = try readRaw(dir.file("out.raw"))
        let spoken = Array(speech[0..<(speech.count - 24_000)])
        let match = SignalComparison.align(reference: spoken, received: output, maxLagSamples: 48_000)
        // On a loaded machine the jitter buffer may adapt mid-sentence (a
        // concealed or dropped frame moves the delay); compare piece by piece too.
        let pieces = SignalComparison.segmentedMatch(reference: spoken, received: output, maxLagSamples: 48_000)
        // Mouth-to-ear through both engines: the lag in the output, less the
        // head start the play-out thread had over the capture thread.
        let headStartMs = Double(captureStart - playoutStart) / 1_000_000
        let delayMs = Double(match.lagSamples) / 48 - headStartMs
        print("engine loopback: correlation \(String(format: "%.3f", match.correlation)) whole, \(String(format: "%.3f", pieces.correlation)) by 0.5 s pieces; mouth-to-ear \(String(format: "%.1f", delayMs)) ms; jitter buffer target \(stats.targetDelayMs) ms, concealed \(stats.concealed), dropped \(stats.droppedForDelay)")
        #expect(pieces.correlation >= 0.9)
        #expect(pieces.segments >= 4)
        #expect(delayMs > 0 && delayMs < 150)
    }

    @Test("10 ms frames: twice the packets, and the audio still arrives whole")
    func tenMillisecondFrames() async throws {
        var configuration = MediaConfiguration()
        configuration.frameMs = 10
        let key = SRTPKeyMaterial.random()
        let listener = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), configuration: configuration)
        let dir = try TempDirectory()
        defer { dir.remove() }
        let sink = try WAVFileSink(path: dir.file("out.wav"))
        let playout = listener.startReceiving(sink: sink)
        let track = try listener.addRemoteTrack(ssrc: 10, key: key)
        let talker = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), configuration: configuration)
        let sender = try talker.startSending(source: SpeechLikeSource(seed: 5, durationSeconds: 1.5), ssrc: 10, key: key,
                                             to: listener.socket.localAddress)
        // 1.5 s of 10 ms frames: wait until all 150 are sent and received (not a fixed time).
        await waitUntil(timeout: .seconds(20)) {
            sender.stats.packetsSent.load(ordering: .relaxed) >= 150 && track.stats.received >= 150
        }
        // Then until the play-out has played the jitter buffer's last frames
        // (at most its 400 ms ceiling) into the sink.
        let playedWhenAllArrived = playout.stats.framesPlayed.load(ordering: .relaxed)
        await waitUntil(timeout: .seconds(10)) { playout.stats.framesPlayed.load(ordering: .relaxed) >= playedWhenAllArrived + 40 }
        talker.stop()
        listener.stop()
        sink.close()
        #expect(sender.stats.packetsSent.load(ordering: .relaxed) == 150)
        #expect(track.stats.received == 150)
        #expect(track.stats.lost == 0)
        let reference = try pcmOf(SpeechLikeSource(seed: 5, durationSeconds: 1.5))
        let match = SignalComparison.segmentedMatch(reference: reference, received: try WAVFile.read(path: dir.file("out.wav")),
                                                    maxLagSamples: 24_000)
        #expect(match.correlation >= 0.85, "correlation \(match.correlation)")
    }

    @Test("a receiver with the wrong key counts authentication failures and plays nothing")
    func wrongKeyPlaysNothing() async throws {
        let configuration = MediaConfiguration()
        let listener = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), configuration: configuration)
        let sink = NullSink()
        listener.startReceiving(sink: sink)
        let track = try listener.addRemoteTrack(ssrc: 7, key: SRTPKeyMaterial.random())
        let talker = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), configuration: configuration)
        try talker.startSending(source: ToneSource(frequencyHz: 440, durationSeconds: 0.5), ssrc: 7, key: SRTPKeyMaterial.random(),
                            to: listener.socket.localAddress)
        // The half-second tone is 25 packets; each fails authentication.
        let refused = await waitUntil(timeout: .seconds(10)) { listener.receiver.stats.snapshot.authenticationFailures >= 20 }
        talker.stop()
        listener.stop()
        #expect(refused, "authentication failures: \(listener.receiver.stats.snapshot.authenticationFailures)")
        #expect(listener.receiver.stats.snapshot.accepted == 0)
        #expect(track.stats.received == 0)
        #expect(track.level.load(ordering: .relaxed) == 0)
    }

    @Test("the level of a remote speaker rises while it talks and falls after")
    func remoteLevel() async throws {
        let configuration = MediaConfiguration()
        let key = SRTPKeyMaterial.random()
        let listener = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), configuration: configuration)
        listener.startReceiving(sink: NullSink())
        let track = try listener.addRemoteTrack(ssrc: 9, key: key)
        let talker = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), configuration: configuration)
        let sender = try talker.startSending(source: ToneSource(frequencyHz: 300, amplitude: 0.3, durationSeconds: 0.6), ssrc: 9, key: key,
                                         to: listener.socket.localAddress)
        // The tone lasts 0.6 s: its level shows while it plays and is gone
        // within 1.2 s of being seen (by about 1.4 s from the start).
        let rose = await waitUntil(timeout: .seconds(5)) { track.level.load(ordering: .relaxed) >= 70 }
        #expect(sender.micLevel.load(ordering: .relaxed) >= 70)
        let fell = await waitUntil(timeout: .seconds(1.2)) { track.level.load(ordering: .relaxed) <= 5 }
        talker.stop()
        listener.stop()
        #expect(rose, "level while talking: \(track.level.load(ordering: .relaxed))")
        #expect(fell, "level after: \(track.level.load(ordering: .relaxed))")
    }
}
