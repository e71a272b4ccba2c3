import ConfabProtocol

// The room state machine: a value the server keeps one of per room, changed
// only through the methods here, each of which returns the messages to send.
//
//   server: verified token ─▶ join ─────────┐
//           socket closed / silent ─▶ connectionLost
//           client message ─▶ PeerAction ─▶ apply ─▶ RoomOutcome { events ─▶ fan-out,
//           timer ─▶ expire, isIdle             │                reply  ─▶ actor,
//                                               ▼                chat   ─▶ commit first }
//                                        Room (next state)
//
// Every action is checked against the actor's role here, on the server side.
// A refused action throws a CodedError and leaves the room exactly as it was:
// each mutating entry point works on a copy and stores it only on success.
// No clock is read: every time comes in as `now`.

/// One room: its peers, their roles and tracks, and pending prompts. Chat
/// messages are numbered by the store that commits them, not here: several
/// servers may write one room's log.
public struct Room: Hashable, Sendable {
    /// Whether the room is running.
    public enum Phase: Hashable, Sendable {
        case open
        /// Ended by a host or the server. Unlocked, the next valid join opens
        /// a new session; locked, joins are refused with `roomLocked`.
        case ended(locked: Bool, at: Timestamp)
    }

    public let name: RoomName
    public let template: RoomTemplate
    public internal(set) var phase: Phase
    /// When the current session began.
    public internal(set) var startedAt: Timestamp
    /// Connected peers and suspended ones within their resume grace.
    public internal(set) var peers: PeerTable
    public internal(set) var prompts: [PromptID: Prompt]
    /// Prompts the sweep removed because their lifetime passed, kept for one
    /// more lifetime so that a late answer gets `promptExpired` rather than
    /// `promptNotFound` (docs/PROTOCOL.md, `prompt.answer`). Value: the peer asked.
    var expiredPrompts: [PromptID: ExpiredPrompt] = [:]
    /// The pending prompt of each question (who asks whom what), so that
    /// asking again finds it without a search of every prompt.
    var promptIDsByQuestion: [Prompt.Question: PromptID] = [:]
    /// Peers removed while in their resume grace: their `resume` is refused
    /// with `removedFromRoom` until the grace would have passed.
    public internal(set) var removedWhileAway: [PeerID: RemovalWhileAway] = [:]
    /// Since when the room has had no peers at all; nil while it has some.
    public internal(set) var emptySince: Timestamp?
    /// Locked against new joins while open (the management API): peers in
    /// it stay and may come back; anyone else gets `roomLocked`.
    public internal(set) var joinsLocked = false
    /// For each quiet peer, the peers without `seeAudience` that were
    /// introduced to it (a direct message, a prompt) and so hear of it.
    public internal(set) var introductions: [PeerID: Set<PeerID>] = [:]
    /// The room's shared state by key (Room+SharedState.swift); cleared when the room ends.
    public internal(set) var sharedState: [String: StateEntry] = [:]
    /// What the audience as a whole may still send the room (`audience.broadcastRate`), once used.
    var audienceAllowance: TokenBucket?
    /// What the server's operator (`@server`, Room+Server.swift) may still post, once used.
    var serverChatAllowance: TokenBucket?
    var promptCounter = 0

    /// An open room with nobody in it yet.
    public init(name: RoomName, template: RoomTemplate = .standard, now: Timestamp) {
        self.name = name
        self.template = template
        phase = .open
        startedAt = now
        peers = PeerTable()
        prompts = [:]
        emptySince = now
    }

    /// A room made by its first valid join; nothing is made if the join is
    /// refused.
    public static func open(
        name: RoomName, template: RoomTemplate = .standard, firstJoin admission: Admission, now: Timestamp
    ) throws(CodedError) -> (room: Room, outcome: JoinOutcome) {
        var room = Room(name: name, template: template, now: now)
        let outcome = try room.join(admission, now: now)
        return (room, outcome)
    }

    // MARK: - Queries

    /// The peer with this id, connected or suspended.
    public func peer(_ id: PeerID) -> Peer? { peers[id] }

    /// Ids of the peers with a live connection.
    public var connectedIDs: Set<PeerID> {
        peers.connectedByRole.values.reduce(into: Set<PeerID>()) { $0.formUnion($1) }
    }

    /// The role a peer holds. Peers only ever hold roles of the template; a
    /// role missing anyway (a bug) gets no permissions rather than a crash.
    public func role(of peer: Peer) -> Role {
        if peer.id == .server { return .serverOperator }
        return template.role(named: peer.role)
            ?? Role(
                name: peer.role, priority: .min, publishAudio: false, subscribesTo: [], chat: .none, permissions: .none)
    }

    public var info: RoomInfo {
        RoomInfo(name: name, startedAt: startedAt, roles: template.roles, promptLifetimeMs: template.promptLifetimeMs)
    }

    /// Connected peers as others see them, highest role priority first, then
    /// by join time.
    public func visiblePeers(excluding excluded: PeerID? = nil, where include: (Peer) -> Bool = { _ in true })
        -> [PeerInfo]
    {
        ordered(peers.values.filter { $0.isConnected && $0.id != excluded && include($0) })
    }

    /// Peers as `visiblePeers` orders them.
    func ordered(_ chosen: [Peer]) -> [PeerInfo] {
        chosen
            .sorted { lhs, rhs in
                let (left, right) = (role(of: lhs).priority, role(of: rhs).priority)
                if left != right { return left > right }
                if lhs.joinedAt != rhs.joinedAt { return lhs.joinedAt < rhs.joinedAt }
                return lhs.id < rhs.id
            }
            .map(\.info)
    }

    /// The `joined` reply for a peer that just joined or resumed; nil if it is
    /// not connected. The server supplies what the room does not hold: chat
    /// history from the log, the resume token and the media endpoint.
    public func joined(
        for id: PeerID, history: ChatPage, joinTimeMs: Int, resumed: Bool, reconnect: ReconnectInfo,
        keepalive: KeepaliveInfo = KeepaliveInfo(), speakersIntervalMs: Int = LifecycleDefaults.speakersIntervalMs,
        media: MediaEndpoint? = nil
    ) -> Joined? {
        guard let peer = peers[id], peer.isConnected else { return nil }
        var room = info
        room.speakersIntervalMs = speakersIntervalMs
        return Joined(
            room: room, you: peer.info, peers: joinedPeers(for: id), history: history,
            joinedAt: peer.joinedAt, joinTimeMs: joinTimeMs, resumed: resumed, reconnect: reconnect,
            keepalive: keepalive, media: media, counts: hasAudience ? counts : nil, quiet: peer.isQuiet ? true : nil,
            state: sharedStateEntries)
    }

    /// Connected peers whose role hears `publisher`'s role: where the
    /// server forwards its audio.
    public func subscribers(of publisher: PeerID) -> Set<PeerID> {
        guard let source = peers[publisher] else { return [] }
        return Set(peers.values.lazy.filter { self.hears($0, source) }.map(\.id))
    }

    /// Whether `listener` is one of `subscribers(of: publisher)`, without
    /// walking the room: a report from a listener is checked in O(1).
    public func subscribes(_ listener: PeerID, to publisher: PeerID) -> Bool {
        guard let source = peers[publisher], let peer = peers[listener] else { return false }
        return hears(peer, source)
    }

    private func hears(_ peer: Peer, _ source: Peer) -> Bool {
        peer.isConnected && peer.id != source.id && role(of: peer).subscribesTo.contains(source.role)
    }

    /// Whether the room has been empty for the template's timeout. The server
    /// may then discard it; one that ended locked must be kept (or its lock
    /// persisted) to go on refusing joins.
    public func isIdle(now: Timestamp) -> Bool {
        guard let emptySince else { return false }
        return now.milliseconds(since: emptySince) >= Int64(template.emptyRoomTimeoutMs)
    }

    // MARK: - Lifecycle

    /// Admits a peer whose token the server verified. Opens an ended,
    /// unlocked room afresh. A peer id already in the room (connected or
    /// suspended) is replaced: others see it leave with `replaced` and join
    /// again with the new state.
    ///
    /// Every check comes before any change, so a refused join leaves the
    /// room as it was without a copy of it to roll back to: copying a room
    /// of thousands on every join cost more than the join itself.
    public mutating func join(_ admission: Admission, now: Timestamp) throws(CodedError) -> JoinOutcome {
        var reopening = false
        if case .ended(let locked, _) = phase {
            guard !locked else { throw CodedError(.roomLocked, "room \(name) was ended and locked") }
            reopening = true
        }
        guard admission.peer != .server else {
            throw CodedError(.tokenMalformed, "the peer id \(PeerID.server) is reserved for the server")
        }
        guard let role = template.role(named: admission.role) else {
            throw CodedError(.tokenWrongRole, "role \(admission.role) is not defined in room \(name)")
        }
        guard admission.metadata.utf8.count <= ProtocolLimits.maximumMetadataBytes else {
            throw CodedError(.invalidMessage, "metadata is longer than \(ProtocolLimits.maximumMetadataBytes) bytes")
        }
        let existing = peers[admission.peer]
        guard !joinsLocked || existing != nil else { throw CodedError(.roomLocked, "room \(name) is locked: no new joins") }
        if let maxPeers = template.maxPeers, peers.count - (existing == nil ? 0 : 1) >= maxPeers {
            throw CodedError(.roomFull, "room \(name) is full (\(maxPeers) peers)")
        }
        // Checked: from here on nothing throws.
        if reopening {
            phase = .open
            startedAt = now
        }
        removedWhileAway[admission.peer] = nil

        var events: [RoomEvent] = []
        let replacedConnection = existing?.isConnected ?? false
        if existing != nil {
            let told = watchers(of: admission.peer).subtracting([admission.peer])
            removePeer(admission.peer, now: now)
            if replacedConnection {
                events.append(
                    RoomEvent(audience: told, body: .peerLeft(PeerLeft(peer: admission.peer, reason: .replaced))))
            }
        }
        let name = (try? TextSanitizer.sanitize(admission.name, policy: .displayName)) ?? admission.peer.rawValue
        let peer = Peer(
            id: admission.peer, name: name, role: role.name, metadata: admission.metadata, joinedAt: now,
            handRaisedAt: nil,
            microphone: role.publishAudio
                ? TrackInfo(id: .microphone(of: admission.peer), muted: admission.muted) : nil,
            connection: .connected, publicKey: admission.publicKey,
            chatAllowance: TokenBucket(limit: template.chatRate, now: now), isQuiet: joinsQuiet(role),
            receives: admission.receives?.isEmpty == false ? admission.receives : nil)
        peers[peer.id] = peer
        let told = watchers(of: peer.id).subtracting([peer.id])
        events.append(RoomEvent(audience: told, body: .peerJoined(PeerJoined(peer: peer.info))))
        emptySince = nil
        return JoinOutcome(events: events, replacedConnection: replacedConnection)
    }

    /// Brings back a peer the server matched to a valid resume token: same
    /// identity, role, mute state, hand and metadata. A peer whose drop the
    /// server has not noticed yet simply moves to the new connection.
    /// `receives`, when given, replaces the audio formats it declared at join.
    public mutating func resume(
        _ id: PeerID, receives: AudioPayloadFormats? = nil, now: Timestamp
    ) throws(CodedError) -> JoinOutcome {
        if case .ended(let locked, _) = phase {
            throw CodedError(locked ? .roomLocked : .roomEnded, "room \(name) has ended")
        }
        if let removal = removedWhileAway[id] {
            throw CodedError(
                .removedFromRoom,
                "you were removed by \(removal.by) while away" + (removal.reason.map { ": \($0)" } ?? ""))
        }
        guard var peer = peers[id] else {
            throw CodedError(.resumeRejected, "no session to resume; join again")
        }
        if let receives {
            peer.receives = receives.isEmpty ? nil : receives
            peers[id] = peer
        }
        switch peer.connection {
        case .connected:
            // The new connection's client starts with no question on screen:
            // the same question asked again is put to it anew. The prompts it
            // had stay answerable until they lapse (their askers hear of that).
            promptIDsByQuestion = promptIDsByQuestion.filter { $0.key.to != id }
            return JoinOutcome(events: [], replacedConnection: true)
        case .suspended(let since):
            guard now.milliseconds(since: since) < Int64(template.resumeGraceMs) else {
                throw CodedError(.resumeRejected, "the resume grace period has passed; join again")
            }
            peer.connection = .connected
            peers[id] = peer
            let audience = watchers(of: id).subtracting([id])
            return JoinOutcome(
                events: [RoomEvent(audience: audience, body: .peerJoined(PeerJoined(peer: peer.info, resumed: true)))],
                replacedConnection: false)
        }
    }

    /// The peer's connection closed without `leave`, or stayed silent past
    /// the keepalive deadline. Others see it leave with `timeout`; its state
    /// waits `resumeGraceMs` for a `resume`. Prompts to and from it lapse.
    public mutating func connectionLost(_ id: PeerID, now: Timestamp) -> [RoomEvent] {
        guard var peer = peers[id], peer.isConnected else { return [] }
        peer.connection = .suspended(since: now)
        peers[id] = peer
        dropPrompts(involving: id)
        return [RoomEvent(audience: watchers(of: id), body: .peerLeft(PeerLeft(peer: id, reason: .timeout)))]
    }

    /// What `expire` found lapsed.
    public struct Expiry: Equatable, Sendable {
        /// Suspended peers whose grace passed: their resume tokens are now void.
        /// Nobody is told: the others already saw them leave.
        public var forgottenPeers: [PeerID] = []
        /// Prompts whose lifetime passed unanswered, oldest first. Nobody in
        /// the room is told (each side's client drops its own after the
        /// lifetime); the server tells the `prompt.expired` webhook.
        public var lapsedPrompts: [Prompt] = []
    }

    /// Forgets suspended peers whose grace has passed and prompts whose
    /// lifetime has.
    public mutating func expire(now: Timestamp) -> Expiry {
        var expiry = Expiry()
        let lifetime = Int64(template.promptLifetimeMs)
        for (id, prompt) in prompts where now.milliseconds(since: prompt.createdAt) >= lifetime {
            expiredPrompts[id] = ExpiredPrompt(to: prompt.to, createdAt: prompt.createdAt)
            expiry.lapsedPrompts.append(prompt)
        }
        expiry.lapsedPrompts.sort { ($0.createdAt, $0.id.rawValue) < ($1.createdAt, $1.id.rawValue) }
        for prompt in expiry.lapsedPrompts { removePrompt(prompt.id) }
        expiredPrompts = expiredPrompts.filter { now.milliseconds(since: $0.value.createdAt) < 2 * lifetime }
        let grace = Int64(template.resumeGraceMs)
        let lapsed = peers.values.compactMap { peer -> PeerID? in
            guard case .suspended(let since) = peer.connection, now.milliseconds(since: since) >= grace else {
                return nil
            }
            return peer.id
        }
        for id in lapsed {
            removePeer(id, now: now)
        }
        let removalsLapsed = removedWhileAway.filter { now.milliseconds(since: $0.value.at) >= grace }.map(\.key)
        for id in removalsLapsed { removedWhileAway[id] = nil }
        expiry.forgottenPeers = (lapsed + removalsLapsed).sorted()
        return expiry
    }

    /// Ends the room on the server's own account (operator action, idle
    /// timeout): everyone gets `room.ended` without a `by`.
    public mutating func end(reason: String?, lock: Bool, now: Timestamp) -> [RoomEvent] {
        guard phase == .open else { return [] }
        return close(by: nil, reason: Self.cleanReason(reason), lock: lock, now: now)
    }

    /// Flags a track degraded (with a reason) or restored (nil), as the
    /// media forwarder sees it.
    public mutating func markTrack(_ track: TrackID, degraded reason: DegradationReason?) -> [RoomEvent] {
        guard var owner = track.microphoneOwner.flatMap({ peers[$0] }),
            var microphone = owner.microphone, microphone.id == track, microphone.degraded != reason
        else { return [] }
        microphone.degraded = reason
        owner.microphone = microphone
        peers[owner.id] = owner
        let audience = watchers(of: owner.id)
        let body: ServerBody =
            if let reason {
                .trackDegraded(TrackDegraded(peer: owner.id, track: track, reason: reason))
            } else {
                .trackRestored(PeerTrack(peer: owner.id, track: track))
            }
        return [RoomEvent(audience: audience, body: body)]
    }

    // MARK: - Shared steps

    mutating func removePeer(_ id: PeerID, now: Timestamp) {
        peers[id] = nil
        dropPrompts(involving: id)
        forgetIntroductions(of: id)
        if peers.isEmpty { emptySince = now }
    }

    /// Who removed a peer that was away, why, and when.
    public struct RemovalWhileAway: Hashable, Sendable {
        public var by: PeerID
        public var reason: String?
        public var at: Timestamp
    }

    /// A prompt whose lifetime passed: who it asked, and when.
    struct ExpiredPrompt: Hashable, Sendable {
        var to: PeerID
        var createdAt: Timestamp
    }

    mutating func dropPrompts(involving id: PeerID) {
        prompts = prompts.filter { $0.value.from != id && $0.value.to != id }
        promptIDsByQuestion = promptIDsByQuestion.filter { $0.key.from != id && $0.key.to != id }
    }

    mutating func addPrompt(_ prompt: Prompt) {
        prompts[prompt.id] = prompt
        promptIDsByQuestion[prompt.question] = prompt.id
    }

    mutating func removePrompt(_ id: PromptID) {
        guard let prompt = prompts.removeValue(forKey: id) else { return }
        if promptIDsByQuestion[prompt.question] == id { promptIDsByQuestion[prompt.question] = nil }
    }

    mutating func close(by actor: PeerID?, reason: String?, lock: Bool, now: Timestamp) -> [RoomEvent] {
        let audience = connectedIDs
        phase = .ended(locked: lock, at: now)
        joinsLocked = false
        peers = PeerTable()
        prompts = [:]
        promptIDsByQuestion = [:]
        expiredPrompts = [:]
        introductions = [:]
        sharedState = [:]
        emptySince = now
        return [RoomEvent(audience: audience, body: .roomEnded(RoomEnded(by: actor, reason: reason, locked: lock)))]
    }
}
