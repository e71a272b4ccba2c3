import ConfabProtocol
import ConfabRooms
@testable import ConfabServer
import Testing

@Suite("Kept sessions: a write reads only the peers that changed, and a pinned row wins")
struct KeptSessionBookTests {
    static func state(_ peer: PeerID, role: RoleName = "speaker", muted: Bool = false) -> KeptPeerState {
        KeptPeerState(peer: peer, name: peer.rawValue, role: role, metadata: "", muted: muted, mutedBy: nil, publicKey: nil)
    }

    /// A book whose database holds `count` peers as `state` gives them, and nothing dirty.
    static func settled(_ count: Int) -> (book: KeptSessionBook, peers: [PeerID]) {
        let peers = (0..<count).map { PeerID(uncheckedRawValue: "p\($0)") }
        var book = KeptSessionBook()
        for peer in peers { book.markDirty(peer) }
        let first = book.changes(state: { state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(first.saved.count == count)
        book.wrote(first)
        return (book, peers)
    }

    @Test("in a room of 5,000, one peer's change reads one peer and writes one row")
    func proportionalToWhatChanged() {
        let settled = Self.settled(5_000)
        var book = settled.book
        let peers = settled.peers
        book.markDirty(peers[42])
        var read = 0
        let changes = book.changes(
            state: { peer in
                read += 1
                return Self.state(peer, role: peer == peers[42] ? "listener" : "speaker")
            }, token: { "rt_\($0.rawValue)" })
        #expect(read == 1)
        #expect(changes.saved.map(\.state.role) == ["listener"])
        #expect(changes.removed.isEmpty)
        // Nothing dirty: the next write (a heartbeat's) reads nobody.
        book.wrote(changes)
        read = 0
        let none = book.changes(state: { read += 1; return Self.state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(none.isEmpty)
        #expect(read == 0)
    }

    @Test("a peer gone is deleted, and a failed write is made again with the next one")
    func goneAndRetried() {
        let settled = Self.settled(3)
        var book = settled.book
        let peers = settled.peers
        book.markDirty(peers[1])
        let gone = book.changes(state: { $0 == peers[1] ? nil : Self.state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(gone.removed == [peers[1]])
        book.failed(gone)
        #expect(book.hasChanges)
        let again = book.changes(state: { $0 == peers[1] ? nil : Self.state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(again.removed == [peers[1]])
        book.wrote(again)
        #expect(book.written[peers[1]] == nil)
        #expect(book.written.count == 2)
    }

    @Test("while a demotion waits for its row, every write writes the pin, not what the room still says")
    func pinWins() {
        let settled = Self.settled(2)
        var book = settled.book
        let peers = settled.peers
        let demoted = KeptSession(state: Self.state(peers[0], role: "listener", muted: true), tokenHash: "h")
        book.pin(peers[0], .session(demoted))
        // The room still says speaker (the change is applied after the write).
        let changes = book.changes(state: { Self.state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(changes.saved == [demoted])
        book.wrote(changes)
        #expect(book.holds(.session(demoted), of: peers[0]))
        // Unpinned, the row follows the room again.
        book.pin(peers[0], nil)
        let after = book.changes(state: { Self.state($0, role: "listener", muted: true) }, token: { "rt_\($0.rawValue)" })
        #expect(after.saved.map(\.state.role) == ["listener"])
        // A removal pinned deletes the row before the peer is gone from the room.
        book.pin(peers[1], .removed)
        let removal = book.changes(state: { Self.state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(removal.removed == [peers[1]])
        book.wrote(removal)
        #expect(book.holds(.removed, of: peers[1]))
    }

    @Test("a pinned write that failed may have committed: once refused and unpinned, the room's own state is written again")
    func refusedChangeIsUndone() {
        let settled = Self.settled(1)
        var book = settled.book
        let bob = settled.peers[0]
        let demoted = KeptSession(state: Self.state(bob, role: "listener"), tokenHash: "h")
        book.pin(bob, .session(demoted))
        let pinned = book.changes(state: { Self.state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(pinned.saved == [demoted])
        // Past its deadline: the caller saw a failure, the database may hold the pin.
        book.failed(pinned)
        #expect(!book.holds(.session(demoted), of: bob))
        // The change is refused: the room still says speaker, which `written` holds too,
        // and it is written all the same, so no demotion stays behind in the database.
        book.pin(bob, nil)
        let undo = book.changes(state: { Self.state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(undo.saved.map(\.state.role) == ["speaker"])
        book.wrote(undo)
        // Known again: nothing more to write.
        book.markDirty(bob)
        #expect(book.changes(state: { Self.state($0) }, token: { "rt_\($0.rawValue)" }).isEmpty)
    }

    @Test("the peers an event names are the ones marked")
    func peersInEvents() {
        let info = PeerInfo(id: "ann", name: "Ann", role: "speaker", joinedAt: .now())
        let events = [
            RoomEvent(audience: [], body: .peerJoined(PeerJoined(peer: info))),
            RoomEvent(audience: [], body: .trackMuted(TrackMuteChange(peer: "bo", track: "bo:mic", by: "ann"))),
            RoomEvent(audience: [], body: .speakers([])),
        ]
        #expect(KeptSessionBook.peers(in: events) == ["ann", "bo"])
    }
}
