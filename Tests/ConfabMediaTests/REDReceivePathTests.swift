import ConfabMedia
import ConfabSocket
import ConfabTestSupport
import ConfabWire
import Opus
import SRTP
import Testing

/// RED from a real MediaSender through SRTP and a real MediaReceiver into a
/// play-out track, one frame at a time on the test's thread (loopback socket,
/// no timing involved), with chosen packets dropped on the way.
@Suite("RED through the send and receive paths", .serialized)
struct REDReceivePathTests {
    struct Outcome {
        var output: [Int16] = []
        var stats = JitterStats()
        var receiver: ReceiverCounters? = nil
        var redundantPackets = 0
        var largestPacket = 0
    }

    /// Sends `frames` voiced frames asking for `copies` RED copies, drops the
    /// packets in `dropped`, and plays what arrives.
    func send(frames: Int, copies: Int, dropped: Set<Int>, muted: Set<Int> = [],
              receiverConfiguration: MediaConfiguration = MediaConfiguration()) throws -> Outcome {
        let key = SRTPKeyMaterial.random()
        let ssrc: UInt32 = 0x00DE_D0BE
        let listening = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        let sending = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        let sender = try MediaSender(source: SilenceSource(), socket: sending, destination: listening.localAddress,
                                     ssrc: ssrc, key: key, configuration: MediaConfiguration())
        if copies > 0 { sender.encoderControl.request(Opus.EncoderSettings(), redundantFrames: copies) }
        let ring = PacketRing()
        let receiver = try MediaReceiver(socket: listening, ring: ring, configuration: receiverConfiguration)
        receiver.addStream(ssrc: ssrc, key: key)
        receiver.applyStreamChanges()
        // Three frames of delay: play-out starts once three packets are in and
        // stays two frames behind the newest, so a frame's copies have come by its turn.
        let track = try PlayoutTrack(ssrc: ssrc, configuration: JitterBufferConfiguration(minimumDelayMs: 60))
        let batch = DatagramBatch(capacity: 4, bufferSize: 2_048)
        var outcome = Outcome()
        var frame = [Int16](repeating: 0, count: 960)
        for i in 0..<frames {
            sender.muted.store(muted.contains(i), ordering: .relaxed)
            voicedFrame(i).withUnsafeBufferPointer { sender.sendFrame($0) }
            if !muted.contains(i) {
                let count = try listening.receive(into: batch, timeoutMs: 2_000)
                try #require(count == 1)
                outcome.largestPacket = max(outcome.largestPacket, batch.datagram(0).count)
                if !dropped.contains(i) {
                    receiver.handle(batch.datagram(0), truncated: false, arrival: UInt64(i) * 20_000_000)
                }
            }
            ring.drain { header, payload in
                track.insert(payload: payload, sequenceNumber: header.sequenceNumber, timestamp: header.timestamp,
                             arrivalNanoseconds: header.arrivalNanoseconds, isRedundantCopy: header.isRedundantCopy)
            }
            if i >= 2 {
                frame.withUnsafeMutableBufferPointer { _ = track.pull(into: $0, frameMs: 20) }
                outcome.output += frame
            }
        }
        track.publishStats()
        outcome.stats = track.monitor.stats
        outcome.receiver = receiver.stats.snapshot
        outcome.redundantPackets = receiver.stats.redundantPackets.load(ordering: .relaxed)
        return outcome
    }

    @Test("with two copies, frames whose packets were dropped play exactly as if nothing had been lost")
    func recoveredFramesAreExact() throws {
        let dropped: Set<Int> = [10, 20, 21, 35]
        let clean = try send(frames: 50, copies: 2, dropped: [])
        let lossy = try send(frames: 50, copies: 2, dropped: dropped)
        #expect(clean.stats.lost == 0)
        #expect(lossy.stats.recoveredByRED == 4)
        #expect(lossy.stats.lost == 0 && lossy.stats.concealed == 0 && lossy.stats.recoveredByFEC == 0)
        // The first packet has no earlier frame to carry and goes as plain Opus.
        #expect(lossy.redundantPackets == 50 - dropped.count - 1)
        #expect(lossy.receiver?.malformed == 0 && lossy.receiver?.unknownPayloadType == 0)
        // The decoder saw the same frames in the same order: the same samples.
        #expect(lossy.output == clean.output)
        #expect(lossy.output.contains { $0 != 0 })
    }

    @Test("across a muted stretch the copies stay with their own frames: none plays twice, and a loss after it is recovered")
    func copiesAcrossAPause() throws {
        // Frames 20–23 are muted (not sent; the sequence numbers go on without
        // a gap), so the packet of frame 24 carries a copy of frame 19.
        let muted: Set<Int> = [20, 21, 22, 23]
        let clean = try send(frames: 40, copies: 1, dropped: [], muted: muted)
        #expect(clean.stats.recoveredByRED == 0 && clean.stats.duplicate == 0 && clean.stats.lost == 0)
        let lossy = try send(frames: 40, copies: 1, dropped: [25], muted: muted)
        #expect(lossy.stats.recoveredByRED == 1)
        #expect(lossy.stats.lost == 0)
        #expect(lossy.output == clean.output, "frame 25 played as itself")
    }

    @Test("with RED not asked for, packets are plain Opus and a lost one is concealed or rebuilt from FEC")
    func plainWhenClean() throws {
        let plain = try send(frames: 30, copies: 0, dropped: [10])
        #expect(plain.redundantPackets == 0)
        #expect(plain.stats.recoveredByRED == 0)
        #expect(plain.stats.lost == 1)
        let red = try send(frames: 30, copies: 1, dropped: [])
        #expect(red.largestPacket > plain.largestPacket, "a copy costs bytes on the wire")
    }

    @Test("a listener that does not take the RED payload type counts the packets and plays nothing of them")
    func listenerWithoutRED() throws {
        var older = MediaConfiguration()
        older.redPayloadType = 0x7F  // stands for a listener that knows only Opus
        let outcome = try send(frames: 20, copies: 1, dropped: [])
        let unknown = try send(frames: 20, copies: 1, dropped: [], receiverConfiguration: older)
        #expect(outcome.receiver?.unknownPayloadType == 0)
        // The first packet has no earlier frame and goes as plain Opus; the others as RED.
        #expect(unknown.receiver?.unknownPayloadType == 19)
        #expect(unknown.stats.received == 1)
    }

    @Test("hostile RED payloads with a valid key are refused as malformed, without crash")
    func hostilePayloads() throws {
        let key = SRTPKeyMaterial.random()
        let ssrc: UInt32 = 0x0BAD_0BAD
        let listening = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        let configuration = MediaConfiguration()
        let ring = PacketRing()
        let receiver = try MediaReceiver(socket: listening, ring: ring, configuration: configuration)
        receiver.addStream(ssrc: ssrc, key: key)
        receiver.applyStreamChanges()
        let outbound = try OutboundSession(ssrc: ssrc, key: key)
        let payloads: [[UInt8]] = [
            [],
            [0xEF, 0x0F],
            [0xEF, 0x0F, 0x00, 0x05, 0x6F, 1, 2],  // overruns
            [0xEF, 0xFF, 0xFF, 0xFF, 0x6F] + [UInt8](repeating: 0xFF, count: 40),
            [0x6F],  // a primary with no data
            [0x05, 0xF8, 0xFF, 0xFE],  // a primary of another payload type
        ]
        var buffer = [UInt8](repeating: 0, count: 1_600)
        for (i, payload) in payloads.enumerated() {
            let header = RTPHeaderFields(marker: false, payloadType: configuration.redPayloadType,
                                         sequenceNumber: UInt16(100 + i), timestamp: UInt32(960 * i), ssrc: ssrc)
            let length = try buffer.withUnsafeMutableBytes { out in
                try payload.withUnsafeBytes { p in
                    let rtp = try RTPPacket.write(header: header, extensions: HeaderExtensionList(), payload: p, into: out)
                    return try outbound.protect(out, length: rtp)
                }
            }
            buffer.withUnsafeMutableBytes { receiver.handle(UnsafeMutableRawBufferPointer(rebasing: $0[0..<length]), truncated: false, arrival: 0) }
        }
        let counters = receiver.stats.snapshot
        #expect(counters.authenticationFailures == 0)
        #expect(counters.malformed == 4)
        #expect(counters.unknownPayloadType == 2)
        #expect(counters.accepted == 0)
        #expect(ring.drain { _, _ in } == 0)
    }
}
