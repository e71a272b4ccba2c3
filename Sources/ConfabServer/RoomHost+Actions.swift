// The one path every room action takes, whoever asks: a joined peer's
// request (RoomHost.handle) or the server's operator (the management API,
// RoomHost+Admin.swift, acting as `PeerID.server`).
//
//   action ─▶ Room.apply on a draft (permission checks) ─▶ [chat: COMMIT] ─▶ keep the draft
//          ─▶ events ─▶ audiences ─▶ forwarding table ─▶ reply ─▶ record the end ─▶ close who left

import ConfabProtocol
import ConfabRooms

extension RoomHost {
    /// Applies `action` for `actor` and carries out what it caused. `reply`
    /// gets the answer after the events went out and before the departed
    /// peers' connections close (a peer that leaves hears `ok` first).
    /// Returns the peers whose sessions ended, or why nothing changed.
    func perform(
        _ action: PeerAction, from actor: PeerID, idempotencyKey: RequestID?, now: Timestamp,
        reply: (ServerBody) -> Void
    ) -> Result<Set<PeerID>, CodedError> {
        var draft = room
        let outcome: RoomOutcome
        do {
            outcome = try draft.apply(action, from: actor, now: now)
        } catch {
            metrics.error(error.code)
            return .failure(error)
        }
        if let chat = outcome.chat {
            // Commit before anyone sees it: an acknowledged message is in the log.
            do {
                try store.append(chat.message, room: name, recipients: chat.recipients, idempotencyKey: idempotencyKey)
            } catch {
                let refusal = CodedError(.storageFailure, "the chat log cannot be written; not posted")
                logger.error("\(refusal.message)", metadata: ["error": "\(error)"])
                metrics.error(refusal.code)
                return .failure(refusal)
            }
            metrics.chatCommitted()
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
        // The forwarding table before the reply: a client that sends media
        // right after `ok` (say, for the SSRC it just announced) is forwarded.
        if Self.changesMedia(action) { syncMedia() }
        reply(outcome.reply)
        if case .endRoom(let lock, _) = action, !endedBefore, case .roomEnded(let ended) = outcome.events.first?.body {
            record("record the end of the room") { () throws(StorageError) in
                try store.roomEnded(name, at: now, by: actor, reason: ended.reason, locked: lock)
            }
            sessionRecorded = false
        }
        if case .removePeer(let target, _) = action, connections[target] == nil, room.removedWhileAway[target] != nil {
            // Removed while away: no connection to close, but the session is
            // over. Its resume token stays so that its resume hears why.
            endSession(of: target, reason: "removed", at: now)
        }
        let departed = closeDeparted(now: now, reason: Self.leaveReason(for: action))
        if !departed.isEmpty {
            syncMedia()
            reportMembership()
        }
        return .success(departed)
    }
}
