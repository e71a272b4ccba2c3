// More forwarding decisions at given times: a subscriber that pauses or
// moves, a publisher muted and back, unsubscribing, a peer leaving in the
// middle of a burst, RTCP, a sender that restarts its sequence, and who the
// speaker detector lists (threshold, hangover) from the levels in the packets.

@testable import ConfabServer
import ConfabProtocol
import ConfabSocket
import ConfabWire
import Testing

extension ForwarderTests {
    static let frame: UInt64 = 20_000_000

    /// The sequence number an RTP datagram carries (RFC 3550 §5.1).
    static func sequence(of bytes: [UInt8]) -> UInt16 { UInt16(bytes[2]) << 8 | UInt16(bytes[3]) }

    /// An SRTCP sender report (RFC 3550 §6.4.1; RFC 3711 §3.4 trailer: E flag + index, 10-byte tag) from `ssrc`.
    static func senderReport(ssrc: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [0x80, 200, 0x00, 0x06]
        withUnsafeBytes(of: ssrc.bigEndian) { bytes += $0 }
        bytes += [UInt8](repeating: 0xC3, count: 20)  // NTP and RTP timestamps, counts: encrypted
        bytes += [0x80, 0, 0, 1]
        return bytes + [UInt8](repeating: 0x7A, count: 10)
    }

    @Test("a subscriber that stops (binding expired) and comes back, or moves address, gets the publisher's bytes with their own sequence numbers")
    func subscriberPauseAndSwitch() throws {
        let harness = try Harness.bound([Self.alice, Self.bob, Self.lee])
        var now = Self.second
        var sequence: UInt16 = 65_530  // wraps during the test
        func speak(_ count: Int) -> [(SocketAddress, [UInt8])] {
            var sent: [(SocketAddress, [UInt8])] = []
            for _ in 0..<count {
                now += Self.frame
                sent += harness.feed(Self.rtp(Self.alice, sequence: sequence), from: Self.alice.address, at: now)
                sequence &+= 1
            }
            return sent
        }
        #expect(speak(5).count == 10)
        // Lee falls silent past the binding timeout (no keepalive): a pause.
        now += 31 * Self.second
        _ = try harness.bind(Self.alice, at: now)
        _ = try harness.bind(Self.bob, at: now)
        harness.forwarder.sweep(nowNs: now)
        #expect(harness.forwarder.counters.bindingsExpired == 1)
        let paused = speak(5)
        #expect(paused.map(\.0) == Array(repeating: Self.bob.address, count: 5))
        // Lee binds again: the next packet reaches him as alice sent it, numbered as she numbered it.
        #expect(try harness.bind(Self.lee, at: now))
        let resumed = speak(1)
        #expect(resumed.map(\.0) == [Self.bob.address, Self.lee.address])
        #expect(resumed.allSatisfy { $0.1 == Self.rtp(Self.alice, sequence: 4) })
        // Bob switches to a new address (a new network): the copies follow him, untouched.
        let moved = SocketAddress(ipv4: 0x0A00_0102, port: 41_002)
        #expect(try harness.bind(Self.bob, at: now, from: moved))
        let afterMove = speak(3)
        #expect(afterMove.filter { $0.0 == moved }.map { Self.sequence(of: $0.1) } == [5, 6, 7])
        #expect(!afterMove.contains { $0.0 == Self.bob.address })
        #expect(harness.forwarder.counters.dropped(.replay) + harness.forwarder.counters.dropped(.sequenceJump) == 0)
    }

    @Test("a publisher muted for 4 s and unmuted: refused meanwhile, then forwarded on; silentMs counts from the unmute time given")
    func publisherPause() throws {
        let harness = Harness(at: Self.second)
        for member in [Self.alice, Self.bob] { #expect(try harness.bind(member, at: Self.second)) }
        let talking = [
            harness.config(Self.alice, mayPublish: true, subscribers: [2, 3]),
            harness.config(Self.bob, mayPublish: true, subscribers: [1]),
        ]
        var muted = talking
        muted[0].mayPublish = false
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 10), from: Self.alice.address, at: 2 * Self.second).count == 1)
        harness.post(muted, at: 2 * Self.second)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 11), from: Self.alice.address, at: 3 * Self.second).isEmpty)
        #expect(harness.forwarder.counters.dropped(.notPermitted) == 1)
        #expect(harness.report(Self.alice, at: 3 * Self.second)?.silentMs == nil, "muted: nothing expected")
        harness.post(talking, at: 6 * Self.second)
        #expect(harness.report(Self.alice, at: 6 * Self.second + 1_500_000_000)?.silentMs == 1_500)
        // The sender's numbering went on while muted (a gap of 200): in order, no jump.
        let after = harness.feed(Self.rtp(Self.alice, sequence: 211), from: Self.alice.address, at: 8 * Self.second)
        #expect(after.map { Self.sequence(of: $0.1) } == [211])
        let report = try #require(harness.report(Self.alice, at: 8 * Self.second))
        #expect(report.silentMs == 0)
        #expect(report.packets == 2 && report.expected == 202 && report.lost == 200)
    }

    @Test("a subscriber whose role stops hearing the publisher (unsubscribed) gets nothing more; the others still do")
    func unsubscribe() throws {
        let harness = try Harness.bound([Self.alice, Self.bob, Self.lee])
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 1), from: Self.alice.address, at: Self.second).count == 2)
        harness.post([
            harness.config(Self.alice, mayPublish: true, subscribers: [2]),
            harness.config(Self.bob, mayPublish: true, subscribers: [1]),
            harness.config(Self.lee, mayPublish: false, subscribers: []),
        ], at: Self.second)
        let sent = harness.feed(Self.rtp(Self.alice, sequence: 2), from: Self.alice.address, at: Self.second + Self.frame)
        #expect(sent.map(\.0) == [Self.bob.address])
        // Lee is still in the room and bound: subscribed again, he hears her again.
        harness.post([
            harness.config(Self.alice, mayPublish: true, subscribers: [2, 3]),
            harness.config(Self.bob, mayPublish: true, subscribers: [1]),
            harness.config(Self.lee, mayPublish: false, subscribers: []),
        ], at: Self.second)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 3), from: Self.alice.address, at: Self.second + 2 * Self.frame).count == 2)
    }

    @Test("a peer that leaves in the middle of a burst: later packets skip it, its own packets and bindings are refused")
    func leavingMidBurst() throws {
        let harness = try Harness.bound([Self.alice, Self.bob, Self.lee])
        var destinations: [[SocketAddress]] = []
        for sequence in UInt16(0)..<10 {
            if sequence == 5 {
                // Bob's `leave` reached the room between two batches.
                harness.post([
                    harness.config(Self.alice, mayPublish: true, subscribers: [3]),
                    harness.config(Self.lee, mayPublish: false, subscribers: []),
                ], at: Self.second + 5 * Self.frame)
            }
            let now = Self.second + UInt64(sequence) * Self.frame
            destinations.append(harness.feed(Self.rtp(Self.alice, sequence: sequence), from: Self.alice.address, at: now).map(\.0))
        }
        #expect(destinations.prefix(5).allSatisfy { $0 == [Self.bob.address, Self.lee.address] })
        #expect(destinations.suffix(5).allSatisfy { $0 == [Self.lee.address] })
        #expect(harness.feed(Self.rtp(Self.bob, sequence: 1), from: Self.bob.address, at: 2 * Self.second).isEmpty)
        #expect(harness.forwarder.counters.dropped(.unboundSource) == 1)
        #expect(try !harness.bind(Self.bob, at: 2 * Self.second), "his credentials went with him")
        #expect(harness.forwarder.takeReports(nowNs: 2 * Self.second).map(\.peer).sorted() == ["alice", "lee"])
    }

    @Test("SRTCP: a report from a publisher's SSRC goes untouched to its subscribers, outside the RTP sequence checks; others are refused")
    func rtcpRouting() throws {
        let harness = try Harness.bound([Self.alice, Self.bob, Self.lee])
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 500), from: Self.alice.address, at: Self.second).count == 2)
        let report = Self.senderReport(ssrc: Self.alice.ssrc)
        for _ in 0..<2 {
            // Twice: RTCP has no sequence number to replay-check.
            let sent = harness.feed(report, from: Self.alice.address, at: Self.second + Self.frame)
            #expect(sent.map(\.0) == [Self.bob.address, Self.lee.address])
            #expect(sent.allSatisfy { $0.1 == report })
        }
        #expect(harness.report(Self.alice, at: 2 * Self.second)?.packets == 1, "RTCP is not counted as audio")
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 501), from: Self.alice.address, at: 2 * Self.second).count == 2)
        // Bob reporting as alice; lee, a listener, reporting at all.
        #expect(harness.feed(report, from: Self.bob.address, at: 2 * Self.second).isEmpty)
        #expect(harness.forwarder.counters.dropped(.unknownSSRC) == 1)
        #expect(harness.feed(Self.senderReport(ssrc: Self.lee.ssrc), from: Self.lee.address, at: 2 * Self.second).isEmpty)
        #expect(harness.forwarder.counters.dropped(.notPermitted) == 1)
        #expect(harness.feed(report, from: Self.stranger, at: 2 * Self.second).isEmpty)
        #expect(harness.forwarder.counters.dropped(.unboundSource) == 1)
    }

    @Test("RFC 3550 A.1: a jump followed by its successor is a restarted sender and is believed; a rotated SSRC's late packets still go")
    func restartAndRotation() throws {
        let harness = try Harness.bound([Self.alice, Self.bob])
        var now = harness.sendInOrder(Self.alice, 100..<105, after: Self.second)
        now += Self.frame
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 40_000), from: Self.alice.address, at: now).isEmpty)
        now += Self.frame
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 40_001), from: Self.alice.address, at: now).count == 1)
        #expect(harness.forwarder.counters.dropped(.sequenceJump) == 1)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 104), from: Self.alice.address, at: now).isEmpty, "the old numbering is now far behind")
        // Alice rotates to a new SSRC; her old one's last packets are in flight.
        let rotated = Member(slot: 1, peer: "alice", username: Self.alice.username, password: Self.alice.password, address: Self.alice.address, ssrc: 0xA11CF)
        harness.post([
            harness.config(Self.alice, mayPublish: true, subscribers: [2, 3], ssrcs: (rotated.ssrc, Self.alice.ssrc)),
            harness.config(Self.bob, mayPublish: true, subscribers: [1]),
            harness.config(Self.lee, mayPublish: false, subscribers: []),
        ], at: now)
        #expect(harness.feed(Self.rtp(rotated, sequence: 7), from: Self.alice.address, at: now + Self.frame).count == 1)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 40_002), from: Self.alice.address, at: now + Self.frame).count == 1)
        let report = try #require(harness.report(Self.alice, at: now + Self.frame))
        #expect(report.packets == 1, "figures follow the current SSRC only")
    }

    @Test("speaker detection at given times: threshold, the voice flag, and a hangover that ends on time")
    func speakerHangover() throws {
        let harness = try Harness.bound([Self.alice, Self.bob])
        var detector = SpeakerDetector(settings: SpeakerDetectorSettings(hangoverMs: 1_000))
        var sequence: UInt16 = 0
        func send(level: UInt8, voice: Bool, at nowNs: UInt64) {
            let packet = MediaPeer.rtp(ssrc: Self.alice.ssrc, sequence: sequence, level: level, voice: voice)
            sequence += 1
            #expect(harness.feed(packet, from: Self.alice.address, at: nowNs).count == 1)
        }
        func speaking(at nowNs: UInt64) throws -> Bool {
            try detector.isSpeaking(#require(harness.report(Self.alice, at: nowNs)), nowNs: nowNs)
        }
        // −20 dBov, no voice flag: 67 on the 0…100 scale, above the threshold of 10.
        send(level: 20, voice: false, at: Self.second)
        #expect(try speaking(at: Self.second + 500_000_000))
        // Silence (127 = −127 dBov) afterwards: listed for the hangover's 1,000 ms, not a nanosecond more.
        send(level: 127, voice: false, at: 2 * Self.second)
        #expect(try speaking(at: 2 * Self.second))
        #expect(try speaking(at: 2 * Self.second + 500_000_000 - 1))
        #expect(try !speaking(at: 2 * Self.second + 500_000_000))
        // The voice flag alone counts; so does −54 dBov (10), but −55 dBov (8) does not.
        send(level: 127, voice: true, at: 3 * Self.second)
        #expect(try speaking(at: 3 * Self.second))
        var strict = SpeakerDetector()
        send(level: 54, voice: false, at: 5 * Self.second)
        #expect(try strict.isSpeaking(#require(harness.report(Self.alice, at: 5 * Self.second)), nowNs: 5 * Self.second))
        send(level: 55, voice: false, at: 6 * Self.second)
        #expect(try !strict.isSpeaking(#require(harness.report(Self.alice, at: 6 * Self.second)), nowNs: 6 * Self.second), "no hangover by default")
    }
}

@Suite("The media thread's wait")
struct MediaThreadWaitTests {
    @Test("with peers it wakes every 50 ms; idle, only until the last activity's figures are out, then never by itself")
    func waitLimit() {
        let tick: UInt64 = 10_000_000_000
        #expect(MediaPlane.waitLimitMs(idle: false, unpublished: false, nowNs: tick, nextTickNs: tick) == 50)
        #expect(MediaPlane.waitLimitMs(idle: false, unpublished: true, nowNs: 0, nextTickNs: tick) == 50)
        #expect(MediaPlane.waitLimitMs(idle: true, unpublished: false, nowNs: 0, nextTickNs: tick) == -1)
        #expect(MediaPlane.waitLimitMs(idle: true, unpublished: true, nowNs: tick - 40_000_000, nextTickNs: tick) == 40)
        #expect(MediaPlane.waitLimitMs(idle: true, unpublished: true, nowNs: tick - 1, nextTickNs: tick) == 1)
        #expect(MediaPlane.waitLimitMs(idle: true, unpublished: true, nowNs: tick + 5, nextTickNs: tick) == 0)
    }
}
