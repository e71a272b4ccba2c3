// What a room host of a cluster knows of its peers' kept sessions
// (docs/CLUSTER.md, "Failover"), and what it must write next.
//
//   an event names a peer, a token is issued or forgotten ─▶ dirty
//   a write reads the room ─▶ changes(state:token:): the dirty peers only ─▶ saved / removed
//       committed ─▶ wrote(_:)      failed ─▶ failed(_:): dirty again, the next heartbeat retries
//   a change that lowers a peer's privileges ─▶ pinned: written as it will be, before it is applied
//
// A write costs what changed, not the room's size: in a room of thousands a
// join marks one peer, and the write reads one peer.

import ConfabProtocol
import ConfabRooms

/// The rows to write for one room: peers whose state or token changed, and peers gone.
struct KeptSessionChanges: Sendable {
    var saved: [KeptSession] = []
    var removed: [PeerID] = []

    var isEmpty: Bool { saved.isEmpty && removed.isEmpty }
    var peers: [PeerID] { saved.map(\.state.peer) + removed }
}

/// What a peer's row must say while a change that lowers its privileges waits for its write.
enum KeptPin: Hashable, Sendable {
    case session(KeptSession)
    /// The peer is being removed: its row goes.
    case removed

    var session: KeptSession? {
        if case .session(let session) = self { session } else { nil }
    }
}

struct KeptSessionBook {
    /// As the database holds them (the last write that succeeded).
    var written: [PeerID: KeptSession] = [:]
    /// Each peer's resume token and its hash, made once per token.
    private(set) var hashes: [PeerID: (token: String, hash: String)] = [:]
    /// A write is queued and has not read the room yet: no need for another.
    var queued = false
    /// Peers whose state, token or pin may have changed since a write last read them.
    private(set) var dirty: Set<PeerID> = []
    /// Rows written ahead of a change that lowers privileges (RoomHost+KeptPrivileges.swift).
    private(set) var pinned: [PeerID: KeptPin] = [:]
    /// Peers whose last write failed: it may have committed all the same (a
    /// deadline is the caller's), so their rows are written again even when
    /// `written` says the database already holds them.
    private(set) var uncertain: Set<PeerID> = []

    var hasChanges: Bool { !dirty.isEmpty }

    mutating func markDirty(_ peer: PeerID) {
        dirty.insert(peer)
    }

    mutating func pin(_ peer: PeerID, _ pin: KeptPin?) {
        pinned[peer] = pin
        dirty.insert(peer)
    }

    /// Whether the database holds what `pin` says of `peer`.
    func holds(_ pin: KeptPin, of peer: PeerID) -> Bool {
        written[peer] == pin.session
    }

    /// The hash of `token`, made once per token.
    mutating func hash(of peer: PeerID, token: String) -> String {
        if let known = hashes[peer], known.token == token { return known.hash }
        let hash = KeptSession.hash(ofToken: token)
        hashes[peer] = (token, hash)
        return hash
    }

    /// What to write: the dirty peers' rows that differ from the database's,
    /// read through `state` (nil: not in the room) and `token` (nil: no
    /// session to resume). A pinned peer's row is its pin.
    mutating func changes(
        state: (PeerID) -> KeptPeerState?, token: (PeerID) -> String?
    ) -> KeptSessionChanges {
        queued = false
        var changes = KeptSessionChanges()
        let peers = dirty
        dirty = []
        for peer in peers {
            let current: KeptSession?
            if let pin = pinned[peer] {
                current = pin.session
            } else if let token = token(peer), let state = state(peer) {
                current = KeptSession(state: state, tokenHash: hash(of: peer, token: token))
            } else {
                current = nil
                if token(peer) == nil { hashes[peer] = nil }
            }
            let unsure = uncertain.contains(peer)
            if let current {
                if unsure || current != written[peer] { changes.saved.append(current) }
            } else if unsure || written[peer] != nil {
                changes.removed.append(peer)
            }
        }
        return changes
    }

    /// The database now holds `changes`.
    mutating func wrote(_ changes: KeptSessionChanges) {
        for session in changes.saved { written[session.state.peer] = session }
        for peer in changes.removed { written[peer] = nil }
        uncertain.subtract(changes.peers)
    }

    /// `changes` were not written, or not known to be: they are written with
    /// the next write, whatever `written` says.
    mutating func failed(_ changes: KeptSessionChanges) {
        dirty.formUnion(changes.peers)
        uncertain.formUnion(changes.peers)
    }

    /// The peers `events` may have changed the kept state of.
    static func peers(in events: [RoomEvent]) -> [PeerID] {
        events.compactMap { event -> PeerID? in
            switch event.body {
            case .peerJoined(let joined): joined.peer.id
            case .peerLeft(let left): left.peer
            case .peerUpdated(let updated): updated.peer.id
            case .trackMuted(let change), .trackUnmuted(let change): change.peer
            case .trackAdded(let added): added.peer
            case .trackRemoved(let removed): removed.peer
            default: nil
            }
        }
    }
}
