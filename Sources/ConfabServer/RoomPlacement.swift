// A cluster node's side of room placement (docs/CLUSTER.md, "Placement"):
// a room is live on one node at a time, the holder of its lease.
//
//   join, room live here ─▶ admitted (no database round trip)
//   join, room not live here ─▶ placeRoom ─┬ this node ─▶ the room opens here
//                                          └ another ─▶ 4013 roomOnAnotherNode {redirect: its wss URL/ROOM}
//     within 10 s of this node losing the database, a stale lease of another node is not
//     taken over (that node could not renew it either) unless its port refuses connections
//     (NodeProbe): the client is sent to the stale holder, which still runs the room if alive
//   resume, room not live here ─▶ a live holder elsewhere? ─▶ 4013; else 2008 (join again: that places it)
//   heartbeat ─▶ renew the leases of the rooms live here ─▶ a room whose lease another node
//                took (this node was cut off for 10 s) is closed here: its clients reconnect
//   room retires ─▶ release · graceful stop ─▶ release all (NodeRegistration.release)

import ConfabProtocol
import Logging
import Synchronization

/// This node's leases, and the cluster's live nodes as of the last heartbeat.
final class RoomPlacement: Sendable {
    let node: String
    let store: PostgresStore
    private let logger: Logger
    private let liveNodes = Mutex<[String]>([])

    init(node: String, store: PostgresStore, logger: Logger) {
        self.node = node
        self.store = store
        self.logger = logger
    }

    /// The live nodes' advertised URLs (`joined.reconnect.nodes`).
    var nodeURLs: [String] { liveNodes.withLock { $0 } }

    /// Places the room before it opens here; throws the redirect when another
    /// node holds it or is less loaded, and a retryable 9004 without the database.
    func claim(_ room: RoomName) async throws(CodedError) {
        var takeOverStale = store.reachedThroughout(Self.trustAfterOutage)
        for _ in 0..<3 {
            let holder: RoomHolder?
            do throws(StorageError) {
                holder = try await store.placeRoom(room.rawValue, asking: node, takeOverStale: takeOverStale)
            } catch {
                logger.error("cannot place room", metadata: ["room": "\(room)", "error": "\(error)"])
                throw CodedError(.storageUnavailable, "the room cannot be placed on a node now; join again in a moment")
            }
            guard let holder else { continue }
            if holder.node == node {
                // The room opens here: its first `joined` lists today's nodes.
                await refreshNodes()
                return
            }
            if !holder.isLive, await markGoneIfRefused(holder) {
                takeOverStale = true
                continue
            }
            // Live, or stale but perhaps alive: after an outage of the
            // database it still runs the room and renews its lease shortly.
            throw Self.redirect(room, to: holder)
        }
        throw CodedError(.storageUnavailable, "no live node can take the room now; join again in a moment")
    }

    /// How long this node must have reached the database before it takes a
    /// stale lease from a node not proven gone: every node's heartbeat stops
    /// while the database is away, and each needs a moment once it is back.
    static let trustAfterOutage: Duration = .seconds(NodeStatus.staleAfterSeconds)

    /// For a resume of a room not live here: the redirect to its live holder, if another node holds it.
    func redirectForResume(_ room: RoomName) async -> CodedError? {
        do throws(StorageError) {
            guard let holder = try await store.roomHolder(room.rawValue), holder.node != node else { return nil }
            // A client resumes after its connection dropped: perhaps because the holder died.
            if await markGoneIfRefused(holder) { return nil }
            return Self.redirect(room, to: holder)
        } catch {
            return CodedError(.storageUnavailable, "the room's node cannot be looked up now; resume again in a moment")
        }
    }

    /// The room's live holder, any node (the management API in a cluster);
    /// a holder that refuses connections is marked gone and not returned.
    func liveHolder(lease: String) async throws(CodedError) -> RoomHolder? {
        do throws(StorageError) {
            guard let holder = try await store.roomHolder(lease) else { return nil }
            if holder.node != node, await markGoneIfRefused(holder) { return nil }
            return holder
        } catch {
            throw CodedError(.storageUnavailable, "the room's node cannot be looked up now; try again in a moment")
        }
    }

    /// For a call's room not run here: the node that holds it, else the one
    /// that runs the cluster's switchboard (where its call is); nil when that is this node.
    func redirectForCallRoom(_ room: RoomName) async -> CodedError? {
        do throws(StorageError) {
            var holder = try await store.roomHolder(room.rawValue)
            if holder == nil { holder = try await store.roomHolder(PresenceRelay.leaseName) }
            guard let holder, holder.node != node else { return nil }
            return Self.redirect(room, to: holder)
        } catch {
            return CodedError(.storageUnavailable, "the call's node cannot be looked up now; join again in a moment")
        }
    }

    /// Whether nothing listens at the holder's address (NodeProbe.swift): then it
    /// is marked stale, and its rooms can be placed again at once.
    private func markGoneIfRefused(_ holder: RoomHolder) async -> Bool {
        guard await store.markGoneIfRefused(holder) else { return false }
        logger.warning("node refuses connections: placing its rooms again", metadata: ["node": "\(holder.node)"])
        return true
    }

    static func redirect(_ room: RoomName, to holder: RoomHolder) -> CodedError {
        let url = holder.advertisedURL + "/" + room.rawValue
        return CodedError(.roomOnAnotherNode, "room \(room) is on node \(holder.node): connect to \(url)", redirect: url)
    }

    /// Renews the leases of the rooms live here; returns those another node
    /// took (nil when the database cannot be reached: nothing is known lost).
    func renew(_ rooms: [RoomName]) async -> [RoomName]? {
        do throws(StorageError) {
            let held = try await store.renewLeases(node: node, rooms: rooms.map(\.rawValue))
            let lost = rooms.filter { !held.contains($0.rawValue) }
            for room in lost {
                logger.warning("room lease lost to another node: closing the room here", metadata: ["room": "\(room)"])
            }
            return lost
        } catch {
            return nil
        }
    }

    /// Reads the live nodes for `joined.reconnect.nodes`.
    func refreshNodes() async {
        if let urls = try? await store.liveNodeURLs() { liveNodes.withLock { $0 = urls } }
    }

    /// The room ended here: another node may take it at once.
    func release(_ room: RoomName) async {
        do throws(StorageError) {
            try await store.releaseLease(room: room.rawValue, node: node)
            try await store.forgetKeptSessions(room: room.rawValue, node: node)
        } catch {
            // The lease lapses by itself 10 s after its last renewal.
            logger.debug("cannot release room lease", metadata: ["room": "\(room)", "error": "\(error)"])
        }
    }

    /// Graceful stop: every room of this node is free at once.
    func releaseAll() async {
        do throws(StorageError) {
            try await store.releaseLeases(node: node)
        } catch {
            logger.error("cannot release this node's rooms", metadata: ["error": "\(error)"])
        }
    }
}

extension RoomRegistry {
    /// Places rooms in the cluster from now on (`confab serve --database`).
    func attach(_ placement: RoomPlacement) {
        self.placement = placement
    }

    /// The room's host for a join: live here, or placed here first (a
    /// cluster); throws `4013` with the holder's URL when it lives elsewhere.
    func placedHost(for name: RoomName) async throws(CodedError) -> RoomHost {
        if let host = existingHost(for: name) { return host }
        if let placement {
            if !CallRoomDirectory.isCallRoomName(name) {
                try await placement.claim(name)
            } else if callRooms.room(name) == nil, let redirect = await placement.redirectForCallRoom(name) {
                // A call's room opens on the node that runs the switchboard (PresenceRelay.swift).
                throw redirect
            }
        }
        return try await host(for: name)
    }

    /// For a resume of a room not live here: the redirect to its holder, if another node holds it.
    func redirectForResume(_ name: RoomName) async -> CodedError? {
        guard existingHost(for: name) == nil, let placement else { return nil }
        return await placement.redirectForResume(name)
    }

    /// Live rooms, for the lease renewal.
    var liveRoomNames: [RoomName] {
        hosts.compactMap { $0.value.isRetired ? nil : $0.key }
    }

    /// Sends `text` (an encoded `cluster.nodes`) to every peer connected to a
    /// live room here: the nodes a room's clients reconnect through changed.
    func sendToEveryPeer(_ text: String) async {
        for host in hosts.values where !host.isRetired { await host.sendToEveryPeer(text) }
    }

    /// A room retired: its lease is released (without holding up the sweep).
    func released(_ name: RoomName) {
        guard let placement else { return }
        Task { await placement.release(name) }
    }
}
