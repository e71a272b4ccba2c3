import ConfabMedia
import ConfabSocket
import ConfabTestSupport
import Foundation
import Testing

@Suite("confab command line")
struct CommandLineTests {
    static let goodKey = String(repeating: "ab", count: 30)

    @Test("wrong arguments get one clear line on stderr and a non-zero exit", arguments: [
        (["rtp", "send", "--to", "127.0.0.1:5004", "--key", "abcd", "--ssrc", "1"], "--key"),
        (["rtp", "send", "--to", "127.0.0.1:5004", "--key", goodKey, "--ssrc", "banana"], "--ssrc"),
        (["rtp", "send", "--to", "127.0.0.1", "--key", goodKey, "--ssrc", "1"], "--to"),
        (["rtp", "send", "--to", "127.0.0.1:5004", "--key", goodKey, "--ssrc", "1", "--frame-ms", "30"], "--frame-ms"),
        (["rtp", "send", "--to", "127.0.0.1:5004", "--key", goodKey, "--ssrc", "1", "--input", "mp3:song"], "--input"),
        (["rtp", "receive", "--port", "5004", "--key", goodKey, "--ssrc", "1", "--output", "tone:440"], "--output"),
        (["rtp", "receive", "--port", "0", "--key", goodKey, "--ssrc", "1", "--output", "null"], "--port"),
        (["rtp", "send", "--to", "127.0.0.1:5004", "--key", goodKey, "--ssrc", "1", "--input", "/nonexistent/in.wav", "--duration", "1"], "in.wav"),
        (["rtp", "send", "--to", "127.0.0.1:65535", "--key", goodKey, "--ssrc", "1"], "--rtcp-mux"),
        // The sound check is the terminal front's: headless it would do nothing.
        (["connect", "wss://127.0.0.1:1", "--token", "t", "--headless", "--device-check"], "--device-check"),
        (["join", "wss://127.0.0.1:1/room", "--token", "t", "--headless", "--device-check"], "confab devices --test"),
    ])
    func badArguments(arguments: [String], mentions: String) async throws {
        let run = try ChildProcess(BuiltProducts.confab, arguments)
        let status = await run.wait(seconds: 10)
        #expect(status != 0)
        let lines = run.standardError.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(run.standardError)")
        #expect(run.standardError.contains(mentions))
        #expect(run.standardError.hasPrefix("confab: "))
    }

    @Test("a server that exits at start (a bad config) is reported at once, with the line it printed")
    func serverThatExitsAtStart() async throws {
        let started = ContinuousClock.now
        let error = await #expect(throws: ToolError.self) {
            _ = try await ServerProcess(config: "[keepalive]\npingIntervalMs = \"often\"\n")
        }
        #expect(error?.description.contains("exited with 1") == true, "\(String(describing: error))")
        #expect(error?.description.contains("pingIntervalMs") == true, "says what was wrong: \(String(describing: error))")
        #expect(ContinuousClock.now - started < .seconds(20), "not after the minute it waits for a server that is starting")
    }

    @Test("each client command's help names the token it takes: a user token for connect and calls, a room token for join")
    func tokenHelp() async throws {
        for (command, expected, foreign) in [
            ("connect", "confab token --user", "--room"), ("calls", "confab token --user", "--room"),
            ("join", "confab token --room", "a user token"),
        ] {
            let run = try ChildProcess(BuiltProducts.confab, [command, "--help"])
            #expect(await run.wait(seconds: 10) == 0)
            let help = run.standardOutput + run.standardError
            #expect(help.contains(expected), "\(command) --help: \(help)")
            #expect(!help.contains(foreign), "\(command) --help offers \(foreign)")
        }
    }

    @Test("confab devices says there is no sound card here, and lists null in JSON")
    func devices() async throws {
        let text = try ChildProcess(BuiltProducts.confab, ["devices"])
        #expect(await text.wait(seconds: 10) == 0)
        #expect(text.standardOutput.contains("null"))
        let json = try ChildProcess(BuiltProducts.confab, ["devices", "--json"])
        #expect(await json.wait(seconds: 10) == 0)
        struct Device: Decodable { var name: String }
        let devices = try JSONDecoder().decode([Device].self, from: Data(json.standardOutput.utf8))
        #expect(devices.contains { $0.name == "null" })
    }

    @Test("confab devices --test plays a second of tone on the output and shows the input's level; a silent or missing microphone fails")
    func deviceCheck() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let wav = dir.file("speaker.wav")
        let run = try ChildProcess(BuiltProducts.confab, ["devices", "--test", "--input", "tone:300", "--output", wav, "--seconds", "1"])
        #expect(await run.wait(seconds: 20) == 0, "\(run.standardError)")
        #expect(run.standardOutput.contains("Playing a tone on speaker.wav"))
        // The tone's level (peak 0.3 of full scale: −13.5 dBov), a line each half second, then the verdict.
        let levels = run.standardOutput.split(separator: "\n").filter { $0.hasPrefix("level ") }
        #expect(levels.count == 2, "\(run.standardOutput)")
        #expect(levels.allSatisfy { $0.hasSuffix(" -13 dBov") || $0.hasSuffix(" -14 dBov") }, "\(levels)")
        #expect(run.standardOutput.contains("The microphone works"))
        // What the speaker got: one second of 440 Hz at −15 dBov (peak −12 dBFS).
        let played = try readWAV(wav)
        #expect(played.count == 48_000)
        let level = played.withUnsafeBufferPointer { LevelMeter.dBov($0) }
        #expect(abs(level - (-15.05)) < 0.2, "\(level) dBov")

        let silent = try ChildProcess(BuiltProducts.confab, ["devices", "--test", "--input", "silence", "--output", "null", "--seconds", "1"])
        #expect(await silent.wait(seconds: 20) != 0)
        #expect(silent.standardError.contains("heard nothing"), "\(silent.standardError)")

        let missing = try ChildProcess(BuiltProducts.confab, ["devices", "--test", "--input", "alsa:hw:7,0", "--output", "null"])
        #expect(await missing.wait(seconds: 20) != 0)
        #expect(missing.standardError.hasPrefix("confab: cannot open the input alsa:hw:7,0"), "\(missing.standardError)")
    }

    /// A 48 kHz mono WAV's samples, through Confab's own reader.
    func readWAV(_ path: String) throws -> [Int16] {
        let source = try WAVFileSource(path: path)
        var all: [Int16] = []
        var frame = [Int16](repeating: 0, count: 960)
        while true {
            let count = try frame.withUnsafeMutableBufferPointer { try source.read(into: $0) }
            guard count > 0 else { break }
            all += frame[0..<count]
        }
        return all
    }

    @Test("a missing sound card falls back to null audio with one notice")
    func missingCard() async throws {
        let port = freeUDPPort()
        let run = try ChildProcess(BuiltProducts.confab, ["rtp", "receive", "--port", "\(port)", "--bind", "127.0.0.1", "--key", Self.goodKey,
                                                         "--ssrc", "1", "--output", "alsa:hw:7,0", "--duration", "0.5", "--json"])
        #expect(await run.wait(seconds: 10) == 0, "\(run.standardError)")
        #expect(run.standardError.contains("No playback device hw:7,0"))
        #expect(run.standardOutput.contains("\"received\":0"))
    }

    /// Two sockets on PORT and PORT+1: where `confab rtp send --to 127.0.0.1:PORT` puts RTP and RTCP.
    @Test("rtp send: RTCP sender reports go to PORT+1 (RFC 3550), or to PORT with --rtcp-mux (RFC 5761)", arguments: [false, true])
    func rtcpPort(mux: Bool) async throws {
        var pair: (rtp: UDPSocket, rtcp: UDPSocket)?
        for _ in 0..<20 where pair == nil {
            let rtp = try UDPSocket(bindTo: "127.0.0.1", port: 0)
            if let rtcp = try? UDPSocket(bindTo: "127.0.0.1", port: rtp.localAddress.port + 1) { pair = (rtp, rtcp) }
        }
        let sockets = try #require(pair)
        let sender = try ChildProcess(BuiltProducts.confab, [
            "rtp", "send", "--to", "127.0.0.1:\(sockets.rtp.localAddress.port)", "--key", Self.goodKey, "--ssrc", "7",
            "--input", "tone:440", "--duration", "4",
        ] + (mux ? ["--rtcp-mux"] : []))
        // Second byte 200: a sender report (RFC 3550 §6.4.1); 111 (+ marker bit): Opus RTP.
        var rtcpOnRTPPort = 0, rtcpOnNextPort = 0, rtpPackets = 0
        let batch = DatagramBatch(capacity: 32, bufferSize: 2_048)
        try await waitUntil(timeout: .seconds(15), every: .milliseconds(10)) {
            for (socket, isRTCPPort) in [(sockets.rtp, false), (sockets.rtcp, true)] {
                let count = try socket.receive(into: batch, timeoutMs: 0)
                for i in 0..<count {
                    let bytes = batch.datagram(i)
                    guard bytes.count > 1 else { continue }
                    if bytes[1] == 200 {
                        if isRTCPPort { rtcpOnNextPort += 1 } else { rtcpOnRTPPort += 1 }
                    } else if !isRTCPPort {
                        rtpPackets += 1
                    }
                }
            }
            return rtcpOnRTPPort + rtcpOnNextPort > 0
        }
        #expect(await sender.wait(seconds: 20) == 0, "\(sender.standardError)")
        #expect(rtpPackets > 50)
        if mux {
            #expect(rtcpOnRTPPort >= 1 && rtcpOnNextPort == 0)
        } else {
            #expect(rtcpOnNextPort >= 1 && rtcpOnRTPPort == 0)
        }
    }
}
