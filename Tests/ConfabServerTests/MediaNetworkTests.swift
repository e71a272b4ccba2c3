// The media plane across real networks: the address `joined.media` tells a
// client (a wildcard bind, `--media-host`), IPv6 and dual-stack servers, and
// forged packets from a bound address.

import ConfabProtocol
import ConfabServer
import ConfabSocket
import ConfabTestSupport
import ConfabWire
import Foundation
import Logging
import Testing

@Suite("SFU across networks: advertised address, IPv6, forged sequence numbers")
struct MediaNetworkTests {
    @Test("a server on 0.0.0.0 tells each client the address that client reached it on")
    func wildcardAdvertisesTheAddressReached() async throws {
        let server = try await TestServer.start(host: "0.0.0.0")
        let room = TestServer.uniqueRoom("wild")
        let (_, alice) = try await server.join("alice", role: "host", room: room, via: "127.0.0.1")
        let (_, bob) = try await server.join("bob", role: "speaker", room: room, via: "127.0.0.2")
        #expect(alice.media?.host == "127.0.0.1")
        #expect(bob.media?.host == "127.0.0.2")
        // And there the binding works.
        for joined in [alice, bob] {
            let peer = try MediaPeer(try #require(joined.media))
            _ = try await peer.bind()
        }
        await server.stop()
    }

    @Test("--media-host overrides the address (a server behind NAT)")
    func mediaHostOverrides() async throws {
        let server = try await TestServer.start(host: "0.0.0.0", mediaHost: "192.0.2.7")
        let (_, joined) = try await server.join("alice", role: "host", room: TestServer.uniqueRoom())
        #expect(joined.media?.host == "192.0.2.7")
        await server.stop()
    }

    @Test("a server on :: tells a client the address it reached, an IPv4 one as plain IPv4")
    func advertisedAddressOfWildcardV6() throws {
        let plane = try MediaPlane(configuration: MediaPlaneConfiguration(host: "::"), logger: Logger(label: "test"))
        #expect(plane.advertisedHost(signallingLocalAddress: "fd00:231:1::1") == "fd00:231:1::1")
        #expect(plane.advertisedHost(signallingLocalAddress: "::1") == "::1")
        #expect(plane.advertisedHost(signallingLocalAddress: "::ffff:10.231.2.1") == "10.231.2.1")
        #expect(plane.advertisedHost(signallingLocalAddress: "10.231.2.1") == "10.231.2.1")
        let specific = try MediaPlane(configuration: MediaPlaneConfiguration(host: "127.0.0.1"), logger: Logger(label: "test"))
        #expect(specific.advertisedHost(signallingLocalAddress: "127.0.0.2") == "127.0.0.1")
        let natted = try MediaPlane(
            configuration: MediaPlaneConfiguration(host: "::", advertisedHost: "203.0.113.5"), logger: Logger(label: "test"))
        #expect(natted.advertisedHost(signallingLocalAddress: "::1") == "203.0.113.5")
    }

    @Test("a server on :: serves both families: an IPv4 and an IPv6 client bind and hear each other")
    func dualStack() async throws {
        let server = try await TestServer.start(host: "::")
        let room = TestServer.uniqueRoom("dual")
        let (alice, aliceJoined) = try await server.join("alice", role: "host", room: room, muted: false)
        let (bob, bobJoined) = try await server.join("bob", role: "speaker", room: room, muted: false)
        // Reached over IPv4 (as ::ffff:127.0.0.1 on the dual-stack socket): told plain IPv4.
        let aliceEndpoint = try #require(aliceJoined.media)
        #expect(aliceEndpoint.host == "127.0.0.1")
        let aliceMedia = try MediaPeer(aliceEndpoint)
        // Bob sends his media over IPv6 to the same socket.
        var bobEndpoint = try #require(bobJoined.media)
        bobEndpoint.host = "::1"
        let bobMedia = try MediaPeer(bobEndpoint)
        #expect(aliceMedia.socket.localAddress.family == AF_INET)
        #expect(bobMedia.socket.localAddress.family == AF_INET6)
        // An IPv4 client of the dual-stack socket is told its IPv4 address, not ::ffff:127.0.0.1.
        #expect(try await aliceMedia.bind() == .ipv4(address: 0x7F00_0001, port: UInt16(aliceMedia.socket.localAddress.port)))
        // The SDK's request (with a 16-byte SOFTWARE) leaves room for an IPv6
        // XOR-MAPPED-ADDRESS, a CONSENT-TOKEN and FINGERPRINT.
        #expect(try await bobMedia.bind() == .ipv6(high: 0, low: 1, port: UInt16(bobMedia.socket.localAddress.port)))
        try await MediaRoom.publish(alice, track: "alice:mic", ssrc: MediaRoom.aliceSSRC)
        try await MediaRoom.publish(bob, track: "bob:mic", ssrc: MediaRoom.bobSSRC)
        let fromAlice = (0..<10).map { MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: UInt16(10 + $0)) }
        let fromBob = (0..<10).map { MediaPeer.rtp(ssrc: MediaRoom.bobSSRC, sequence: UInt16(500 + $0)) }
        for packet in fromAlice { aliceMedia.send(packet) }
        for packet in fromBob { bobMedia.send(packet) }
        #expect(try await bobMedia.receive(count: 10) == fromAlice)
        #expect(try await aliceMedia.receive(count: 10) == fromBob)
        await server.stop()
    }

    @Test("IPv6: never more bytes out than in: a minimal request (72 bytes) is not answered, the answer with its consent token would be bigger; with 12 bytes of SOFTWARE it is answered without FINGERPRINT, and the echo binds")
    func ipv6MinimalRequest() async throws {
        let server = try await TestServer.start(host: "::", mediaHost: "::1")
        let (_, joined) = try await server.join("alice", role: "host", room: TestServer.uniqueRoom())
        let media = try #require(joined.media)
        #expect(media.host == "::1")
        let peer = try MediaPeer(media)
        let minimal = try peer.bindingRequest()
        #expect(minimal.count == 72)
        peer.send(minimal)
        #expect(try await peer.receive(for: .milliseconds(300)).isEmpty)
        // 20 + 24 (XOR-MAPPED-ADDRESS) + 16 (CONSENT-TOKEN) + 24 (MESSAGE-INTEGRITY) = 84 bytes: no room for FINGERPRINT.
        #expect(try peer.bindingRequest(software: "confab").count == 84)
        let mapped = try await peer.bind(software: "confab", consentAnswerHasFingerprint: false)
        #expect(mapped == .ipv6(high: 0, low: 1, port: UInt16(peer.socket.localAddress.port)))
        await server.stop()
    }

    @Test("sequence numbers that wrap past 65535, a late packet and a gap of 2,000 are not jumps")
    func ordinarySequences() async throws {
        let server = try await TestServer.start()
        let room = try await MediaRoom.make(server)
        let sequences: [UInt16] = [65_530, 65_532, 65_531, 65_535, 0, 1, 3, 2, 2_003, 2_004]
        let sent = sequences.map { MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: $0) }
        for packet in sent { room.aliceMedia.send(packet) }
        #expect(try await room.bobMedia.receive(count: sent.count) == sent)
        let statistics = try await waitForMedia(server) { $0.counters.forwardedPackets >= sent.count }
        #expect(statistics.counters.totalDropped == 0)
        await server.stop()
    }

    /// Alice's genuine stream, then forged packets with her SSRC from her bound
    /// address, `offsets` ahead of her last sequence number, then more genuine packets.
    @Test(
        "forged packets far ahead from a bound address do not silence its owner (RFC 3550 Appendix A.1)",
        arguments: [[20_000, 20_000, 20_000], [20_000, 20_001, 20_002]])
    func forgedSequenceJump(offsets: [Int]) async throws {
        let server = try await TestServer.start()
        let room = try await MediaRoom.make(server)
        let before = (0..<50).map { MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: UInt16(1_000 + $0)) }
        for packet in before { room.aliceMedia.send(packet) }
        #expect(try await room.bobMedia.receive(count: 50) == before)
        let forged = offsets.map { MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: UInt16(1_049 + $0), payload: [0x66]) }
        for packet in forged { room.aliceMedia.send(packet) }
        let after = (0..<50).map { MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: UInt16(1_050 + $0)) }
        for packet in after { room.aliceMedia.send(packet) }
        let heard = try await room.bobMedia.receive(count: 100, timeout: .seconds(3))
        let genuine = heard.filter { after.contains($0) }
        print("forged jump \(offsets): \(genuine.count) of 50 genuine packets forwarded after it, \(heard.count - genuine.count) forged")
        if offsets.allSatisfy({ $0 == offsets[0] }) {
            // A jump never followed by its next packet is never believed.
            #expect(genuine == after)
            #expect(heard.count == 50)
        } else {
            // Forged packets that follow each other are believed (the receivers' SRTP rejects
            // them); the genuine stream takes over again at its second packet.
            #expect(genuine == Array(after.dropFirst()))
        }
        let statistics = try await waitForMedia(server) { $0.counters.dropped(.sequenceJump) >= 1 }
        #expect(statistics.counters.dropped(.replay) == 0)
        await server.stop()
    }
}
