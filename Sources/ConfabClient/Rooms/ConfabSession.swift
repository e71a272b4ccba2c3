import ConfabProtocol
import Foundation
import Logging

// One participant's session with a room server.
//
//   join() ─▶ transport.connect ─▶ reader task: incoming text ─▶ decode ─▶ reply?  ─▶ waiting request
//                                                                       └▶ event   ─▶ sanitise ─▶ emit
//   emit(event) ─▶ store.apply (pure reducer) ─▶ listeners ─▶ AsyncStreams
//
//   drop (close, silence past deadAfterMs, server.goingAway)
//     ─▶ reconnecting(attempt, delay) ─▶ resume(token, last seq) ─▶ joined(resumed)
//                                     └▶ resumeRejected ─▶ join again ─▶ catch up the chat after the last seq
//
// Everything mutable lives in this actor. A connection is identified by a
// generation number, so a reader or keepalive of an older connection that
// wakes up late changes nothing.

/// A session with one room: join, act, observe, leave.
public actor ConfabSession {
    /// The room as this session sees it; observers subscribe here.
    public nonisolated let store: RoomStore
    public nonisolated let configuration: SessionConfiguration

    private let transport: any SignallingTransport
    private let logger: Logger
    private let codec = ProtocolCodec()
    private let fanOut = EventFanOut()
    private let random: @Sendable () -> Double
    private let clock = ContinuousClock()
    /// This session's X25519 key pair: media keys are sealed to its public
    /// half, which `join` carries (docs/SECURITY.md).
    public nonisolated let identity = MediaIdentity()

    private var connectionState: ConnectionState = .idle
    private var connection: (any SignallingConnection)?
    private var generation = 0
    private var keepaliveTask: Task<Void, Never>?
    private var reconnectTask: Task<Void, Never>?
    private var pending: [RequestID: PendingRequest] = [:]
    private var requestCounter = 0
    /// Prefixes this session's chat idempotency keys. The server keeps keys
    /// per room and sender for good, so a counter alone would repeat in the
    /// user's next session and get that session's first messages answered
    /// with the old acknowledgements instead of stored (docs/PROTOCOL.md, `chat.send`).
    private let idempotencyPrefix = ConfabSession.makeIdempotencyPrefix()
    private var resumeToken: String?
    private var keepalive: KeepaliveInfo
    private var lastSentAt: ContinuousClock.Instant
    /// The keepalive ping waiting for its pong, for the round-trip time.
    private var pingInFlight: (id: RequestID, sentAt: ContinuousClock.Instant)?
    private var lastReceivedAt: ContinuousClock.Instant
    /// Set when the server told us why the connection is about to close.
    private var expectedEnd: ExpectedEnd?

    private struct PendingRequest {
        let type: ClientMessageType
        let reply: OneShot<ServerBody>
        let sentAt: ContinuousClock.Instant
        /// For requests that may put a question to another peer.
        let question: (to: PeerID, PromptQuestion)?
    }

    private enum ExpectedEnd {
        case leaving
        case removed(Removed)
        case roomEnded(RoomEnded)
        case replaced
        case goingAway(retryAfterMs: Int?)
    }

    /// - Parameters:
    ///   - random: uniform numbers in 0 ..< 1 for the reconnection jitter (tests pass their own).
    public init(
        configuration: SessionConfiguration, transport: any SignallingTransport,
        logger: Logger = Logger(label: "confab.client"),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.configuration = configuration
        self.transport = transport
        self.logger = logger
        self.random = random
        self.store = RoomStore()
        keepalive = configuration.keepalive
        lastSentAt = clock.now
        lastReceivedAt = clock.now
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
            let connection = try await open()
            return try await admit(.join(joinRequest()), on: connection)
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
            expectedEnd = .leaving
            if let connection {
                _ = try? await transmit(.leave, on: connection, timeoutMs: min(configuration.requestTimeoutMs, 3_000))
                await connection.close()
            }
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

    public func setMuted(_ muted: Bool) async throws(SessionError) {
        if muted { try await muteSelf() } else { try await unmuteSelf() }
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
        requestCounter += 1
        let key = RequestID(uncheckedRawValue: "\(idempotencyPrefix)-\(requestCounter)")
        let reply = try await request(.sendChat(SendChatRequest(target: target, text: text, idempotencyKey: key)))
        guard case .chatAck(let ack) = reply else { throw unexpected(reply, for: .sendChat) }
        return ack
    }

    /// 16 random letters and digits (95 bits): unique across a user's sessions.
    static func makeIdempotencyPrefix() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    public func broadcast(_ text: String) async throws(SessionError) -> ChatAck {
        try await send(text, to: .broadcast)
    }

    public func send(_ text: String, toRoles roles: [RoleName]) async throws(SessionError) -> ChatAck {
        try await send(text, to: .roles(roles))
    }

    public func send(_ text: String, toPeers peers: [PeerID]) async throws(SessionError) -> ChatAck {
        try await send(text, to: .peers(peers))
    }

    /// Reads a page of the log and merges it into the store's chat.
    @discardableResult
    public func fetchHistory(_ query: HistoryRequest) async throws(SessionError) -> ChatPage {
        let reply = try await request(.fetchHistory(query))
        guard case .chatPage(let page) = reply else { throw unexpected(reply, for: .fetchHistory) }
        let clean = IncomingText.page(page)
        emit(.chatHistory(clean, direction: query.after == nil ? .older : .newer))
        return clean
    }

    /// Loads the page before the oldest message we hold.
    @discardableResult
    public func loadOlderChat(limit: Int = ProtocolLimits.defaultHistoryPageSize) async throws(SessionError) -> ChatPage {
        try await fetchHistory(HistoryRequest(before: store.state.chat.first?.seq, limit: limit))
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
        guard case .ok(let ok) = reply else { throw unexpected(reply, for: .changeRole) }
        return ok.prompt
    }

    /// Asks a peer to take a role (a prompt it accepts or declines).
    @discardableResult
    public func requestRoleChange(of peer: PeerID, to role: RoleName) async throws(SessionError) -> PromptID? {
        try await changeRole(of: peer, to: role, force: false)
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
        guard case .ok(let ok) = reply else { throw unexpected(reply, for: .unmuteTrack) }
        return ok.prompt
    }

    /// Requests a track state change of another peer: muting applies at
    /// once (when permitted); unmuting is a request the owner answers.
    @discardableResult
    public func setTrack(_ track: TrackID, muted: Bool) async throws(SessionError) -> PromptID? {
        if muted {
            try await mute(track: track)
            return nil
        }
        return try await requestUnmute(track: track)
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

    /// Reports what the media engine measured, into the store and the event stream.
    public func reportMedia(_ event: SessionEvent) {
        // Nothing after `disconnected`: it is the last event (docs/BOTS.md).
        if case .disconnected = connectionState { return }
        switch event {
        case .mediaLevels, .mediaStats, .mediaBound, .mediaKeyAccepted, .mediaKeyRefused: emit(event)
        default: break
        }
    }

    // MARK: - Requests

    private func expectOK(_ body: ClientBody) async throws(SessionError) {
        let reply = try await request(body)
        guard case .ok = reply else { throw unexpected(reply, for: body.type) }
    }

    /// Sends a request on the current connection and waits for its reply.
    private func request(_ body: ClientBody, question: (to: PeerID, PromptQuestion)? = nil)
        async throws(SessionError) -> ServerBody
    {
        guard case .connected = connectionState, let connection else { throw .notConnected }
        return try await transmit(body, on: connection, question: question)
    }

    private func transmit(
        _ body: ClientBody, on connection: any SignallingConnection, timeoutMs: Int? = nil,
        question: (to: PeerID, PromptQuestion)? = nil
    ) async throws(SessionError) -> ServerBody {
        requestCounter += 1
        let id = RequestID(uncheckedRawValue: "r\(requestCounter)")
        let reply = OneShot<ServerBody>()
        pending[id] = PendingRequest(type: body.type, reply: reply, sentAt: clock.now, question: question)
        defer { pending[id] = nil }

        let text = String(decoding: codec.encode(ClientMessage(id: id, body)), as: UTF8.self)
        lastSentAt = clock.now
        try await connection.send(text)

        let waitMs = timeoutMs ?? configuration.requestTimeoutMs
        let timer = Task {
            try await Task.sleep(for: .milliseconds(waitMs))
            reply.fail(.timedOut(request: body.type, afterMs: waitMs))
        }
        defer { timer.cancel() }
        let answer = try await reply.value()
        if case .error(let refusal) = answer { throw .server(IncomingText.errorMessage(refusal)) }
        return answer
    }

    private func unexpected(_ reply: ServerBody, for request: ClientMessageType) -> SessionError {
        .protocolViolation("the server answered \(request.rawValue) with \(reply.type.rawValue)")
    }

    // MARK: - Connections

    /// Opens a connection and starts reading it.
    private func open() async throws(SessionError) -> any SignallingConnection {
        let connection = try await transport.connect(to: configuration.endpoint)
        generation += 1
        let current = generation
        self.connection = connection
        lastSentAt = clock.now
        lastReceivedAt = clock.now
        Task { [weak self] in
            for await text in connection.incoming {
                await self?.receive(text, generation: current)
            }
            await self?.connectionEnded(generation: current)
        }
        return connection
    }

    /// Sends `join` or `resume` and waits for `joined`, which `receive`
    /// has already applied to the state by the time this returns.
    private func admit(_ body: ClientBody, on connection: any SignallingConnection) async throws(SessionError)
        -> Joined
    {
        let reply = try await transmit(body, on: connection)
        guard case .joined(let joined) = reply else { throw unexpected(reply, for: body.type) }
        startKeepalive(generation: generation)
        return joined
    }

    /// The room; `join` refused an endpoint without one, so the fallback is never sent.
    private var room: RoomName { configuration.endpoint.room ?? "-" }

    private func joinRequest() -> JoinRequest {
        JoinRequest(
            room: room, token: configuration.token, name: configuration.displayName,
            metadata: configuration.metadata, muted: configuration.startMuted, publicKey: identity.publicKey,
            historyLimit: configuration.historyLimit)
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

    private func receive(_ text: String, generation current: Int) {
        guard current == generation else { return }
        lastReceivedAt = clock.now
        let message: ServerMessage
        do {
            message = try codec.decode(Data(text.utf8), as: ServerMessage.self)
        } catch {
            switch error.reason {
            case .unknownType:
                // A newer server's message: skip it (PROTOCOL.md, Versioning).
                logger.debug("skipping a message of unknown type")
            case .unsupportedVersion(let version):
                expectedEnd = nil
                let failure = SessionError.protocolViolation(
                    "the server speaks protocol version \(version); this client speaks \(ProtocolVersion.current)")
                finish(.failed(failure))
            default:
                emit(.failure(.protocolViolation("unreadable message from the server: \(error)")))
            }
            return
        }
        if let id = message.id {
            guard let request = pending[id] else {
                // A reply that came after its timeout, or to a keepalive ping.
                if let ping = pingInFlight, ping.id == id {
                    pingInFlight = nil
                    emit(.roundTrip(ms: Int((clock.now - ping.sentAt).milliseconds)))
                }
                return
            }
            handleReply(message.body, to: request)
            return
        }
        handleEvent(message.body)
    }

    private func handleReply(_ body: ServerBody, to request: PendingRequest) {
        switch body {
        case .joined(let joined):
            // Applied here, before the next message is read, so events that
            // follow `joined` land on the new snapshot and not before it.
            let clean = IncomingText.joined(joined)
            let roundTripMs = Int((clock.now - request.sentAt).milliseconds) - joined.joinTimeMs
            resumeToken = clean.reconnect.resumeToken
            keepalive = clean.keepalive
            expectedEnd = nil
            setConnectionState(.connected)
            emit(.joined(clean, roundTripMs: max(roundTripMs, 0)))
            request.reply.succeed(.joined(clean))
        case .ok(let ok):
            if let prompt = ok.prompt, let question = request.question {
                emit(.promptSent(prompt, to: question.to, question: question.1))
            }
            request.reply.succeed(body)
        default:
            request.reply.succeed(body)
        }
    }

    private func handleEvent(_ body: ServerBody) {
        switch body {
        case .peerJoined(let event):
            emit(.peerJoined(IncomingText.peer(event.peer), resumed: event.resumed))
        case .peerLeft(let event):
            emit(.peerLeft(event.peer, reason: event.reason, by: event.by))
        case .peerUpdated(let event):
            emit(.peerUpdated(IncomingText.peer(event.peer), changed: event.changed, by: event.by))
        case .trackAdded(let event):
            emit(.trackAdded(peer: event.peer, track: event.track))
        case .trackRemoved(let event):
            emit(.trackRemoved(peer: event.peer, track: event.track))
        case .trackMuted(let event):
            emit(.trackMuted(peer: event.peer, track: event.track, by: event.by))
        case .trackUnmuted(let event):
            emit(.trackUnmuted(peer: event.peer, track: event.track, by: event.by))
        case .trackDegraded(let event):
            emit(.trackDegraded(peer: event.peer, track: event.track, reason: event.reason))
        case .trackRestored(let event):
            emit(.trackRestored(peer: event.peer, track: event.track))
        case .speakers(let levels):
            emit(.speakers(levels))
        case .chatMessage(let message):
            emit(.chatMessage(IncomingText.message(message)))
        case .roleChangeRequested(let prompt):
            emit(.roleChangeRequested(prompt))
            schedulePromptExpiry(prompt.prompt)
        case .unmuteRequested(let prompt):
            emit(.unmuteRequested(prompt))
            schedulePromptExpiry(prompt.prompt)
        case .promptAnswered(let answer):
            emit(.promptAnswered(answer))
        case .removed(let notice):
            let clean = Removed(by: notice.by, reason: IncomingText.reason(notice.reason))
            expectedEnd = .removed(clean)
            emit(.removed(clean))
        case .roomEnded(let notice):
            let clean = RoomEnded(by: notice.by, reason: IncomingText.reason(notice.reason), locked: notice.locked)
            expectedEnd = .roomEnded(clean)
            emit(.roomEnded(clean))
        case .serverGoingAway(let notice):
            let clean = ServerGoingAway(reason: IncomingText.reason(notice.reason), retryAfterMs: notice.retryAfterMs)
            expectedEnd = .goingAway(retryAfterMs: notice.retryAfterMs)
            emit(.serverGoingAway(clean))
        case .reconnectInfo(let info):
            resumeToken = info.resumeToken
        case .error(let error):
            // An error without a request id concerns the connection.
            let clean = IncomingText.errorMessage(error)
            switch clean.code {
            case .sessionReplaced: expectedEnd = .replaced
            case .shuttingDown: expectedEnd = .goingAway(retryAfterMs: nil)
            default: break
            }
            emit(.failure(.server(clean)))
        case .keys(let delivery):
            // Opened by the MediaController (it holds the engine); the
            // session only passes the sealed blob on.
            emit(.mediaKeyReceived(delivery))
        case .joined, .ok, .pong, .chatAck, .chatPage:
            // Replies without an id: nothing waits for them.
            break
        case .connected, .callState, .callHistoryPage, .presenceOnline, .presenceOffline, .presenceUpdated, .callInvitation,
            .callUpdated, .callInvitationEnded, .callRoom, .callEnded:
            // The presence connection's (CallClient); never sent to a room's.
            break
        }
    }

    /// Prompts expire after 60 s on the server; drop them here too.
    private func schedulePromptExpiry(_ prompt: PromptID) {
        Task { [weak self] in
            try await Task.sleep(for: .milliseconds(LifecycleDefaults.promptLifetimeMs))
            await self?.expirePrompt(prompt)
        }
    }

    private func expirePrompt(_ prompt: PromptID) {
        guard store.state.pendingPrompts.contains(where: { $0.id == prompt }) else { return }
        emit(.promptClosed(prompt))
    }

    // MARK: - Drops and reconnection

    /// The connection of generation `current` is gone (closed by either side, or declared dead).
    private func connectionEnded(generation current: Int) {
        guard current == generation else { return }
        generation += 1
        let closed = connection
        connection = nil
        keepaliveTask?.cancel()
        keepaliveTask = nil
        for request in pending.values { request.reply.fail(.connectionLost) }
        if let closed { Task { await closed.close() } }

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
        reconnectTask = Task { [weak self] in
            await self?.reconnect(firstDelayHintMs: firstDelayHintMs)
        }
    }

    private func reconnect(firstDelayHintMs: Int?) async {
        let policy = configuration.reconnect
        let droppedAt = clock.now
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            var delayMs = policy.delayMs(attempt: attempt, random: random())
            if attempt == 1, let hint = firstDelayHintMs {
                delayMs = min(max(delayMs, hint), policy.maximumDelayMs)
            }
            let elapsedMs = Int((clock.now - droppedAt).milliseconds)
            guard elapsedMs + delayMs <= policy.giveUpAfterMs else {
                finish(.gaveUp)
                return
            }
            setConnectionState(.reconnecting(attempt: attempt))
            emit(.reconnecting(attempt: attempt, delayMs: delayMs))
            do {
                try await Task.sleep(for: .milliseconds(delayMs))
            } catch {
                return
            }
            guard case .reconnecting = connectionState else { return }
            do {
                let resumed = try await reestablish()
                emit(.reconnected(resumed: resumed))
                return
            } catch {
                guard case .reconnecting = connectionState else { return }
                if error.code == .removedFromRoom {
                    // A host removed us while we were away: over, not to be undone by joining again.
                    finish(.removed(by: nil, reason: error.message))
                    return
                }
                logger.debug("reconnection attempt \(attempt) failed: \(error)")
                if !error.isRetryable {
                    finish(.failed(error))
                    return
                }
            }
        }
    }

    /// Resumes if the server still holds our session, else joins afresh, then
    /// reads any chat we missed. Returns whether the session was resumed.
    private func reestablish() async throws(SessionError) -> Bool {
        let lastSeen = store.state.lastSeenSequence
        if let token = resumeToken {
            let connection = try await open()
            // Single use: spent once sent, whether or not the reply comes
            // back. Not before: an attempt that cannot even connect (the
            // network is still down) must leave it for the next attempt.
            resumeToken = nil
            do {
                let joined = try await admit(
                    .resume(ResumeRequest(room: room, resumeToken: token, lastSeenSequence: lastSeen)),
                    on: connection)
                if joined.history.hasMore { await catchUpChat() }
                return true
            } catch {
                guard error.code == .resumeRejected else { throw error }
                // The server closes after refusing; join on a new connection.
                await connection.close()
                logger.debug("resume rejected; joining again")
            }
        }
        let connection = try await open()
        let joined = try await admit(.join(joinRequest()), on: connection)
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

    // MARK: - Keepalive

    private func startKeepalive(generation current: Int) {
        keepaliveTask?.cancel()
        let tickMs = KeepalivePolicy(info: keepalive).tickMs
        keepaliveTask = Task { [weak self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: .milliseconds(tickMs))
                } catch {
                    return
                }
                guard let self, await self.keepaliveTick(generation: current) else { return }
            }
        }
    }

    /// Pings when idle; declares the server gone when silent too long.
    /// Returns whether to keep going.
    private func keepaliveTick(generation current: Int) async -> Bool {
        guard current == generation, let connection else { return false }
        let now = clock.now
        switch KeepalivePolicy(info: keepalive).action(
            sinceReceivedMs: (now - lastReceivedAt).milliseconds, sinceSentMs: (now - lastSentAt).milliseconds)
        {
        case .nothing:
            break
        case .dead:
            logger.debug("the server was silent for \(keepalive.deadAfterMs) ms: treating the connection as dropped")
            connectionEnded(generation: current)
            return false
        case .ping:
            lastSentAt = now
            requestCounter += 1
            // The pong needs no waiter: any message from the server counts as life.
            let ping = ClientMessage(id: RequestID(uncheckedRawValue: "ping\(requestCounter)"), .ping)
            pingInFlight = (ping.id, now)
            try? await connection.send(String(decoding: codec.encode(ping), as: UTF8.self))
        }
        return true
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
        generation += 1
        keepaliveTask?.cancel()
        keepaliveTask = nil
        reconnectTask?.cancel()
        reconnectTask = nil
        for request in pending.values { request.reply.fail(.notConnected) }
        if let connection {
            self.connection = nil
            Task { await connection.close() }
        }
        setConnectionState(.disconnected(reason))
        emit(.disconnected(reason))
        fanOut.finish()
        store.finishStreams()
    }

    private func emit(_ event: SessionEvent) {
        store.apply(event)
        let (listeners, streams) = fanOut.targets()
        for listener in listeners { event.deliver(to: listener, from: self) }
        for stream in streams { stream.yield(event) }
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
