// Presence and calls over the wire: the I/O around the `Switchboard`
// (ConfabRooms), which decides everything.
//
//   presence connection ─▶ connect | handle | disconnect ─┐
//   call room (RoomHost) ─▶ membership observer ─▶ run ───┼─▶ Switchboard ─▶ Outcome
//   timer at Outcome.wakeAt ─▶ run ─▶ sweep ──────────────┘
//
//   Outcome.effects   ─▶ ConnectionSink (send, close), HistoryRecorder (call history),
//                        CallRoomDirectory (open, admit, revoke), ServerMetrics
//   Outcome.followUps ─▶ TokenAuthority (a room token ─▶ call.room), RoomRegistry (end a room)
//   Outcome.wakeAt    ─▶ the timer: an idle server does not wake
//
// The manager never suspends between a change and the messages it causes:
// the switchboard changes and every effect of it is carried out in one
// actor turn, so every device sees a call's changes in the order they
// happened. The only awaits are the follow-ups (signing room tokens, ending
// a room), after that, and reading call history, which changes nothing.

import ConfabProtocol
import ConfabRooms
import Logging

// Call settings live with the switchboard; the server's configuration names them here.
public typealias CallSettings = ConfabRooms.CallSettings
public typealias CallPolicy = ConfabRooms.CallPolicy

actor CallManager {
    private var switchboard: Switchboard
    /// The open presence connections, by the device id the switchboard knows them by.
    private var sinks: [DeviceID: ConnectionSink] = [:]
    private let authority: TokenAuthority
    private let store: any ServerStore
    /// Call history, written in order off the manager's path.
    private let recorder: HistoryRecorder
    private let registry: RoomRegistry
    private let metrics: ServerMetrics
    private let logger: Logger

    /// What `run` reacts to: call rooms' membership, the timer, a new deadline.
    private enum Wake: Sendable {
        case members(CallID, Set<PeerID>)
        case alarm(ContinuousClock.Instant)
        case rearm
    }
    private let wakes: AsyncStream<Wake>
    private let wakeContinuation: AsyncStream<Wake>.Continuation
    /// When the switchboard next wants a sweep, and the deadlines a timer sleeps until.
    private var wakeAt: ContinuousClock.Instant?
    private var armed: Set<ContinuousClock.Instant> = []
    /// Call rooms being ended right now (a follow-up under way).
    private var roomsEnding = 0
    /// In a cluster: presence connections relayed to the node that runs the switchboard (PresenceRelay.swift).
    private var relay: PresenceRelay?
    private var clusterNodes: (@Sendable () -> [String])?
    private var refreshClusterNodes: (@Sendable () async -> Void)?
    /// The nodes last sent in `cluster.nodes`.
    private var announcedNodes: [String]?

    init(
        configuration: CallSettings, keepalive: KeepaliveInfo, authority: TokenAuthority, store: any ServerStore,
        registry: RoomRegistry, metrics: ServerMetrics, logger: Logger
    ) {
        switchboard = Switchboard(settings: configuration, keepalive: keepalive)
        self.authority = authority
        self.store = store
        recorder = HistoryRecorder(store: store, logger: logger)
        self.registry = registry
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "part"] = "calls"
        self.logger = logger
        (wakes, wakeContinuation) = AsyncStream.makeStream(of: Wake.self, bufferingPolicy: .unbounded)
    }

    /// Follows who is in the call rooms and sweeps at the switchboard's
    /// deadlines, until cancelled (a server task). Each deadline gets a
    /// sleeping child task, only when it is earlier than every one armed.
    func run() async {
        await withDiscardingTaskGroup { group in
            if let relay { group.addTask { await relay.run() } }
            for await wake in wakes {
                switch wake {
                case .members(let call, let members):
                    await perform(switchboard.roomMembers(members, ofCall: call, at: moment()))
                case .alarm(let deadline):
                    armed.remove(deadline)
                    await perform(switchboard.sweep(at: moment()))
                case .rearm:
                    break
                }
                guard let next = wakeAt, armed.allSatisfy({ next < $0 }) else { continue }
                armed.insert(next)
                group.addTask { [wakeContinuation] in
                    // Cancelled with the server: the sleep ends early, and nobody reads the alarm.
                    try? await Task.sleep(until: next, clock: .continuous)
                    wakeContinuation.yield(.alarm(next))
                }
            }
        }
    }

    // MARK: - Presence connections

    /// Admits a presence connection whose user token checked out.
    func connect(_ token: VerifiedUser, request: ConnectRequest, requestID: RequestID, sink: ConnectionSink)
        async throws(CodedError)
    {
        if let relay, try await relay.relayConnect(token, request: request, requestID: requestID, sink: sink) { return }
        let device = DeviceID(rawValue: sink.id)
        let outcome = try switchboard.connect(
            token.user, name: token.name ?? request.name, device: device, instance: request.device, request: requestID,
            at: moment())
        sinks[device] = sink
        logger.debug("online", metadata: ["user": "\(token.user)", "device": "\(sink.id)"])
        await perform(outcome)
    }

    /// A presence connection closed.
    func disconnect(_ user: PeerID, sink: ConnectionSink) async {
        if let relay, await relay.relayDisconnect(sink: sink) { return }
        let device = DeviceID(rawValue: sink.id)
        let outcome = switchboard.disconnect(user, device: device, at: moment())
        sinks[device] = nil
        await perform(outcome)
    }

    /// A call or history request on a connected presence connection.
    func handle(_ message: ClientMessage, from user: PeerID, sink: ConnectionSink) async {
        if let relay, await relay.relayHandle(message, sink: sink) { return }
        let newCallID = { CallID(uncheckedRawValue: RandomToken.make(bytes: 9)) }
        if let request = CallRequest(message.body, newCallID: newCallID) {
            let outcome = switchboard.handle(
                request, from: user, device: DeviceID(rawValue: sink.id), id: message.id, at: moment())
            await perform(outcome)
        } else if case .fetchCallHistory(let request) = message.body {
            // The calls this node has recorded so far are in the page (read your writes).
            await recorder.flush(within: .seconds(2))
            do throws(StorageError) {
                let records = try await store.callHistory(user: user, limit: request.limit)
                sink.send(ServerMessage(id: message.id, .callHistoryPage(CallHistoryPage(calls: records))))
            } catch {
                logger.error("cannot read call history", metadata: ["error": "\(error)"])
                let code: ErrorCode = error.isRetryable ? .storageUnavailable : .storageFailure
                refuse(CodedError(code, "the call history cannot be read"), id: message.id, sink: sink)
            }
        } else {
            let error = CodedError(.wrongConnection, "\(message.type.rawValue) belongs on a room's connection")
            refuse(error, id: message.id, sink: sink)
        }
    }

    /// Ends every call and closes every presence connection (graceful
    /// shutdown). The rooms of the calls are left to the registry's own
    /// shutdown, which tells their peers the server is going away.
    func shutDown(_ notice: ServerGoingAway) async {
        await relay?.shutDown(notice)
        let outcome = switchboard.shutDown(notice, at: moment())
        for effect in outcome.effects { carryOut(effect) }
        for case .endRoom(let call) in outcome.followUps {
            registry.callRooms.remove(Self.roomName(call))
        }
        metrics.presence(usersOnline: switchboard.entries.onlineUsers, callsInProgress: switchboard.entries.calls)
    }

    var connectionCount: Int { sinks.count }

    /// Relays presence connections in a cluster from now on (`confab serve --database`).
    /// `nodes`: the cluster's live nodes, named in `connected`.
    /// `refresh` reads the live nodes again (from the database).
    func attach(
        _ relay: PresenceRelay, nodes: @escaping @Sendable () -> [String], refresh: @escaping @Sendable () async -> Void
    ) {
        self.relay = relay
        clusterNodes = nodes
        refreshClusterNodes = refresh
    }

    /// Another node started or stopped: the live nodes are read again, and
    /// this node's presence clients get the new list.
    func clusterChanged() async {
        await refreshClusterNodes?()
        await announceNodesIfChanged()
    }

    /// Sends `cluster.nodes` to this node's presence clients and to the peers
    /// of its rooms when the live nodes are not the ones last sent, so that a
    /// client connected before a node started can fail over to it.
    func announceNodesIfChanged() async {
        guard let clusterNodes, let relay else { return }
        let nodes = clusterNodes()
        guard nodes != announcedNodes else { return }
        announcedNodes = nodes
        let text = ConnectionSink.encode(ServerMessage(.clusterNodes(ClusterNodes(nodes: nodes))))
        for sink in await relay.ownConnections(among: Array(sinks.values)) { sink.send(text) }
        await registry.sendToEveryPeer(text)
    }

    /// `connected` names the cluster's live nodes: the client connects again through them when its node dies.
    private func namingClusterNodes(_ message: ServerMessage) -> ServerMessage {
        guard let clusterNodes, case .connected(var connected) = message.body else { return message }
        connected.nodes = clusterNodes()
        return ServerMessage(id: message.id, .connected(connected))
    }

    /// The calls in progress (the management API).
    var callsInProgress: [CallInfo] { switchboard.callsInProgress }

    /// How many entries the manager tracks, by kind: each returns to zero
    /// once everyone is offline, every call has ended and rate buckets refilled.
    func bookkeeping() -> CallBookkeeping {
        let entries = switchboard.entries
        return CallBookkeeping(
            onlineUsers: entries.onlineUsers, connections: sinks.count, deviceInstances: entries.deviceInstances,
            calls: entries.calls, callRooms: entries.callRooms, openCallRooms: registry.callRooms.count,
            rateBuckets: entries.rateBuckets, announcedBusy: entries.announcedBusy,
            toldElsewhere: entries.toldElsewhere, roomsToEnd: roomsEnding)
    }

    // MARK: - Carrying out

    /// Both clocks, read once per action: the switchboard reads none.
    private func moment() -> Moment {
        Moment(instant: .now, wall: .now())
    }

    private func perform(_ outcome: Switchboard.Outcome) async {
        for effect in outcome.effects { carryOut(effect) }
        let entries = switchboard.entries
        metrics.presence(usersOnline: entries.onlineUsers, callsInProgress: entries.calls)
        wakeAt = outcome.wakeAt
        if let next = wakeAt, armed.allSatisfy({ next < $0 }) { wakeContinuation.yield(.rearm) }
        for followUp in outcome.followUps {
            await carryOut(followUp)
        }
    }

    private func carryOut(_ effect: Switchboard.Effect) {
        switch effect {
        case .send(let message, let devices):
            let text = ConnectionSink.encode(namingClusterNodes(message))
            for device in devices { sinks[device]?.send(text) }
        case .refuse(let error, let request, let device):
            if let sink = sinks[device] { refuse(error, id: request, sink: sink) }
        case .close(let devices, let code, let reason):
            // Forgotten here too: a connection relayed from another node is
            // not told back to `disconnect` when it closes.
            for device in devices { sinks.removeValue(forKey: device)?.close(code, reason: reason) }
        case .record(let record, let user):
            // History is a record, not a promise: a failure is logged and the call goes on.
            recorder.record("record a call of \(user)") { store in try await store.recordCall(record, user: user) }
        case .openRoom(let call, let caller):
            registry.webhooks.publish(.call(.callStarted, call, room: Self.roomName(call), caller: caller))
            let wakes = wakeContinuation
            registry.callRooms.register(
                Self.roomName(call),
                CallRoomDirectory.Entry(
                    template: .call, observer: { _, members in wakes.yield(.members(call, members)) },
                    admitted: [caller]))
        case .admit(let user, let call):
            registry.callRooms.admit(Self.roomName(call), user)
        case .revoke(let user, let call):
            registry.callRooms.revoke(Self.roomName(call), user)
        case .count(let metric):
            count(metric)
        }
    }

    private func carryOut(_ followUp: Switchboard.FollowUp) async {
        switch followUp {
        case .roomToken(let call, let user, let name, let device, let reply, let issuedAt):
            let room = Self.roomName(call)
            let token = await roomToken(room, for: user, name: name, issuedAt: issuedAt)
            guard let sink = sinks[device] else { return }
            if let token {
                sink.send(ServerMessage(id: reply, .callRoom(CallRoom(call: call, room: room, token: token))))
            } else if let reply {
                refuse(CodedError(.internalError, "cannot make a token for the call's room"), id: reply, sink: sink)
            }
        case .endRoom(let call):
            logger.debug("call ended", metadata: ["call": "\(call)"])
            registry.webhooks.publish(.call(.callEnded, call, room: Self.roomName(call), caller: nil))
            roomsEnding += 1
            await registry.endCallRoom(Self.roomName(call))
            roomsEnding -= 1
        }
    }

    private func count(_ metric: CallMetric) {
        switch metric {
        case .invitationsSent(let count):
            metrics.callInvitationsSent(count)
        case .invitationEnded(let state):
            guard let outcome = ServerMetrics.InvitationOutcome(rawValue: state.rawValue) else { return }
            metrics.callInvitationEnded(outcome)
        case .invitationRateLimited:
            metrics.callInvitationRateLimited()
        }
    }

    private func refuse(_ error: CodedError, id: RequestID, sink: ConnectionSink) {
        metrics.error(error.code)
        sink.send(error, id: id)
    }

    /// A call's room: its name is the call's id under the reserved prefix.
    private static func roomName(_ call: CallID) -> RoomName {
        RoomName(uncheckedRawValue: CallRoomDirectory.prefix + call.rawValue)
    }

    private func roomToken(_ room: RoomName, for user: PeerID, name: String?, issuedAt: Timestamp) async -> String? {
        let now = issuedAt.millisecondsSince1970 / 1_000
        let claims = TokenClaims(
            room: room, peer: user, name: name, role: RoomTemplate.callRole, issuedAt: now, expiresAt: now + 12 * 3_600)
        do {
            return try await authority.sign(claims)
        } catch {
            logger.error("cannot sign a call room token", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

extension RoomTemplate {
    /// The one role of a call's room.
    static let callRole: RoleName = "member"

    /// A call's room: everyone speaks and hears everyone; nobody runs it.
    static let call = RoomTemplate(
        roles: [
            Role(
                name: callRole, priority: 50, publishAudio: true, subscribesTo: [callRole], chat: .all,
                permissions: RolePermissions(
                    muteOthers: false, askToUnmute: false, changeRoles: false, removePeers: false, endRoom: false,
                    raiseHand: false))
        ],
        maxPeers: CallLimits.maximumParticipants,
        // The call manager ends the room with the call; this only catches a
        // room whose members never arrived.
        emptyRoomTimeoutMs: 60_000)
}

/// The entries the call manager tracks, counted (`ConfabServer.callBookkeeping()`).
public struct CallBookkeeping: Hashable, Sendable {
    public var onlineUsers: Int
    /// Presence connections.
    public var connections: Int
    /// The `connect.device` names of those connections.
    public var deviceInstances: Int
    public var calls: Int
    /// Call rooms the manager maps to calls, and those the room directory still admits to.
    public var callRooms: Int
    public var openCallRooms: Int
    /// Per-user invitation rate buckets.
    public var rateBuckets: Int
    /// Users last announced busy.
    public var announcedBusy: Int
    /// Users with devices told they are in a call on another device.
    public var toldElsewhere: Int
    /// Call rooms being ended.
    public var roomsToEnd: Int

    /// Everything together: 0 on an idle server.
    public var total: Int {
        onlineUsers + connections + deviceInstances + calls + callRooms + openCallRooms + rateBuckets + announcedBusy
            + toldElsewhere
            + roomsToEnd
    }
}
