// One live room: the pure `Room` value, the connections of its peers, their
// resume tokens, and the chat log behind it.
//
//   connection ─▶ join / resume ─▶ Room.join / Room.resume ─▶ joined (reply) + peer.joined (others)
//              ─▶ request ──────▶ Room.apply (permission checks) ─▶ events ─▶ audiences ─▶ reply ─▶ actor
//              ─▶ chat.send ────▶ the room's turn ─▶ Room.apply ─▶ store: number + COMMIT ─▶ events ─▶ ack
//   closed / silent ─▶ Room.connectionLost ─▶ peer.left (timeout) ─▶ grace ─▶ Room.expire
//   sweeper ─▶ sweep: lapsed resumes, expired prompts, idle timeout ─▶ retire
//   any change to who is here, roles, mutes or SSRCs ─▶ the forwarding table (RoomHost+MediaTable.swift:
//     the whole table, a listener's row, or one peer's row) ─▶ RoomMediaPlane
//   speakers timer ─▶ publishSpeakers (levels the media thread read from RFC 6464)
//                  ─▶ SpeakerDetector (threshold, hangover) ─▶ speakers
//                  ─▶ assessTracks (silence, loss: TrackHealth) ─▶ track.degraded / track.restored
//
// Every change goes through a draft copy of the Room, kept only if the
// request succeeds: a refused request changes nothing. The store is async
// (another node may share it), so the actor can be re-entered at an `await`.
// Nothing awaits between a change and its fan-out, so events leave in the
// order the room made them. Chat sends, joins and resumes take turns
// (RoomHost+Chat.swift): each message is committed and delivered before the
// next is numbered, and a join reads the history with no send half-done.
// Room and peer history is written in order off the room's path
// (HistoryRecorder): a room goes on while the database is away.

import ConfabProtocol
import ConfabRooms
import ConfabWire
import Logging
import Synchronization

/// How a join or resume ended when it did not throw.
enum AdmissionResult: Sendable {
    case admitted(peer: PeerID)
    /// The room was retired between lookup and join; look it up again.
    case retired
}

actor RoomHost {
    let name: RoomName
    var room: Room
    /// The live connection of each connected peer.
    var connections: [PeerID: ConnectionSink] = [:]
    /// Single-use resume tokens and whose they are.
    private var resumeTokens: [String: PeerID] = [:]
    private(set) var resumeTokenOf: [PeerID: String] = [:]
    /// Joins per identity in the last minute: a join loop is refused (`4016`).
    private var joinAllowance = JoinAllowance()
    /// What the cluster's database holds of each peer, for a resume after
    /// failover (RoomHost+Failover.swift).
    var keptSessions = KeptSessionBook()
    /// The peer_session row of each peer in the room, closed when it leaves.
    private let sessionRows = PeerSessionRows()
    /// Whether the current session of the room is recorded in the store.
    var sessionRecorded = false
    var shuttingDown = false
    /// Media credentials, forwarding slot and announced SSRCs of each connected peer.
    var mediaSessions: [PeerID: MediaSession] = [:]
    /// The forwarding table as last posted (RoomHost+MediaTable.swift); nil: build it whole next time.
    var mediaTable: MediaTableCache?
    /// Whether the last `speakers` sent listed anyone (so silence is sent once).
    var speakersWereActive = false
    var speakerDetector: SpeakerDetector
    /// The health of each peer's microphone as the forwarder sees it, by media slot.
    var trackHealth: [PeerID: (slot: Int, health: TrackHealth)] = [:]
    var lossFeedback = LossFeedbackBook()
    let mediaRoomID: Int
    /// Who the membership observer was last told is in the room.
    private var reportedMembers: Set<PeerID> = []
    /// The coalescing of `room.counts` (RoomHost+Audience.swift).
    var countsSchedule = CountsSchedule()
    /// What publishers were told of their quiet hearers (RoomHost+Hearers.swift).
    var quietHearers = QuietHearers()

    let store: any ServerStore
    /// Room and peer history, written in order off the room's path.
    let recorder: HistoryRecorder
    /// Whether a chat send, join, resume or privileged change holds the
    /// room's turn, and who waits for it (RoomHost+Turn.swift).
    var chatTurnHeld = false
    var chatTurnWaiters: [TurnWaiter] = []
    var nextTurnTicket = 0
    let metrics: ServerMetrics
    let settings: HostSettings
    let logger: Logger
    let retiredFlag = Atomic<Bool>(false)
    /// Whether the store holds a shared state of this room (to forget when it ends).
    var sharedStateKept = false

    /// Whether the registry should forget this host (read without awaiting).
    nonisolated var isRetired: Bool { retiredFlag.load(ordering: .acquiring) }

    /// The timing and addresses a room reports to its peers.
    struct HostSettings: Sendable {
        var keepalive: KeepaliveInfo
        /// The media plane (STUN binding and forwarding): the UDP one, or one in memory in tests.
        var media: any RoomMediaPlane
        var speakersIntervalMs: Int = LifecycleDefaults.speakersIntervalMs
        /// Told who is in the room (connected or within their resume grace)
        /// whenever that changes; set for the rooms of calls, whose manager
        /// ends a call when fewer than two remain.
        var membershipObserver: (@Sendable (RoomName, Set<PeerID>) -> Void)? = nil
        /// Whether a join as this peer is let in (a call's room: its members,
        /// not those who hung up); nil admits any valid token.
        var admission: (@Sendable (PeerID) -> CallRoomDirectory.Admission)? = nil
        var trackHealth = TrackHealthConfiguration()
        var lossFeedback = LossFeedbackConfiguration()
        var speakerDetection = SpeakerDetectorSettings()
        /// A cluster's live nodes, for `joined.reconnect.nodes`; nil on a single server.
        var clusterNodes: (@Sendable () -> [String])? = nil
        /// Told the room's events that are webhook events (Webhooks/).
        var webhooks: WebhookDispatcher? = nil
        /// A cluster's node id: the room keeps its peers' sessions in the database under it.
        var keptSessionsNode: String? = nil
    }

    /// What the media plane knows of one peer's session: fresh credentials
    /// and slot for every join and resume, the SSRCs it announced.
    struct MediaSession {
        var slot: Int
        var username: String
        var password: String
        var integrityKey: STUNIntegrityKey
        var ssrc: UInt32?
        var previousSSRC: UInt32?
    }

    /// `locked`: the store says the room was ended and locked. `sharedState`:
    /// what the store kept of the room's last run (SharedStateStore.swift).
    init(
        name: RoomName, template: RoomTemplate, locked: Bool = false, sharedState: [StateEntry] = [],
        store: any ServerStore, metrics: ServerMetrics, settings: HostSettings, logger: Logger
    ) {
        let now = Timestamp.now()
        var room = Room(name: name, template: template, now: now)
        if locked {
            // A room ended and locked before a restart goes on refusing joins.
            _ = room.end(reason: nil, lock: true, now: now)
            sessionRecorded = true
        } else if !sharedState.isEmpty {
            room.restoreSharedState(sharedState)
            sharedStateKept = true
        }
        self.name = name
        self.room = room
        self.store = store
        recorder = HistoryRecorder(store: store, logger: logger)
        self.metrics = metrics
        self.settings = settings
        mediaRoomID = settings.media.makeID()
        speakerDetector = SpeakerDetector(settings: settings.speakerDetection)
        var logger = logger
        logger[metadataKey: "room"] = "\(name)"
        self.logger = logger
    }

    // MARK: - Joining

    /// Admits a peer whose token checked out. Sends `joined` on `sink` and
    /// `peer.joined` to the others; throws the coded refusal otherwise.
    func join(
        _ token: VerifiedToken, request: JoinRequest, requestID: RequestID, sink: ConnectionSink,
        receivedAt: ContinuousClock.Instant
    ) async throws(CodedError) -> AdmissionResult {
        // Before anything that costs: the history read, the rows, the events.
        if case .refused(let retryAfterMs) = joinAllowance.admit(token.peer, now: .now()) {
            let seconds = (retryAfterMs + 999) / 1_000
            throw CodedError(
                .joinsRateLimited,
                "\(token.peer) joined this room \(joinAllowance.limit) times within a minute: join again in \(seconds) s",
                retryAfterMs: Int(retryAfterMs))
        }
        do {
            let result = try await admitJoin(
                token, request: request, requestID: requestID, sink: sink, receivedAt: receivedAt)
            if case .retired = result { joinAllowance.refund(token.peer) }
            return result
        } catch {
            // Refused (full, ended, a call left): only joins let in count.
            joinAllowance.refund(token.peer)
            throw error
        }
    }

    private func admitJoin(
        _ token: VerifiedToken, request: JoinRequest, requestID: RequestID, sink: ConnectionSink,
        receivedAt: ContinuousClock.Instant
    ) async throws(CodedError) -> AdmissionResult {
        await takeChatTurn()
        defer { passChatTurn() }
        guard !isRetired else { return .retired }
        let history = await readHistory(for: token.peer, after: nil, limit: request.historyLimit)
        // Nothing below awaits: the join, its events and its reply are one step.
        guard !isRetired else { return .retired }
        guard !shuttingDown else { throw CodedError(.shuttingDown, "the server is shutting down") }
        // Checked on the host, in order with the membership reports: a member
        // reported gone is not let back in by a join right behind it.
        switch settings.admission?(token.peer) ?? .admitted {
        case .admitted: break
        case .leftCall: throw CodedError(.leftCall, "you left this call: be invited again to return")
        case .notMember: throw CodedError(.callNotFound, "you are not part of this call")
        }
        let admission = Admission(peer: token.peer, role: token.role, tokenName: token.name, request: request)
        // In place: Room.join changes nothing unless it admits.
        try admit(token.peer, resumed: false, reply: (requestID, sink, history, receivedAt)) { room, now throws(CodedError) in
            try room.join(admission, now: now)
        }
        logger.debug("joined", metadata: ["peer": "\(token.peer)", "role": "\(token.role)"])
        return .admitted(peer: token.peer)
    }

    /// Admits a peer by `change` (a join, or a restore after failover), then
    /// writes the room's and the peer's history rows, sends the events and the reply.
    func admit(
        _ peer: PeerID, resumed: Bool,
        reply answer: (requestID: RequestID, sink: ConnectionSink, history: ChatPage, receivedAt: ContinuousClock.Instant),
        _ change: (inout Room, Timestamp) throws(CodedError) -> JoinOutcome
    ) throws(CodedError) {
        let now = Timestamp.now()
        let roomWasOpen = room.phase == .open
        let outcome = try change(&room, now)
        if !roomWasOpen || !sessionRecorded {
            let (name, startedAt) = (name, room.startedAt)
            recorder.record("record the start of the room") { store in try await store.roomStarted(name, at: startedAt) }
            sessionRecorded = true
            settings.webhooks?.publish(.roomStarted(name, at: startedAt))
        }
        // The identity was here before (connected, or within its grace): that session is over.
        if let previous = connections.removeValue(forKey: peer) {
            previous.send(CodedError(.sessionReplaced, "another connection joined as \(peer)"), id: nil)
            metrics.left(reason: "replaced")
        }
        endSession(of: peer, reason: "replaced", at: now)
        connections[peer] = answer.sink
        if let info = room.peer(peer)?.info {
            let (name, rows) = (name, sessionRows)
            recorder.record("record the join of \(peer)") { store in
                rows.set(try await store.peerJoined(name, peer: info), for: info.id)
            }
        }
        deliver(outcome.events)
        reportMembership()
        reply(
            to: peer, requestID: answer.requestID, sink: answer.sink, resumed: resumed, history: answer.history,
            receivedAt: answer.receivedAt)
        noteHearersSession(of: peer)
        metrics.joined(resumed: resumed)
    }

    /// Brings a dropped peer back with its identity, role, mute state and the
    /// chat after `lastSeenSequence`.
    func resume(
        _ request: ResumeRequest, requestID: RequestID, sink: ConnectionSink, receivedAt: ContinuousClock.Instant
    ) async throws(CodedError) -> AdmissionResult {
        await takeChatTurn()
        defer { passChatTurn() }
        guard !isRetired else { return .retired }
        guard !shuttingDown else { throw CodedError(.shuttingDown, "the server is shutting down") }
        guard let peer = resumeTokens[request.resumeToken] else {
            throw CodedError(.resumeRejected, "unknown or used resume token; join again")
        }
        let history = await readHistory(
            for: peer, after: request.lastSeenSequence, limit: ProtocolLimits.defaultHistoryPageSize)
        // Nothing below awaits; what changed while the history was read is checked again.
        guard !isRetired else { return .retired }
        guard !shuttingDown else { throw CodedError(.shuttingDown, "the server is shutting down") }
        guard resumeTokens[request.resumeToken] == peer else {
            throw CodedError(.resumeRejected, "unknown or used resume token; join again")
        }
        let now = Timestamp.now()
        var draft = room
        let outcome = try draft.resume(peer, receives: request.receives, now: now)
        room = draft
        // Single use: the reply carries a fresh one.
        forgetResumeToken(of: peer)
        if let previous = connections.removeValue(forKey: peer) {
            // The old connection is still open as far as the server knows
            // (its drop was not noticed yet): it moves to the new one.
            previous.send(CodedError(.sessionReplaced, "\(peer) resumed on another connection"), id: nil)
            metrics.left(reason: "replaced")
        }
        connections[peer] = sink
        deliver(outcome.events)
        reply(to: peer, requestID: requestID, sink: sink, resumed: true, history: history, receivedAt: receivedAt)
        noteHearersSession(of: peer)
        metrics.joined(resumed: true)
        logger.debug("resumed", metadata: ["peer": "\(peer)"])
        return .admitted(peer: peer)
    }

    private func reply(
        to peer: PeerID, requestID: RequestID, sink: ConnectionSink, resumed: Bool, history: ChatPage,
        receivedAt: ContinuousClock.Instant
    ) {
        let token = issueResumeToken(for: peer)
        let elapsed = ContinuousClock.now - receivedAt
        let joinTimeMs = Int(elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        // Fresh credentials and slot: a new session binds anew (RFC 8445 §5.3:
        // short-term credentials per session). 12 random bytes make the
        // 16-character USERNAME; 18 make a 24-character password (RFC 8445 §5.3
        // asks for at least 128 bits of randomness in the password).
        let username = RandomToken.make(bytes: 12)
        let password = RandomToken.make(bytes: 18)
        mediaSessions[peer] = MediaSession(
            slot: settings.media.makeID(), username: username, password: password,
            integrityKey: STUNIntegrityKey(shortTermPassword: password))
        let media = settings.media.endpoint(
            username: username, password: password, signallingLocalAddress: sink.localAddress)
        guard
            let joined = room.joined(
                for: peer, history: history, joinTimeMs: joinTimeMs, resumed: resumed,
                reconnect: ReconnectInfo(
                    resumeToken: token, resumeGraceMs: room.template.resumeGraceMs, nodes: settings.clusterNodes?()),
                keepalive: settings.keepalive, speakersIntervalMs: settings.speakersIntervalMs, media: media)
        else { return }
        // The forwarding table first: the client may bind as soon as it reads `joined`.
        syncMediaAfterJoin(of: peer)
        sink.send(ServerMessage(id: requestID, .joined(joined)))
    }

    // MARK: - Requests

    /// Performs a request of a joined peer. Returns false when its session
    /// ended (left, removed, room ended, replaced): the connection closes.
    func handle(_ message: ClientMessage, from peer: PeerID, sink: ConnectionSink) async -> Bool {
        guard connections[peer] === sink else {
            sink.send(CodedError(.notJoined, "this connection's session has ended"), id: message.id)
            return false
        }
        switch message.body {
        case .fetchHistory(let request):
            await sendHistory(request, id: message.id, to: peer, sink: sink)
            return true
        case .sendChat(let request):
            return await sendChat(request, id: message.id, from: peer, sink: sink)
        case .listRoster(let request):
            sendRoster(request, id: message.id, to: peer, sink: sink)
            return true
        default:
            break
        }
        let now = Timestamp.now()
        guard let action = PeerAction(message.body) else {
            // join, resume and ping are handled by the connection.
            sink.send(CodedError(.alreadyJoined, "already joined"), id: message.id)
            return true
        }
        let result = await performKeepingSessions(action, from: peer, now: now) { reply in
            sink.send(ServerMessage(id: message.id, reply))
        }
        switch result {
        case .success(let departed):
            return !departed.contains(peer)
        case .failure(let error):
            sink.send(error, id: message.id)
            return true
        }
    }

    /// The peer's connection closed or went silent without `leave`.
    func connectionLost(_ peer: PeerID, sink: ConnectionSink) {
        guard connections[peer] === sink else { return }
        connections[peer] = nil
        metrics.left(reason: shuttingDown ? "shutdown" : "timeout")
        guard !shuttingDown else { return }
        deliver(room.connectionLost(peer, now: Timestamp.now()))
        syncMediaAfterLeave(of: [peer])
    }

    /// Closes the connections of peers no longer in the room and ends their
    /// sessions. Returns who they were.
    @discardableResult
    func closeDeparted(now: Timestamp, reason: String) -> Set<PeerID> {
        let departed = connections.keys.filter { room.peer($0) == nil }
        for peer in departed {
            connections.removeValue(forKey: peer)?.close(.normalClosure, reason: reason)
            forgetResumeToken(of: peer)
            endSession(of: peer, reason: reason, at: now)
            metrics.left(reason: reason)
        }
        return Set(departed)
    }

    /// Whether an action can change who hears whom, who may publish, or SSRCs.
    static func changesMedia(_ action: PeerAction) -> Bool {
        switch action {
        // A leave changes the table by its departure, synced with the other departures.
        case .sendChat, .raiseHand, .lowerHand, .updatePeer, .setState, .leave: false
        default: true
        }
    }

    static func leaveReason(for action: PeerAction) -> String {
        switch action {
        case .removePeer: "removed"
        case .endRoom: "roomEnded"
        default: "left"
        }
    }

    var connectionCount: Int { connections.count }

    // MARK: - Helpers

    func reportMembership() {
        guard let observer = settings.membershipObserver else { return }
        let members = Set(room.peers.keys)
        guard members != reportedMembers else { return }
        reportedMembers = members
        observer(name, members)
    }

    /// Encodes each event once and queues it for every connected member of its audience.
    func deliver(_ events: [RoomEvent]) {
        for event in events where !event.audience.isEmpty {
            let text = ConnectionSink.encode(event.message)
            for peer in event.audience {
                connections[peer]?.send(text)
            }
        }
        settings.webhooks?.publish(events, room: name)
        if !events.isEmpty {
            scheduleCounts()
            noteHearers(events)
            noteKeptSessions(events)
        }
    }

    private func issueResumeToken(for peer: PeerID) -> String {
        forgetResumeToken(of: peer)
        let token = "rt_" + RandomToken.make(bytes: 18)
        resumeTokens[token] = peer
        resumeTokenOf[peer] = token
        keptSessions.markDirty(peer)
        return token
    }

    func forgetResumeToken(of peer: PeerID) {
        if let token = resumeTokenOf.removeValue(forKey: peer) {
            resumeTokens[token] = nil
            keptSessions.markDirty(peer)
        }
    }

    /// Closes the peer's history row (written by the recorder after its join's).
    func endSession(of peer: PeerID, reason: String, at time: Timestamp) {
        let rows = sessionRows
        recorder.record("record the departure of \(peer)") { store in
            guard let row = rows.take(peer) else { return }
            try await store.peerLeft(session: row, at: time, reason: reason)
        }
    }

    func fail(_ error: CodedError, id: RequestID, sink: ConnectionSink, cause: any Error) {
        logger.error("\(error.message)", metadata: ["error": "\(cause)"])
        metrics.error(error.code)
        sink.send(error, id: id)
    }
}
