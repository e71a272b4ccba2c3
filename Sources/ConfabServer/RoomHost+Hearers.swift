// Telling publishers whom to seal their media keys to when those are quiet
// (docs/PROTOCOL.md, `hearers`). A quiet listener is not announced to the
// speakers, yet it needs each speaker's key to hear them.
//
//   events (peer.joined / peer.left / role changes), joins, resumes ─▶ note ─▶ dirty peers
//     ─▶ (one flush pending at a time, every ≤ 100 ms) ─▶ QuietHearers.flush
//        dirty quiet peer: per publishing role, hears it now? ─▶ added / removed for that role (encoded once)
//        dirty publisher: new session or role ─▶ its whole list, paged, `reset` first
//     ─▶ hearers to each connected publisher
//
// Batched so that 10,000 listeners joining are not 10,000 messages to each
// publisher, and costing one pass over the changes, never over the room.

import ConfabProtocol
import ConfabRooms

/// What the publishers of a room were told of their quiet hearers.
struct QuietHearers: Sendable {
    /// Per publishing role: the quiet hearers its publishers were told of, with their keys and formats.
    private(set) var told: [RoleName: [PeerID: Hearer]] = [:]
    /// Per publisher: the role and media session its whole list was sent for.
    private var publishers: [PeerID: (role: RoleName, session: Int)] = [:]
    /// Peers whose state changed since the last flush.
    private var dirty: Set<PeerID> = []
    /// Quiet peers that (re)joined since: sealed to again even if known.
    private var arrived: Set<PeerID> = []
    var flushPending = false

    static let intervalMs = 100

    var hasChanges: Bool { !dirty.isEmpty }

    mutating func note(_ peer: PeerID, arrived: Bool = false) {
        dirty.insert(peer)
        if arrived { self.arrived.insert(peer) }
    }

    /// Notes the peers whose arrival, departure or role `events` tell of.
    mutating func note(_ events: [RoomEvent]) {
        for event in events {
            switch event.body {
            case .peerJoined(let joined): note(joined.peer.id, arrived: true)
            case .peerLeft(let left): note(left.peer)
            case .peerUpdated(let updated) where updated.changed.contains(.role): note(updated.peer.id)
            default: break
            }
        }
    }

    /// The `hearers` messages the changes since the last flush call for, per
    /// recipient. `session` gives a connected peer's current media session.
    mutating func flush(room: Room, session: (PeerID) -> Int?) -> [(to: PeerID, update: HearersUpdate)] {
        let changes = dirty
        let rejoined = arrived
        dirty = []
        arrived = []
        let publishing = room.template.roles.filter(\.publishAudio).map(\.name)
        var added: [RoleName: [Hearer]] = [:]
        var removed: [RoleName: [PeerID]] = [:]
        var needsWholeList: Set<PeerID> = []
        for id in changes.sorted() {
            let peer = room.peer(id).flatMap { $0.isConnected ? $0 : nil }
            let role = peer.map { room.role(of: $0) }
            for heard in publishing {
                let hearer = peer.flatMap { peer in
                    peer.isQuiet && role?.subscribesTo.contains(heard) == true
                        ? peer.publicKey.map { Hearer(peer: id, publicKey: $0, receives: peer.receives) } : nil
                }
                let known = told[heard]?[id]
                if let hearer, known != hearer || rejoined.contains(id) {
                    told[heard, default: [:]][id] = hearer
                    added[heard, default: []].append(hearer)
                } else if hearer == nil, known != nil {
                    told[heard]?[id] = nil
                    removed[heard, default: []].append(id)
                }
            }
            // A publisher with a new session or role hears its whole list again.
            if let peer, let role, role.publishAudio, let current = session(id) {
                if publishers[id].map({ $0.role != peer.role || $0.session != current }) ?? true {
                    publishers[id] = (peer.role, current)
                    needsWholeList.insert(id)
                }
            } else {
                publishers[id] = nil
            }
        }
        var messages: [(to: PeerID, update: HearersUpdate)] = []
        for (publisher, mark) in publishers.sorted(by: { $0.key < $1.key }) {
            let notHimself = { (hearer: PeerID) in hearer != publisher }
            let pages: [HearersUpdate]
            if needsWholeList.contains(publisher) {
                let all = (told[mark.role] ?? [:]).filter { notHimself($0.key) }.sorted { $0.key < $1.key }
                pages = HearersUpdate.pages(
                    added: all.map(\.value), removed: [], reset: true)
            } else {
                pages = HearersUpdate.pages(
                    added: (added[mark.role] ?? []).filter { notHimself($0.peer) },
                    removed: (removed[mark.role] ?? []).filter(notHimself), reset: false)
            }
            messages += pages.map { (publisher, $0) }
        }
        return messages
    }
}

extension RoomHost {
    /// Notes what `events` change about who hears whom (rooms with an audience only).
    func noteHearers(_ events: [RoomEvent]) {
        guard room.hasAudience else { return }
        quietHearers.note(events)
        scheduleHearers()
    }

    /// A peer joined or resumed: a new session, whose client forgets what it was told.
    func noteHearersSession(of peer: PeerID) {
        guard room.hasAudience else { return }
        quietHearers.note(peer, arrived: true)
        scheduleHearers()
    }

    /// Makes sure a flush is due within `QuietHearers.intervalMs`. Cheap when one is pending.
    private func scheduleHearers() {
        guard quietHearers.hasChanges, !quietHearers.flushPending, room.phase == .open else { return }
        quietHearers.flushPending = true
        Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(QuietHearers.intervalMs))
            await self?.flushHearers()
        }
    }

    /// Sends the `hearers` the changes since the last flush call for; each
    /// distinct message is encoded once, however many publishers get it.
    func flushHearers() {
        quietHearers.flushPending = false
        guard room.phase == .open else { return }
        let messages = quietHearers.flush(room: room) { [mediaSessions] in mediaSessions[$0]?.slot }
        var encoded: [HearersUpdate: String] = [:]
        for (peer, update) in messages {
            guard let sink = connections[peer] else { continue }
            let text = encoded[update] ?? ConnectionSink.encode(ServerMessage(.hearers(update)))
            encoded[update] = text
            sink.send(text)
        }
    }
}
