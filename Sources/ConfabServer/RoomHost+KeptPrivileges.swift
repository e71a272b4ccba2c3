// A change that lowers a peer's privileges survives a failover (docs/CLUSTER.md,
// "Failover"): in a cluster, a role change, a mute and a removal are in the
// database before anyone hears of them.
//
//   role / mute / remove ─▶ the room's turn ─▶ Room.apply on a draft: whose role, mute or presence changes?
//       ─▶ pin those peers' rows as they will be ─▶ the room's recorder writes them ─▶ wait (5 s at most)
//       ─▶ perform: Room.apply for real, events, reply ─▶ unpin (the next write reads the room again)
//
// While a pin holds, every write of the room writes the pinned row, whatever
// the room says meanwhile: no write that read the room before the change can
// put the old role back after it. A kill -9 after the reply therefore finds the
// new row. Other changes (unmute, hands, names) are written off the room's
// path as before: only these wait for the database.

import ConfabProtocol
import ConfabRooms

extension RoomHost {
    /// How long a change waits for its row before it is applied anyway (the
    /// database away: the room goes on, and the heartbeat writes it later).
    static let keptPrivilegeWriteLimit: Duration = .seconds(5)

    /// `perform`, with the rows of the peers whose role, mute state or
    /// presence `action` changes written first (a cluster only).
    func performKeepingSessions(
        _ action: PeerAction, from actor: PeerID, now: Timestamp, reply: (ServerBody) -> Void
    ) async -> Result<Set<PeerID>, CodedError> {
        guard settings.keptSessionsNode != nil, Self.mayLowerPrivileges(action) else {
            return perform(action, from: actor, now: now, reply: reply)
        }
        // One such change at a time, and none while a join or resume reads the room.
        await takeChatTurn()
        defer { passChatTurn() }
        let pins = keptPins(for: action, from: actor, now: now)
        guard !pins.isEmpty else { return perform(action, from: actor, now: now, reply: reply) }
        for (peer, pin) in pins { keptSessions.pin(peer, pin) }
        let started = ContinuousClock.now
        keepSessions()
        await recorder.flush(within: Self.keptPrivilegeWriteLimit)
        let unwritten = pins.filter { !keptSessions.holds($0.value, of: $0.key) }.map(\.key)
        if unwritten.isEmpty {
            logger.debug("kept the change before applying it", metadata: ["waited": "\(ContinuousClock.now - started)"])
        } else {
            logger.warning("applied a change the database does not hold yet", metadata: ["peers": "\(unwritten)"])
        }
        let result = perform(action, from: actor, now: now, reply: reply)
        // What the room says now is written next (the same privileges as the pins,
        // or, if the change was refused meanwhile, what the room still gives).
        for peer in pins.keys { keptSessions.pin(peer, nil) }
        keepSessions()
        return result
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
