// A change that lowers a peer's privileges survives a failover (docs/CLUSTER.md,
// "Failover"): in a cluster, a role change, a mute and a removal are in the
// database before anyone hears of them.
//
//   role / mute / remove ─▶ the room's turn, ahead of queued chat sends ─▶ Room.apply on a draft:
//       whose role, mute or presence changes? ─▶ pin those peers' rows as they will be
//       ─▶ the room's recorder writes them ─▶ wait (until 5 s after the request came)
//       ─▶ written: perform (Room.apply for real, events, reply) ─▶ unpin (the next write reads the room again)
//       ─▶ not written (the database away): unpin, nothing applied, 9004 (retry); one's own mute is applied anyway
//
// While a pin holds, every write of the room writes the pinned row, whatever
// the room says meanwhile: no write that read the room before the change can
// put the old role back after it. A kill -9 after the reply therefore finds the
// new row. A write that failed may still have committed (a deadline is the
// caller's): its rows are written again from the room (KeptSessionBook), so a
// refused change does not stay in the database. Other changes (unmute, hands,
// names) are written off the room's path as before: only these wait for the database.

import ConfabProtocol
import ConfabRooms

extension RoomHost {
    /// How long a change may take from its request to its answer, waiting for
    /// the room's turn and for its row (the database away: refused then).
    static let keptPrivilegeWriteLimit: Duration = .seconds(5)

    /// `perform`, with the rows of the peers whose role, mute state or
    /// presence `action` changes written first (a cluster only). When they
    /// cannot be written within `keptPrivilegeWriteLimit`, nothing is applied
    /// and the answer is `9004` (retry), except for muting one's own microphone.
    func performKeepingSessions(
        _ action: PeerAction, from actor: PeerID, now: Timestamp, reply: (ServerBody) -> Void
    ) async -> Result<Set<PeerID>, CodedError> {
        guard settings.keptSessionsNode != nil, Self.mayLowerPrivileges(action) else {
            return perform(action, from: actor, now: now, reply: reply)
        }
        let started = ContinuousClock.now
        let deadline = started + Self.keptPrivilegeWriteLimit
        // One such change at a time, none while a join or resume reads the room,
        // and none waiting behind chat sends that wait for the database themselves.
        guard await takeChatTurnAhead(before: deadline) else { return unsaved(action, from: actor, now: now, reply: reply) }
        defer { passChatTurn() }
        let pins = keptPins(for: action, from: actor, now: now)
        guard !pins.isEmpty else { return perform(action, from: actor, now: now, reply: reply) }
        for (peer, pin) in pins { keptSessions.pin(peer, pin) }
        keepSessions()
        await recorder.flush(within: deadline - ContinuousClock.now)
        let unwritten = pins.filter { !keptSessions.holds($0.value, of: $0.key) }.map(\.key)
        // What the room says is written next: the new state once applied, the
        // old one if the change is refused (a pinned row may have committed late).
        defer {
            for peer in pins.keys { keptSessions.pin(peer, nil) }
            keepSessions()
        }
        guard unwritten.isEmpty else {
            logger.warning("cannot write a change before applying it", metadata: ["peers": "\(unwritten)"])
            return unsaved(action, from: actor, now: now, reply: reply)
        }
        logger.debug("kept the change before applying it", metadata: ["waited": "\(ContinuousClock.now - started)"])
        return perform(action, from: actor, now: now, reply: reply)
    }

    /// The answer to a change whose rows could not be written in time: `9004`,
    /// nothing applied. Muting one's own microphone is applied all the same
    /// (nobody may be kept from going quiet) and written once the database is back.
    private func unsaved(
        _ action: PeerAction, from actor: PeerID, now: Timestamp, reply: (ServerBody) -> Void
    ) -> Result<Set<PeerID>, CodedError> {
        if case .muteTrack(let track) = action, track == .microphone(of: actor) {
            return perform(action, from: actor, now: now, reply: reply)
        }
        metrics.error(.storageUnavailable)
        return .failure(
            CodedError(.storageUnavailable, "the change cannot be saved now (the database is away); nothing changed: try again"))
    }

    /// Whether `action` may change a peer's role, mute its microphone or remove it.
    static func mayLowerPrivileges(_ action: PeerAction) -> Bool {
        switch action {
        case .changeRole, .muteTrack, .removePeer: true
        default: false
        }
    }

    /// The rows `action` would change in role, mute state or presence, as they
    /// will be: none when it would be refused, or changes none of these.
    func keptPins(for action: PeerAction, from actor: PeerID, now: Timestamp) -> [PeerID: KeptPin] {
        var draft = room
        guard let outcome = try? draft.apply(action, from: actor, now: now) else { return [:] }
        var pins: [PeerID: KeptPin] = [:]
        for peer in Set(KeptSessionBook.peers(in: outcome.events)) {
            guard let token = resumeTokenOf[peer], let before = room.keptState(of: peer) else { continue }
            guard let after = draft.keptState(of: peer) else {
                pins[peer] = .removed
                continue
            }
            let lowered = after.role != before.role || after.muted != before.muted || after.mutedBy != before.mutedBy
            guard lowered else { continue }
            pins[peer] = .session(KeptSession(state: after, tokenHash: keptSessions.hash(of: peer, token: token)))
        }
        return pins
    }
}
