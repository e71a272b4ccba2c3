// The SFU over the wire: STUN binding with the `joined.media` credentials,
// forwarding by role, mute and announced SSRC, and everything else dropped.

import ConfabProtocol
import ConfabServer
import ConfabSocket
import ConfabTestSupport
import ConfabWire
import Foundation
import Testing

/// A room with a host (alice), a speaker (bob) and a listener (lee), each
/// with a bound UDP address; alice and bob announced their SSRCs.
struct MediaRoom {
    let server: TestServer
    let room: String
    let alice: RawClient, bob: RawClient, lee: RawClient
    let aliceMedia: MediaPeer, bobMedia: MediaPeer, leeMedia: MediaPeer
    static let aliceSSRC: UInt32 = 0xA11C_E000
    static let bobSSRC: UInt32 = 0xB0B0_0000

    static func make(_ server: TestServer) async throws -> MediaRoom {
        let room = TestServer.uniqueRoom("media")
        let (alice, aliceJoined) = try await server.join("alice", role: "host", room: room, muted: false)
        let (bob, bobJoined) = try await server.join("bob", role: "speaker", room: room, muted: false)
        let (lee, leeJoined) = try await server.join("lee", role: "listener", room: room)
        let peers = try [aliceJoined, bobJoined, leeJoined].map { joined -> MediaPeer in
            guard let media = joined.media else { throw ToolError("no media endpoint") }
            return try MediaPeer(media)
        }
        for peer in peers { _ = try await peer.bind() }
        try await publish(alice, track: "alice:mic", ssrc: aliceSSRC)
        try await publish(bob, track: "bob:mic", ssrc: bobSSRC)
        return MediaRoom(
            server: server, room: room, alice: alice, bob: bob, lee: lee, aliceMedia: peers[0], bobMedia: peers[1],
            leeMedia: peers[2])
    }

    /// Announces `ssrc` with an empty `keys.publish` and waits for the `ok`.
    static func publish(_ client: RawClient, track: String, ssrc: UInt32, epoch: Int = 1) async throws {
        client.send(
            #"{"v": 1, "type": "keys.publish", "id": "k\#(epoch)", "track": "\#(track)", "epoch": \#(epoch), "ssrc": \#(ssrc), "keys": []}"#
        )
        let reply = try await client.next(.ok)
        guard reply.id?.rawValue == "k\(epoch)" else { throw ToolError("unexpected \(reply)") }
    }
}

/// Waits for the media thread's counters (updated every 100 ms) to satisfy `condition`.
func waitForMedia(
    _ server: TestServer, timeout: Duration = .seconds(10), _ condition: (MediaPlaneStatistics) -> Bool
) async throws -> MediaPlaneStatistics {
    var statistics = server.server.media.statistics
    _ = await waitUntil(timeout: timeout) {
        statistics = server.server.media.statistics
        return condition(statistics)
    }
    return statistics
}

@Suite("SFU: STUN binding and forwarding over a real server")
struct MediaForwardingTests {
    @Test("a binding request answers with the source address (XOR-MAPPED-ADDRESS), no larger than the request")
    func binding() async throws {
        try await TestServer.start().run { server in
            let (_, joined) = try await server.join("alice", role: "host", room: TestServer.uniqueRoom())
            let media = try #require(joined.media)
            #expect(media.port == server.server.media.port)
            #expect(media.username.utf8.count == 16 && media.password.utf8.count == 24)
            let peer = try MediaPeer(media)
            let mapped = try await peer.bind()
            #expect(mapped == .ipv4(address: 0x7F00_0001, port: UInt16(peer.socket.localAddress.port)))
        }
    }

    @Test("speech goes to every peer whose role hears it, bytes untouched, never back to the sender")
    func fanOut() async throws {
        try await TestServer.start().run { server in
            let room = try await MediaRoom.make(server)
            let sent = (0..<20).map { MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: UInt16(100 + $0)) }
            for packet in sent { room.aliceMedia.send(packet) }
            #expect(try await room.bobMedia.receive(count: 20) == sent)
            #expect(try await room.leeMedia.receive(count: 20) == sent)
            #expect(try await room.aliceMedia.receive(for: .milliseconds(200)).isEmpty)
            let statistics = try await waitForMedia(server) { $0.counters.forwardedPackets >= 20 }
            #expect(statistics.counters.forwardedPackets == 20)
            #expect(statistics.counters.sentDatagrams == 40)
            #expect(statistics.counters.forwardedBytes == sent.reduce(0) { $0 + $1.count })
        }
    }

    @Test("a listener's packets, an unannounced SSRC and a host-muted speaker are not forwarded")
    func refusals() async throws {
        try await TestServer.start().run { server in
            let room = try await MediaRoom.make(server)
            // The listener has no microphone: nothing it announces is forwarded.
            room.leeMedia.send(MediaPeer.rtp(ssrc: 0x1EE, sequence: 1))
            // Bob sends with an SSRC he never announced.
            room.bobMedia.send(MediaPeer.rtp(ssrc: 0xBAD, sequence: 1))
            // Alice mutes bob; his announced SSRC is dropped from then on.
            room.alice.send(#"{"v": 1, "type": "track.mute", "id": "m1", "track": "bob:mic"}"#)
            // The forwarding table changes before the reply leaves: what bob sends after it is judged by it.
            _ = try await room.alice.next(.ok)
            room.bobMedia.send(MediaPeer.rtp(ssrc: MediaRoom.bobSSRC, sequence: 1))
            let statistics = try await waitForMedia(server) {
                $0.counters.dropped(.notPermitted) >= 1 && $0.counters.dropped(.unknownSSRC) >= 2
            }
            #expect(statistics.counters.dropped(.unknownSSRC) == 2)
            #expect(statistics.counters.dropped(.notPermitted) == 1)
            #expect(statistics.counters.forwardedPackets == 0)
            #expect(try await room.aliceMedia.receive(for: .milliseconds(200)).isEmpty)
            #expect(try await room.leeMedia.receive(for: .milliseconds(50)).isEmpty)
            // Unmuted by himself, bob is heard again.
            room.bob.send(#"{"v": 1, "type": "track.unmute", "id": "u1", "track": "bob:mic"}"#)
            _ = try await room.bob.next(.ok)
            let packet = MediaPeer.rtp(ssrc: MediaRoom.bobSSRC, sequence: 2)
            room.bobMedia.send(packet)
            #expect(try await room.aliceMedia.receive(count: 1) == [packet])
        }
    }

    @Test("hostile traffic: garbage, an unbound address with a valid SSRC, replays, a wrong MESSAGE-INTEGRITY")
    func hostile() async throws {
        try await TestServer.start().run { server in
            let room = try await MediaRoom.make(server)
            let attacker = try MediaPeer(room.aliceMedia.media)
            let before = server.server.media.statistics.counters
            var generator = SystemRandomNumberGenerator()
            // 50 bursts of 2,000, paced a little, so the kernel's receive buffer does not drop what the server should see.
            try await paced(every: .milliseconds(2), count: 50) { _ in
                for _ in 0..<2_000 {
                    let length = Int.random(in: 0...1_600, using: &generator)
                    var words = [UInt64](repeating: 0, count: (length + 7) / 8)
                    for i in words.indices { words[i] = generator.next() }
                    words.withUnsafeBytes { raw in
                        _ = attacker.socket.send(UnsafeRawBufferPointer(rebasing: raw[0..<length]), to: attacker.server)
                    }
                }
            }
            // Alice's SSRC from an address nobody bound.
            attacker.send(MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: 5_000))
            // STUN with alice's USERNAME and a wrong MESSAGE-INTEGRITY: no answer, no binding.
            attacker.send(try attacker.bindingRequest(password: "not-the-password-at-all!"))
            // The peers refresh their bindings, as clients do every 5 s.
            for peer in [room.aliceMedia, room.bobMedia, room.leeMedia] { _ = try await peer.bind() }
            // A replay from alice's own address: forwarded once only.
            let packet = MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: 7)
            room.aliceMedia.send(packet)
            #expect(try await room.bobMedia.receive(count: 1) == [packet])
            room.aliceMedia.send(packet)
            let statistics = try await waitForMedia(server, timeout: .seconds(30)) { $0.counters.dropped(.replay) >= 1 }
            print("hostile: the server read \(statistics.counters.datagrams - before.datagrams) datagrams (100,004 hostile, 3 refreshes); drops \(statistics.counters.drops)")
            #expect(statistics.counters.datagrams - before.datagrams > 90_000)
            #expect(statistics.counters.forwardedPackets - before.forwardedPackets == 1)
            #expect(statistics.counters.dropped(.replay) == 1)
            #expect(statistics.counters.dropped(.unauthenticated) >= 1)
            // The attacker bound nothing: a binding made since is a peer's own
            // refresh after its binding lapsed in silence (on a slow host the
            // bursts outlast the binding timeout).
            #expect(
                statistics.counters.bindings - before.bindings
                    == statistics.counters.bindingsExpired - before.bindingsExpired)
            // Only the three refreshes were answered (twice for one whose binding
            // lapsed: a consent token, then its echo); they bound nothing new.
            let lapsed = statistics.counters.bindingsExpired - before.bindingsExpired
            #expect(statistics.counters.stunAnswered == before.stunAnswered + 3 + lapsed)
            #expect(statistics.boundPeers == 3)
            #expect(try await attacker.receive(for: .milliseconds(200)).isEmpty)
            // Real audio continues.
            let later = MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: 8)
            room.aliceMedia.send(later)
            let heard = try await room.bobMedia.receive(count: 1)
            #expect(heard == [later])
        }
    }

    @Test("rebinding from a new address moves the binding; the old address is unbound")
    func rebinding() async throws {
        try await TestServer.start().run { server in
            let room = try await MediaRoom.make(server)
            let moved = try MediaPeer(room.aliceMedia.media)
            _ = try await moved.bind()
            let packet = MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: 1)
            room.aliceMedia.send(packet)
            let dropped = try await waitForMedia(server) { $0.counters.dropped(.unboundSource) >= 1 }
            #expect(dropped.counters.dropped(.unboundSource) == 1)
            moved.send(packet)
            #expect(try await room.bobMedia.receive(count: 1) == [packet])
            // Bob now hears alice at the new address only.
            let toAlice = MediaPeer.rtp(ssrc: MediaRoom.bobSSRC, sequence: 1)
            room.bobMedia.send(toAlice)
            #expect(try await moved.receive(count: 1) == [toAlice])
            #expect(try await room.aliceMedia.receive(for: .milliseconds(100)).isEmpty)
        }
    }

    @Test("speakers: the RFC 6464 level of a talking peer becomes a speakers event, then silence once")
    func speakers() async throws {
        try await TestServer.start().run { server in
            let room = try await MediaRoom.make(server)
            try await paced(every: .milliseconds(20), count: 30) { sequence in
                room.aliceMedia.send(MediaPeer.rtp(ssrc: MediaRoom.aliceSSRC, sequence: UInt16(sequence), level: 20))
            }
            let event = try await room.lee.next(.speakers)
            guard case .speakers(let speakers) = event.body else { throw ToolError("not speakers") }
            #expect(speakers.map(\.peer) == ["alice"])
            #expect(speakers.first?.level == 67)  // −20 dBov on the 0…100 scale
            // After she stops, one empty list.
            var sawEmpty = false
            for _ in 0..<10 {
                let next = try await room.lee.next(.speakers)
                if case .speakers(let list) = next.body, list.isEmpty {
                    sawEmpty = true
                    break
                }
            }
            #expect(sawEmpty)
            var reports: [PeerID: MediaPeerReport] = [:]
            _ = await waitUntil(timeout: .seconds(5)) {
                reports = await server.server.mediaReports(room: RoomName(uncheckedRawValue: room.room))
                return reports["alice"]?.packets == 30
            }
            #expect(reports["alice"]?.packets == 30)
            #expect(reports["alice"]?.lost == 0)
        }
    }

    @Test("track health: a silent unmuted track is flagged noMedia, heavy loss packetLoss; each is restored when it recovers or is muted")
    func trackHealth() async throws {
        // Shorter than the defaults (3 s, 5 s window) so the test is quick; same rules.
        let health = TrackHealthConfiguration(
            noMediaAfterMs: 1_000, lossWindowMs: 2_000, degradedLossPercent: 10, restoredLossPercent: 5,
            minimumExpectedPackets: 30)
        let server = try await TestServer.start(trackHealth: health)
        let room = try await MediaRoom.make(server)
        // Alice and bob announced SSRCs, are unmuted, and send nothing.
        #expect(try await nextHealthChange(of: "alice", on: room.lee) == .noMedia)
        #expect(try await nextHealthChange(of: "bob", on: room.alice) == .noMedia)

        // Alice talks without loss: restored.
        let clean = talk(room.aliceMedia, ssrc: MediaRoom.aliceSSRC, from: 1_000)
        #expect(try await nextHealthChange(of: "alice", on: room.lee) == nil)
        clean.cancel()

        // A quarter of her packets never arrive: packetLoss, then restored once the window is clean again.
        let lossy = talk(room.aliceMedia, ssrc: MediaRoom.aliceSSRC, from: await clean.value) { $0 % 4 == 0 }
        let lossBegan = ContinuousClock.now
        #expect(try await nextHealthChange(of: "alice", on: room.lee) == .packetLoss)
        print("track health: packetLoss flagged \(ContinuousClock.now - lossBegan) after 25 % loss began")
        lossy.cancel()
        let recovered = talk(room.aliceMedia, ssrc: MediaRoom.aliceSSRC, from: await lossy.value)
        let recoveryBegan = ContinuousClock.now
        #expect(try await nextHealthChange(of: "alice", on: room.lee) == nil)
        print("track health: restored \(ContinuousClock.now - recoveryBegan) after the loss ended")
        recovered.cancel()

        // Bob, still silent, is muted by the host: a muted track is not degraded.
        room.alice.send(#"{"v": 1, "type": "track.mute", "id": "m1", "track": "bob:mic"}"#)
        #expect(try await nextHealthChange(of: "bob", on: room.lee) == nil)
        await server.stop()
    }

    @Test("a peer that leaves is unbound at once; its address is refused")
    func leaving() async throws {
        try await TestServer.start().run { server in
            let room = try await MediaRoom.make(server)
            room.bob.send(#"{"v": 1, "type": "leave", "id": "bye"}"#)
            // Bob's slot leaves the forwarding table before his `ok` does.
            _ = try await room.bob.next(.ok)
            room.bobMedia.send(MediaPeer.rtp(ssrc: MediaRoom.bobSSRC, sequence: 1))
            let statistics = try await waitForMedia(server) { $0.counters.dropped(.unboundSource) >= 1 }
            #expect(statistics.counters.dropped(.unboundSource) == 1)
            #expect(try await room.aliceMedia.receive(for: .milliseconds(100)).isEmpty)
        }
    }

    @Test("when the last peer leaves, the media figures say so at once, though the idle media thread waits without a timeout")
    func lastPeerLeaves() async throws {
        let server = try await TestServer.start()
        let room = try await MediaRoom.make(server)
        _ = try await waitForMedia(server) { $0.boundPeers == 3 }
        for (client, id) in [(room.alice, "a"), (room.bob, "b"), (room.lee, "l")] {
            client.send(#"{"v": 1, "type": "leave", "id": "\#(id)"}"#)
            _ = try await client.next(.ok)
        }
        // No datagram follows the leaves: only the posted change can wake the thread.
        let statistics = try await waitForMedia(server, timeout: .seconds(5)) { $0.boundPeers == 0 }
        #expect(statistics.boundPeers == 0)
        await server.stop()
    }
}

/// The next `track.degraded` (its reason) or `track.restored` (nil) about
/// `peer`'s microphone that `client` receives; other messages are skipped.
func nextHealthChange(of peer: PeerID, on client: RawClient, timeout: Duration = .seconds(20)) async throws
    -> DegradationReason?
{
    let deadline = ContinuousClock.now + timeout
    while true {
        let message = try await client.next(timeout: max(.zero, deadline - ContinuousClock.now))
        switch message.body {
        case .trackDegraded(let event) where event.peer == peer: return event.reason
        case .trackRestored(let event) where event.peer == peer: return nil
        default: continue
        }
    }
}

/// Sends `ssrc`'s packets from `media` every 20 ms, from sequence `first`,
/// leaving out those `lost` picks, until cancelled; returns the next sequence.
func talk(
    _ media: MediaPeer, ssrc: UInt32, from first: UInt16, lost: @escaping @Sendable (UInt16) -> Bool = { _ in false }
) -> Task<UInt16, Never> {
    Task {
        var sequence = first
        try? await paced(every: .milliseconds(20)) { _ in
            if !lost(sequence) { media.send(MediaPeer.rtp(ssrc: ssrc, sequence: sequence)) }
            sequence &+= 1
        }
        return sequence
    }
}
