// A cluster's resume across nodes (docs/CLUSTER.md, "Failover"): what a room
// has given its peers is written to the database off the room's path, and a
// peer whose node died resumes with it on the node that takes the room.
//
//   a join, resume, leave, role or mute change (deliver) ─▶ keepSessions ─┐
//   heartbeat (2 s; a write that failed is made again) ───────────────────┤
//   graceful stop (before the peers are told) ────────────────────────────┘
//       ─▶ the room's recorder, one write queued at a time: keptSessionChanges when it runs
//       ─▶ PostgresStore.saveKeptSessions ─▶ keptSessionsWritten
//   resume, token unknown here ─▶ RoomRegistry.restoreAfterFailover
//       ─▶ a kept session of a node not live? ─▶ place the room (here, or 4013 to its node)
//       ─▶ RoomHost.restore: take the row (single use) ─▶ Room.restore ─▶ joined (resumed)

import ConfabProtocol
import ConfabRooms

extension RoomHost {
    /// Marks the peers `events` may have changed and queues a write of their kept sessions.
    func noteKeptSessions(_ events: [RoomEvent]) {
        guard settings.keptSessionsNode != nil else { return }
        let peers = KeptSessionBook.peers(in: events)
        guard !peers.isEmpty else { return }
        for peer in peers { keptSessions.markDirty(peer) }
        keepSessions()
    }

    /// Queues a write of what changed in the room's kept sessions (a cluster
    /// only). Writes are made in order by the room's recorder, each reading
    /// the room when it runs, so a later state is never overwritten by an earlier one.
    func keepSessions() {
        guard let node = settings.keptSessionsNode, !keptSessions.queued, keptSessions.hasChanges else { return }
        keptSessions.queued = true
        let room = name.rawValue
        recorder.record("keep the sessions of the room's peers") { [self] store in
            let changes = await keptSessionChanges()
            guard !changes.isEmpty, let cluster = store as? PostgresStore else { return }
            let started = ContinuousClock.now
            do {
                try await cluster.saveKeptSessions(
                    room: room, node: node, saved: changes.saved, removed: changes.removed.map(\.rawValue))
            } catch {
                await keptSessionsFailed(changes)
                throw error
            }
            metrics.keptSessionsWritten(rows: changes.peers.count, took: ContinuousClock.now - started)
            await keptSessionsWritten(changes)
        }
    }

    /// What differs between the dirty peers (those holding a resume token:
    /// connected, or within their grace) and what the database holds.
    func keptSessionChanges() -> KeptSessionChanges {
        keptSessions.changes(state: { room.keptState(of: $0) }, token: { resumeTokenOf[$0] })
    }

    /// The database now holds `changes`.
    func keptSessionsWritten(_ changes: KeptSessionChanges) {
        keptSessions.wrote(changes)
    }

    /// `changes` were not written: the next write (a heartbeat's at the latest) makes them.
    func keptSessionsFailed(_ changes: KeptSessionChanges) {
        keptSessions.failed(changes)
    }

    /// Sends `text` to every connected peer (`cluster.nodes`: the nodes to
    /// reconnect through changed since their `joined`).
    func sendToEveryPeer(_ text: String) {
        for sink in connections.values { sink.send(text) }
    }

    /// Admits a peer whose room ran on a node that died, as that room had it
    /// (`take` reads and spends the kept session). Throws `resumeRejected`
    /// when there is none (the client joins afresh).
    func restore(
        _ request: ResumeRequest, take: @Sendable (Int) async -> KeptPeerState?, requestID: RequestID,
        sink: ConnectionSink, receivedAt: ContinuousClock.Instant
    ) async throws(CodedError) -> AdmissionResult {
        await takeChatTurn()
        defer { passChatTurn() }
        guard !isRetired else { return .retired }
        guard !shuttingDown else { throw CodedError(.shuttingDown, "the server is shutting down") }
        let rejected = CodedError(.resumeRejected, "no session to resume in \(name); join again")
        guard let kept = await take(room.template.resumeGraceMs) else { throw rejected }
        let history = await readHistory(
            for: kept.peer, after: request.lastSeenSequence, limit: ProtocolLimits.defaultHistoryPageSize)
        // Nothing below awaits; what changed while the history was read is checked again.
        guard !isRetired else { return .retired }
        guard !shuttingDown else { throw CodedError(.shuttingDown, "the server is shutting down") }
        try admit(kept.peer, resumed: true, reply: (requestID, sink, history, receivedAt)) { room, now throws(CodedError) in
            try room.restore(kept, receives: request.receives, now: now)
        }
        logger.info("resumed from a node that died", metadata: ["peer": "\(kept.peer)", "role": "\(kept.role)"])
        return .admitted(peer: kept.peer)
    }
}

extension RoomRegistry {
    /// Queues a write of what changed in each live room's kept sessions
    /// (a cluster only): each heartbeat, so a write that failed is made again.
    func saveKeptSessions() async {
        for host in hosts.values where !host.isRetired { await host.keepSessions() }
    }

    /// A resume whose token this node does not know: a session kept by a node
    /// that died brings the peer back here (or on the node the room is placed
    /// on: 4013). Nil when there is no such session (or no cluster).
    func restoreAfterFailover(
        _ request: ResumeRequest, requestID: RequestID, sink: ConnectionSink, receivedAt: ContinuousClock.Instant
    ) async throws(CodedError) -> (RoomHost, PeerID)? {
        guard let placement, !CallRoomDirectory.isCallRoomName(request.room) else { return nil }
        let (store, node, room) = (placement.store, placement.node, request.room.rawValue)
        let tokenHash = KeptSession.hash(ofToken: request.resumeToken)
        do throws(StorageError) {
            // Looked up before the room is placed: an unknown token places nothing.
            guard try await store.hasKeptSession(room: room, tokenHash: tokenHash, asking: node) else { return nil }
        } catch {
            throw CodedError(.storageUnavailable, "the session cannot be looked up now; resume again in a moment")
        }
        let take: @Sendable (Int) async -> KeptPeerState? = { graceMs in
            try? await store.takeKeptSession(room: room, tokenHash: tokenHash, asking: node, graceMs: graceMs)
        }
        // A room retired between lookup and restore is looked up again (made afresh).
        for _ in 0..<3 {
            let host = try await placedHost(for: request.room)
            if case .admitted(let peer) = try await host.restore(
                request, take: take, requestID: requestID, sink: sink, receivedAt: receivedAt)
            {
                return (host, peer)
            }
        }
        return nil
    }
}
