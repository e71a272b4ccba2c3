import ConfabProtocol
import ConfabRooms
@testable import ConfabServer
import Testing

@Suite("Kept sessions: a write reads only the peers that changed, and a pinned row wins")
struct KeptSessionBookTests {
    static func state(_ peer: PeerID, role: RoleName = "speaker", muted: Bool = false) -> KeptPeerState {
        KeptPeerState(peer: peer, name: peer.rawValue, role: role, metadata: "", muted: muted, mutedBy: nil, publicKey: nil)
    }

    /// The `index`th peer of a settled book.
    static func peer(_ index: Int) -> PeerID { PeerID(uncheckedRawValue: "p\(index)") }

    /// A book whose database holds `count` peers (`peer(0)`…) as `state` gives them, and nothing dirty.
    static func settled(_ count: Int) -> KeptSessionBook {
        var book = KeptSessionBook()
        for index in 0..<count { book.markDirty(peer(index)) }
        let first = book.changes(state: { state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(first.saved.count == count)
        book.wrote(first)
        return book
    }

    @Test("in a room of 5,000, one peer's change reads one peer and writes one row")
    func proportionalToWhatChanged() {
        var book = Self.settled(5_000)
        book.markDirty(Self.peer(42))
        var read = 0
        let changes = book.changes(
            state: { peer in
                read += 1
                return Self.state(peer, role: peer == Self.peer(42) ? "listener" : "speaker")
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
        var book = Self.settled(3)
        book.markDirty(Self.peer(1))
        let gone = book.changes(state: { $0 == Self.peer(1) ? nil : Self.state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(gone.removed == [Self.peer(1)])
        book.failed(gone)
        #expect(book.hasChanges)
        let again = book.changes(state: { $0 == Self.peer(1) ? nil : Self.state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(again.removed == [Self.peer(1)])
        book.wrote(again)
        #expect(book.written[Self.peer(1)] == nil)
        #expect(book.written.count == 2)
    }

    @Test("while a demotion waits for its row, every write writes the pin, not what the room still says")
    func pinWins() {
        var book = Self.settled(2)
        let demoted = KeptSession(state: Self.state(Self.peer(0), role: "listener", muted: true), tokenHash: "h")
        book.pin(Self.peer(0), .session(demoted))
        // The room still says speaker (the change is applied after the write).
        let changes = book.changes(state: { Self.state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(changes.saved == [demoted])
        book.wrote(changes)
        #expect(book.holds(.session(demoted), of: Self.peer(0)))
        // Unpinned, the row follows the room again.
        book.pin(Self.peer(0), nil)
        let after = book.changes(state: { Self.state($0, role: "listener", muted: true) }, token: { "rt_\($0.rawValue)" })
        #expect(after.saved.map(\.state.role) == ["listener"])
        // A removal pinned deletes the row before the peer is gone from the room.
        book.pin(Self.peer(1), .removed)
        let removal = book.changes(state: { Self.state($0) }, token: { "rt_\($0.rawValue)" })
        #expect(removal.removed == [Self.peer(1)])
        book.wrote(removal)
        #expect(book.holds(.removed, of: Self.peer(1)))
    }

    @Test("a pinned write that failed may have committed: once refused and unpinned, the room's own state is written again")
    func refusedChangeIsUndone() {
        var book = Self.settled(1)
        let bob = Self.peer(0)
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
