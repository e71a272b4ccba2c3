import ConfabProtocol

// Peer actions: each checks the actor's role first, then the state of the
// room, and only then changes anything. Idempotent requests (muting a muted
// track, lowering a lowered hand) succeed with no events, but only after the
// permission check, so a role that may not do something always hears so.
//
// Mute policy (as 100ms): a peer muted by a host may unmute itself again if
// its role may publish. The lasting way to silence someone is to give them a
// role that may not publish, which takes their microphone away.

extension Room {
    /// Performs what a joined peer asks, or throws why not, leaving the room
    /// unchanged.
    public mutating func apply(_ action: PeerAction, from actor: PeerID, now: Timestamp) throws(CodedError)
        -> RoomOutcome
    {
        // Chat is the action a big room sees many times a second, and
        // `sendChat` changes nothing before its last check: it runs in place,
        // with no copy of every peer to roll back to.
        if case .sendChat = action { return try perform(action, by: actor, now: now) }
        var draft = self
        let outcome = try draft.perform(action, by: actor, now: now)
        self = draft
        return outcome
    }

    private mutating func perform(_ action: PeerAction, by actorID: PeerID, now: Timestamp) throws(CodedError)
        -> RoomOutcome
    {
        guard phase == .open else { throw CodedError(.roomEnded, "room \(name) has ended") }
        let actor: Peer
        if actorID == .server {
            actor = try serverActor(for: action, now: now)
        } else {
            guard let peer = peers[actorID], peer.isConnected else {
                throw CodedError(.notJoined, "\(actorID) is not in room \(name)")
            }
            actor = peer
        }
        switch action {
        case .leave:
            return leave(actor, now: now)
        case .sendChat(let target, let text):
            return try sendChat(from: actor, to: target, text: text, now: now)
        case .changeRole(let target, let role, let force):
            return try changeRole(of: target, to: role, force: force, by: actor, now: now)
        case .answerPrompt(let prompt, let accept):
            return try answer(prompt, accept: accept, by: actor, now: now)
        case .muteTrack(let track):
            return try mute(track, by: actor)
        case .unmuteTrack(let track):
            return try unmute(track, by: actor, now: now)
        case .removePeer(let target, let reason):
            return try remove(target, reason: reason, by: actor, now: now)
        case .endRoom(let lock, let reason):
            guard role(of: actor).permissions.endRoom else {
                throw CodedError(.cannotEndRoom, "role \(actor.role) may not end the room")
            }
            return RoomOutcome(events: close(by: actor.id, reason: Self.cleanReason(reason), lock: lock, now: now))
        case .raiseHand:
            guard role(of: actor).permissions.raiseHand else {
                throw CodedError(.cannotRaiseHand, "role \(actor.role) may not raise a hand")
            }
            let outcome = setHand(of: actor, raisedAt: actor.handRaisedAt ?? now)
            try spendChange(by: actor.id, now: now)
            return outcome
        case .lowerHand:
            let outcome = setHand(of: actor, raisedAt: nil)
            try spendChange(by: actor.id, now: now)
            return outcome
        case .updatePeer(let name, let metadata):
            let outcome = try update(actor, name: name, metadata: metadata)
            try spendChange(by: actor.id, now: now)
            return outcome
        case .publishKeys(let request):
            return try publishKeys(request, by: actor)
        case .setState(let key, let value):
            let outcome = try setState(key, to: value, by: actor, now: now)
            try spendChange(by: actor.id, now: now)
            return outcome
        }
    }

    /// Takes one of the peer's changes (`RateLimits.changes`): each goes to
    /// everyone in the room, so a peer toggling its hand as fast as it may send
    /// would cost the server the room's size fifty times a second. Spent only
    /// once the change is allowed (a refusal throws away the room's draft); the
    /// server acting through the API is not a peer and has no allowance.
    private mutating func spendChange(by id: PeerID, now: Timestamp) throws(CodedError) {
        guard let peer = peers[id] else { return }
        var allowance = peer.changeAllowance ?? TokenBucket(limit: RateLimits.changes, now: now)
        try allowance.take(
            now: now,
            or: CodedError(
                .changesRateLimited,
                "at most \(RateLimits.changes.perSecond) changes a second to your hand, name or metadata "
                    + "and the shared state (bursts of \(RateLimits.changes.burst)); nothing changed"))
        peers[id]?.changeAllowance = allowance
    }

    // MARK: - Leaving

    private mutating func leave(_ actor: Peer, now: Timestamp) -> RoomOutcome {
        let told = watchers(of: actor.id).subtracting([actor.id])
        removePeer(actor.id, now: now)
        return RoomOutcome(events: [
            RoomEvent(audience: told, body: .peerLeft(PeerLeft(peer: actor.id, reason: .left)))
        ])
    }

    private mutating func remove(_ targetID: PeerID, reason: String?, by actor: Peer, now: Timestamp) throws(CodedError)
        -> RoomOutcome
    {
        guard role(of: actor).permissions.removePeers else {
            throw CodedError(.cannotRemovePeers, "role \(actor.role) may not remove peers")
        }
        guard targetID != actor.id else {
            throw CodedError(.cannotTargetYourself, "to remove yourself, send leave")
        }
        // A peer in its resume grace can be removed too: otherwise whoever
        // drops and comes back could never be removed.
        guard let target = peers[targetID] else {
            throw CodedError(.peerNotFound, "no peer \(targetID) in room \(name)")
        }
        try checkRank(of: actor, over: target)
        let told = watchers(of: target.id).subtracting([target.id])
        removePeer(target.id, now: now)
        let reason = Self.cleanReason(reason)
        if case .suspended = target.connection {
            // The others saw it leave when it dropped; its resume is refused.
            removedWhileAway[target.id] = RemovalWhileAway(by: actor.id, reason: reason, at: now)
            return RoomOutcome(events: [])
        }
        return RoomOutcome(events: [
            RoomEvent(audience: [target.id], body: .removed(Removed(by: actor.id, reason: reason))),
            RoomEvent(audience: told, body: .peerLeft(PeerLeft(peer: target.id, reason: .removed, by: actor.id))),
        ])
    }

    // MARK: - Roles and prompts

    private mutating func changeRole(
        of targetID: PeerID, to roleName: RoleName, force: Bool, by actor: Peer, now: Timestamp
    ) throws(CodedError) -> RoomOutcome {
        let actorRole = role(of: actor)
        guard actorRole.permissions.changeRoles else {
            throw CodedError(.cannotChangeRoles, "role \(actor.role) may not change roles")
        }
        let target = try connectedPeer(targetID)
        guard let newRole = template.role(named: roleName) else {
            throw CodedError(.roleNotFound, "room \(name) has no role \(roleName)")
        }
        try checkRank(of: actor, over: target)
        guard newRole.priority <= actorRole.priority else {
            throw CodedError(.roleOutranksYou, "role \(roleName) outranks your role \(actor.role)")
        }
        guard target.role != roleName else { return RoomOutcome(events: []) }
        if force || target.id == actor.id {
            return RoomOutcome(events: assignRole(newRole, to: target.id, by: actor.id))
        }
        return ask(target.id, .roleChange(roleName), from: actor.id, now: now) { prompt in
            .roleChangeRequested(RoleChangePrompt(prompt: prompt, by: actor.id, role: roleName))
        }
    }

    private mutating func answer(_ promptID: PromptID, accept: Bool, by actor: Peer, now: Timestamp) throws(CodedError)
        -> RoomOutcome
    {
        guard let prompt = prompts[promptID], prompt.to == actor.id else {
            if expiredPrompts[promptID]?.to == actor.id {
                throw CodedError(.promptExpired, "prompt \(promptID) expired")
            }
            throw CodedError(.promptNotFound, "no prompt \(promptID) for you")
        }
        guard now.milliseconds(since: prompt.createdAt) < Int64(template.promptLifetimeMs) else {
            throw CodedError(.promptExpired, "prompt \(promptID) expired")
        }
        removePrompt(promptID)
        var events: [RoomEvent] = []
        if accept {
            switch prompt.kind {
            case .roleChange(let roleName):
                if let newRole = template.role(named: roleName), actor.role != roleName {
                    events += assignRole(newRole, to: actor.id, by: prompt.from)
                }
            case .unmute(let track):
                if let microphone = actor.microphone, microphone.id == track, microphone.muted {
                    events += setMuted(false, track: microphone, of: actor.id, by: actor.id)
                }
            }
        }
        // Prompts lapse when their asker leaves or changes role, so a peer
        // that asked is still here. The server's operator (the management
        // API) has no connection to hear the answer on: its answer goes to
        // nobody in the room, only to the prompt.answered webhook.
        events.append(
            RoomEvent(
                audience: prompt.from == .server ? [] : [prompt.from],
                body: .promptAnswered(PromptAnswered(prompt: promptID, peer: actor.id, accepted: accept))))
        return RoomOutcome(events: events)
    }

    /// Gives a role at once. The hand goes down; the microphone comes with a
    /// publishing role (muted, so nobody goes live by surprise) and goes with
    /// a listening one. Prompts to and from the peer lapse, since its
    /// permissions changed. `peer.updated` comes first, then track events.
    private mutating func assignRole(_ newRole: Role, to id: PeerID, by actor: PeerID) -> [RoomEvent] {
        guard var peer = peers[id] else { return [] }
        var changed: [PeerField] = [.role]
        if peer.handRaisedAt != nil {
            peer.handRaisedAt = nil
            changed.append(.hand)
        }
        peer.role = newRole.name
        var trackEvent: ServerBody?
        if newRole.publishAudio, peer.microphone == nil {
            let microphone = TrackInfo(id: .microphone(of: id), muted: true)
            peer.microphone = microphone
            trackEvent = .trackAdded(TrackAdded(peer: id, track: microphone))
        } else if !newRole.publishAudio, let microphone = peer.microphone {
            peer.microphone = nil
            trackEvent = .trackRemoved(PeerTrack(peer: id, track: microphone.id))
        }
        // A quiet peer given a role that is not quiet is announced: those
        // who did not know it hear `peer.joined` (tracks included), the rest `peer.updated`.
        let knewIt = watchers(of: id)
        let sawAudience = peers[id].map { role(of: $0).permissions.seeAudience } ?? false
        if peer.isQuiet, isAnnouncedRole(newRole) {
            peer.isQuiet = false
            introductions[id] = nil
        }
        peers[id] = peer
        dropPrompts(involving: id)
        let audience = watchers(of: id)
        var events = [
            RoomEvent(
                audience: audience.intersection(knewIt),
                body: .peerUpdated(PeerUpdated(peer: peer.info, changed: changed, by: actor == id ? nil : actor)))
        ]
        let strangers = audience.subtracting(knewIt)
        if !strangers.isEmpty {
            events.append(RoomEvent(audience: strangers, body: .peerJoined(PeerJoined(peer: peer.info))))
        }
        if let trackEvent { events.append(RoomEvent(audience: knewIt.intersection(audience), body: trackEvent)) }
        if sawAudience, !newRole.permissions.seeAudience { events += audienceOutOfView(for: id) }
        return events
    }

    /// Opens a prompt: the question goes to `target` alone, its id back to the asker.
    private mutating func ask(
        _ target: PeerID, _ kind: Prompt.Kind, from actor: PeerID, now: Timestamp, question: (PromptID) -> ServerBody
    ) -> RoomOutcome {
        if let pending = promptIDsByQuestion[Prompt.Question(from: actor, to: target, kind: kind)], let prompt = prompts[pending],
            now.milliseconds(since: prompt.createdAt) < Int64(template.promptLifetimeMs)
        {
            // Asked again while the peer has the question: the same prompt and
            // nothing new to it, so a host pressing the key twice (or a script
            // in a loop) does not stack questions on its screen.
            return RoomOutcome(events: [], reply: .ok(OkReply(prompt: pending)))
        }
        promptCounter += 1
        let id = PromptID(uncheckedRawValue: "p\(promptCounter)")
        addPrompt(Prompt(id: id, kind: kind, from: actor, to: target, createdAt: now))
        // A quiet peer and whoever prompts it learn of each other first.
        return RoomOutcome(
            events: introduce([actor, target]) + [RoomEvent(audience: [target], body: question(id))],
            reply: .ok(OkReply(prompt: id)))
    }

    // MARK: - Tracks

    private mutating func mute(_ trackID: TrackID, by actor: Peer) throws(CodedError) -> RoomOutcome {
        let (owner, microphone) = try track(trackID, for: actor)
        if owner.id != actor.id {
            guard role(of: actor).permissions.muteOthers else {
                throw CodedError(.cannotMuteOthers, "role \(actor.role) may not mute others")
            }
            try checkRank(of: actor, over: owner)
        }
        guard !microphone.muted else { return RoomOutcome(events: []) }
        return RoomOutcome(events: setMuted(true, track: microphone, of: owner.id, by: actor.id))
    }

    private mutating func unmute(_ trackID: TrackID, by actor: Peer, now: Timestamp) throws(CodedError) -> RoomOutcome {
        let (owner, microphone) = try track(trackID, for: actor)
        if owner.id == actor.id {
            guard role(of: actor).publishAudio else {
                throw CodedError(.cannotPublish, "role \(actor.role) may not publish audio")
            }
            guard microphone.muted else { return RoomOutcome(events: []) }
            return RoomOutcome(events: setMuted(false, track: microphone, of: owner.id, by: actor.id))
        }
        guard role(of: actor).permissions.askToUnmute else {
            throw CodedError(.cannotAskToUnmute, "role \(actor.role) may not ask others to unmute")
        }
        try checkRank(of: actor, over: owner)
        guard microphone.muted else { return RoomOutcome(events: []) }
        return ask(owner.id, .unmute(trackID), from: actor.id, now: now) { prompt in
            .unmuteRequested(UnmutePrompt(prompt: prompt, by: actor.id, track: trackID))
        }
    }

    private mutating func setMuted(_ muted: Bool, track: TrackInfo, of owner: PeerID, by actor: PeerID) -> [RoomEvent] {
        var track = track
        track.muted = muted
        track.mutedBy = muted ? actor : nil
        peers[owner]?.microphone = track
        let change = TrackMuteChange(peer: owner, track: track.id, by: actor)
        return [RoomEvent(audience: watchers(of: owner), body: muted ? .trackMuted(change) : .trackUnmuted(change))]
    }

    /// The connected owner of a track and the track. Asking about your own
    /// microphone when your role may not publish is a permission error, not
    /// a missing track: the role is why there is none.
    private func track(_ trackID: TrackID, for actor: Peer) throws(CodedError) -> (owner: Peer, track: TrackInfo) {
        // The id names its owner: one lookup, not a search of a room of thousands.
        if let owner = trackID.microphoneOwner.flatMap({ peers[$0] }), owner.isConnected,
            let microphone = owner.microphone, microphone.id == trackID
        {
            return (owner, microphone)
        }
        if trackID == .microphone(of: actor.id), !role(of: actor).publishAudio {
            throw CodedError(.cannotPublish, "role \(actor.role) may not publish audio")
        }
        throw CodedError(.trackNotFound, "no track \(trackID) in room \(name)")
    }

    // MARK: - Hands, names, keys

    private mutating func setHand(of actor: Peer, raisedAt: Timestamp?) -> RoomOutcome {
        guard actor.handRaisedAt != raisedAt else { return RoomOutcome(events: []) }
        var peer = actor
        peer.handRaisedAt = raisedAt
        peers[actor.id] = peer
        return RoomOutcome(events: [
            RoomEvent(
                audience: watchers(of: actor.id), body: .peerUpdated(PeerUpdated(peer: peer.info, changed: [.hand])))
        ])
    }

    private mutating func update(_ actor: Peer, name: String?, metadata: String?) throws(CodedError) -> RoomOutcome {
        var peer = actor
        var changed: [PeerField] = []
        if let name {
            let cleaned: String
            do {
                cleaned = try TextSanitizer.sanitize(name, policy: .displayName)
            } catch {
                throw CodedError(.emptyName, "the name is empty once control and invisible characters are removed")
            }
            if cleaned != peer.name {
                peer.name = cleaned
                changed.append(.name)
            }
        }
        if let metadata {
            guard metadata.utf8.count <= ProtocolLimits.maximumMetadataBytes else {
                throw CodedError(
                    .invalidMessage, "metadata is longer than \(ProtocolLimits.maximumMetadataBytes) bytes")
            }
            if metadata != peer.metadata {
                peer.metadata = metadata
                changed.append(.metadata)
            }
        }
        guard !changed.isEmpty else { return RoomOutcome(events: []) }
        peers[actor.id] = peer
        return RoomOutcome(events: [
            RoomEvent(
                audience: watchers(of: actor.id), body: .peerUpdated(PeerUpdated(peer: peer.info, changed: changed)))
        ])
    }

    /// Relays each sealed key to its recipient. Recipients that are no longer
    /// connected are skipped: the sender rotates its key when they leave anyway.
    private func publishKeys(_ request: PublishKeysRequest, by actor: Peer) throws(CodedError) -> RoomOutcome {
        guard role(of: actor).publishAudio, let microphone = actor.microphone else {
            throw CodedError(.cannotPublish, "role \(actor.role) may not publish audio")
        }
        guard microphone.id == request.track else {
            throw CodedError(.trackNotFound, "track \(request.track) is not yours")
        }
        let events = request.keys.compactMap { key -> RoomEvent? in
            guard key.peer != actor.id, peers[key.peer]?.isConnected == true else { return nil }
            return RoomEvent(
                audience: [key.peer],
                body: .keys(
                    SealedKeyDelivery(
                        from: actor.id, track: request.track, epoch: request.epoch, sealed: key.sealed,
                        ssrc: request.ssrc)))
        }
        return RoomOutcome(events: events)
    }

    // MARK: - Checks

    func connectedPeer(_ id: PeerID) throws(CodedError) -> Peer {
        guard let peer = peers[id], peer.isConnected else {
            throw CodedError(.peerNotFound, "no peer \(id) in room \(name)")
        }
        return peer
    }

    /// An actor may act on peers of its own priority or below, itself included.
    func checkRank(of actor: Peer, over target: Peer) throws(CodedError) {
        guard actor.id == target.id || role(of: target).priority <= role(of: actor).priority else {
            throw CodedError(.targetOutranksYou, "\(target.id)'s role \(target.role) outranks your role \(actor.role)")
        }
    }

    static func cleanReason(_ reason: String?) -> String? {
        guard let reason else { return nil }
        let cleaned = (try? TextSanitizer.sanitize(reason, policy: .reason)) ?? ""
        return cleaned.isEmpty ? nil : cleaned
    }
}
