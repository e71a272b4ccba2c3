import ConfabProtocol
import Logging

// One participant's session with a room server, on a SignalChannel (which
// owns the connection, request ids, timeouts, keepalive and back-off).
//
//   join() ─▶ channel.open ─▶ join ─▶ joined (applied before the next message)
//   channel events ─▶ sanitise ─▶ emit ─▶ store.apply (pure reducer) ─▶ listeners ─▶ AsyncStreams
//
//   drop (close, silence past deadAfterMs, server.goingAway)
//     ─▶ channel.reconnect: reconnecting(attempt, delay) ─▶ resume(token, last seq) ─▶ joined(resumed)
//                           └▶ resumeRejected ─▶ join again ─▶ catch up the chat after the last seq
//   a cluster (docs/CLUSTER.md): join/resume ─▶ 4013 roomOnAnotherNode {redirect} ─▶ the same
//     request on the room's node (its certificate must be the first node's); a reconnection
//     opens the room's URL, else the other nodes of `joined.reconnect.nodes`
//
// Everything mutable of the room lives in this actor; once `disconnected`,
// nothing the channel still delivers changes it.

/// A session with one room: join, act, observe, leave.
public actor ConfabSession {
    /// The room as this session sees it; observers subscribe here.
    public nonisolated let store: RoomStore
    public nonisolated let configuration: SessionConfiguration

    let channel: SignalChannel
    let logger: Logger
    private let fanOut = EventFanOut()
    /// This session's X25519 key pair: media keys are sealed to its public
    /// half, which `join` carries (docs/SECURITY.md).
    public nonisolated let identity = MediaIdentity()

    private var connectionState: ConnectionState = .idle
    private var reconnectTask: Task<Void, Never>?
    /// Numbers this session's chat idempotency keys.
    private var chatCounter = 0
    /// Prefixes this session's chat idempotency keys. The server keeps keys
    /// per room and sender for good, so a counter alone would repeat in the
    /// user's next session and get that session's first messages answered
    /// with the old acknowledgements instead of stored (docs/PROTOCOL.md, `chat.send`).
    private let idempotencyPrefix = RandomID.idempotencyPrefix()
    private var resumeToken: String?
    /// A cluster's other nodes, to reconnect through when the room's URL cannot be reached.
    var clusterNodes: [ServerEndpoint] = []
    private var keepalive: KeepaliveInfo
    /// Set when the server told us why the connection is about to close.
    private var expectedEnd: ExpectedEnd?

    private enum ExpectedEnd {
        case leaving
        case removed(Removed)
        case roomEnded(RoomEnded)
        case replaced
        case goingAway(retryAfterMs: Int?)
    }

    /// - Parameters:
    ///   - random: uniform numbers in 0 ..< 1 for the reconnection jitter (tests pass their own).
    ///   - clock: times requests, keepalive and reconnection (tests pass one they advance).
    public init(
        configuration: SessionConfiguration, transport: any SignallingTransport,
        logger: Logger = Logger(label: "confab.client"),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        clock: any SignalClock = SystemSignalClock()
    ) {
        self.configuration = configuration
        self.logger = logger
        self.store = RoomStore()
        channel = SignalChannel(
            transport: transport, endpoint: configuration.endpoint, requestPrefix: "r",
            requestTimeoutMs: configuration.requestTimeoutMs, clock: clock, random: random, logger: logger)
        keepalive = configuration.keepalive
    }

    /// A session over TLS that pins the server certificate: with
    /// `fingerprint` (`SHA256:…`) when given, else trust on first use in
    /// known_servers (at `knownServersPath`, default `~/.config/confab/known_servers`).
    public init(
        url: String, token: String, fingerprint: String? = nil, displayName: String? = nil,
        knownServersPath: String? = KnownServers.defaultPath(), startMuted: Bool = true,
        logger: Logger = Logger(label: "confab.client")
    ) throws(SessionError) {
        let endpoint = try ServerEndpoint(url: url)
        let trust = try ServerTrust(fingerprint: fingerprint, knownServersPath: knownServersPath)
        var configuration = SessionConfiguration(endpoint: endpoint, token: token, displayName: displayName)
        configuration.startMuted = startMuted
        self.init(
            configuration: configuration,
            transport: WebSocketTransport(trust: trust, logger: logger), logger: logger)
    }

    // MARK: - Observing

    /// Every event from now on. The stream ends when the session is over.
    public nonisolated func events() -> AsyncStream<SessionEvent> {
        fanOut.stream()
    }

    /// Adds a listener, held weakly: keep your own reference.
    public nonisolated func addListener(_ listener: any RoomListener) {
        fanOut.add(listener)
    }

    public nonisolated func removeListener(_ listener: any RoomListener) {
        fanOut.remove(listener)
    }

    /// The current state (the same as `store.state`).
    public nonisolated var state: RoomState { store.state }

    // MARK: - Joining and leaving

    /// Opens the connection and joins the room. Throws the server's refusal
    /// (`.server` with codes 2001–2007, 4001–4003) or a transport failure.
    @discardableResult
    public func join() async throws(SessionError) -> Joined {
        guard case .idle = connectionState else {
            throw .invalidArgument("a session joins once; make a new session to join again")
        }
        guard configuration.endpoint.room != nil else {
            throw .invalidArgument("a session needs a room: wss://HOST:PORT/ROOM (calls use CallClient)")
        }
        setConnectionState(.connecting)
        do {
            try await open()
            return try await admitFollowingRedirects(.join(joinRequest()))
        } catch {
            finish(.failed(error))
            throw error
        }
    }

    /// Leaves the room (`leave`, then close) and ends the session. Safe to call at any time.
    public func leave() async {
        switch connectionState {
        case .disconnected:
            return
        case .connected:
            switch expectedEnd {
            case .removed, .roomEnded, .replaced:
                // The server already said how this ends; leaving now only
                // stops waiting for its close, and the reason stays its own.
                await channel.close()
                connectionEnded()
                return
            case .leaving, .goingAway, nil:
                break
            }
            expectedEnd = .leaving
            _ = try? await channel.request(.leave, timeoutMs: min(configuration.requestTimeoutMs, 3_000))
            await channel.close()
            finish(.left)
        case .idle, .connecting, .reconnecting:
            expectedEnd = .leaving
            finish(.left)
        }
    }

    // MARK: - Your own microphone and hand

    public func muteSelf() async throws(SessionError) {
        try await expectOK(.muteTrack(try yourMicrophone()))
    }

    public func unmuteSelf() async throws(SessionError) {
        try await expectOK(.unmuteTrack(try yourMicrophone()))
    }

    public func raiseHand() async throws(SessionError) {
        try await expectOK(.raiseHand)
    }

    public func lowerHand() async throws(SessionError) {
        try await expectOK(.lowerHand)
    }

    /// Changes your display name and/or metadata.
    public func updateProfile(name: String? = nil, metadata: String? = nil) async throws(SessionError) {
        guard name != nil || metadata != nil else { throw .invalidArgument("give a name or metadata") }
        try await expectOK(.updatePeer(PeerUpdateRequest(name: name, metadata: metadata)))
    }

    // MARK: - Chat

    /// Sends chat; returns once the server has committed it.
    @discardableResult
    public func send(_ text: String, to target: ChatTarget = .broadcast) async throws(SessionError) -> ChatAck {
        chatCounter += 1
        let key = RequestID(uncheckedRawValue: "\(idempotencyPrefix)-\(chatCounter)")
        let reply = try await request(.sendChat(SendChatRequest(target: target, text: text, idempotencyKey: key)))
        guard case .chatAck(let ack) = reply else { throw .unexpected(reply, for: .sendChat) }
        return ack
    }

    /// Reads a page of the log and merges it into the store's chat.
    @discardableResult
    public func fetchHistory(_ query: HistoryRequest) async throws(SessionError) -> ChatPage {
        let reply = try await request(.fetchHistory(query))
        guard case .chatPage(let page) = reply else { throw .unexpected(reply, for: .fetchHistory) }
        let clean = IncomingText.page(page)
        emit(.chatHistory(clean, direction: query.after == nil ? .older : .newer))
        return clean
    }

    /// Marks a conversation read (local only).
    public func markRead(_ conversation: Conversation) {
        emit(.conversationRead(conversation))
    }

    // MARK: - Acting on others

    /// Gives a peer another role: at once with `force` (needs `changeRoles`),
    /// else the peer is asked and the prompt id is returned.
    @discardableResult
    public func changeRole(of peer: PeerID, to role: RoleName, force: Bool = false) async throws(SessionError)
        -> PromptID?
    {
        let reply = try await request(
            .changeRole(RoleChangeRequest(peer: peer, role: role, force: force)),
            question: force ? nil : (peer, .roleChange(role)))
        guard case .ok(let ok) = reply else { throw .unexpected(reply, for: .changeRole) }
        return ok.prompt
    }

    /// Mutes a track: yours, or (with `muteOthers`) another's, at once.
    public func mute(track: TrackID) async throws(SessionError) {
        try await expectOK(.muteTrack(track))
    }

    /// Unmutes your own track at once, or asks another peer to unmute its
    /// track (returns the prompt id).
    @discardableResult
    public func requestUnmute(track: TrackID) async throws(SessionError) -> PromptID? {
        let owner = store.state.peers.values.first { $0.tracks.contains { $0.id == track } }?.id
        let reply = try await request(.unmuteTrack(track), question: owner.map { ($0, .unmute(track)) })
        guard case .ok(let ok) = reply else { throw .unexpected(reply, for: .unmuteTrack) }
        return ok.prompt
    }

    /// Mutes a peer's microphone.
    public func mute(peer: PeerID) async throws(SessionError) {
        try await mute(track: microphone(of: peer))
    }

    /// Asks a peer to unmute its microphone.
    @discardableResult
    public func askToUnmute(peer: PeerID) async throws(SessionError) -> PromptID? {
        try await requestUnmute(track: microphone(of: peer))
    }

    /// Removes a peer from the room (needs `removePeers`).
    public func remove(_ peer: PeerID, reason: String? = nil) async throws(SessionError) {
        try await expectOK(.removePeer(RemovePeerRequest(peer: peer, reason: reason)))
    }

    /// Ends the room for everyone (needs `endRoom`); `lock` refuses later joins.
    public func endRoom(lock: Bool = false, reason: String? = nil) async throws(SessionError) {
        try await expectOK(.endRoom(EndRoomRequest(lock: lock, reason: reason)))
    }

    /// Answers a role-change or unmute prompt put to you.
    public func answer(_ prompt: PromptID, accept: Bool) async throws(SessionError) {
        do {
            try await expectOK(.answerPrompt(PromptAnswer(prompt: prompt, accept: accept)))
        } catch {
            // An unknown or expired prompt is gone either way.
            if error.code == .promptNotFound || error.code == .promptExpired { emit(.promptClosed(prompt)) }
            throw error
        }
        emit(.promptClosed(prompt))
    }

    /// Sets the local playback volume of a peer: 0 silences it, 1 leaves it,
    /// up to 2 doubles it. Local only; the media engine applies it.
    public func setVolume(_ volume: Double, for peer: PeerID) {
        emit(.peerVolumeChanged(peer, volume: volume))
    }

    // MARK: - Media (used by MediaController)

    /// Sends `keys.publish`: our SSRC and our SRTP key sealed to each recipient.
    public func publishKeys(_ request: PublishKeysRequest) async throws(SessionError) {
        try await expectOK(.publishKeys(request))
    }

    /// Sends `media.loss`: what we lost of each track we play since the last report.
    public func reportLoss(_ report: LossReport) async throws(SessionError) {
        try await expectOK(.reportLoss(report))
    }

    /// Sets (a value) or deletes (nil) a key of the room's shared state
    /// (`state.set`); the store shows the change when `state.changed` comes.
    public func setState(_ key: String, to value: String?) async throws(SessionError) {
        try await expectOK(.setState(SetStateRequest(key: key, value: value)))
    }

    /// Reports what the media engine measured, into the store and the event stream.
    public func reportMedia(_ event: SessionEvent) {
        // Nothing after `disconnected`: it is the last event (docs/BOTS.md).
        if case .disconnected = connectionState { return }
        switch event {
        case .mediaLevels, .mediaStats, .mediaBound, .mediaKeyAccepted, .mediaKeyRefused, .talkingWhileMuted,
            .audioDevice, .soundCard: emit(event)
        default: break
        }
    }

    // MARK: - Requests

    private func expectOK(_ body: ClientBody) async throws(SessionError) {
        let reply = try await request(body)
        guard case .ok = reply else { throw .unexpected(reply, for: body.type) }
    }

    /// Sends a request while joined and waits for its reply.
    func request(_ body: ClientBody, question: (to: PeerID, PromptQuestion)? = nil)
        async throws(SessionError) -> ServerBody
    {
        guard case .connected = connectionState else { throw .notConnected }
        return try await transmit(body, question: question)
    }

    /// Sends a request in any state; its reply is applied (`noteReply`) before the next message is read.
    private func transmit(_ body: ClientBody, question: (to: PeerID, PromptQuestion)? = nil)
        async throws(SessionError) -> ServerBody
    {
        try await channel.request(body) { [weak self] reply in
            await self?.noteReply(reply, question: question)
        }
    }

    // MARK: - Connections

    /// Opens a connection on the channel, its messages coming here.
    func open() async throws(SessionError) {
        try await channel.open(
            receive: { [weak self] inbound in await self?.receive(inbound) },
            dropped: { [weak self] in await self?.connectionEnded() })
    }

    /// Sends `join` or `resume` and waits for `joined`, which `noteReply`
    /// has already applied to the state by the time this returns.
    func admit(_ body: ClientBody) async throws(SessionError) -> Joined {
        let reply = try await transmit(body)
        guard case .joined(let joined) = reply else { throw .unexpected(reply, for: body.type) }
        await channel.startKeepalive(keepalive)
        return joined
    }

    /// The room; `join` refused an endpoint without one, so the fallback is never sent.
    var room: RoomName { configuration.endpoint.room ?? "-" }

    private func joinRequest() -> JoinRequest {
        JoinRequest(
            room: room, token: configuration.token, name: configuration.displayName,
            metadata: configuration.metadata, muted: configuration.startMuted, publicKey: identity.publicKey,
            historyLimit: configuration.historyLimit,
            receives: configuration.receives.isEmpty ? nil : configuration.receives)
    }

    private func yourMicrophone() throws(SessionError) -> TrackID {
        let state = store.state
        guard let you = state.you else { throw .notConnected }
        return state.yourMicrophone?.id ?? TrackID.microphone(of: you.id)
    }

    private func microphone(of peer: PeerID) -> TrackID {
        store.state.peer(peer)?.tracks.first { $0.source == .microphone }?.id ?? TrackID.microphone(of: peer)
    }

    // MARK: - Incoming

    private func receive(_ inbound: SignalInbound) {
        // Nothing after `disconnected`: it is the last event (docs/BOTS.md).
        if case .disconnected = connectionState { return }
        switch inbound {
        case .event(let body):
            handleEvent(body)
        case .roundTrip(let ms):
            emit(.roundTrip(ms: ms))
        case .unreadable(let error):
            if case .unsupportedVersion(let version) = error.reason {
                expectedEnd = nil
                finish(.failed(.protocolViolation(
                    "the server speaks protocol version \(version); this client speaks \(ProtocolVersion.current)")))
            } else {
                emit(.failure(.protocolViolation("unreadable message from the server: \(error)")))
            }
        }
    }

    private func noteReply(_ reply: SignalReply, question: (to: PeerID, PromptQuestion)?) {
        if case .disconnected = connectionState { return }
        switch reply.body {
        case .joined(let joined):
            // Applied here, before the next message is read, so events that
            // follow `joined` land on the new snapshot and not before it.
            let clean = IncomingText.joined(joined)
            resumeToken = clean.reconnect.resumeToken
            keepalive = clean.keepalive
            if let nodes = clean.reconnect.nodes { adoptClusterNodes(nodes) }
            expectedEnd = nil
            setConnectionState(.connected)
            emit(.joined(clean, roundTripMs: max(reply.roundTripMs - joined.joinTimeMs, 0)))
        case .ok(let ok):
            if let prompt = ok.prompt, let question {
                emit(.promptSent(prompt, to: question.to, question: question.1))
            }
        default:
            break
        }
    }

    private func handleEvent(_ body: ServerBody) {
        if case .reconnectInfo(let info) = body { resumeToken = info.resumeToken }
        if case .clusterNodes(let update) = body { adoptClusterNodes(update.nodes) }
        guard let event = RoomEvents.sessionEvent(for: body) else { return }
        // What the event says about how the connection will end.
        switch event {
        case .removed(let notice): expectedEnd = .removed(notice)
        case .roomEnded(let notice): expectedEnd = .roomEnded(notice)
        case .serverGoingAway(let notice): expectedEnd = .goingAway(retryAfterMs: notice.retryAfterMs)
        case .failure(let error) where error.code == .sessionReplaced: expectedEnd = .replaced
        case .failure(let error) where error.code == .shuttingDown: expectedEnd = .goingAway(retryAfterMs: nil)
        default: break
        }
        emit(event)
        switch event {
        case .roleChangeRequested(let prompt): schedulePromptExpiry(prompt.prompt)
        case .unmuteRequested(let prompt): schedulePromptExpiry(prompt.prompt)
        default: break
        }
    }

    /// Prompts expire on the server after the room's prompt lifetime (60 s
    /// unless its template says otherwise); drop them here too.
    private func schedulePromptExpiry(_ prompt: PromptID) {
        let lifetimeMs = store.state.room?.promptLifetimeMs ?? LifecycleDefaults.promptLifetimeMs
        Task { [weak self, clock = channel.clock] in
            try await clock.sleep(milliseconds: lifetimeMs)
            await self?.expirePrompt(prompt)
        }
    }

    private func expirePrompt(_ prompt: PromptID) {
        guard store.state.pendingPrompts.contains(where: { $0.id == prompt }) else { return }
        emit(.promptClosed(prompt))
    }


    // MARK: - Drops and reconnection

    /// The connection is gone (closed by the server, or declared dead by the channel's keepalive).
    private func connectionEnded() {
        if case .disconnected = connectionState { return }
        switch expectedEnd {
        case .leaving:
            finish(.left)
        case .removed(let notice):
            finish(.removed(by: notice.by, reason: notice.reason))
        case .roomEnded(let notice):
            finish(.roomEnded(by: notice.by, reason: notice.reason, locked: notice.locked))
        case .replaced:
            finish(.replaced)
        case .goingAway(let retryAfterMs):
            expectedEnd = nil
            if case .connected = connectionState { startReconnecting(firstDelayHintMs: retryAfterMs) }
        case nil:
            // While joining, the join itself reports the failure.
            if case .connected = connectionState { startReconnecting(firstDelayHintMs: nil) }
        }
    }

    private func startReconnecting(firstDelayHintMs: Int?) {
        reconnectTask?.cancel()
        let announce: @Sendable (Int, Int) async -> Void = { [weak self] attempt, delayMs in
            await self?.announceReconnecting(attempt: attempt, delayMs: delayMs)
        }
        let attempt: @Sendable (Int) async -> ReconnectStep = { [weak self] attempt in
            await self?.reconnectAttempt(attempt) ?? .stop
        }
        reconnectTask = Task { [weak self, channel, policy = configuration.reconnect] in
            let outcome = await channel.reconnect(
                policy: policy, firstDelayHintMs: firstDelayHintMs, announce: announce, attempt: attempt)
            if outcome == .gaveUp { await self?.finish(.gaveUp) }
        }
    }

    private func announceReconnecting(attempt: Int, delayMs: Int) {
        setConnectionState(.reconnecting(attempt: attempt))
        emit(.reconnecting(attempt: attempt, delayMs: delayMs))
    }

    private func reconnectAttempt(_ attempt: Int) async -> ReconnectStep {
        guard case .reconnecting = connectionState else { return .stop }
        do {
            let resumed = try await reestablish()
            guard case .connected = connectionState else {
                // Ended (left, say) while this attempt was under way: the new connection goes too.
                await channel.close()
                return .stop
            }
            emit(.reconnected(resumed: resumed))
            return .connected
        } catch {
            guard case .reconnecting = connectionState else { return .stop }
            if error.code == .removedFromRoom {
                // A host removed us while we were away: over, not to be undone by joining again.
                finish(.removed(by: nil, reason: error.message))
                return .stop
            }
            logger.debug("reconnection attempt \(attempt) failed: \(error)")
            if !error.isRetryable {
                finish(.failed(error))
                return .stop
            }
            return .retry(afterMs: error.retryAfterMs)
        }
    }

    /// Resumes if the server still holds our session, else joins afresh, then
    /// reads any chat we missed. Returns whether the session was resumed.
    private func reestablish() async throws(SessionError) -> Bool {
        let lastSeen = store.state.lastSeenSequence
        if let token = resumeToken {
            try await openAnyNode()
            // Single use: spent once sent, whether or not the reply comes
            // back. Not before: an attempt that cannot even connect (the
            // network is still down) must leave it for the next attempt.
            resumeToken = nil
            do {
                let joined = try await admitFollowingRedirects(
                    .resume(ResumeRequest(
                        room: room, resumeToken: token, lastSeenSequence: lastSeen,
                        receives: configuration.receives)))
                if joined.history.hasMore { await catchUpChat() }
                return true
            } catch {
                // Refused before it was looked at (a cluster whose database is away): still good.
                if error.code == .storageUnavailable { resumeToken = token }
                guard error.code == .resumeRejected else { throw error }
                // The server closes after refusing; join on a new connection.
                await channel.close()
                logger.debug("resume rejected; joining again")
            }
        }
        try await openAnyNode()
        let joined = try await admitFollowingRedirects(.join(joinRequest()))
        if lastSeen > 0, joined.history.messages.first.map({ $0.seq > lastSeen + 1 }) ?? true {
            await catchUpChat(after: lastSeen)
        }
        return false
    }

    /// Pages forward through the chat log until nothing is missing.
    private func catchUpChat(after start: Int? = nil) async {
        var after = start ?? store.state.lastSeenSequence
        for _ in 0..<100 {
            do {
                let page = try await fetchHistory(
                    HistoryRequest(after: after, limit: ProtocolLimits.maximumHistoryPageSize))
                guard page.hasMore, let last = page.messages.last?.seq, last > after else { return }
                after = last
            } catch {
                emit(.failure(error))
                return
            }
        }
    }

    // MARK: - Emitting

    private func setConnectionState(_ new: ConnectionState) {
        let old = connectionState
        guard old != new else { return }
        connectionState = new
        emit(.connectionStateChanged(to: new, from: old))
    }

    /// Ends the session for good (once).
    private func finish(_ reason: DisconnectReason) {
        if case .disconnected = connectionState { return }
        reconnectTask?.cancel()
        reconnectTask = nil
        Task { [channel] in await channel.close(failing: .notConnected) }
        setConnectionState(.disconnected(reason))
        emit(.disconnected(reason))
        fanOut.finish()
        store.finishStreams()
    }

    func emit(_ event: SessionEvent) {
        store.apply(event)
        let (listeners, streams) = fanOut.targets()
        for listener in listeners { event.deliver(to: listener, from: self) }
        for stream in streams { stream.yield(event) }
    }
}
