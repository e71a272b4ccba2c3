import ConfabProtocol
import ConfabRooms
import ConfabTestSupport
import Testing

/// The indexes `PeerTable` keeps (connected peers per role, announced peers,
/// raised hands) must always say what a walk of the peers would: every
/// count, `joined` and "who hears of it" of a large room is read from them.
@Suite("The room's peer indexes agree with its peers after any sequence of changes")
struct PeerTableTests {
    /// What the indexes should hold, worked out the slow way.
    private static func expectIndexesMatch(_ room: Room, after step: String) {
        let connected = room.peers.values.filter(\.isConnected)
        var byRole: [RoleName: Set<PeerID>] = [:]
        for peer in connected { byRole[peer.role, default: []].insert(peer.id) }
        #expect(room.peers.connectedByRole == byRole, "after \(step)")
        #expect(room.peers.connectedAnnounced == Set(connected.filter { !$0.isQuiet }.map(\.id)), "after \(step)")
        #expect(room.peers.connectedRaisedHands == Set(connected.filter { $0.handRaisedAt != nil }.map(\.id)), "after \(step)")
        #expect(room.peers.connectedCount == connected.count, "after \(step)")
        #expect(room.connectedIDs == Set(connected.map(\.id)), "after \(step)")
    }

    @Test("joins, hands, promotions, drops, resumes, removals and leaves in a seeded random order", arguments: [1, 2, 3])
    func randomChanges(seed: Int) throws {
        var room = Room(name: "hall", template: .townHall, now: Fixture.t0)
        var generator = SeededRandom(seed: UInt64(seed))
        var clock = 1_000
        _ = try room.join(Admission(peer: "host", name: "Host", role: "host"), now: Fixture.t0.adding(milliseconds: clock))
        let audience = (0..<40).map { PeerID(rawValue: "p\($0)")! }
        for round in 0..<600 {
            clock += 10
            let now = Fixture.t0.adding(milliseconds: clock)
            let peer = audience[Int(generator.next() % UInt64(audience.count))]
            let step: String
            switch generator.next() % 8 {
            case 0, 1:
                step = "join \(peer)"
                _ = try? room.join(Admission(peer: peer, name: "P", role: generator.next() % 4 == 0 ? "speaker" : "listener"), now: now)
            case 2:
                step = "hand up \(peer)"
                _ = try? room.apply(.raiseHand, from: peer, now: now)
            case 3:
                step = "hand down \(peer)"
                _ = try? room.apply(.lowerHand, from: peer, now: now)
            case 4:
                step = "promote \(peer)"
                _ = try? room.apply(.changeRole(peer: peer, role: "speaker", force: true), from: "host", now: now)
            case 5:
                step = "drop \(peer)"
                _ = room.connectionLost(peer, now: now)
            case 6:
                step = "resume \(peer)"
                _ = try? room.resume(peer, now: now)
            default:
                step = generator.next() % 2 == 0 ? "leave \(peer)" : "remove \(peer)"
                if step.hasPrefix("leave") {
                    _ = try? room.apply(.leave, from: peer, now: now)
                } else {
                    _ = try? room.apply(.removePeer(peer, reason: nil), from: "host", now: now)
                }
            }
            Self.expectIndexesMatch(room, after: "round \(round): \(step)")
        }
        #expect(room.peers.count > 5, "the sequence kept a room worth checking")
    }
}
