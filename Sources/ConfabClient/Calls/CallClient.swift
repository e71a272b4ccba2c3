import ConfabProtocol
import Foundation
import Logging
import Synchronization

// A user's presence connection to a server, and the calls placed and
// answered on it.
//
//   connect() ─▶ transport (wss://HOST:PORT/) ─▶ connect ─▶ connected ─▶ online
//   reader: incoming ─▶ reply? ─▶ waiting request
//                     └▶ event ─▶ sanitise ─▶ CallStore (pure reducer) ─▶ observers, listeners, streams
//   call.room (reply to accept, or an event to the caller) ─▶ a ConfabSession for the call's room
//       ─▶ prepareRoom (media) ─▶ join ─▶ its peers ─▶ userEntered / userLeft
//   call.ended / hangup() ─▶ leave the room's session
//
// Unlike a room session this connection does not reconnect by itself: a
// presence connection holds nothing that a fresh `connect` would not bring
// back (the calls you are part of come in `connected`).

/// Presence and calls on one server: ring people, answer, hang up.
public actor CallClient {
    /// Presence and calls as one observable value (for a UI: like `RoomStore` for rooms).
    public nonisolated let store = CallStore()
    public nonisolated let endpoint: ServerEndpoint

    /// Called with the call room's session before it joins (attach media
    /// here); the closure it returns runs after the session has left.
    public typealias RoomPreparation = @Sendable (ConfabSession) async -> (@Sendable () async -> Void)

    private let token: String
    private let displayName: String?
    private let transport: any SignallingTransport
    private let prepareRoom: RoomPreparation?
    private let logger: Logger
    private let codec = ProtocolCodec()
    private let listeners = ListenerList<any CallListener>()
    private let requestTimeoutMs: Int
    /// This client's `connect.device`: the same on every reconnection, so
    /// the server gives the call back to it and not to another device.
    private let device = RandomDeviceID.make()
    /// A call you hung up whose hang-up the server has not confirmed: sent
    /// again after a reconnection, and kept out of the state meanwhile.
    private var pendingHangup: CallID?

    private var connection: (any SignallingConnection)?
    private var pending: [RequestID: (type: ClientMessageType, reply: OneShot<ServerBody>)] = [:]
    private var requestCounter = 0
    private var keepaliveTask: Task<Void, Never>?
    private var closeReason: String?
    private var disconnecting = false
    /// The server ended the connection on purpose (shutdown, a refused token): no reconnecting.
    private var finalClose = false
    private var wasOnline = false
    private var generation = 0
    private var lastReceivedAt = ContinuousClock.now
    private var lastSentAt = ContinuousClock.now
    private let random: @Sendable () -> Double
    private var reconnectTask: Task<Void, Never>?
    private let reconnect: ReconnectPolicy

    private var roomSession: ConfabSession?
    private var roomCall: CallID?
    private var roomCleanup: (@Sendable () async -> Void)?
    private var roomWatch: Task<Void, Never>?

    public init(
        endpoint: ServerEndpoint, token: String, displayName: String? = nil, transport: any SignallingTransport,
        requestTimeoutMs: Int = 10_000, reconnect: ReconnectPolicy = .standard, prepareRoom: RoomPreparation? = nil,
        logger: Logger = Logger(label: "confab.calls"),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.endpoint = endpoint.with(room: nil)
        self.random = random
        self.reconnect = reconnect
        self.token = token
        self.displayName = displayName
        self.transport = transport
        self.requestTimeoutMs = requestTimeoutMs
        self.prepareRoom = prepareRoom
        self.logger = logger
    }

    /// A client over TLS that pins the server certificate, as `ConfabSession(url:…)` does.
    public init(
        url: String, token: String, fingerprint: String? = nil, displayName: String? = nil,
        knownServersPath: String? = KnownServers.defaultPath(), prepareRoom: RoomPreparation? = nil,
        logger: Logger = Logger(label: "confab.calls")
    ) throws(SessionError) {
        let endpoint = try ServerEndpoint(serverURL: url)
        let trust = try ServerTrust(fingerprint: fingerprint, knownServersPath: knownServersPath)
        self.init(
            endpoint: endpoint, token: token, displayName: displayName,
            transport: WebSocketTransport(trust: trust, logger: logger), prepareRoom: prepareRoom, logger: logger)
    }

    // MARK: - Observing

    /// Adds a listener, held weakly: keep your own reference.
    public nonisolated func addListener(_ listener: any CallListener) {
        listeners.add(listener)
    }

    /// Every event from now on, with the state it produced.
    public nonisolated func updates() -> AsyncStream<CallUpdate> {
        store.updates()
    }

    /// The session of the call's room, once you are in one.
    public var session: ConfabSession? { roomSession }

    // MARK: - Requests

    /// Goes online: opens the server-root connection and sends `connect`.
    /// A connection that drops later is opened again by itself (with the
    /// `reconnect` policy's backoff); one the server ended on purpose is not.
    @discardableResult
    public func connect() async throws(SessionError) -> Connected {
        guard connection == nil, reconnectTask == nil else { throw .invalidArgument("already connected") }
        disconnecting = false
        do {
            return try await open()
        } catch {
            emit(.disconnected(reason: error.message))
            throw error
        }
    }

    private func open() async throws(SessionError) -> Connected {
        let opened = try await transport.connect(to: endpoint)
        generation += 1
        let current = generation
        connection = opened
        closeReason = nil
        finalClose = false
        lastReceivedAt = .now
        Task { [weak self] in
            for await text in opened.incoming {
                await self?.receive(text)
            }
            await self?.connectionClosed(generation: current)
        }
        let reply: ServerBody
        do {
            reply = try await request(.connect(ConnectRequest(token: token, name: displayName, device: device)))
        } catch {
            // A refused token will not be accepted on the next try either.
            if error.code != nil { finalClose = true }
            // This connection's end is reported by the caller, not the reader.
            connection = nil
            await opened.close()
            throw error
        }
        guard case .connected(let connected) = reply else { throw unexpected(reply, for: .connect) }
        var cleaned = IncomingCall.connected(connected)
        wasOnline = true
        // A hang-up that was not confirmed before the connection dropped:
        // the call does not come back, and the hang-up is sent again.
        var retryHangup: CallID?
        if let pending = pendingHangup {
            if cleaned.calls.contains(where: { $0.id == pending }) {
                cleaned.calls.removeAll { $0.id == pending }
                retryHangup = pending
            } else {
                pendingHangup = nil
            }
        }
        emit(.connected(cleaned))
        startKeepalive(connected.keepalive, generation: current)
        if let retryHangup {
            Task { await self.sendHangup(retryHangup) }
        }
        return cleaned
    }

    /// Rings users: a new call, or (when you are in one) more people into it.
    @discardableResult
    public func call(_ users: [PeerID], ringTimeoutMs: Int? = nil) async throws(SessionError) -> CallInfo {
        let current = store.state.call?.id
        let reply = try await request(
            .inviteToCall(CallInviteRequest(users: users, call: current, ringTimeoutMs: ringTimeoutMs)))
        guard case .callState(let info) = reply else { throw unexpected(reply, for: .inviteToCall) }
        return IncomingCall.call(info)
    }

    /// Accepts an invitation (the oldest ringing one when `call` is nil) and
    /// joins the call's room. Returns its session, joined.
    @discardableResult
    public func accept(_ call: CallID? = nil) async throws(SessionError) -> ConfabSession {
        guard let invitation = invitation(call) else { throw .invalidArgument("no invitation is ringing") }
        let reply = try await request(.acceptCall(CallAction(call: invitation.call.id)))
        guard case .callRoom(let callRoom) = reply else { throw unexpected(reply, for: .acceptCall) }
        guard store.state.call?.id == callRoom.call else {
            throw .invalidArgument("the call ended before its room could be joined")
        }
        return try await enterRoom(callRoom)
    }

    /// Rejects an invitation (the oldest ringing one when `call` is nil).
    public func reject(_ call: CallID? = nil) async throws(SessionError) {
        guard let invitation = invitation(call) else { throw .invalidArgument("no invitation is ringing") }
        _ = try await request(.rejectCall(CallAction(call: invitation.call.id)))
        emit(.declined(invitation.call.id))
    }

    /// Withdraws the invitations of your call that still ring; a call nobody answered ends.
    public func cancel() async throws(SessionError) {
        guard let call = store.state.call else { throw .invalidArgument("you have placed no call") }
        _ = try await request(.cancelCall(CallAction(call: call.id)))
    }

    /// Leaves the call you are in (and its room). Throws only when you are
    /// in no call: once asked, the call is over for this client whatever the
    /// network does. The room is always left, which the server counts as
    /// hanging up; a `call.hangup` the server did not confirm (the
    /// connection dropped, or no reply in time) is sent again after a
    /// reconnection; and a member whose presence connection is gone before
    /// they entered the room is hung up by the server. The state says
    /// `hungUp` at once; the server's `call.ended` follows when it comes.
    public func hangup() async throws(SessionError) {
        guard let call = store.state.call else { throw .invalidArgument("you are in no call") }
        pendingHangup = call.id
        await sendHangup(call.id)
        await leaveRoom()
        // Confirmed, the `call.ended` before the reply already ended it.
        if store.state.call?.id == call.id { emit(.hungUp(call.id)) }
    }

    /// Sends `call.hangup`; the pending hang-up is settled when the server
    /// answers either way (a refusal means the call is over for you already).
    private func sendHangup(_ call: CallID) async {
        do {
            _ = try await request(.hangUp(CallAction(call: call)))
            if pendingHangup == call { pendingHangup = nil }
        } catch {
            if error.code != nil {
                if pendingHangup == call { pendingHangup = nil }
            } else {
                logger.debug("hang-up not confirmed; sent again after a reconnection", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Your most recent calls, newest first.
    public func history(limit: Int = ProtocolLimits.defaultHistoryPageSize) async throws(SessionError) -> [CallRecord] {
        let reply = try await request(.fetchCallHistory(CallHistoryRequest(limit: limit)))
        guard case .callHistoryPage(let page) = reply else { throw unexpected(reply, for: .fetchCallHistory) }
        emit(.historyLoaded(page.calls))
        return page.calls
    }

    /// Goes offline (leaving any call's room first).
    public func disconnect() async {
        disconnecting = true
        reconnectTask?.cancel()
        reconnectTask = nil
        await leaveRoom()
        keepaliveTask?.cancel()
        if let connection {
            await connection.close()
        } else if wasOnline, store.state.connection != .disconnected(reason: nil) {
            // Between two reconnection attempts: nothing to close.
            emit(.disconnected(reason: nil))
            store.finishStreams()
        }
    }

    /// The call of an invitation you accepted, with you in it. (`accept`
    /// sends only for an invitation in the store, so the fallback is a formality.)
    private func answered(_ call: CallID) -> CallInfo {
        let you = store.state.you?.user
        var info =
            store.state.invitations.first { $0.call.id == call }?.call
            ?? CallInfo(
                id: call, caller: you ?? "-", group: false, createdAt: Timestamp(millisecondsSince1970: 0),
                participants: [])
        if let you, let index = info.participants.firstIndex(where: { $0.user == you }) {
            info.participants[index].state = .accepted
        }
        return info
    }

    private func invitation(_ call: CallID?) -> CallInvitation? {
        let invitations = store.state.invitations
        guard let call else { return invitations.first }
        return invitations.first { $0.call.id == call }
    }

    // MARK: - The call's room

    private func enterRoom(_ callRoom: CallRoom) async throws(SessionError) -> ConfabSession {
        if roomCall == callRoom.call, let roomSession { return roomSession }
        await leaveRoom()
        emit(.roomReady(callRoom))
        var configuration = SessionConfiguration(
            endpoint: endpoint.with(room: callRoom.room), token: callRoom.token, displayName: displayName)
        // Taking a call means talking: the microphone starts open.
        configuration.startMuted = false
        let session = ConfabSession(configuration: configuration, transport: transport, logger: logger)
        roomSession = session
        roomCall = callRoom.call
        roomCleanup = await prepareRoom?(session)
        // Who is in the room, in the order the room saw it.
        let updates = session.store.updates()
        roomWatch = Task { [weak self] in
            for await update in updates {
                switch update.event {
                case .joined(let joined, _):
                    for peer in joined.peers { await self?.emit(.userEntered(peer.id)) }
                case .peerJoined(let peer, _):
                    await self?.emit(.userEntered(peer.id))
                case .peerLeft(let peer, _, _):
                    await self?.emit(.userLeft(peer))
                default:
                    break
                }
            }
        }
        do {
            _ = try await session.join()
        } catch {
            emit(.failure(error))
            throw error
        }
        for listener in listeners.live() {
            listener.callClient(self, didJoinRoomOf: callRoom.call, session: session)
        }
        return session
    }

    private func leaveRoom() async {
        guard let session = roomSession else { return }
        roomSession = nil
        roomCall = nil
        roomWatch?.cancel()
        roomWatch = nil
        let cleanup = roomCleanup
        roomCleanup = nil
        await session.leave()
        await cleanup?()
    }

    // MARK: - The connection

    private func request(_ body: ClientBody) async throws(SessionError) -> ServerBody {
        guard let connection else { throw .notConnected }
        requestCounter += 1
        let id = RequestID(uncheckedRawValue: "c\(requestCounter)")
        let reply = OneShot<ServerBody>()
        pending[id] = (body.type, reply)
        defer { pending[id] = nil }
        lastSentAt = .now
        try await connection.send(String(decoding: codec.encode(ClientMessage(id: id, body)), as: UTF8.self))
        let waitMs = requestTimeoutMs
        let timer = Task {
            try await Task.sleep(for: .milliseconds(waitMs))
            reply.fail(.timedOut(request: body.type, afterMs: waitMs))
        }
        defer { timer.cancel() }
        let answer = try await reply.value()
        if case .error(let refusal) = answer { throw .server(IncomingText.errorMessage(refusal)) }
        return answer
    }

    private func receive(_ text: String) async {
        let message: ServerMessage
        do {
            message = try codec.decode(Data(text.utf8), as: ServerMessage.self)
        } catch {
            logger.debug("unreadable message from the server", metadata: ["error": "\(error)"])
            return
        }
        lastReceivedAt = .now
        if let id = message.id, let waiter = pending[id] {
            // The state changes before the next message is read: an event
            // right behind this reply (the call ending at once) must find it.
            switch message.body {
            case .callState(let info):
                emit(.placed(IncomingCall.call(info)))
            case .callRoom(let callRoom) where waiter.type == .acceptCall:
                emit(.answered(answered(callRoom.call)))
            default:
                break
            }
            waiter.reply.succeed(message.body)
            return
        }
        switch message.body {
        case .presenceOnline(let user):
            emit(.userOnline(IncomingCall.user(user)))
        case .presenceOffline(let offline):
            emit(.userOffline(offline.user))
        case .presenceUpdated(let user):
            emit(.userUpdated(IncomingCall.user(user)))
        case .callInvitation(let invitation):
            var cleaned = invitation
            cleaned.call = IncomingCall.call(invitation.call)
            emit(.invited(cleaned))
        case .callUpdated(let update):
            emit(.participantChanged(IncomingCall.call(update.call), user: update.user, state: update.state))
        case .callInvitationEnded(let ended):
            emit(.invitationEnded(call: ended.call, reason: ended.reason))
        case .callRoom(let callRoom):
            // The caller's: the first invitee accepted.
            guard store.state.call?.id == callRoom.call, pendingHangup != callRoom.call else { return }
            Task { _ = try? await self.enterRoom(callRoom) }
        case .callEnded(let ended):
            if pendingHangup == ended.call { pendingHangup = nil }
            let wasOurs = roomCall == ended.call
            emit(.ended(ended))
            if wasOurs { await leaveRoom() }
        case .error(let error):
            closeReason = IncomingText.errorMessage(error).description
            if error.code.closesConnection { finalClose = true }
        case .serverGoingAway(let notice):
            closeReason = IncomingText.reason(notice.reason) ?? "the server is shutting down"
            finalClose = true
        default:
            break
        }
    }

    private func connectionClosed(generation closed: Int) {
        guard closed == generation, connection != nil else { return }
        connection = nil
        keepaliveTask?.cancel()
        for waiter in pending.values { waiter.reply.fail(.connectionLost) }
        pending = [:]
        guard !disconnecting, !finalClose, wasOnline else {
            emit(.disconnected(reason: disconnecting ? nil : closeReason ?? "the connection closed"))
            store.finishStreams()
            return
        }
        reconnectTask = Task { [weak self] in await self?.reconnectLoop() }
    }

    /// Tries again with backoff until online, told to stop, or out of time.
    private func reconnectLoop() async {
        let started = ContinuousClock.now
        var attempt = 0
        while !Task.isCancelled, !disconnecting {
            attempt += 1
            let delayMs = reconnect.delayMs(attempt: attempt, random: random())
            let elapsed = ContinuousClock.now - started
            guard elapsed + .milliseconds(delayMs) <= .milliseconds(reconnect.giveUpAfterMs) else { break }
            emit(.reconnecting(attempt: attempt))
            do {
                try await Task.sleep(for: .milliseconds(delayMs))
            } catch {
                return
            }
            guard !disconnecting else { return }
            do {
                _ = try await open()
                reconnectTask = nil
                return
            } catch {
                logger.debug("reconnection failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                if finalClose { break }
            }
        }
        reconnectTask = nil
        guard !disconnecting else { return }
        emit(.disconnected(reason: closeReason ?? "lost the connection and could not reconnect"))
        store.finishStreams()
    }

    private func startKeepalive(_ keepalive: KeepaliveInfo, generation current: Int) {
        keepaliveTask?.cancel()
        let policy = KeepalivePolicy(info: keepalive)
        keepaliveTask = Task { [weak self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: .milliseconds(policy.tickMs))
                } catch {
                    return
                }
                guard let self, await self.keepaliveTick(policy, generation: current) else { return }
            }
        }
    }

    /// Pings when idle; a server silent for `deadAfterMs` (pongs included) is
    /// gone: close, and the reader's end reconnects. The same rule as the room session's.
    private func keepaliveTick(_ policy: KeepalivePolicy, generation current: Int) async -> Bool {
        guard current == generation, let connection else { return false }
        let now = ContinuousClock.now
        switch policy.action(sinceReceivedMs: (now - lastReceivedAt).milliseconds, sinceSentMs: (now - lastSentAt).milliseconds) {
        case .nothing:
            return true
        case .dead:
            logger.debug("the server was silent for \(policy.info.deadAfterMs) ms: reconnecting")
            await connection.close()
            connectionClosed(generation: current)
            return false
        case .ping:
            // The pong needs no waiter: the server only needs to hear from us.
            lastSentAt = now
            requestCounter += 1
            let ping = ClientMessage(id: RequestID(uncheckedRawValue: "ping\(requestCounter)"), .ping)
            try? await connection.send(String(decoding: codec.encode(ping), as: UTF8.self))
            return true
        }
    }

    private func emit(_ event: CallEvent) {
        store.apply(event)
        for listener in listeners.live() { listener.dispatch(event, from: self) }
    }

    private func unexpected(_ reply: ServerBody, for request: ClientMessageType) -> SessionError {
        .protocolViolation("the server answered \(request.rawValue) with \(reply.type.rawValue)")
    }
}

/// Listeners, held weakly.
/// Names from the server pass TextSanitizer again before they reach the store.
enum IncomingCall {
    static func user(_ user: OnlineUser) -> OnlineUser {
        var user = user
        user.name = IncomingText.name(user.name, fallback: user.user)
        return user
    }

    static func call(_ call: CallInfo) -> CallInfo {
        var call = call
        for index in call.participants.indices {
            call.participants[index].name = IncomingText.name(
                call.participants[index].name, fallback: call.participants[index].user)
        }
        return call
    }

    static func connected(_ connected: Connected) -> Connected {
        var connected = connected
        connected.you = user(connected.you)
        connected.online = connected.online.map(user)
        connected.calls = connected.calls.map(call)
        return connected
    }
}

/// A random id for `connect.device`: 12 bytes as hex.
enum RandomDeviceID {
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<12).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
