// `confab rtp send` and `confab rtp receive`: plain SRTP/Opus RTP tools in the
// spirit of trx, interoperable with GStreamer's srtpenc/srtpdec + rtpopuspay/depay.
import ArgumentParser
import ConfabMedia
import ConfabSocket
import Foundation
import SRTP
import Synchronization

struct RTP: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send or receive one SRTP/Opus RTP stream (no server, no signalling).",
        subcommands: [RTPSend.self, RTPReceive.self])
}

/// Options both directions share.
struct StreamOptions: ParsableArguments {
    @Option(help: "SRTP master key and salt as 60 hex digits (AES_CM_128_HMAC_SHA1_80).")
    var key: String

    @Option(help: "The stream's SSRC, decimal or 0x-hex.")
    var ssrc: String

    @Option(name: .customLong("frame-ms"), help: "Frame length in ms: 10 or 20.")
    var frameMs: Int = 20

    @Option(help: "RTP payload type for Opus.")
    var pt: UInt8 = 111

    @Option(help: "Stop after this many seconds (default: at the end of the input, or Ctrl-C).")
    var duration: Double?

    func validate() throws {
        _ = try keyMaterial()
        _ = try ssrcValue()
        guard frameMs == 10 || frameMs == 20 else { throw ValidationError("--frame-ms must be 10 or 20, not \(frameMs)") }
        guard pt <= 127 else { throw ValidationError("--pt must be 0-127") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be a positive number of seconds") }
    }

    func keyMaterial() throws -> SRTPKeyMaterial {
        do {
            return try SRTPKeyMaterial(hex: key)
        } catch {
            throw ValidationError("--key: \(error.description)")
        }
    }

    func ssrcValue() throws -> UInt32 {
        let text = ssrc.lowercased()
        let value = text.hasPrefix("0x") ? UInt32(text.dropFirst(2), radix: 16) : UInt32(text)
        guard let value else { throw ValidationError("--ssrc must be a 32-bit number (decimal or 0x-hex), not '\(ssrc)'") }
        return value
    }

    /// Returns once `finished` says the stream is over, after --duration
    /// seconds since `started`, or at Ctrl-C or SIGTERM (`StopSignal`).
    func waitUntilDone(since started: Date, finished: () -> Bool) {
        while !finished() && !StopSignal.raised.load(ordering: .relaxed) {
            if let duration, Date().timeIntervalSince(started) >= duration { break }
            usleep(20_000)
        }
    }

    func mediaConfiguration(bitrate: Int32? = nil) throws -> MediaConfiguration {
        var configuration = MediaConfiguration()
        configuration.frameMs = frameMs
        configuration.payloadType = pt
        if let bitrate { configuration.encoder.bitrate = bitrate }
        return configuration
    }
}

/// Ctrl-C and SIGTERM set a flag the wait loops poll; the commands then stop
/// their threads and finalise files normally.
enum StopSignal {
    static let raised = Atomic<Bool>(false)

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in StopSignal.raised.store(true, ordering: .relaxed) }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}

func parseDevice(_ text: String, option: String) throws -> AudioDeviceSpec {
    do {
        return try AudioDeviceSpec.parse(text)
    } catch {
        throw ValidationError("\(option): \(error.description)")
    }
}

struct RTPSend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Capture or read audio, encode it with Opus and send it as SRTP.",
        discussion: """
        Example: confab rtp send --to 127.0.0.1:5004 --key $(openssl rand -hex 30) --ssrc 0x1234 --input speech.wav

        RTCP sender reports (SRTCP) go to PORT+1 (RFC 3550), where a receiver without an RTCP \
        branch never sees them; --rtcp-mux sends them to PORT instead (RFC 5761), for a receiver \
        that demultiplexes them (confab rtp receive does).
        """)

    @Option(help: "Destination HOST:PORT.")
    var to: String

    @Flag(name: .customLong("rtcp-mux"), help: "Send RTCP on the RTP port (RFC 5761) instead of PORT+1.")
    var rtcpMux = false

    @OptionGroup var stream: StreamOptions

    @Option(help: "What to send: FILE.wav, tone:HZ, speech[:SEED], silence, or alsa:NAME.")
    var input = "tone:440"

    @Option(help: "Opus bitrate in bit/s (6000-510000).")
    var bitrate: Int32 = 32_000

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    func validate() throws {
        guard (6_000...510_000).contains(bitrate) else { throw ValidationError("--bitrate must be 6000-510000 bit/s") }
        _ = try parseDevice(input, option: "--input")
        let destination: SocketAddress
        do { destination = try SocketAddress(parsing: to) } catch { throw ValidationError("--to: \(error.description)") }
        if !rtcpMux && destination.port == 65_535 {
            throw ValidationError("--to: port 65535 leaves no PORT+1 for RTCP; pick another port or add --rtcp-mux")
        }
    }

    func run() throws {
        let destination = try SocketAddress(parsing: to)
        let socket = try UDPSocket(bindTo: destination.family == AF_INET6 ? "::" : "0.0.0.0", port: 0)
        let configuration = try stream.mediaConfiguration(bitrate: bitrate)
        let source: AudioSource
        do {
            source = try AudioDevices.openSource(try parseDevice(input, option: "--input"), frameSamples: configuration.frameSamples,
                                                 durationSeconds: stream.duration) { FileHandleOutput.standardError("confab: \($0)") }
        } catch {
            throw CommandFailure("cannot open --input \(input): \(error)")
        }
        let engine = try MediaEngine(socket: socket, configuration: configuration)
        StopSignal.install()
        let started = Date()
        // Without a negotiation both ends must agree on RTCP muxing (RFC 5761 §4): not by default.
        let rtcpDestination = rtcpMux ? destination : try SocketAddress(host: destination.hostText, port: destination.port + 1)
        let sender = try engine.startSending(source: source, ssrc: try stream.ssrcValue(), key: try stream.keyMaterial(),
                                             to: destination, rtcpTo: rtcpDestination)
        stream.waitUntilDone(since: started) { sender.finished.load(ordering: .acquiring) }
        engine.stop()
        source.close()
        if let failure = sender.failure { throw CommandFailure("input failed: \(failure)") }
        let summary = SendSummary(
            packets: sender.stats.packetsSent.load(ordering: .relaxed),
            bytes: sender.stats.bytesSent.load(ordering: .relaxed),
            frames: sender.stats.framesCaptured.load(ordering: .relaxed),
            sendFailures: sender.stats.sendFailures.load(ordering: .relaxed),
            seconds: Date().timeIntervalSince(started))
        if json {
            print(try summary.jsonLine())
        } else {
            FileHandleOutput.standardError(String(format: "confab: sent %d packets (%d bytes) of %d frames in %.1f s to %@; %d send failures",
                                                  summary.packets, summary.bytes, summary.frames, summary.seconds, destination.description, summary.sendFailures))
        }
    }
}

struct SendSummary: Codable {
    var packets, bytes, frames, sendFailures: Int
    var seconds: Double
}

struct RTPReceive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive",
        abstract: "Receive one SRTP/Opus stream, play it out through a jitter buffer, and report its stats.")

    @Option(help: "UDP port to listen on.")
    var port: Int

    @Option(help: "Address to listen on.")
    var bind = "0.0.0.0"

    @OptionGroup var stream: StreamOptions

    @Option(help: "Where the audio goes: FILE.wav, null, or alsa:NAME.")
    var output: String

    @Option(name: .customLong("min-delay-ms"), help: "The jitter buffer's lowest target delay in ms.")
    var minDelayMs = 20

    @Flag(help: "Print the stats as JSON on stdout.")
    var json = false

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535") }
        let spec = try parseDevice(output, option: "--output")
        switch spec {
        case .wav, .null, .alsa: break
        default: throw ValidationError("--output must be FILE.wav, null, or alsa:NAME")
        }
        guard (0...1000).contains(minDelayMs) else { throw ValidationError("--min-delay-ms must be 0-1000") }
    }

    func run() throws {
        var configuration = try stream.mediaConfiguration()
        configuration.jitter.minimumDelayMs = minDelayMs
        let socket: UDPSocket
        do {
            socket = try UDPSocket(bindTo: bind, port: port)
        } catch {
            throw CommandFailure("cannot listen on \(bind):\(port): \(error.description)")
        }
        let sink: AudioSink
        do {
            sink = try AudioDevices.openSink(try parseDevice(output, option: "--output"), frameSamples: configuration.frameSamples) {
                FileHandleOutput.standardError("confab: \($0)")
            }
        } catch {
            throw CommandFailure("cannot open --output \(output): \(error)")
        }
        let engine = try MediaEngine(socket: socket, configuration: configuration)
        StopSignal.install()
        let playout = engine.startReceiving(sink: sink)
        let track = try engine.addRemoteTrack(ssrc: try stream.ssrcValue(), key: try stream.keyMaterial())
        let started = Date()
        stream.waitUntilDone(since: started) { playout.finished.load(ordering: .acquiring) }
        engine.stop()
        sink.close()
        if let failure = playout.failure { throw CommandFailure("output failed: \(failure)") }
        let summary = ReceiveSummary(jitter: track.stats, network: engine.receiver.stats.snapshot,
                                     seconds: Date().timeIntervalSince(started))
        if json {
            print(try summary.jsonLine())
        } else {
            print(summary.text)
        }
    }
}

struct ReceiveSummary: Codable {
    var jitter: JitterStats
    var network: ReceiverCounters
    var seconds: Double

    var text: String {
        let j = jitter, n = network
        return """
        received \(j.received) packets in \(String(format: "%.1f", seconds)) s: \
        lost \(j.lost), recovered by FEC \(j.recoveredByFEC), played from RED copies \(j.recoveredByRED), concealed \(j.concealed), late \(j.late), duplicate \(j.duplicate)
        dropped: auth failures \(n.authenticationFailures), replays \(n.replays), malformed \(n.malformed), \
        oversized \(n.oversized), unknown SSRC \(n.unknownSSRC), unknown payload type \(n.unknownPayloadType)
        jitter mean \(String(format: "%.2f", j.meanJitterMs)) ms, max \(String(format: "%.2f", j.maxJitterMs)) ms; \
        play-out delay \(String(format: "%.0f", j.currentDelayMs)) ms (target \(String(format: "%.0f", j.targetDelayMs)) ms)
        """
    }
}

extension Encodable {
    func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
