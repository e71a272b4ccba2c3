// The room's forwarding table, kept as last posted so that a listener's join
// changes it instead of rebuilding it: in a town hall of N, rebuilding it on
// every join cost O(N) per join (O(N²) to fill the room), the largest share
// of a join's time on the room's actor.
//
//   a role change, a publisher joins or leaves, the room ends ─▶ syncMedia: the whole table, kept
//   a listener joins (a new session, nothing of it in the table) ─▶ its row added, its slot added
//     to the rows of the publishers its role hears ─▶ the same table a whole rebuild would make;
//     the media thread is sent only the change (addListener): O(publishers), not O(room)
//   listeners leave, are removed or drop ─▶ their rows and slots taken out (removeListeners;
//     a publisher: the whole table)
//   a mute, an unmute, keys.publish ─▶ the rows of the peers whose track or SSRCs it changed
//     (updatePeer), none when nothing changed: a speaker toggling its microphone in a room of
//     10,000 cost two whole tables a toggle, on the room's actor and on the media thread
//   a prompt, an introduction, a no-op ─▶ nothing
//
// Whatever a change of rows cannot account for (the peer's role or session is
// not the one in its row) falls back to syncMedia, so the kept table is always
// what a rebuild of the room gives.

import ConfabProtocol
import ConfabRooms

/// A forwarding table by peer, and which of its peers publish (with their role).
struct MediaTableCache: Sendable {
    var configs: [PeerID: MediaPeerConfig] = [:]
    var publishers: [PeerID: RoleName] = [:]
}

extension RoomHost {
    /// Posts the room's forwarding table to the media thread: every connected
    /// peer with its credentials and SSRCs, whether it may publish now (role
    /// and mute), and the slots of those whose role hears it.
    func syncMedia() {
        for peer in mediaSessions.keys where room.peer(peer)?.isConnected != true {
            mediaSessions[peer] = nil
        }
        guard room.phase == .open else {
            mediaTable = nil
            settings.media.removeRoom(mediaRoomID)
            return
        }
        var table = MediaTableCache()
        let hearers = hearerSlots()
        for (id, session) in mediaSessions {
            guard let peer = room.peer(id), let username = CredentialKey(session.username) else { continue }
            let publishes = room.role(of: peer).publishAudio
            table.configs[id] = MediaPeerConfig(
                slot: session.slot, peer: id, username: username, integrityKey: session.integrityKey,
                ssrcs: (session.ssrc, session.previousSSRC), mayPublish: publishes && peer.microphone.map { !$0.muted } == true,
                subscribers: publishes ? (hearers[peer.role] ?? []).filter { $0 != session.slot } : [],
                hearsLoudestOnly: hearsLoudestOnly(peer))
            if publishes { table.publishers[id] = peer.role }
        }
        post(table)
    }

    /// Posts `table` to the media plane and keeps it.
    func post(_ table: MediaTableCache) {
        mediaTable = table
        settings.media.updateRoom(mediaRoomID, peers: Array(table.configs.values), loudest: room.template.audience?.loudest)
    }

    /// After `id` joined or resumed with a fresh session: the table with its
    /// row added when it only listens, else the whole table again.
    func syncMediaAfterJoin(of id: PeerID) {
        guard var table = mediaTable, room.phase == .open, table.configs[id] == nil, let peer = room.peer(id),
            peer.isConnected, let session = mediaSessions[id], let username = CredentialKey(session.username)
        else { return syncMedia() }
        let role = room.role(of: peer)
        guard !role.publishAudio else { return syncMedia() }
        // Out of the property while it changes: one reference, changed in place, not copied.
        mediaTable = nil
        let config = MediaPeerConfig(
            slot: session.slot, peer: id, username: username, integrityKey: session.integrityKey,
            ssrcs: (session.ssrc, session.previousSSRC), mayPublish: false, subscribers: [],
            hearsLoudestOnly: hearsLoudestOnly(peer))
        table.configs[id] = config
        var heard: [Int] = []
        for (publisher, publishedRole) in table.publishers where role.subscribesTo.contains(publishedRole) {
            table.configs[publisher]?.subscribers.append(session.slot)
            if let slot = table.configs[publisher]?.slot { heard.append(slot) }
        }
        mediaTable = table
        settings.media.addListener(mediaRoomID, config, publishers: heard)
    }

    /// After `gone` left the room or dropped: their rows and slots out of the
    /// table when they only listened, else the whole table again.
    func syncMediaAfterLeave(of gone: Set<PeerID>) {
        guard var table = mediaTable, room.phase == .open,
            gone.allSatisfy({ room.peer($0)?.isConnected != true && table.publishers[$0] == nil })
        else { return syncMedia() }
        mediaTable = nil
        var slots = Set<Int>()
        for id in gone {
            mediaSessions[id] = nil
            if let config = table.configs.removeValue(forKey: id) { slots.insert(config.slot) }
        }
        if !slots.isEmpty {
            let gone = MembershipTest(slots)
            for publisher in table.publishers.keys {
                table.configs[publisher]?.subscribers.removeAll { gone.contains($0) }
            }
        }
        mediaTable = table
        if !slots.isEmpty { settings.media.removeListeners(mediaRoomID, slots: Array(slots)) }
    }

    /// After `action` changed the room: what its `events` say changed. A role
    /// change (and the track it adds or takes away) or the room's end: the
    /// whole table. A mute or an unmute: its peer's row; `keys.publish`: the
    /// sender's row (its SSRCs). Prompts, introductions (a quiet peer's
    /// `peer.joined` to whom it was introduced) and departures change no row
    /// here: departures are synced as their connections close (syncMediaAfterLeave).
    func syncMedia(after action: PeerAction, by actor: PeerID, events: [RoomEvent]) {
        var rows: Set<PeerID> = []
        for event in events {
            switch event.body {
            case .trackMuted(let change), .trackUnmuted(let change): rows.insert(change.peer)
            case .peerUpdated(let updated) where updated.changed.contains(.role): return syncMedia()
            case .trackAdded, .trackRemoved, .roomEnded: return syncMedia()
            default: break
            }
        }
        if case .publishKeys = action { rows.insert(actor) }
        syncMediaRows(of: rows)
    }

    /// The rows of `ids` again, their SSRCs and whether they may publish,
    /// posted one by one where they changed. Anything else about them that
    /// differs from their row (role, session) makes it the whole table.
    func syncMediaRows(of ids: Set<PeerID>) {
        guard !ids.isEmpty else { return }
        guard var table = mediaTable, room.phase == .open else { return syncMedia() }
        // Out of the property while it changes, as in syncMediaAfterJoin (a fallback rebuilds it).
        mediaTable = nil
        var changed: [(slot: Int, ssrcs: (UInt32?, UInt32?), mayPublish: Bool)] = []
        for id in ids {
            guard let peer = room.peer(id), peer.isConnected, let session = mediaSessions[id] else {
                if table.configs[id] != nil { return syncMedia() }
                continue
            }
            guard let old = table.configs[id], old.slot == session.slot else { return syncMedia() }
            let role = room.role(of: peer)
            guard table.publishers[id] == (role.publishAudio ? peer.role : nil),
                old.hearsLoudestOnly == hearsLoudestOnly(peer)
            else { return syncMedia() }
            let mayPublish = role.publishAudio && peer.microphone.map { !$0.muted } == true
            let ssrcs = (session.ssrc, session.previousSSRC)
            guard old.mayPublish != mayPublish || old.ssrcs != ssrcs else { continue }
            table.configs[id]?.mayPublish = mayPublish
            table.configs[id]?.ssrcs = ssrcs
            changed.append((old.slot, ssrcs, mayPublish))
        }
        mediaTable = table
        for row in changed {
            settings.media.updatePeer(mediaRoomID, slot: row.slot, ssrcs: row.ssrcs, mayPublish: row.mayPublish)
        }
    }
}
