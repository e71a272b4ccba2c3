import ConfabProtocol

// The call requests of a connected user. A refused request changes nothing
// but the caller's rate bucket, and its error goes to the requesting device.

extension Switchboard {
    /// A call request from one of the user's devices.
    public mutating func handle(
        _ request: CallRequest, from user: PeerID, device: DeviceID, id: RequestID, at now: Moment
    ) -> Outcome {
        do throws(CodedError) {
            switch request {
            case .invite(let invitation, let newCall):
                try invite(invitation, from: user, device: device, request: id, newCall: newCall, now: now)
            case .accept(let call):
                try accept(call, user: user, device: device, request: id, now: now)
            case .reject(let call):
                try reject(call, user: user, device: device, now: now)
                reply(.ok(OkReply()), to: id, on: device)
            case .cancel(let call):
                guard calls[call]?.info.caller == user else {
                    throw CodedError(.callNotFound, "no call \(call) placed by you")
                }
                cancel(call, now: now)
                reply(.ok(OkReply()), to: id, on: device)
            case .hangUp(let call):
                guard calls[call]?.state(of: user) == .accepted else {
                    throw CodedError(.callNotFound, "you are not in call \(call)")
                }
                leave(call, user: user, now: now)
                reply(.ok(OkReply()), to: id, on: device)
            }
        } catch {
            outbox.effects.append(.refuse(error, request: id, device: device))
        }
        return finish(now)
    }

    // MARK: - Inviting

    private mutating func invite(
        _ request: CallInviteRequest, from caller: PeerID, device: DeviceID, request id: RequestID, newCall: CallID,
        now: Moment
    ) throws(CodedError) {
        var invitees = try admissibleInvitees(request.users, from: caller, now: now)
        var call: Call
        if let existing = request.call {
            call = try callToInviteInto(existing, by: caller)
            // Those already ringing or in the call are left as they are.
            invitees.removeAll { call.state(of: $0) == .ringing || call.state(of: $0) == .accepted }
            try checkRoom(in: call, for: invitees)
        } else {
            guard !isBusy(caller) else {
                throw CodedError(.alreadyInCall, "you are in another call: hang up, or invite into it")
            }
            guard invitees.count + 1 <= CallLimits.maximumParticipants else {
                throw CodedError(
                    .callFull, "a call holds at most \(CallLimits.maximumParticipants) people, you included")
            }
            call = freshCall(newCall, from: caller, device: device, group: invitees.count > 1, now: now)
        }
        let ringFor = request.ringTimeoutMs ?? settings.ringTimeoutMs
        var states: [(PeerID, CallParticipantState)] = []
        for invitee in invitees {
            let state: CallParticipantState = users[invitee] == nil ? .offline : isBusy(invitee) ? .busy : .ringing
            let name = users[invitee]?.name ?? invitee.rawValue
            call.enter(CallParticipant(user: invitee, name: name, state: state, invitedBy: caller))
            if state == .ringing { call.ringDeadlines[invitee] = now.instant + .milliseconds(ringFor) }
            states.append((invitee, state))
        }
        if call.info.participants.count > 2 { call.info.group = true }
        calls[call.info.id] = call
        count(.invitationsSent(invitees.count))

        // The rung learn of it from `call.invitation`, the others in the call
        // from `call.updated`, the inviter from the reply — which comes last,
        // after a `call.ended` if nobody could be rung (the protocol's rule:
        // a reply follows the events its request caused).
        for (invitee, state) in states {
            if state == .ringing {
                send(
                    .callInvitation(CallInvitation(call: call.info, from: caller, ringTimeoutMs: ringFor)),
                    to: devices(of: invitee))
            } else {
                record(call, invitee: invitee, outcome: state == .busy ? .busy : .offline)
            }
            broadcast(
                call.info.id, .callUpdated(CallUpdated(call: call.info, user: invitee, state: state)),
                skipping: [caller, invitee])
        }
        endIfUnanswered(call.info.id, now: now)
        reply(.callState(call.info), to: id, on: device)
    }

    /// The invitees once, in order, if the caller may ring them all now:
    /// not themself, all allowed by the policy, within the caller's rate.
    private mutating func admissibleInvitees(_ users: [PeerID], from caller: PeerID, now: Moment) throws(CodedError)
        -> [PeerID]
    {
        var invitees: [PeerID] = []
        for user in users where !invitees.contains(user) { invitees.append(user) }
        guard !invitees.contains(caller) else { throw CodedError(.cannotTargetYourself, "you cannot ring yourself") }
        let forbidden = invitees.filter { !settings.policy.mayRing($0, from: caller) }
        guard forbidden.isEmpty else {
            throw CodedError(
                .callForbidden,
                "this server's call policy does not let you ring \(forbidden.map(\.rawValue).joined(separator: ", "))")
        }
        let rate = settings.invitationRate
        var bucket = invitationBuckets[caller] ?? TokenBucket(limit: rate, now: now.wall)
        defer { invitationBuckets[caller] = bucket }
        do {
            try bucket.take(
                now: now.wall,
                or: CodedError(
                    .callRateLimited, "at most \(rate.perSecond) invitations a second (bursts of \(rate.burst)); nobody was rung"))
        } catch {
            count(.invitationRateLimited)
            throw error
        }
        return invitees
    }

    private func callToInviteInto(_ id: CallID, by caller: PeerID) throws(CodedError) -> Call {
        guard let call = calls[id], call.state(of: caller) == .accepted else {
            throw CodedError(.callNotFound, "you are not in call \(id)")
        }
        return call
    }

    /// Whether the call holds the people invited into it, and their entries.
    private func checkRoom(in call: Call, for invitees: [PeerID]) throws(CodedError) {
        let active = call.info.participants.filter { $0.state == .ringing || $0.state == .accepted }.count
        let newcomers = invitees.filter { call.state(of: $0) == nil }.count
        guard active + invitees.count <= CallLimits.maximumParticipants,
            call.info.participants.count + newcomers <= CallLimits.maximumParticipantEntries
        else {
            throw CodedError(.callFull, "a call holds at most \(CallLimits.maximumParticipants) people")
        }
    }

    private func freshCall(_ id: CallID, from caller: PeerID, device: DeviceID, group: Bool, now: Moment) -> Call {
        let you = CallParticipant(user: caller, name: users[caller]?.name ?? caller.rawValue, state: .accepted)
        var call = Call(
            info: CallInfo(id: id, caller: caller, group: group, createdAt: now.wall, participants: [you]),
            memberDevices: [caller: device])
        call.memberInstances[caller] = users[caller]?.devices[device]?.instance
        return call
    }

    // MARK: - Answering

    private mutating func accept(_ id: CallID, user: PeerID, device: DeviceID, request: RequestID, now: Moment)
        throws(CodedError)
    {
        var call = try ringingCall(id, for: user, now: now)
        guard !isBusy(user) else { throw CodedError(.alreadyInCall, "you are in another call: hang up first") }
        call.setState(user, .accepted)
        call.stopRinging(user)
        call.memberDevices[user] = device
        call.memberInstances[user] = users[user]?.devices[device]?.instance
        call.acceptedAt[user] = now.wall
        let caller = call.info.caller
        let firstAccept = !call.hasRoom
        if firstAccept {
            call.hasRoom = true
            call.info.answeredAt = now.wall
            call.acceptedAt[caller] = now.wall
            // Opened before any token for it leaves, so every join finds it.
            outbox.effects.append(.openRoom(id, admitting: caller))
        }
        calls[id] = call
        count(.invitationEnded(.accepted))
        // Its room admits them (again, if they had left and were invited back).
        outbox.effects.append(.admit(user, toRoomOf: id))
        send(
            .callInvitationEnded(CallInvitationEnded(call: id, reason: .answeredElsewhere)),
            to: devices(of: user).filter { $0 != device })
        broadcast(id, .callUpdated(CallUpdated(call: call.info, user: user, state: .accepted)), skipping: [user])
        // Tokens last: signing may suspend, and everything above is done by then.
        if firstAccept, let callerDevice = call.memberDevices[caller] {
            outbox.followUps.append(
                .roomToken(
                    call: id, user: caller, name: users[caller]?.name, device: callerDevice, reply: nil,
                    issuedAt: now.wall))
        }
        outbox.followUps.append(
            .roomToken(
                call: id, user: user, name: users[user]?.name, device: device, reply: request, issuedAt: now.wall))
    }

    private mutating func reject(_ id: CallID, user: PeerID, device: DeviceID, now: Moment) throws(CodedError) {
        var call = try ringingCall(id, for: user, now: now)
        call.setState(user, .rejected)
        call.stopRinging(user)
        calls[id] = call
        send(
            .callInvitationEnded(CallInvitationEnded(call: id, reason: .rejectedElsewhere)),
            to: devices(of: user).filter { $0 != device })
        broadcast(id, .callUpdated(CallUpdated(call: call.info, user: user, state: .rejected)), skipping: [user])
        record(call, invitee: user, outcome: .rejected)
        endIfUnanswered(id, now: now)
    }

    /// The call, if it rings for `user`; else why their answer is refused.
    private func ringingCall(_ id: CallID, for user: PeerID, now: Moment) throws(CodedError) -> Call {
        guard let call = calls[id], let state = call.state(of: user) else {
            // Remembered for its lifetime exactly, whether or not another
            // call has ended since (which is when old entries are pruned).
            if let ended = recentlyEnded[id], ended.invited.contains(user),
                now.instant - ended.endedAt < Self.recentlyEndedLifetime
            {
                throw CodedError(
                    .invitationNotPending, "call \(id) no longer rings for you: it was cancelled or has ended")
            }
            throw CodedError(.callNotFound, "no call \(id) for you")
        }
        guard state == .ringing else {
            throw CodedError(.invitationNotPending, "call \(id) is not ringing for you (it is \(state.rawValue))")
        }
        return call
    }
}

extension Switchboard.Call {
    /// Puts an invitee in the participant list, replacing an earlier entry of theirs.
    mutating func enter(_ entry: CallParticipant) {
        if let index = info.participants.firstIndex(where: { $0.user == entry.user }) {
            info.participants[index] = entry
        } else {
            info.participants.append(entry)
        }
    }
}
