// The forwarding decisions without a socket: datagrams and times go in,
// what the forwarder would send (a DatagramSendBatch, STUN answers) comes
// out. A room of three: alice (publishes; bob and lee hear her), bob
// (publishes; alice hears him), lee (a listener: hears alice, publishes nothing).

@testable import ConfabServer
import ConfabProtocol
import ConfabSocket
import ConfabWire
import Foundation
import Testing

@Suite("Forwarder: forwarding decisions with given datagrams and times")
struct ForwarderTests {
    struct Member {
        let slot: Int
        let peer: PeerID
        let username: String
        let password: String
        let address: SocketAddress
        let ssrc: UInt32
    }

    static let room = 7
    static let alice = Member(slot: 1, peer: "alice", username: "aliceuser0000001", password: "alice-password-000000000", address: SocketAddress(ipv4: 0x0A00_0001, port: 40_001), ssrc: 0xA11CE)
    static let bob = Member(slot: 2, peer: "bob", username: "bobuser000000002", password: "bob-password-00000000000", address: SocketAddress(ipv4: 0x0A00_0002, port: 40_002), ssrc: 0xB0B)
    static let lee = Member(slot: 3, peer: "lee", username: "leeuser000000003", password: "lee-password-00000000000", address: SocketAddress(ipv4: 0x0A00_0003, port: 40_003), ssrc: 0x1EE)
    static let stranger = SocketAddress(ipv4: 0x0A00_0063, port: 40_099)
    static let second: UInt64 = 1_000_000_000

    final class Harness {
        let forwarder = Forwarder(bindingTimeoutMs: 30_000)
        let batch = DatagramSendBatch(capacity: 64)
        var answers: [(bytes: [UInt8], to: SocketAddress)] = []
        /// Datagrams kept alive while the batch points at them.
        var kept: [[UInt8]] = []

        init(aliceMayPublish: Bool = true, at nowNs: UInt64 = 0) {
            forwarder.apply(
                .room(ForwarderTests.room, [
                    config(ForwarderTests.alice, mayPublish: aliceMayPublish, subscribers: [2, 3]),
                    config(ForwarderTests.bob, mayPublish: true, subscribers: [1]),
                    config(ForwarderTests.lee, mayPublish: false, subscribers: []),
                ]), nowNs: nowNs)
        }

        /// A harness with `members` bound at one second in, each expected to be answered with success.
        static func bound(_ members: [Member], sourceLocation: SourceLocation = #_sourceLocation) throws -> Harness {
            let harness = Harness()
            for member in members { #expect(try harness.bind(member, at: ForwarderTests.second), sourceLocation: sourceLocation) }
            return harness
        }

        /// `member` sends `sequences` in order, a frame apart after `start`; each packet
        /// is expected to reach exactly one subscriber. Returns the last one's time.
        @discardableResult
        func sendInOrder(
            _ member: Member, _ sequences: Range<UInt16>, after start: UInt64,
            sourceLocation: SourceLocation = #_sourceLocation
        ) -> UInt64 {
            var now = start
            for sequence in sequences {
                now += ForwarderTests.frame
                let sent = feed(ForwarderTests.rtp(member, sequence: sequence), from: member.address, at: now)
                #expect(sent.count == 1, "\(sequence)", sourceLocation: sourceLocation)
            }
            return now
        }

        /// One row of the room's forwarding table, as RoomHost posts it.
        func config(
            _ member: Member, mayPublish: Bool, subscribers: [Int], ssrcs: (UInt32?, UInt32?)? = nil
        ) -> MediaPeerConfig {
            MediaPeerConfig(
                slot: member.slot, peer: member.peer, username: CredentialKey(member.username)!,
                integrityKey: STUNIntegrityKey(shortTermPassword: member.password), ssrcs: ssrcs ?? (member.ssrc, nil),
                mayPublish: mayPublish, subscribers: subscribers)
        }

        /// Posts a new forwarding table for the room at `nowNs`, as its host does after a change.
        func post(_ peers: [MediaPeerConfig], at nowNs: UInt64) {
            forwarder.apply(.room(ForwarderTests.room, peers), nowNs: nowNs)
        }

        /// This peer's report at `nowNs` (levels since the previous call).
        func report(_ member: Member, at nowNs: UInt64) -> MediaPeerReport? {
            forwarder.takeReports(nowNs: nowNs).first { $0.peer == member.peer }
        }

        /// Feeds one datagram from `source` at `nowNs`; returns what it queued (destination, bytes).
        @discardableResult
        func feed(_ bytes: [UInt8], from source: SocketAddress, at nowNs: UInt64) -> [(SocketAddress, [UInt8])] {
            batch.removeAll()
            kept = [bytes]
            kept[0].withUnsafeBytes { raw in
                forwarder.route(
                    raw, truncated: false, from: source.key, sourceAddress: { source }, nowNs: nowNs, batch: batch,
                    flush: { Issue.record("the batch filled up") },
                    reply: { answer, destination in answers.append((Array(answer), destination)) })
            }
            return (0..<batch.count).map { index in
                let entry = batch.entry(index)
                return (entry.destination, Array(entry.bytes))
            }
        }

        /// Binds `member`'s address as a client does: an authenticated binding
        /// request and, when its answer carries a CONSENT-TOKEN, the request again
        /// echoing it. True when an answer without a token (bound) came back.
        /// `echoConsent: false` stops after the first answer: true if it asked for consent.
        func bind(
            _ member: Member, at nowNs: UInt64, password: String? = nil, from address: SocketAddress? = nil,
            echoConsent: Bool = true
        ) throws -> Bool {
            let source = address ?? member.address
            var consent: STUNConsentToken?
            for _ in 0..<2 {
                let request = try Self.bindingRequest(member, password: password, consent: consent)
                let before = answers.count
                feed(request, from: source, at: nowNs)
                guard answers.count == before + 1, let answer = answers.last else { return false }
                #expect(answer.to == source)
                #expect(answer.bytes.count <= request.count, "never answer with more bytes than came in")
                let token: STUNConsentToken?? = answer.bytes.withUnsafeBytes { raw in
                    guard let message = try? STUNMessage.parse(raw), message.type == .bindingSuccess else { return nil }
                    return .some(message.consentToken(in: raw))
                }
                guard let token else { return false }
                guard let token else { return true }
                if !echoConsent { return true }
                consent = token
            }
            return false
        }

        static func bindingRequest(_ member: Member, password: String? = nil, consent: STUNConsentToken? = nil) throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: 256)
            return try buffer.withUnsafeMutableBytes { raw in
                var builder = try STUNMessageBuilder(type: .bindingRequest, transactionID: .random(), into: raw)
                try builder.appendUsername(member.username)
                try builder.appendSoftware("confab media 1.0")
                if let consent { try builder.appendConsentToken(consent) }
                try builder.appendMessageIntegrity(key: STUNIntegrityKey(shortTermPassword: password ?? member.password))
                try builder.appendFingerprint()
                return Array(builder.bytes)
            }
        }
    }

    /// Confab's RTP packet from `member`, with 40 bytes of `payload` standing in for SRTP.
    static func rtp(_ member: Member, sequence: UInt16, payload: UInt8 = 0x5A) -> [UInt8] {
        MediaPeer.rtp(ssrc: member.ssrc, sequence: sequence, payload: [UInt8](repeating: payload, count: 40))
    }

    @Test("a listener added as a change hears alice once bound; taken out, nothing goes to its address and its index is reused safely")
    func listenerChanges() throws {
        let harness = Harness()
        let carol = Member(
            slot: 4, peer: "carol", username: "caroluser0000004", password: "carol-password-000000000",
            address: SocketAddress(ipv4: 0x0A00_0004, port: 40_004), ssrc: 0xCA01)
        harness.forwarder.apply(
            .addListener(Self.room, harness.config(carol, mayPublish: false, subscribers: []), publishers: [Self.alice.slot]),
            nowNs: Self.second)
        for member in [Self.alice, Self.bob, Self.lee, carol] { #expect(try harness.bind(member, at: Self.second)) }
        var sent = harness.feed(Self.rtp(Self.alice, sequence: 100), from: Self.alice.address, at: 2 * Self.second)
        #expect(sent.map(\.0) == [Self.bob.address, Self.lee.address, carol.address])
        #expect(harness.feed(Self.rtp(Self.bob, sequence: 5), from: Self.bob.address, at: 2 * Self.second).map(\.0)
            == [Self.alice.address], "carol hears only the publishers she was added to")
        // Carol and lee leave; dave takes a freed index: alice's packets reach bob and dave, not carol's address.
        harness.forwarder.apply(.removeListeners(Self.room, slots: [carol.slot, Self.lee.slot]), nowNs: 3 * Self.second)
        let dave = Member(
            slot: 5, peer: "dave", username: "daveuser00000005", password: "dave-password-0000000000",
            address: SocketAddress(ipv4: 0x0A00_0005, port: 40_005), ssrc: 0xDA7E)
        harness.forwarder.apply(
            .addListener(Self.room, harness.config(dave, mayPublish: false, subscribers: []), publishers: [Self.alice.slot]),
            nowNs: 3 * Self.second)
        #expect(try harness.bind(dave, at: 3 * Self.second))
        sent = harness.feed(Self.rtp(Self.alice, sequence: 101), from: Self.alice.address, at: 4 * Self.second)
        #expect(sent.map(\.0) == [Self.bob.address, dave.address])
        #expect(!(try harness.bind(carol, at: 4 * Self.second)), "a removed listener's credentials no longer bind")
    }

    @Test("a row change: alice muted is refused, unmuted is forwarded again, a new SSRC is hers; another room's change touches nothing")
    func rowChanges() throws {
        let harness = try Harness.bound([Self.alice, Self.bob, Self.lee])
        let row = { (mayPublish: Bool, ssrcs: (UInt32?, UInt32?)) in
            ForwarderCommand.updatePeer(Self.room, slot: Self.alice.slot, ssrcs: ssrcs, mayPublish: mayPublish)
        }
        harness.forwarder.apply(row(false, (Self.alice.ssrc, nil)), nowNs: 2 * Self.second)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 100), from: Self.alice.address, at: 2 * Self.second).isEmpty)
        #expect(harness.forwarder.counters.dropped(.notPermitted) == 1)
        #expect(harness.report(Self.alice, at: 3 * Self.second)?.silentMs == nil, "muted: not expected to send")

        harness.forwarder.apply(row(true, (Self.alice.ssrc, nil)), nowNs: 3 * Self.second)
        #expect(harness.report(Self.alice, at: 4 * Self.second)?.silentMs == 1_000, "expected to send from the unmute on, not from the start")
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 101), from: Self.alice.address, at: 4 * Self.second).count == 2)

        let rotated = Member(
            slot: Self.alice.slot, peer: "alice", username: Self.alice.username, password: Self.alice.password,
            address: Self.alice.address, ssrc: 0xA11CF)
        #expect(harness.feed(Self.rtp(rotated, sequence: 1), from: Self.alice.address, at: 4 * Self.second).isEmpty)
        harness.forwarder.apply(row(true, (rotated.ssrc, Self.alice.ssrc)), nowNs: 4 * Self.second)
        #expect(harness.feed(Self.rtp(rotated, sequence: 2), from: Self.alice.address, at: 4 * Self.second).count == 2)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 102), from: Self.alice.address, at: 4 * Self.second).count == 2,
            "the SSRC before the rotation still goes (its last packets may be in flight)")

        harness.forwarder.apply(
            .updatePeer(Self.room + 1, slot: Self.alice.slot, ssrcs: (nil, nil), mayPublish: false), nowNs: 5 * Self.second)
        #expect(harness.feed(Self.rtp(rotated, sequence: 3), from: Self.alice.address, at: 5 * Self.second).count == 2)
    }

    @Test("a bound publisher's packet goes, byte for byte, to every bound subscriber of its role, and nowhere else")
    func forwardsToSubscribers() throws {
        let harness = try Harness.bound([Self.alice, Self.bob, Self.lee])
        let packet = Self.rtp(Self.alice, sequence: 100)
        let sent = harness.feed(packet, from: Self.alice.address, at: 2 * Self.second)
        #expect(sent.map(\.0) == [Self.bob.address, Self.lee.address])
        #expect(sent.allSatisfy { $0.1 == packet })
        let fromBob = harness.feed(Self.rtp(Self.bob, sequence: 5), from: Self.bob.address, at: 2 * Self.second)
        #expect(fromBob.map(\.0) == [Self.alice.address], "a listener does not hear bob's role")
        #expect(harness.forwarder.counters.forwardedPackets == 2)
        #expect(harness.forwarder.counters.sentDatagrams == 3)
    }

    @Test("a subscriber that has not bound yet gets nothing; it does once bound")
    func unboundSubscriber() throws {
        let harness = Harness()
        #expect(try harness.bind(Self.alice, at: Self.second))
        #expect(try harness.bind(Self.bob, at: Self.second))
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 1), from: Self.alice.address, at: Self.second).map(\.0) == [Self.bob.address])
        #expect(try harness.bind(Self.lee, at: Self.second))
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 2), from: Self.alice.address, at: Self.second).count == 2)
    }

    @Test("refused and counted: an unbound source, a wrong password, an unannounced SSRC, a listener, a muted publisher")
    func refusals() throws {
        let harness = Harness()
        #expect(try harness.bind(Self.bob, at: Self.second))
        #expect(try !harness.bind(Self.alice, at: Self.second, password: "not-alices-password-0000"))
        #expect(harness.forwarder.counters.dropped(.unauthenticated) == 1)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 1), from: Self.alice.address, at: Self.second).isEmpty)
        #expect(harness.forwarder.counters.dropped(.unboundSource) == 1)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 1), from: Self.stranger, at: Self.second).isEmpty)
        #expect(harness.forwarder.counters.dropped(.unboundSource) == 2)
        // Bob sends with alice's SSRC: not his to use.
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 1), from: Self.bob.address, at: Self.second).isEmpty)
        #expect(harness.forwarder.counters.dropped(.unknownSSRC) == 1)
        #expect(try harness.bind(Self.lee, at: Self.second))
        #expect(harness.feed(Self.rtp(Self.lee, sequence: 1), from: Self.lee.address, at: Self.second).isEmpty)
        #expect(harness.forwarder.counters.dropped(.notPermitted) == 1)
        #expect(harness.forwarder.counters.forwardedPackets == 0)

        let muted = Harness(aliceMayPublish: false)
        #expect(try muted.bind(Self.alice, at: Self.second))
        #expect(try muted.bind(Self.bob, at: Self.second))
        #expect(muted.feed(Self.rtp(Self.alice, sequence: 1), from: Self.alice.address, at: Self.second).isEmpty)
        #expect(muted.forwarder.counters.dropped(.notPermitted) == 1)
    }

    @Test("a repeated sequence number is a replay; three forged packets 20,000 ahead do not silence the stream")
    func sequenceChecks() throws {
        let harness = try Harness.bound([Self.alice, Self.bob])
        let now = harness.sendInOrder(Self.alice, 100..<120, after: Self.second)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 110), from: Self.alice.address, at: now).isEmpty)
        #expect(harness.forwarder.counters.dropped(.replay) == 1)
        // An attacker spoofing alice's address: far-ahead numbers, each not followed by its successor.
        for forged in [UInt16(20_120), 20_200, 20_300] {
            #expect(harness.feed(Self.rtp(Self.alice, sequence: forged, payload: 0xEE), from: Self.alice.address, at: now).isEmpty)
        }
        #expect(harness.forwarder.counters.dropped(.sequenceJump) == 3)
        // The genuine stream goes on as if nothing happened.
        harness.sendInOrder(Self.alice, 120..<140, after: now)
    }

    @Test("a binding silent past its timeout expires at the given time, not before")
    func bindingExpiry() throws {
        let harness = try Harness.bound([Self.alice, Self.bob])
        harness.forwarder.sweep(nowNs: Self.second + 30 * Self.second - 1)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 1), from: Self.alice.address, at: 31 * Self.second - 1).count == 1)
        // Alice was heard just now; bob not since his binding at 1 s.
        harness.forwarder.sweep(nowNs: 31 * Self.second + 1)
        #expect(harness.forwarder.counters.bindingsExpired == 1)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 2), from: Self.alice.address, at: 31 * Self.second + 2).isEmpty, "bob is unbound")
        #expect(harness.feed(Self.rtp(Self.bob, sequence: 1), from: Self.bob.address, at: 31 * Self.second + 2).isEmpty)
        #expect(harness.forwarder.counters.dropped(.unboundSource) == 1)
    }

    @Test("a room that goes away takes its peers' bindings with it, and the forwarder is idle again")
    func roomRemoval() throws {
        let harness = Harness()
        #expect(!harness.forwarder.isIdle)
        for member in [Self.alice, Self.bob] { #expect(try harness.bind(member, at: Self.second)) }
        harness.forwarder.apply(.removeRoom(Self.room), nowNs: Self.second)
        #expect(harness.forwarder.isIdle)
        #expect(harness.feed(Self.rtp(Self.alice, sequence: 1), from: Self.alice.address, at: Self.second).isEmpty)
        #expect(harness.forwarder.counters.dropped(.unboundSource) == 1)
    }
}
