import ConfabMedia
import ConfabSocket
import ConfabTestSupport
import ConfabWire
import Foundation
import SRTP
import Testing

/// Builds real SRTP datagrams the way a sender does, for the receiver to judge.
struct DatagramFactory {
    let ssrc: UInt32
    let key: SRTPKeyMaterial
    let outbound: OutboundSession
    var sequence: UInt16 = 100
    var payloadType: UInt8 = 111
    let stream: EncodedStream

    init(ssrc: UInt32, key: SRTPKeyMaterial) throws {
        self.ssrc = ssrc
        self.key = key
        outbound = try OutboundSession(ssrc: ssrc, key: key)
        stream = try EncodedStream(count: 64)
    }

    mutating func next(payloadType: UInt8? = nil) throws -> [UInt8] {
        let payload = stream.packets[Int(sequence) % 64].payload
        var buffer = [UInt8](repeating: 0, count: 1_600)
        let header = RTPHeaderFields(payloadType: payloadType ?? self.payloadType, sequenceNumber: sequence,
                                     timestamp: UInt32(sequence) * 960, ssrc: ssrc)
        let length = try buffer.withUnsafeMutableBytes { out in
            try payload.withUnsafeBytes { try RTPPacket.write(header: header, payload: $0, into: out) }
        }
        let protected = try buffer.withUnsafeMutableBytes { try outbound.protect($0, length: length) }
        sequence &+= 1
        return Array(buffer[0..<protected])
    }
}

@Suite("Hostile input to the receive path")
struct HostileInputTests {
    func makeReceiver(ssrc: UInt32, key: SRTPKeyMaterial) throws -> MediaReceiver {
        let receiver = try MediaReceiver(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0), ring: PacketRing(),
                                         configuration: MediaConfiguration())
        receiver.addStream(ssrc: ssrc, key: key)
        receiver.applyStreamChanges()
        return receiver
    }

    func feed(_ receiver: MediaReceiver, _ bytes: [UInt8], truncated: Bool = false) {
        var copy = bytes
        copy.withUnsafeMutableBytes { receiver.handle($0, truncated: truncated, arrival: 0) }
    }

    @Test("each kind of bad datagram is counted under its reason and dropped")
    func countedByReason() async throws {
        let key = SRTPKeyMaterial.random()
        let receiver = try makeReceiver(ssrc: 42, key: key)
        var factory = try DatagramFactory(ssrc: 42, key: key)

        let good = try factory.next()
        feed(receiver, good)
        #expect(receiver.stats.snapshot.accepted == 1)

        // Truncated to every length below the RTP header.
        for n in 0..<12 { feed(receiver, Array(good[0..<n])) }
        #expect(receiver.stats.snapshot.malformed == 12)

        // Wrong RTP version (1 and 3).
        var v1 = try factory.next(); v1[0] = (v1[0] & 0x3f) | 0x40
        var v3 = try factory.next(); v3[0] = v3[0] | 0xc0
        feed(receiver, v1); feed(receiver, v3)
        #expect(receiver.stats.snapshot.malformed == 13)
        #expect(receiver.stats.snapshot.ignored == 1)  // version 1 looks like STUN/other to RFC 7983

        // Oversized (and cut short by the socket).
        feed(receiver, [UInt8](repeating: 0x80, count: 1_501))
        feed(receiver, good, truncated: true)
        #expect(receiver.stats.snapshot.oversized == 2)

        // Tampered payload byte: the tag no longer verifies.
        var tampered = try factory.next()
        tampered[20] ^= 0xff
        feed(receiver, tampered)
        #expect(receiver.stats.snapshot.authenticationFailures == 1)

        // Replayed: the same good datagram again.
        feed(receiver, good)
        #expect(receiver.stats.snapshot.replays == 1)

        // An SSRC nobody gave a key for.
        var stranger = try DatagramFactory(ssrc: 99, key: SRTPKeyMaterial.random())
        feed(receiver, try stranger.next())
        #expect(receiver.stats.snapshot.unknownSSRC == 1)

        // A payload type other than Opus' (authenticated, so it is the sender's choice).
        feed(receiver, try factory.next(payloadType: 0))
        #expect(receiver.stats.snapshot.unknownPayloadType == 1)

        // RTCP goes to SRTCP, not parsed as RTP: an RTP packet relabelled as a
        // sender report names no known sender (or fails SRTCP's tag) and counts for nothing.
        var rtcp = good; rtcp[1] = 200
        let rejectedBefore = receiver.stats.snapshot.unknownSSRC + receiver.stats.snapshot.authenticationFailures
        feed(receiver, rtcp)
        #expect(receiver.stats.snapshot.unknownSSRC + receiver.stats.snapshot.authenticationFailures == rejectedBefore + 1)
        #expect(receiver.stats.senderReports.load(ordering: .relaxed) == 0)

        // And a good one still goes through after all that.
        feed(receiver, try factory.next())
        #expect(receiver.stats.snapshot.accepted == 2)
    }

    @Test("100,000 random datagrams are all dropped and real audio keeps flowing")
    func garbageFlood() async throws {
        let key = SRTPKeyMaterial.random()
        let listener = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0))
        let scratch = try TempDirectory()
        defer { scratch.remove() }
        let sink = try WAVFileSink(path: scratch.file("heard.wav"))
        let playout = listener.startReceiving(sink: sink)
        let track = try listener.addRemoteTrack(ssrc: 5, key: key)
        let talker = try MediaEngine(socket: try UDPSocket(bindTo: "127.0.0.1", port: 0))
        let sender = try talker.startSending(
            source: SpeechLikeSource(seed: 2, durationSeconds: 3), ssrc: 5, key: key, to: listener.socket.localAddress)

        let attacker = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        // 1,000 random datagrams of 0–1,500 bytes, each sent 100 times.
        var rng = SeededRandom(seed: 99)
        var garbage: [[UInt8]] = []
        for i in 0..<1_000 {
            var junk = (0..<Int(rng.next() % 1_501)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Half of them look like RTP for the real SSRC, to reach the SRTP check.
            if i % 2 == 0 && junk.count >= 12 { junk[0] = 0x80; junk[1] = 111; junk[8...11] = [0, 0, 0, 5] }
            garbage.append(junk)
        }
        for round in 0..<100 {
            for junk in garbage {
                junk.withUnsafeBytes { _ = attacker.send($0, to: listener.socket.localAddress) }
            }
            if round % 2 == 0 { try await Task.sleep(for: .milliseconds(2)) }  // let the real stream interleave
        }
        // The three seconds of talk all sent (150 frames), then the play-out
        // past the jitter buffer's 400 ms ceiling, so the last frames are heard.
        await waitUntil(timeout: .seconds(20)) { sender.stats.packetsSent.load(ordering: .relaxed) >= 150 }
        let playedWhenAllSent = playout.stats.framesPlayed.load(ordering: .relaxed)
        await waitUntil(timeout: .seconds(10)) { playout.stats.framesPlayed.load(ordering: .relaxed) >= playedWhenAllSent + 25 }
        talker.stop()
        listener.stop()
        sink.close()
        let counters = listener.receiver.stats.snapshot
        // Only the real talker's datagrams are accepted (the kernel may drop a few
        // of them while the socket buffer is full of junk); the junk went under a reason.
        let sent = sender.stats.packetsSent.load(ordering: .relaxed)
        #expect(counters.accepted <= sent)
        // The flood fills the socket buffer for a second or two, so the kernel
        // drops some real datagrams too; most of the talk must still get through.
        #expect(sent >= 140)
        #expect(Double(counters.accepted) >= 0.85 * Double(sent))
        #expect(track.stats.received <= counters.accepted && track.stats.received >= counters.accepted - 10)
        #expect(counters.authenticationFailures + counters.malformed + counters.ignored + counters.oversized + counters.unknownSSRC + counters.replays > 20_000)
        #expect(track.stats.invalid == 0)
        // And what the listener played is the talker's speech, not the junk.
        let reference = try pcmOf(SpeechLikeSource(seed: 2, durationSeconds: 3))
        let match = SignalComparison.segmentedMatch(
            reference: reference, received: try WAVFile.read(path: scratch.file("heard.wav")), maxLagSamples: 48_000)
        print("garbage flood: the speech heard correlates \(match.correlation) over \(match.segments) segments")
        #expect(match.correlation >= 0.75, "correlation \(match.correlation)")
    }
}
