import ConfabProtocol

// One `CallRecord` per user per call (docs/PROTOCOL.md, Presence and calls:
// History), written when their part in it ends.

extension Switchboard {
    /// An invitation's outcome other than accepted: the invitee's history and the metrics.
    mutating func record(_ call: Call, invitee: PeerID, outcome: CallOutcome) {
        switch outcome {
        case .rejected: count(.invitationEnded(.rejected))
        case .noResponse: count(.invitationEnded(.noResponse))
        case .busy: count(.invitationEnded(.busy))
        case .offline: count(.invitationEnded(.offline))
        case .cancelled: count(.invitationEnded(.cancelled))
        case .answered, .unanswered: break
        }
        let peers =
            [call.info.caller] + call.info.participants.map(\.user).filter { $0 != call.info.caller && $0 != invitee }
        write(
            CallRecord(
                call: call.info.id, direction: .incoming, peers: peers, outcome: outcome,
                startedAt: call.info.createdAt,
                durationMs: 0), user: invitee)
    }

    /// A member's time in the call, once they are out of it.
    mutating func record(_ call: Call, member: PeerID, now: Moment) {
        let peers =
            [call.info.caller] + call.info.participants.map(\.user).filter { $0 != call.info.caller && $0 != member }
        write(
            CallRecord(
                call: call.info.id, direction: .incoming, peers: peers, outcome: .answered,
                startedAt: call.info.createdAt, durationMs: timeInCall(call, member, now: now)), user: member)
    }

    /// The caller's row: `answered` if anyone accepted, `cancelled` if they
    /// cancelled first, else the invitees' common outcome or `unanswered`.
    mutating func recordCaller(_ call: Call, now: Moment) {
        let caller = call.info.caller
        let invitees = call.info.participants.filter { $0.user != caller }
        let outcome: CallOutcome
        if call.info.answeredAt != nil {
            outcome = .answered
        } else if call.cancelled {
            outcome = .cancelled
        } else {
            let states = Set(invitees.map(\.state))
            outcome =
                switch states.count == 1 ? states.first : nil {
                case .rejected: .rejected
                case .noResponse: .noResponse
                case .busy: .busy
                case .offline: .offline
                default: .unanswered
                }
        }
        write(
            CallRecord(
                call: call.info.id, direction: .outgoing, peers: invitees.map(\.user), outcome: outcome,
                startedAt: call.info.createdAt, durationMs: timeInCall(call, caller, now: now)), user: caller)
    }

    /// From accepting (the caller: from the first accept) until leaving or now.
    private func timeInCall(_ call: Call, _ member: PeerID, now: Moment) -> Int {
        let until = call.leftAt[member] ?? now.wall
        return call.acceptedAt[member].map { Int(until.milliseconds(since: $0)) } ?? 0
    }

    private mutating func write(_ record: CallRecord, user: PeerID) {
        outbox.effects.append(.record(record, user: user))
    }

    mutating func count(_ metric: CallMetric) {
        outbox.effects.append(.count(metric))
    }
}
