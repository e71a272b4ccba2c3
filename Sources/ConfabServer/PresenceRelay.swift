// Presence and calls across the nodes of a cluster (docs/CLUSTER.md,
// "Presence and calls across nodes"): one node at a time runs the cluster's
// switchboard — the holder of the `~switchboard` lease, placed like a room —
// and every other node relays its presence connections there over NOTIFY.
//
//   edge node                                 switchboard node
//   presence connection ─▶ CallManager ─▶ relay ─connect/handle/disconnect─▶ relay ─▶ CallManager
//                                                  (NOTIFY, one device's in turn)   (a stand-in ConnectionSink)
//   the connection's sink ◀── relay ◀────────────────── send/close ──────────────── stand-in's writer
//
//   every 2 s ─▶ place `~switchboard` (the least-loaded live node takes it when nobody
//                holds it) ─▶ its holder renews it ─▶ a new holder: relayed connections
//                are closed (1001), their clients connect again and reach the new one
//             ─▶ a holder that missed a heartbeat and whose port refuses connections (killed)
//                is marked gone, and the switchboard taken over at once (NodeProbe)
//   LISTEN connection drops ─▶ notifications in between are lost ─▶ relayed connections
//                closed (edge) and stand-ins disconnected (switchboard): clients connect again
//
// The switchboard itself (ConfabRooms) is the one code path: a relayed
// device is, to it, one more presence connection.

import ConfabProtocol
import Foundation
import Logging

actor PresenceRelay {
    /// The lease that says which node runs the switchboard (not a room name: rooms cannot start with `~`).
    static let leaseName = "~switchboard"
    static let placementInterval: Duration = .seconds(2)

    let node: String
    private let store: PostgresStore
    private let logger: Logger
    private weak var calls: CallManager?
    /// The node that runs the switchboard, as of the last look.
    private var holder: RoomHolder?
    private var listening = false
    private var assembler = ClusterMessageAssembler()

    /// Edge side: this node's presence connections relayed to the switchboard, by connection id.
    private struct Relayed {
        var sink: ConnectionSink
        var holder: String
    }
    private var relayed: [UInt64: Relayed] = [:]

    /// Switchboard side: a stand-in sink for each relayed connection.
    private struct RemoteDevice: Hashable {
        var node: String
        var device: UInt64
    }
    private struct StandIn {
        var sink: ConnectionSink
        var user: PeerID
    }
    private var standIns: [RemoteDevice: StandIn] = [:]

    init(node: String, store: PostgresStore, calls: CallManager, logger: Logger) {
        self.node = node
        self.store = store
        self.calls = calls
        var logger = logger
        logger[metadataKey: "part"] = "presence-relay"
        self.logger = logger
    }

    /// Listens for other nodes' messages and keeps the switchboard placed, until cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.listenLoop() }
            group.addTask { await self.placementLoop() }
        }
    }

    // MARK: - Edge: relaying this node's presence connections

    /// Relays a connection that came online here when another node runs the
    /// switchboard; false when this node runs it (handle it here).
    func relayConnect(_ user: VerifiedUser, request: ConnectRequest, requestID: RequestID, sink: ConnectionSink)
        async throws(CodedError) -> Bool
    {
        guard !isStandIn(sink) else { return false }
        // A node that has just started is listening within moments.
        let deadline = ContinuousClock.now + .seconds(3)
        while !listening, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        guard listening else {
            throw CodedError(.storageUnavailable, "the cluster's presence cannot be reached now; connect again in a moment")
        }
        let target = try await switchboardNode()
        guard target != node else { return false }
        var request = request
        request.token = nil
        let body = String(decoding: (try? JSONEncoder().encode(request)) ?? Data("{}".utf8), as: UTF8.self)
        relayed[sink.id] = Relayed(sink: sink, holder: target)
        var header = ClusterMessage.Header(to: target, from: node, op: .connect, device: sink.id)
        header.user = user.user.rawValue
        header.name = user.name
        header.request = requestID.rawValue
        do throws(StorageError) {
            try await post(ClusterMessage(header: header, body: body))
        } catch {
            relayed[sink.id] = nil
            throw CodedError(.storageUnavailable, "the cluster's presence cannot be reached now; connect again in a moment")
        }
        return true
    }

    /// Relays a message of a relayed connection; false for a connection handled here.
    func relayHandle(_ message: ClientMessage, sink: ConnectionSink) async -> Bool {
        guard let relayed = relayed[sink.id] else { return false }
        let body = String(decoding: ProtocolCodec().encode(message), as: UTF8.self)
        let header = ClusterMessage.Header(to: relayed.holder, from: node, op: .handle, device: sink.id)
        do throws(StorageError) {
            try await post(ClusterMessage(header: header, body: body))
        } catch {
            sink.send(
                CodedError(.storageUnavailable, "the cluster's presence cannot be reached now; try again in a moment"),
                id: message.id)
        }
        return true
    }

    /// A relayed connection closed: the switchboard's node is told; false for one handled here.
    func relayDisconnect(sink: ConnectionSink) async -> Bool {
        guard let relayed = relayed.removeValue(forKey: sink.id) else { return false }
        let header = ClusterMessage.Header(to: relayed.holder, from: node, op: .disconnect, device: sink.id)
        // Lost, the switchboard learns it when it next drops this node's stand-ins.
        try? await post(ClusterMessage(header: header, body: ""))
        return true
    }

    /// The node that runs the switchboard, placing it when nobody does.
    private func switchboardNode() async throws(CodedError) -> String {
        if let holder { return holder.node }
        await place()
        guard let holder else {
            throw CodedError(.storageUnavailable, "the cluster's presence cannot be placed now; connect again in a moment")
        }
        return holder.node
    }

    /// Closes the relayed connections (to `holder`, or all): their clients connect again.
    private func closeRelayed(to holder: String? = nil, reason: String) {
        for (id, entry) in relayed where holder == nil || entry.holder == holder {
            entry.sink.close(.goingAway, reason: reason)
            relayed[id] = nil
        }
    }

    /// Graceful stop: this node's relayed connections are told it is going
    /// away (as on one server); connections relayed here are closed so that
    /// their clients connect again and reach the next switchboard.
    func shutDown(_ notice: ServerGoingAway) async {
        listening = false
        for (id, entry) in relayed {
            entry.sink.send(ServerMessage(.serverGoingAway(notice)))
            entry.sink.close(.goingAway, reason: "\(ErrorCode.shuttingDown.rawValue) server shutting down")
            relayed[id] = nil
            let header = ClusterMessage.Header(to: entry.holder, from: node, op: .disconnect, device: id)
            try? await post(ClusterMessage(header: header, body: ""))
        }
        for (device, standIn) in standIns {
            var header = ClusterMessage.Header(to: device.node, from: node, op: .close, device: device.device)
            header.code = WebSocketCloseCode.goingAway.rawValue
            try? await post(ClusterMessage(header: header, body: "presence moved to another node: connect again"))
            standIns[device] = nil
            await calls?.disconnect(standIn.user, sink: standIn.sink)
        }
    }

    // MARK: - Switchboard: connections relayed from other nodes

    /// This node's own clients' connections among `local` (the call manager's),
    /// and those it relays: stand-ins are the other nodes' clients, told by their node.
    func ownConnections(among local: [ConnectionSink]) -> [ConnectionSink] {
        local.filter { !isStandIn($0) } + relayed.values.map(\.sink)
    }

    private func isStandIn(_ sink: ConnectionSink) -> Bool {
        standIns.values.contains { $0.sink === sink }
    }

    private func receive(_ payload: String) async {
        if let parsed = ClusterMessage.parse(payload), parsed.header.op == .nodes {
            // Off the channel's path: reading the nodes is a query.
            if parsed.header.from != node, let calls { Task { await calls.clusterChanged() } }
            return
        }
        guard let parsed = ClusterMessage.parse(payload), parsed.header.to == node,
            let message = assembler.add(parsed.header, part: parsed.part)
        else { return }
        let header = message.header
        let device = RemoteDevice(node: header.from, device: header.device)
        switch header.op {
        case .connect: await remoteConnect(message, device: device)
        case .handle: await remoteHandle(message, device: device)
        case .disconnect: await remoteDisconnect(device)
        case .send: relayed[header.device]?.sink.send(message.body)
        case .nodes: break
        case .close:
            let entry = relayed.removeValue(forKey: header.device)
            entry?.sink.close(header.code ?? WebSocketCloseCode.goingAway.rawValue, reason: message.body)
        }
    }

    private func remoteConnect(_ message: ClusterMessage, device: RemoteDevice) async {
        guard let user = message.header.user.flatMap(PeerID.init(rawValue:)),
            let request = try? JSONDecoder().decode(ConnectRequest.self, from: Data(message.body.utf8))
        else {
            logger.warning("a malformed connect from node \(device.node)")
            return
        }
        await remoteDisconnect(device)
        let (sink, outbound) = ConnectionSink.make()
        standIns[device] = StandIn(sink: sink, user: user)
        Task { await self.forward(outbound, of: device, sink: sink) }
        let requestID = RequestID(uncheckedRawValue: message.header.request ?? "")
        guard let calls else { return }
        do throws(CodedError) {
            try await calls.connect(
                VerifiedUser(user: user, name: message.header.name), request: request, requestID: requestID, sink: sink)
        } catch {
            sink.send(error, id: requestID)
        }
    }

    private func remoteHandle(_ message: ClusterMessage, device: RemoteDevice) async {
        guard let standIn = standIns[device],
            let decoded = try? ProtocolCodec().decode(Data(message.body.utf8), as: ClientMessage.self)
        else { return }
        await calls?.handle(decoded, from: standIn.user, sink: standIn.sink)
    }

    private func remoteDisconnect(_ device: RemoteDevice) async {
        guard let standIn = standIns.removeValue(forKey: device) else { return }
        await calls?.disconnect(standIn.user, sink: standIn.sink)
        standIn.sink.close(.normalClosure, reason: "disconnected")
    }

    /// Drops the stand-ins of `node`'s connections (or of every node's).
    private func dropStandIns(of node: String? = nil) async {
        for device in standIns.keys where node == nil || device.node == node {
            await remoteDisconnect(device)
        }
    }

    /// A stand-in's writer: what the switchboard sends it goes to its node, in order.
    private func forward(_ outbound: AsyncStream<Outbound>, of device: RemoteDevice, sink: ConnectionSink) async {
        for await item in outbound {
            // Gone from the edge: nothing to tell it.
            guard standIns[device]?.sink === sink else { continue }
            var header = ClusterMessage.Header(to: device.node, from: node, op: .send, device: device.device)
            let message: ClusterMessage
            switch item {
            case .text(let text):
                message = ClusterMessage(header: header, body: text)
            case .close(let code, let reason):
                header.op = .close
                header.code = code
                message = ClusterMessage(header: header, body: reason)
                standIns[device] = nil
            }
            do throws(StorageError) {
                try await post(message)
            } catch {
                logger.warning(
                    "cannot relay to node \(device.node): dropping its connection", metadata: ["error": "\(error)"])
                await remoteDisconnect(device)
            }
        }
    }

    // MARK: - Placement and the channel

    private func post(_ message: ClusterMessage) async throws(StorageError) {
        for payload in message.payloads() {
            try await store.notify(payload)
        }
    }

    private func placementLoop() async {
        while !Task.isCancelled {
            if listening { await place() }
            try? await Task.sleep(for: Self.placementInterval)
        }
    }

    /// Places the switchboard (or reads who has it), renews it when it is ours,
    /// and closes relayed connections when it moved.
    private func place() async {
        var found: RoomHolder?
        do throws(StorageError) {
            let takeOverStale = store.reachedThroughout(RoomPlacement.trustAfterOutage)
            found = try await store.placeRoom(Self.leaseName, asking: node, takeOverStale: takeOverStale)
            if let holder = found, holder.node != node, !holder.isLive || holder.heartbeatAgeMs > Self.missedBeatMs,
                await store.markGoneIfRefused(holder)
            {
                // Its process is gone (killed): take the switchboard now, not when its lease lapses.
                logger.warning("the switchboard's node refuses connections", metadata: ["node": "\(holder.node)"])
                found = try await store.placeRoom(Self.leaseName, asking: node, takeOverStale: true)
            }
            if found?.node == node { _ = try await store.renewLeases(node: node, rooms: [Self.leaseName]) }
        } catch {
            // Unknown: keep relaying to the last holder; its lease lapses by itself if it is gone.
            return
        }
        guard let found else { return }
        if found.node == node { await dropStandInsOfStaleNodes() }
        let previous = holder
        holder = found
        guard let previous, previous.node != found.node else { return }
        logger.info("the cluster's switchboard moved", metadata: ["from": "\(previous.node)", "to": "\(found.node)"])
        closeRelayed(to: previous.node, reason: "presence moved to another node: connect again")
        if previous.node == node { await dropStandIns() }
    }

    /// A heartbeat older than this (2 s apart) was missed: the holder is checked (NodeProbe).
    static let missedBeatMs = 3_000

    /// The users of a node that died go offline once its heartbeat is stale.
    private func dropStandInsOfStaleNodes() async {
        let relaying = Set(standIns.keys.map(\.node))
        guard !relaying.isEmpty, let nodes = try? await store.nodes() else { return }
        let live = Set(nodes.filter(\.isLive).map(\.id))
        for gone in relaying.subtracting(live) {
            logger.info("node is stale: its users go offline", metadata: ["node": "\(gone)"])
            await dropStandIns(of: gone)
        }
    }

    private func listenLoop() async {
        while !Task.isCancelled {
            do {
                try await store.listen(ready: { await self.listenerReady() }, receive: { await self.receive($0) })
            } catch {
                if !Task.isCancelled {
                    logger.warning("cluster channel lost; listening again", metadata: ["error": "\(error)"])
                }
            }
            await listenerLost()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func listenerReady() async {
        listening = true
        await place()
    }

    /// Whatever was sent meanwhile is lost: start afresh on both sides.
    private func listenerLost() async {
        listening = false
        assembler.forget()
        closeRelayed(reason: "presence lost its link to the cluster: connect again")
        await dropStandIns()
    }
}
