// `confab bench media`: the per-frame cost of the media paths, in one run, so
// ratios compare like with like on a noisy machine.
//
//   raw opus_encode ─┐                        raw opus_decode ─┐
//   send path  (capture frame → encode → RTP → SRTP → sendto)  │
//                    └─ ratio ≤ 1.15          receive path (unprotect → ring → jitter buffer → decode → mix)
//                                                              └─ ratio ≤ 1.25
//   SRTP protect / unprotect alone; heap allocations per frame in steady state (target 0).
import ArgumentParser
import CLinuxShims
import ConfabMedia
import ConfabSocket
import ConfabWire
import Foundation
import Glibc
import Opus
import SRTP

struct BenchMedia: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media",
        abstract: "Per-frame cost of Opus, SRTP and the engine's send and receive paths, and allocations per frame.",
        discussion: "Run it on a release build (make bench). Each figure is the best of --rounds rounds of --frames frames.")

    @Option(help: "Frames per round (20 ms each).")
    var frames = 2_000

    @Option(help: "Rounds; the best round counts (the machine is noisy).")
    var rounds = 5

    @OptionGroup var output: BenchOutput

    func validate() throws {
        guard frames >= 200 else { throw ValidationError("--frames must be at least 200") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
    }

    func run() throws {
        let counting = AllocationCounter.ensureActive()
        let results = try MediaBenchmark(frames: frames, rounds: rounds).run(countAllocations: counting)
        try output.print(results)
    }
}

struct MediaBenchResults: Codable, BenchReport {
    var frames: Int
    var rounds: Int
    var opusEncodeNs: Double
    var opusDecodeNs: Double
    var srtpProtectNs: Double
    var srtpUnprotectNs: Double
    var sendPathNs: Double
    var receivePathNs: Double
    var sendRatio: Double
    var receiveRatio: Double
    /// nil when the allocation counter could not be loaded.
    var sendAllocationsPerFrame: Double?
    var receiveAllocationsPerFrame: Double?
    /// Allocations inside one libsrtp2 protect / unprotect call (its crypto backend's).
    var srtpProtectAllocations: Double?
    var srtpUnprotectAllocations: Double?
    /// What Confab's own code allocates per frame: the path less libsrtp2's share.
    var engineSendAllocationsPerFrame: Double? {
        guard let path = sendAllocationsPerFrame, let srtp = srtpProtectAllocations else { return nil }
        return path - srtp
    }
    var engineReceiveAllocationsPerFrame: Double? {
        guard let path = receiveAllocationsPerFrame, let srtp = srtpUnprotectAllocations else { return nil }
        return path - srtp
    }
    var opusVersion: String
    var srtpVersion: String

    var table: String {
        func us(_ ns: Double) -> String { String(format: "%8.2f µs", ns / 1_000) }
        func allocations(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "not measured (interposer not loaded)" }
        return """
        confab bench media — \(frames) frames × \(rounds) rounds (best round), 20 ms mono frames at 48 kHz
        \(opusVersion), \(srtpVersion)

          raw opus_encode                 \(us(opusEncodeNs)) / frame
          raw opus_decode                 \(us(opusDecodeNs)) / frame
          SRTP protect                    \(us(srtpProtectNs)) / packet
          SRTP unprotect                  \(us(srtpUnprotectNs)) / packet
          send path (encode→RTP→SRTP→UDP) \(us(sendPathNs)) / frame   = \(String(format: "%.3f", sendRatio)) × encode  (target ≤ 1.15)
          receive path per track          \(us(receivePathNs)) / frame   = \(String(format: "%.3f", receiveRatio)) × decode  (target ≤ 1.25)
            (unprotect → ring → jitter buffer → decode → mix)
          heap allocations / frame        send \(allocations(sendAllocationsPerFrame)), receive \(allocations(receiveAllocationsPerFrame))  (target 0)
            of which inside libsrtp2      protect \(allocations(srtpProtectAllocations)), unprotect \(allocations(srtpUnprotectAllocations))
            Confab's own code             send \(allocations(engineSendAllocationsPerFrame)), receive \(allocations(engineReceiveAllocationsPerFrame))
        """
    }
}

/// The measurements. Every path works on the same speech-like frames.
struct MediaBenchmark {
    let frames: Int
    let rounds: Int

    /// Best time per frame [ns] and, when counted, allocations per frame.
    typealias Measurement = (ns: Double, allocationsPerFrame: Double?)

    func run(countAllocations: Bool) throws -> MediaBenchResults {
        if rounds == 1 && countAllocations {
            throw CommandFailure("use at least 2 rounds: the first one counts allocations")
        }
        // Speech-like PCM, made once.
        let source = SpeechLikeSource(seed: 3)
        var pcm = [Int16](repeating: 0, count: frames * configuration.frameSamples)
        _ = try pcm.withUnsafeMutableBufferPointer { try source.read(into: $0) }

        let (encodeNs, packets) = try measureEncode(pcm)
        let decodeNs = try measureDecode(packets)
        let sink = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        let send = try measureSendPath(pcm, to: sink, countAllocations: countAllocations)
        let datagrams = try captureDatagrams(pcm, through: sink)
        let (unprotect, protect) = try measureSRTP(datagrams, countAllocations: countAllocations)
        let receive = try measureReceivePath(datagrams, countAllocations: countAllocations)

        return MediaBenchResults(
            frames: frames, rounds: rounds, opusEncodeNs: encodeNs, opusDecodeNs: decodeNs,
            srtpProtectNs: protect.ns, srtpUnprotectNs: unprotect.ns, sendPathNs: send.ns, receivePathNs: receive.ns,
            sendRatio: send.ns / encodeNs, receiveRatio: receive.ns / decodeNs,
            sendAllocationsPerFrame: send.allocationsPerFrame, receiveAllocationsPerFrame: receive.allocationsPerFrame,
            srtpProtectAllocations: protect.allocationsPerFrame, srtpUnprotectAllocations: unprotect.allocationsPerFrame,
            opusVersion: Opus.version,
            srtpVersion: SRTPLibrary.version + (SRTPLibrary.supports(.aeadAes128Gcm) ? " (with a crypto library)" : " (built-in crypto)"))
    }

    let configuration = MediaConfiguration()
    let key = SRTPKeyMaterial.random()
    let ssrc: UInt32 = 0xBE7C_4000

    private func frame(_ f: Int, of all: UnsafeBufferPointer<Int16>) -> UnsafeBufferPointer<Int16> {
        let frameSamples = configuration.frameSamples
        return UnsafeBufferPointer(rebasing: all[(f * frameSamples)..<((f + 1) * frameSamples)])
    }

    /// Raw Opus encoding of every frame, keeping the packets for decoding.
    private func measureEncode(_ pcm: [Int16]) throws -> (ns: Double, packets: [[UInt8]]) {
        var packets: [[UInt8]] = []
        var encodeNs = Double.infinity
        for _ in 0..<rounds {
            let encoder = try Opus.Encoder(settings: configuration.encoder)
            var output = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
            var kept: [[UInt8]] = []
            kept.reserveCapacity(frames)
            var elapsed: UInt64 = 0
            try pcm.withUnsafeBufferPointer { all in
                try output.withUnsafeMutableBytes { out in
                    for f in 0..<frames {
                        let start = MonotonicClock.nanoseconds()
                        let n = try encoder.encode(frame(f, of: all), into: out)
                        elapsed += MonotonicClock.nanoseconds() - start
                        kept.append(Array(out[0..<n]))
                    }
                }
            }
            encodeNs = min(encodeNs, Double(elapsed) / Double(frames))
            packets = kept
        }
        return (encodeNs, packets)
    }

    private func measureDecode(_ packets: [[UInt8]]) throws -> Double {
        var decodeNs = Double.infinity
        for _ in 0..<rounds {
            let decoder = try Opus.Decoder()
            var out = [Int16](repeating: 0, count: Opus.maxFrameSamples)
            let start = MonotonicClock.nanoseconds()
            try out.withUnsafeMutableBufferPointer { pcmOut in
                for packet in packets {
                    _ = try packet.withUnsafeBytes { try decoder.decode($0, into: pcmOut) }
                }
            }
            decodeNs = min(decodeNs, Double(MonotonicClock.nanoseconds() - start) / Double(frames))
        }
        return decodeNs
    }

    /// The send path, for real: MediaSender to a UDP socket on loopback.
    private func measureSendPath(_ pcm: [Int16], to sink: UDPSocket, countAllocations: Bool) throws -> Measurement {
        var sendNs = Double.infinity
        var sendAllocations: Double?
        for round in 0..<rounds {
            let socket = try UDPSocket(bindTo: "127.0.0.1", port: 0)
            let sender = try MediaSender(source: SilenceSource(), socket: socket, destination: sink.localAddress,
                                         ssrc: ssrc, key: key, configuration: configuration)
            pcm.withUnsafeBufferPointer { all in
                let warmUp = 100
                for f in 0..<warmUp { sender.sendFrame(frame(f, of: all)) }
                let start = MonotonicClock.nanoseconds()
                for f in warmUp..<frames { sender.sendFrame(frame(f, of: all)) }
                sendNs = min(sendNs, Double(MonotonicClock.nanoseconds() - start) / Double(frames - warmUp))
                if countAllocations && round == 0 {
                    let counted = AllocationCounter.count { for f in 0..<frames { sender.sendFrame(frame(f, of: all)) } }
                    sendAllocations = Double(counted) / Double(frames)
                }
            }
            _ = drain(sink)
        }
        return (sendNs, sendAllocations)
    }

    /// One stream of real SRTP datagrams, for the receive side.
    private func captureDatagrams(_ pcm: [Int16], through sink: UDPSocket) throws -> [[UInt8]] {
        let captureSocket = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        let capturer = try MediaSender(source: SilenceSource(), socket: captureSocket, destination: sink.localAddress,
                                       ssrc: ssrc, key: key, configuration: configuration)
        var datagrams: [[UInt8]] = []
        pcm.withUnsafeBufferPointer { all in
            for f in 0..<frames {
                capturer.sendFrame(frame(f, of: all))
                datagrams += drain(sink)
            }
        }
        guard datagrams.count == frames else { throw CommandFailure("captured \(datagrams.count) of \(frames) datagrams") }
        return datagrams
    }

    /// SRTP alone, on the same packets: unprotect the datagrams, then protect
    /// the plain copies again on a fresh session.
    private func measureSRTP(_ datagrams: [[UInt8]], countAllocations: Bool) throws -> (unprotect: Measurement, protect: Measurement) {
        var unprotect: Measurement = (.infinity, nil), protect: Measurement = (.infinity, nil)
        for round in 0..<rounds {
            let counting = countAllocations && round == 0
            var plain: [[UInt8]] = []
            plain.reserveCapacity(frames)
            let unprotected = try timePerPacket(datagrams, counting: counting, session: {
                let inbound = try InboundSession()
                try inbound.addStream(ssrc: ssrc, key: key)
                return inbound
            }, keep: { plain.append($0) }, { session, buffer, length in try session.unprotect(buffer, length: length) })
            let protected = try timePerPacket(plain, counting: counting, session: {
                try OutboundSession(ssrc: ssrc, key: key)
            }, { session, buffer, length in try session.protect(buffer, length: length) })
            unprotect = (min(unprotect.ns, unprotected.ns), unprotected.allocationsPerFrame ?? unprotect.allocationsPerFrame)
            protect = (min(protect.ns, protected.ns), protected.allocationsPerFrame ?? protect.allocationsPerFrame)
        }
        return (unprotect, protect)
    }

    /// Runs `operation` on a copy of each packet in a work buffer, timing only
    /// the operation; when `counting`, runs the packets again on a fresh
    /// session counting allocations (steady state, not a first packet).
    private func timePerPacket<Session>(
        _ packets: [[UInt8]], counting: Bool, session makeSession: () throws -> Session,
        keep: ([UInt8]) -> Void = { _ in },
        _ operation: (Session, UnsafeMutableRawBufferPointer, Int) throws -> Int
    ) throws -> Measurement {
        var work = [UInt8](repeating: 0, count: 2_048)
        return try work.withUnsafeMutableBytes { buffer in
            let session = try makeSession()
            var elapsed: UInt64 = 0
            for packet in packets {
                packet.withUnsafeBytes { buffer.copyMemory(from: $0) }
                let start = MonotonicClock.nanoseconds()
                let n = try operation(session, buffer, packet.count)
                elapsed += MonotonicClock.nanoseconds() - start
                keep(Array(buffer[0..<n]))
            }
            guard counting else { return (Double(elapsed) / Double(packets.count), nil) }
            let counted = try makeSession()
            let allocations = AllocationCounter.count {
                for packet in packets {
                    packet.withUnsafeBytes { buffer.copyMemory(from: $0) }
                    _ = try? operation(counted, buffer, packet.count)
                }
            }
            return (Double(elapsed) / Double(packets.count), Double(allocations) / Double(packets.count))
        }
    }

    /// The receive path for one remote track: what the network and play-out
    /// threads do per frame, driven on this thread with a steady 20 ms clock.
    private func measureReceivePath(_ datagrams: [[UInt8]], countAllocations: Bool) throws -> Measurement {
        var receiveNs = Double.infinity
        var receiveAllocations: Double?
        for round in 0..<rounds {
            let socket = try UDPSocket(bindTo: "127.0.0.1", port: 0)
            let ring = PacketRing()
            let receiver = try MediaReceiver(socket: socket, ring: ring, configuration: configuration)
            let playout = PlayoutLoop(ring: ring, sink: NullSink(), configuration: configuration)
            receiver.addStream(ssrc: ssrc, key: key)
            receiver.applyStreamChanges()
            _ = try playout.addTrack(ssrc: ssrc)
            var work = [UInt8](repeating: 0, count: 2_048)
            work.withUnsafeMutableBytes { buffer in
                func step(_ f: Int) {
                    let datagram = datagrams[f]
                    datagram.withUnsafeBytes { buffer.copyMemory(from: $0) }
                    receiver.handle(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<datagram.count]), truncated: false,
                                    arrival: UInt64(f) * 20_000_000)
                    playout.playOneFrame()
                }
                let warmUp = 100
                for f in 0..<warmUp { step(f) }
                let measured = frames - warmUp
                let start = MonotonicClock.nanoseconds()
                if countAllocations && round == 0 {
                    let counted = AllocationCounter.count { for f in warmUp..<frames { step(f) } }
                    receiveAllocations = Double(counted) / Double(measured)
                } else {
                    for f in warmUp..<frames { step(f) }
                    receiveNs = min(receiveNs, Double(MonotonicClock.nanoseconds() - start) / Double(measured))
                }
            }
            guard receiver.stats.snapshot.accepted == frames else {
                throw CommandFailure("receive path accepted \(receiver.stats.snapshot.accepted) of \(frames) datagrams")
            }
        }
        return (receiveNs, receiveAllocations)
    }

    /// Reads whatever datagrams are waiting on `socket`.
    private func drain(_ socket: UDPSocket) -> [[UInt8]] {
        let batch = DatagramBatch(capacity: 32)
        var out: [[UInt8]] = []
        while let n = try? socket.receive(into: batch, timeoutMs: 0), n > 0 {
            for i in 0..<n { out.append(Array(batch.datagram(i))) }
        }
        return out
    }
}
