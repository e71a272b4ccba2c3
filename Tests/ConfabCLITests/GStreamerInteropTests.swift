import ConfabMedia
import ConfabTestSupport
import Foundation
import Testing

/// SRTP parameters GStreamer's srtpenc/srtpdec are told, matching confab's `--key`.
private let gstCrypto = "srtp-cipher=(string)aes-128-icm, srtp-auth=(string)hmac-sha1-80, srtcp-cipher=(string)aes-128-icm, srtcp-auth=(string)hmac-sha1-80"

func randomKeyHex() -> String {
    (0..<30).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
}

/// Speech from espeak-ng as a 48 kHz mono WAV, and its samples.
func makeSpeech(in dir: TempDirectory, text: String) throws -> (path: String, samples: [Int16]) {
    let path = dir.file("speech.wav")
    try Speech.espeak(text: text, to: path)
    return (path, try WAVFile.read(path: path))
}

/// More than 8 s of speech: past the first RTCP sender report (2.5 s) and
/// the next (7.5 s), so a receiver that cannot take RTCP would be caught.
func makeLongSpeech(in dir: TempDirectory, speaker: String) throws -> (path: String, samples: [Int16]) {
    let speech = try makeSpeech(in: dir, text: """
        \(speaker) reads the weather for the coast. Morning fog lifts by ten o'clock, then a light breeze \
        from the west and sunshine through the afternoon. Tomorrow brings rain to the hills, heavy at times, \
        with thunder possible late in the evening. The weekend looks dry and a little warmer.
        """)
    try #require(speech.samples.count >= 8 * 48_000, "espeak-ng spoke only \(speech.samples.count / 48) ms")
    return speech
}

struct ReceiveJSON: Decodable {
    struct Jitter: Decodable { var received, lost, recoveredByFEC, concealed: Int }
    struct Network: Decodable { var authenticationFailures, replays, accepted: Int }
    var jitter: Jitter
    var network: Network
}

@Suite("Interop with GStreamer (an independent SRTP/Opus implementation)", .serialized)
struct GStreamerInteropTests {
    let gst: String
    init() throws { gst = try Tools.find("gst-launch-1.0", package: "gstreamer1.0-tools") }

    @Test("confab rtp send → GStreamer srtpdec/opusdec (no RTCP branch) decodes all of 8 s of speech")
    func confabToGStreamer() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let speech = try makeLongSpeech(in: dir, speaker: "GStreamer hears what confab sends:")
        let key = randomKeyHex(), ssrc: UInt32 = 0x00C0_FFEE, port = freeUDPPort()
        let received = dir.file("gst-out.wav")
        let receiver = try ChildProcess(gst, ["-e", "udpsrc", "port=\(port)",
            "caps=application/x-srtp, media=(string)audio, clock-rate=(int)48000, encoding-name=(string)OPUS, payload=(int)111, ssrc=(uint)\(ssrc), srtp-key=(buffer)\(key), \(gstCrypto)",
            "!", "srtpdec", "!", "rtpopusdepay", "!", "opusdec", "!", "audioconvert", "!",
            "audio/x-raw,format=S16LE,channels=1,rate=48000", "!", "wavenc", "!", "filesink", "location=\(received)"])
        try await waitUntilUDPPortBound(port, by: receiver)
        let sender = try ChildProcess(BuiltProducts.confab, ["rtp", "send", "--to", "127.0.0.1:\(port)", "--key", key,
                                                            "--ssrc", "\(ssrc)", "--input", speech.path, "--bitrate", "48000"])
        #expect(await sender.wait(seconds: 40) == 0, "confab rtp send: \(sender.standardError)")
        // The last packets are in flight when the sender exits: wait until
        // GStreamer has written all but the final half second, then stop it.
        let expectedBytes = (speech.samples.count - 48_000 / 2) * 2
        await waitUntil(timeout: .seconds(5)) { fileSize(received) >= expectedBytes }
        receiver.interrupt()
        #expect(await receiver.wait(seconds: 10) == 0, "gst-launch: \(receiver.standardError)")
        let output = try WAVFile.read(path: received)
        // All of it: a receiver stopped by the first sender report (2.5 s in) has a third of it.
        #expect(output.count >= speech.samples.count - 48_000 / 2, "GStreamer wrote \(output.count / 48) ms of \(speech.samples.count / 48) ms")
        let match = SignalComparison.segmentedMatch(reference: speech.samples, received: output, maxLagSamples: 48_000)
        #expect(match.correlation >= 0.9, "correlation \(match.correlation)")
        #expect(match.segments >= 10)
    }

    @Test("GStreamer srtpenc/rtpopuspay → confab rtp receive decodes the same 8 s of speech")
    func gstreamerToConfab() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let speech = try makeLongSpeech(in: dir, speaker: "Confab hears what GStreamer sends:")
        let key = randomKeyHex(), ssrc: UInt32 = 0xBEEF, port = freeUDPPort()
        let output = dir.file("confab-out.wav")
        let seconds = Double(speech.samples.count) / 48_000 + 2.5
        let receiver = try ChildProcess(BuiltProducts.confab, ["rtp", "receive", "--port", "\(port)", "--bind", "127.0.0.1",
                                                              "--key", key, "--ssrc", "\(ssrc)", "--output", output,
                                                              "--duration", String(seconds), "--json"])
        try await waitUntilUDPPortBound(port, by: receiver)
        let sender = try ChildProcess(gst, gstSender(wav: speech.path, ssrc: ssrc, key: key, port: port))
        #expect(await sender.wait(seconds: 40) == 0, "gst-launch: \(sender.standardError)")
        #expect(await receiver.wait(seconds: seconds + 10) == 0, "confab rtp receive: \(receiver.standardError)")
        let stats = try JSONDecoder().decode(ReceiveJSON.self, from: Data(receiver.standardOutput.utf8))
        #expect(stats.jitter.received >= Int(Double(speech.samples.count) / 960) - 2)
        #expect(stats.network.authenticationFailures == 0)
        let decoded = try WAVFile.read(path: output)
        let match = SignalComparison.segmentedMatch(reference: speech.samples, received: decoded, maxLagSamples: 96_000)
        #expect(match.correlation >= 0.9, "correlation \(match.correlation)")
        #expect(match.segments >= 10)
    }

    @Test("a wrong key: every packet fails authentication and no audio comes out")
    func wrongKey() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let speech = try makeSpeech(in: dir, text: "Nobody should hear this.")
        let ssrc: UInt32 = 77, port = freeUDPPort()
        let output = dir.file("confab-out.wav")
        let receiver = try ChildProcess(BuiltProducts.confab, ["rtp", "receive", "--port", "\(port)", "--bind", "127.0.0.1",
                                                              "--key", randomKeyHex(), "--ssrc", "\(ssrc)", "--output", output,
                                                              "--duration", "3", "--json"])
        try await waitUntilUDPPortBound(port, by: receiver)
        let sender = try ChildProcess(gst, gstSender(wav: speech.path, ssrc: ssrc, key: randomKeyHex(), port: port))
        #expect(await sender.wait(seconds: 20) == 0)
        #expect(await receiver.wait(seconds: 15) == 0, "confab rtp receive: \(receiver.standardError)")
        let stats = try JSONDecoder().decode(ReceiveJSON.self, from: Data(receiver.standardOutput.utf8))
        #expect(stats.network.authenticationFailures >= 50)
        #expect(stats.network.accepted == 0)
        #expect(stats.jitter.received == 0)
        let decoded = try WAVFile.read(path: output)
        #expect(!decoded.isEmpty)
        #expect(decoded.allSatisfy { $0 == 0 })
    }

    private func gstSender(wav: String, ssrc: UInt32, key: String, port: Int) -> [String] {
        ["-q", "filesrc", "location=\(wav)", "!", "wavparse", "!", "audioconvert", "!", "audioresample", "!",
         "opusenc", "frame-size=20", "bitrate=48000", "!", "rtpopuspay", "pt=111", "ssrc=\(ssrc)", "!",
         "srtpenc", "key=\(key)", "rtp-cipher=aes-128-icm", "rtp-auth=hmac-sha1-80",
         "rtcp-cipher=aes-128-icm", "rtcp-auth=hmac-sha1-80", "!", "udpsink", "host=127.0.0.1", "port=\(port)"]
    }
}
