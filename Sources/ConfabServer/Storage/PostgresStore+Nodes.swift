// The nodes of a cluster in PostgreSQL: one row per running `confab serve`.
//
//   start ─▶ claimNode: INSERT, or take over a row whose heartbeat is stale;
//            a live row with the same id ─▶ refused (two processes, one name)
//   every 2 s ─▶ heartbeat: last_heartbeat = now(), rooms, peers (only the row this process claimed)
//   graceful stop ─▶ releaseNode: DELETE the row
//   kill -9 ─▶ the row stays; its heartbeat ages past 10 s ─▶ stale
//
// Every time is the database's (`now()`), never a node's clock: nodes whose
// clocks disagree still agree on which heartbeat is fresh.

import Foundation
import PostgresNIO

/// One node as `confab cluster status` shows it.
public struct NodeStatus: Sendable, Hashable {
    public var id: String
    public var advertisedURL: String
    public var startedAt: Date
    /// How long ago its last heartbeat was written, by the database's clock.
    public var heartbeatAgeMs: Int
    public var rooms: Int
    public var peers: Int

    /// A node that has not written a heartbeat for this long is stale: killed,
    /// hung, or cut off from the database.
    public static let staleAfterSeconds = 10

    public var isLive: Bool { heartbeatAgeMs < Self.staleAfterSeconds * 1_000 }
}

extension PostgresStore {
    private static var staleInterval: String { "interval '\(NodeStatus.staleAfterSeconds) seconds'" }

    /// Writes this node's row, or takes over a row of that id whose heartbeat
    /// is stale. False when a live node holds the id: the conflict is settled
    /// by the primary key, so of two processes starting with one id at the
    /// same moment exactly one gets it.
    func claimNode(id: String, instance: String, advertisedURL: String) async throws(StorageError) -> Bool {
        try await run("register node \(id)") {
            try await self.client.query(
                """
                INSERT INTO node (id, instance, advertised_url, started_at, last_heartbeat)
                VALUES (\(id), \(instance), \(advertisedURL), now(), now())
                ON CONFLICT (id) DO UPDATE SET instance = EXCLUDED.instance, advertised_url = EXCLUDED.advertised_url,
                    started_at = EXCLUDED.started_at, last_heartbeat = EXCLUDED.last_heartbeat, rooms = 0, peers = 0
                WHERE node.last_heartbeat < now() - \(unescaped: Self.staleInterval)
                RETURNING id
                """, logger: self.logger
            ).decode(String.self).first { _ in true } != nil
        }
    }

    /// The heartbeat; false when the row is no longer this process's (another
    /// process took the id over while this one was silent for 10 s).
    func heartbeat(id: String, instance: String, advertisedURL: String, rooms: Int, peers: Int)
        async throws(StorageError) -> Bool
    {
        try await run("write the heartbeat of node \(id)") {
            try await self.client.query(
                """
                UPDATE node SET last_heartbeat = now(), advertised_url = \(advertisedURL), rooms = \(rooms), peers = \(peers)
                WHERE id = \(id) AND instance = \(instance) RETURNING id
                """, logger: self.logger
            ).decode(String.self).first { _ in true } != nil
        }
    }

    /// Marks a node stale at once: nothing listens at its address any more
    /// (NodeProbe), so its leases stop counting now rather than 10 s after its
    /// last heartbeat. If it is alive after all, its next heartbeat undoes this.
    func markNodeGone(id: String, advertisedURL: String) async throws(StorageError) {
        try await execute(
            "mark node \(id) gone",
            """
            UPDATE node SET last_heartbeat = now() - interval '1 hour'
            WHERE id = \(id) AND advertised_url = \(advertisedURL)
            """)
    }

    /// Removes this node's row (graceful stop).
    func releaseNode(id: String, instance: String) async throws(StorageError) {
        try await execute("remove node \(id)", "DELETE FROM node WHERE id = \(id) AND instance = \(instance)")
    }

    /// Every node with a row, by id.
    public func nodes() async throws(StorageError) -> [NodeStatus] {
        try await run("read the nodes") {
            var nodes: [NodeStatus] = []
            for try await (id, url, startedAt, ageMs, rooms, peers) in try await self.client.query(
                """
                SELECT id, advertised_url, started_at,
                    GREATEST(0, (EXTRACT(EPOCH FROM now() - last_heartbeat) * 1000)::BIGINT), rooms, peers
                FROM node ORDER BY id
                """, logger: self.logger
            ).decode((String, String, Date, Int64, Int32, Int32).self) {
                nodes.append(
                    NodeStatus(
                        id: id, advertisedURL: url, startedAt: startedAt, heartbeatAgeMs: Int(ageMs), rooms: Int(rooms),
                        peers: Int(peers)))
            }
            return nodes
        }
    }
}
