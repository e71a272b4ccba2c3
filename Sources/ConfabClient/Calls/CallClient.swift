import ConfabProtocol
import Foundation
import Logging

// A user's presence connection to a server, and the calls placed and
// answered on it, on a SignalChannel (which owns the connection, request ids,
// timeouts, keepalive and back-off).
//
//   connect() ─▶ channel.open (wss://HOST:PORT/) ─▶ connect ─▶ connected ─▶ online
//   channel events ─▶ sanitise ─▶ CallStore (pure reducer) ─▶ observers, listeners, streams
//   call.room (reply to accept, or an event to the caller) ─▶ a ConfabSession for the call's room
//       ─▶ prepareRoom (media) ─▶ join ─▶ its peers ─▶ userEntered / userLeft
//   call.ended / hangup() ─▶ leave the room's session
//
// A dropped connection is opened again with a fresh `connect` (the channel's
// back-off): a presence connection holds nothing that `connected` does not
// bring back (the calls you are part of), so there is no resume.

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
    /// The call rooms' sessions connect through it too.
    private let transport: any SignallingTransport
    private let channel: SignalChannel
    private let prepareRoom: RoomPreparation?
    private let logger: Logger
    private let listeners = ListenerList<any CallListener>()
    /// This client's `connect.device`: the same on every reconnection, so
    /// the server gives the call back to it and not to another device.
    private let device = RandomID.device()
    /// A call you hung up whose hang-up the server has not confirmed: sent
    /// again after a reconnection, and kept out of the state meanwhile.
    private var pendingHangup: CallID?

    private var closeReason: String?
    private var disconnecting = false
    /// The server ended the connection for good (a refused token, another
    /// device took the session): no reconnecting. A shutdown is not one.
    private var finalClose = false
    /// A shutting-down server's `retryAfterMs`: the first reconnection waits at least that.
    private var goingAwayHintMs: Int?
    private var wasOnline = false
    private var reconnectTask: Task<Void, Never>?
    private let reconnect: ReconnectPolicy
    /// A cluster's other nodes (`connected.nodes`), to connect again through when the URL given cannot be reached.
    private var clusterNodes: [ServerEndpoint] = []

    private var roomSession: ConfabSession?
    private var roomCall: CallID?
    private var roomCleanup: (@Sendable () async -> Void)?
    private var roomWatch: Task<Void, Never>?

    public init(
        endpoint: ServerEndpoint, token: String, displayName: String? = nil, transport: any SignallingTransport,
        requestTimeoutMs: Int = 10_000, reconnect: ReconnectPolicy = .standard, prepareRoom: RoomPreparation? = nil,
        logger: Logger = Logger(label: "confab.calls"),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        clock: any SignalClock = SystemSignalClock()
    ) {
        self.endpoint = endpoint.with(room: nil)
        self.reconnect = reconnect
        self.token = token
        self.displayName = displayName
        self.transport = transport
        channel = SignalChannel(
            transport: transport, endpoint: self.endpoint, requestPrefix: "c", requestTimeoutMs: requestTimeoutMs,
            clock: clock, random: random, logger: logger)
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
        guard await !channel.isOpen, reconnectTask == nil else { throw .invalidArgument("already connected") }
        disconnecting = false
        do {
            return try await open()
        } catch {
            emit(.disconnected(reason: error.message))
            throw error
        }
    }

    private func open() async throws(SessionError) -> Connected {
        try await channel.open(
            receive: { [weak self] inbound in await self?.receive(inbound) },
            dropped: { [weak self] in await self?.connectionClosed() })
        closeReason = nil
        finalClose = false
        // A hint is for the reconnection right after its notice, not for a later drop.
        goingAwayHintMs = nil
        let reply: ServerBody
        do {
            reply = try await request(.connect(ConnectRequest(token: token, name: displayName, device: device)))
        } catch {
            // A refused token will not be accepted on the next try either; a
            // busy or restarting server (9xxx) may let us in later.
            if error.code != nil, !error.isRetryable { finalClose = true }
            // This connection's end is reported by the caller, not the reader.
            await channel.close()
            throw error
        }
        guard case .connected(let connected) = reply else { throw .unexpected(reply, for: .connect) }
        var cleaned = IncomingCall.connected(connected)
        wasOnline = true
        if let nodes = connected.nodes {
            clusterNodes = nodes.compactMap { try? ServerEndpoint(serverURL: $0) }
        }
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
        await channel.startKeepalive(connected.keepalive)
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
        guard case .callState(let info) = reply else { throw .unexpected(reply, for: .inviteToCall) }
        return IncomingCall.call(info)
    }

    /// Accepts an invitation (the oldest ringing one when `call` is nil) and
    /// joins the call's room. Returns its session, joined.
    @discardableResult
    public func accept(_ call: CallID? = nil) async throws(SessionError) -> ConfabSession {
        guard let invitation = invitation(call) else { throw .invalidArgument("no invitation is ringing") }
        let reply = try await request(.acceptCall(CallAction(call: invitation.call.id)))
        guard case .callRoom(let callRoom) = reply else { throw .unexpected(reply, for: .acceptCall) }
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
        guard case .callHistoryPage(let page) = reply else { throw .unexpected(reply, for: .fetchCallHistory) }
        emit(.historyLoaded(page.calls))
        return page.calls
    }

    /// Goes offline (leaving any call's room first).
    public func disconnect() async {
        disconnecting = true
        reconnectTask?.cancel()
        reconnectTask = nil
        await leaveRoom()
        let wasOpen = await channel.close()
        // Between two reconnection attempts there is nothing to close, but the client still goes offline.
        if wasOpen || (wasOnline && store.state.connection != .disconnected(reason: nil)) {
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
        // Through the node this connection reached (the URL given may be a dead node's).
        let through = await channel.endpoint
        var configuration = SessionConfiguration(
            endpoint: through.with(room: callRoom.room), token: callRoom.token, displayName: displayName)
        // Taking a call means talking: the microphone starts open.
        configuration.startMuted = false
        // Another node than the URL given must present the certificate the first one did.
        var roomTransport = transport
        if through.hostAndPort != endpoint.hostAndPort, let fingerprint = await channel.clusterFingerprint {
            roomTransport = ClusterPinnedTransport(base: transport, fingerprint: fingerprint)
        }
        let session = ConfabSession(
            configuration: configuration, transport: roomTransport, logger: logger, clock: channel.clock)
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
        try await channel.request(body) { [weak self] reply in await self?.noteReply(reply) }
    }

    /// The state changes before the next message is read: an event right
    /// behind this reply (the call ending at once) must find it.
    private func noteReply(_ reply: SignalReply) {
        switch reply.body {
        case .callState(let info):
            emit(.placed(IncomingCall.call(info)))
        case .callRoom(let callRoom) where reply.request == .acceptCall:
            emit(.answered(answered(callRoom.call)))
        default:
            break
        }
    }

    private func receive(_ inbound: SignalInbound) async {
        switch inbound {
        case .event(let body):
            await handleEvent(body)
        case .unreadable(let error):
            logger.debug("unreadable message from the server", metadata: ["error": "\(error)"])
        case .roundTrip:
            break
        }
    }

    private func handleEvent(_ body: ServerBody) async {
        switch body {
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
            // A server shutting down comes back (or another node of its cluster takes over).
            if error.code.closesConnection, error.code != .shuttingDown { finalClose = true }
        case .serverGoingAway(let notice):
            // As a room session does: come back after the hint, through any node.
            closeReason = IncomingText.reason(notice.reason) ?? "the server is shutting down"
            goingAwayHintMs = notice.retryAfterMs
        case .clusterNodes(let update):
            // A node started or stopped since `connected`: the newest list is the one to fail over through.
            clusterNodes = update.nodes.compactMap { try? ServerEndpoint(serverURL: $0) }
            emit(.clusterNodesChanged(update.nodes))
        default:
            break
        }
    }

    /// The connection dropped (closed by the server, or silent past the keepalive's limit).
    private func connectionClosed() {
        guard !disconnecting, !finalClose, wasOnline else {
            emit(.disconnected(reason: disconnecting ? nil : closeReason ?? "the connection closed"))
            store.finishStreams()
            return
        }
        reconnectTask = Task { [weak self] in await self?.reconnectLoop() }
    }

    /// Tries again with the channel's back-off until online, told to stop, or out of time.
    private func reconnectLoop() async {
        let hintMs = goingAwayHintMs
        goingAwayHintMs = nil
        let outcome = await channel.reconnect(
            policy: reconnect, firstDelayHintMs: hintMs,
            announce: { [weak self] attempt, _ in await self?.emit(.reconnecting(attempt: attempt)) },
            attempt: { [weak self] attempt in await self?.reconnectAttempt(attempt) ?? .stop })
        reconnectTask = nil
        guard outcome != .reconnected, !disconnecting else { return }
        emit(.disconnected(reason: closeReason ?? "lost the connection and could not reconnect"))
        store.finishStreams()
    }

    private func reconnectAttempt(_ attempt: Int) async -> ReconnectStep {
        guard !disconnecting else { return .stop }
        do {
            _ = try await openAnyNode()
            if disconnecting {
                // Told to go offline while this attempt was under way.
                await channel.close()
                return .stop
            }
            return .connected
        } catch {
            logger.debug("reconnection failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
            // A changed certificate or a refused token will not mend itself: say why, and stop.
            guard !finalClose, error.isRetryable else {
                closeReason = error.message
                return .stop
            }
            return .retry(afterMs: error.retryAfterMs)
        }
    }

    /// Goes online again through the URL given first, then through each of
    /// the cluster's other nodes while one cannot be reached (its node died).
    /// Nodes other than the first must present its certificate (SignalChannel).
    private func openAnyNode() async throws(SessionError) -> Connected {
        var candidates = [endpoint]
        for node in clusterNodes where !candidates.contains(node) { candidates.append(node) }
        var failure = SessionError.notConnected
        for candidate in candidates {
            await channel.retarget(candidate)
            do {
                return try await open()
            } catch {
                switch error {
                case .transport, .timedOut, .connectionLost: failure = error
                // A node on its way out: another may take us now.
                case .server(let refusal) where refusal.code == .shuttingDown: failure = error
                default: throw error
                }
            }
        }
        throw failure
    }

    private func emit(_ event: CallEvent) {
        store.apply(event)
        for listener in listeners.live() { listener.dispatch(event, from: self) }
    }
}

/// Names from the server pass TextSanitizer again before they reach the store.
package enum IncomingCall {
    package static func user(_ user: OnlineUser) -> OnlineUser {
        var user = user
        user.name = IncomingText.name(user.name, fallback: user.user)
        return user
    }

    package static func call(_ call: CallInfo) -> CallInfo {
        var call = call
        for index in call.participants.indices {
            call.participants[index].name = IncomingText.name(
                call.participants[index].name, fallback: call.participants[index].user)
        }
        return call
    }

    package static func connected(_ connected: Connected) -> Connected {
        var connected = connected
        connected.you = user(connected.you)
        connected.online = connected.online.map(user)
        connected.calls = connected.calls.map(call)
        connected.elsewhere = connected.elsewhere?.map(call)
        return connected
    }
}
