// The one path every room action takes, whoever asks: a joined peer's
// request (RoomHost.handle) or the server's operator (the management API,
// RoomHost+Admin.swift, acting as `PeerID.server`).
//
//   action ─▶ Room.apply on a draft (permission checks) ─▶ keep the draft
//          ─▶ events ─▶ audiences ─▶ forwarding table ─▶ reply ─▶ record the end ─▶ close who left
//
// Chat takes its own path (RoomHost+Chat.swift: the store numbers and commits
// it, in the room's turn): `perform` never awaits.

import ConfabProtocol
import ConfabRooms

extension RoomHost {
    /// Applies `action` for `actor` and carries out what it caused. `reply`
    /// gets the answer after the events went out and before the departed
    /// peers' connections close (a peer that leaves hears `ok` first).
    /// Returns the peers whose sessions ended, or why nothing changed.
    func perform(
        _ action: PeerAction, from actor: PeerID, now: Timestamp, reply: (ServerBody) -> Void
    ) -> Result<Set<PeerID>, CodedError> {
        var draft = room
        let outcome: RoomOutcome
        do {
            outcome = try draft.apply(action, from: actor, now: now)
        } catch {
            metrics.error(error.code)
            return .failure(error)
        }
        guard outcome.chat == nil else {
            // A bug: chat goes through postChat, which commits before delivering.
            return .failure(CodedError(.internalError, "chat is posted through the chat path"))
        }
        let endedBefore = room.phase != .open
        room = draft
        if case .publishKeys(let request) = action, let ssrc = request.ssrc, var session = mediaSessions[actor],
            session.ssrc != ssrc
        {
            session.previousSSRC = session.ssrc
            session.ssrc = ssrc
            mediaSessions[actor] = session
        }
        deliver(outcome.events)
        if case .setState = action, !outcome.events.isEmpty { keepSharedState() }
        // The forwarding table before the reply: a client that sends media
        // right after `ok` (say, for the SSRC it just announced) is forwarded.
        if Self.changesMedia(action) { syncMedia(after: action, by: actor, events: outcome.events) }
        reply(outcome.reply)
        if case .endRoom(let lock, _) = action, !endedBefore, case .roomEnded(let ended) = outcome.events.first?.body {
            let name = name
            recorder.record("record the end of the room") { store in
                try await store.roomEnded(name, at: now, by: actor, reason: ended.reason, locked: lock)
            }
            sessionRecorded = false
            keepSharedState()
        }
        if case .removePeer(let target, _) = action, connections[target] == nil, room.removedWhileAway[target] != nil {
            // Removed while away: no connection to close, but the session is
            // over. Its resume token stays so that its resume hears why.
            endSession(of: target, reason: "removed", at: now)
        }
        let departed = closeDeparted(now: now, reason: Self.leaveReason(for: action))
        if !departed.isEmpty {
            syncMediaAfterLeave(of: departed)
            reportMembership()
        }
        return .success(departed)
    }
}

extension RoomHost {
    /// Keeps the room's shared state in the store, in order and off the
    /// room's path (SharedStateStore.swift); an ended room's is forgotten.
    func keepSharedState() {
        let entries = room.phase == .open ? room.sharedStateEntries ?? [] : []
        guard !entries.isEmpty || sharedStateKept else { return }
        sharedStateKept = !entries.isEmpty
        let name = name
        recorder.record("keep the shared state") { store in
            try await (store as? any SharedStateStore)?.saveSharedState(entries, room: name)
        }
    }
}
