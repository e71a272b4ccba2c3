import ConfabProtocol

// How invitations and calls end: cancelled, rung out, gone offline, left,
// and the end of the call itself, with the history each writes.

extension Switchboard {
    /// Who is in the call's room now, as its host reports it: a member seen
    /// in it who is gone left the call.
    public mutating func roomMembers(_ members: Set<PeerID>, ofCall id: CallID, at now: Moment) -> Outcome {
        if var call = calls[id] {
            let gone = call.inRoom.subtracting(members)
            call.inRoom.formUnion(members.filter { call.state(of: $0) == .accepted })
            call.inRoom.subtract(gone)
            calls[id] = call
            for user in gone.sorted() {
                leave(id, user: user, now: now)
            }
        }
        return finish(now)
    }

    /// Ends the invitations whose ring timeout passed (`noResponse`), and
    /// those of invitees gone offline for longer than `offlineGrace`.
    public mutating func sweep(at now: Moment) -> Outcome {
        for id in callIDs {
            guard let call = calls[id] else { continue }
            for (user, deadline) in call.ringDeadlines.sorted(by: { $0.key < $1.key }) where deadline <= now.instant {
                ringOut(id, user: user, as: .noResponse, now: now)
            }
            for (user, since) in call.offlineSince.sorted(by: { $0.key < $1.key }) {
                if users[user] != nil {
                    calls[id]?.offlineSince[user] = nil
                } else if now.instant - since >= Self.offlineGrace {
                    ringOut(id, user: user, as: .offline, now: now)
                }
            }
        }
        return finish(now)
    }

    /// Withdraws the invitations still ringing; a call nobody answered ends.
    mutating func cancel(_ id: CallID, now: Moment) {
        guard var call = calls[id] else { return }
        let withdrawn = call.ringing
        for user in withdrawn {
            call.setState(user, .cancelled)
            call.stopRinging(user)
        }
        if call.info.answeredAt == nil { call.cancelled = true }
        calls[id] = call
        for user in withdrawn {
            send(.callInvitationEnded(CallInvitationEnded(call: id, reason: .cancelled)), to: devices(of: user))
            record(call, invitee: user, outcome: .cancelled)
            broadcast(id, .callUpdated(CallUpdated(call: call.info, user: user, state: .cancelled)), skipping: [user])
        }
        if call.info.answeredAt == nil { end(id, reason: .cancelled, now: now) }
    }

    /// A member leaves (hangs up, leaves the room, or loses their device
    /// before joining it). Before anyone answered, the caller leaving cancels.
    mutating func leave(_ id: CallID, user: PeerID, now: Moment) {
        guard var call = calls[id], call.state(of: user) == .accepted else { return }
        if user == call.info.caller, call.info.answeredAt == nil {
            cancel(id, now: now)
            return
        }
        call.setState(user, .left)
        call.leftAt[user] = now.wall
        calls[id] = call
        // The room token they had is spent: rejoining is refused (6007 leftCall).
        if call.hasRoom { outbox.effects.append(.revoke(user, fromRoomOf: id)) }
        if call.members.count < 2 {
            // The leaver hears the end too (both sides get the duration).
            end(id, reason: .hangup, alsoTelling: user, now: now)
            return
        }
        if user == call.info.caller {
            recordCaller(call, now: now)
        } else {
            record(call, member: user, now: now)
        }
        // The call goes on without them; for them it is over.
        let spentMs = call.acceptedAt[user].map { Int(now.wall.milliseconds(since: $0)) } ?? 0
        send(.callEnded(CallEnded(call: id, reason: .hangup, durationMs: spentMs)), to: memberDevice(call, user))
        broadcast(id, .callUpdated(CallUpdated(call: call.info, user: user, state: .left)), skipping: [])
    }

    /// An invitation stops ringing unanswered: rung out (`noResponse`), or
    /// the invitee went offline (`offline`; none of their devices is left to tell).
    private mutating func ringOut(_ id: CallID, user: PeerID, as outcome: CallParticipantState, now: Moment) {
        guard var call = calls[id], call.state(of: user) == .ringing else { return }
        call.setState(user, outcome)
        call.stopRinging(user)
        calls[id] = call
        if outcome == .noResponse {
            send(.callInvitationEnded(CallInvitationEnded(call: id, reason: .noResponse)), to: devices(of: user))
        }
        broadcast(id, .callUpdated(CallUpdated(call: call.info, user: user, state: outcome)), skipping: [user])
        record(call, invitee: user, outcome: outcome == .offline ? .offline : .noResponse)
        endIfUnanswered(id, now: now)
    }

    /// Ends a call nobody has answered once nobody is left to answer it.
    mutating func endIfUnanswered(_ id: CallID, now: Moment) {
        guard let call = calls[id], call.info.answeredAt == nil, call.ringing.isEmpty else { return }
        end(id, reason: call.cancelled ? .cancelled : .unanswered, now: now)
    }

    /// `call.ended` to its members, invitations still ringing withdrawn,
    /// everyone's history written, the room ended (a follow-up).
    mutating func end(_ id: CallID, reason: CallEndReason, alsoTelling leaver: PeerID? = nil, now: Moment) {
        guard let call = calls.removeValue(forKey: id) else { return }
        rememberEnded(call, now: now)
        let durationMs = call.info.answeredAt.map { Int(now.wall.milliseconds(since: $0)) } ?? 0
        let ended = ServerBody.callEnded(CallEnded(call: id, reason: reason, durationMs: durationMs))
        for user in call.ringing {
            let why: InvitationEndReason = reason == .cancelled ? .cancelled : .callEnded
            send(.callInvitationEnded(CallInvitationEnded(call: id, reason: why)), to: devices(of: user))
            record(call, invitee: user, outcome: reason == .cancelled ? .cancelled : .noResponse)
        }
        var told = Set<PeerID>()
        for member in call.members {
            send(ended, to: memberDevice(call, member))
            told.insert(member)
            if member != call.info.caller { record(call, member: member, now: now) }
        }
        if let leaver, !told.contains(leaver) {
            send(ended, to: memberDevice(call, leaver))
            if leaver != call.info.caller { record(call, member: leaver, now: now) }
        }
        // A caller who left a group call that went on was recorded then.
        if call.state(of: call.info.caller) != .left || leaver == call.info.caller {
            recordCaller(call, now: now)
        }
        if call.hasRoom { outbox.followUps.append(.endRoom(id)) }
    }

    /// Keeps whom an ended call invited, for 10 minutes and at most 4,096 calls.
    private mutating func rememberEnded(_ call: Call, now: Moment) {
        recentlyEnded = recentlyEnded.filter { now.instant - $0.value.endedAt < Self.recentlyEndedLifetime }
        if recentlyEnded.count >= Self.recentlyEndedLimit,
            let oldest = recentlyEnded.min(by: { $0.value.endedAt < $1.value.endedAt })
        {
            recentlyEnded[oldest.key] = nil
        }
        let invited = Set(call.info.participants.map(\.user)).subtracting([call.info.caller])
        recentlyEnded[call.info.id] = EndedCall(invited: invited, endedAt: now.instant)
    }

    // MARK: - Time

    /// Forgets the rate buckets of users who are offline and whose bucket has
    /// refilled: a fresh, full bucket is the same thing. (A user online keeps
    /// theirs; one offline with a spent bucket keeps it until it refills, so
    /// reconnecting does not reset the limit.)
    mutating func pruneInvitationBuckets(now: Timestamp) {
        for (user, bucket) in invitationBuckets
        where users[user] == nil && bucket.available(now: now) >= bucket.limit.burst {
            invitationBuckets[user] = nil
        }
    }

    /// The earliest ring deadline, end of an offline grace, or refill of an
    /// offline user's rate bucket (to forget it).
    func nextWake(_ now: Moment) -> ContinuousClock.Instant? {
        var deadlines = calls.values.flatMap { call in
            Array(call.ringDeadlines.values) + call.offlineSince.values.map { $0 + Self.offlineGrace }
        }
        for (user, bucket) in invitationBuckets where users[user] == nil {
            // Whole tokens missing, each refilled in 1/perSecond s: full by then at the latest.
            let missing = bucket.limit.burst - bucket.available(now: now.wall)
            let perSecond = max(1, bucket.limit.perSecond)
            deadlines.append(now.instant + .milliseconds(max(1, (missing * 1_000 + perSecond - 1) / perSecond)))
        }
        return deadlines.min()
    }
}
