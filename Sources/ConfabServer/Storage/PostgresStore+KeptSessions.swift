// What each room of a cluster gave each of its peers, kept for a resume on
// another node (docs/CLUSTER.md, "Failover"): one `kept_session` row per peer.
//
//   every heartbeat ─▶ saveKeptSessions: the rows of the peers whose role, mute state or
//                      resume token changed (upserted), and of those gone (deleted)
//   a resume on another node ─▶ hasKeptSession (before placing the room)
//                             ─▶ takeKeptSession: the row, deleted in the same statement
//   the room ends and no other node holds it ─▶ forgetKeptSessions
//
// A row names the node that wrote it. It is taken only by another node, while
// the writer is not live (dead, or stopped: its row in `node` stale or gone),
// and only within the room's resume grace from the moment the taker placed the
// room: a resume is accepted where and when the peer's session could not go
// on. The resume token itself is never stored: only its SHA-256.

import ConfabProtocol
import ConfabRooms
import Crypto
import Foundation
import PostgresNIO

/// One peer's kept state and the hash of the resume token that brings it back.
struct KeptSession: Sendable, Hashable {
    var state: KeptPeerState
    var tokenHash: String

    /// SHA-256 of the token, in hex: what the database holds of it.
    static func hash(ofToken token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

extension PostgresStore {
    private static var liveNode: String {
        "n.last_heartbeat > now() - interval '\(NodeStatus.staleAfterSeconds) seconds'"
    }

    /// Writes the rows of `saved` and deletes this node's rows of `removed`, in one transaction.
    func saveKeptSessions(room: String, node: String, saved: [KeptSession], removed: [String]) async throws(StorageError) {
        let peers = saved.map(\.state.peer.rawValue)
        let hashes = saved.map(\.tokenHash)
        let states = saved.map { StoredColumns.json($0.state) }
        try await run("keep the sessions of room \(room)") {
            try await self.client.withTransaction(logger: self.logger) { connection in
                if !removed.isEmpty {
                    try await connection.query(
                        """
                        DELETE FROM kept_session WHERE room = \(room) AND node = \(node) AND peer = ANY(\(removed)::text[])
                        """, logger: self.logger)
                }
                if !saved.isEmpty {
                    try await connection.query(
                        """
                        INSERT INTO kept_session (room, peer, node, token_hash, state, saved_at)
                        SELECT \(room), kept.peer, \(node), kept.hash, kept.state, now()
                        FROM unnest(\(peers)::text[], \(hashes)::text[], \(states)::text[]) AS kept(peer, hash, state)
                        ON CONFLICT (room, peer) DO UPDATE SET node = EXCLUDED.node, token_hash = EXCLUDED.token_hash,
                            state = EXCLUDED.state, saved_at = EXCLUDED.saved_at
                        """, logger: self.logger)
                }
            }
        }
    }

    /// Whether another node, not live, kept a session of `room` for this token.
    func hasKeptSession(room: String, tokenHash: String, asking node: String) async throws(StorageError) -> Bool {
        try await run("look up a kept session of room \(room)") {
            try await self.client.query(
                """
                SELECT TRUE FROM kept_session kept
                WHERE kept.room = \(room) AND kept.token_hash = \(tokenHash) AND kept.node <> \(node)
                    AND NOT EXISTS (SELECT 1 FROM node n WHERE n.id = kept.node AND \(unescaped: Self.liveNode))
                """, logger: self.logger
            ).decode(Bool.self).first { _ in true } != nil
        }
    }

    /// Takes (deletes and returns) the kept session of this token, if another
    /// node not live wrote it and `node` placed the room within `graceMs`.
    func takeKeptSession(room: String, tokenHash: String, asking node: String, graceMs: Int) async throws(StorageError)
        -> KeptPeerState?
    {
        try await run("take a kept session of room \(room)") {
            let state = try await self.client.query(
                """
                DELETE FROM kept_session kept USING room_lease lease
                WHERE kept.room = \(room) AND kept.token_hash = \(tokenHash) AND kept.node <> \(node)
                    AND NOT EXISTS (SELECT 1 FROM node n WHERE n.id = kept.node AND \(unescaped: Self.liveNode))
                    AND lease.room = kept.room AND lease.node = \(node)
                    AND lease.acquired_at > now() - make_interval(secs => \(Double(graceMs) / 1_000))
                RETURNING kept.state
                """, logger: self.logger
            ).decode(String.self).first { _ in true }
            return state.flatMap { try? JSONDecoder().decode(KeptPeerState.self, from: Data($0.utf8)) }
        }
    }

    /// Deletes the room's kept sessions once it ended here, unless another node holds it now.
    func forgetKeptSessions(room: String, node: String) async throws(StorageError) {
        try await execute(
            "forget the sessions of room \(room)",
            """
            DELETE FROM kept_session WHERE room = \(room)
                AND NOT EXISTS (SELECT 1 FROM room_lease lease WHERE lease.room = \(room) AND lease.node <> \(node))
            """)
    }
}
