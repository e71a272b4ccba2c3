// Room leases in PostgreSQL: which node of a cluster holds which room.
//
//   a join for a room not live here ─▶ placeRoom: one statement
//       ├ a live lease elsewhere ─▶ its node (the client is redirected there)
//       └ none, or a stale one ─▶ INSERT … ON CONFLICT DO UPDATE … WHERE stale:
//                                 the least-loaded live node gets it (ties: the node asked, then
//                                 the fewest rooms);
//                                 a node that lost the database lately takes a stale lease
//                                 only from a node proven gone (RoomPlacement.swift)
//   every heartbeat ─▶ renewLeases: renewed_at = now() for the rooms live here
//                      (taken if nobody holds them); a room whose lease another
//                      node took is reported lost
//   a room retires ─▶ releaseLease · graceful stop ─▶ releaseLeases (all of the node's)
//
// A lease is live while it was renewed in the last 10 s *and* its node's
// heartbeat is fresh: a killed node's rooms are free again within 10 s of its
// last heartbeat. Two nodes placing one room at the same moment meet on the
// primary key: one insert wins, the other reads the winner. Times are the
// database's (`now()`).

import Foundation
import PostgresNIO

/// The node that holds a room, and where clients reach it.
struct RoomHolder: Sendable, Hashable {
    var node: String
    var advertisedURL: String
    /// Its lease is live (renewed lately by a node whose heartbeat is fresh).
    var isLive = true
    /// How long ago the node last wrote its heartbeat, by the database's clock.
    var heartbeatAgeMs = 0
}

/// One room's lease as `confab cluster status` shows it.
public struct RoomLeaseStatus: Sendable, Hashable {
    public var room: String
    public var node: String
    /// How long ago the holder last renewed it, by the database's clock.
    public var renewedAgeMs: Int
    /// Renewed in the last 10 s by a node whose heartbeat is fresh.
    public var isLive: Bool

    /// The lease of the node that runs presence and calls, not a room's.
    public var isSwitchboard: Bool { room == PresenceRelay.leaseName }
}

extension PostgresStore {
    private static var leaseStaleInterval: String { "interval '\(NodeStatus.staleAfterSeconds) seconds'" }

    /// SQL: the lease in `alias` is live (renewed lately, by a live node).
    private static func liveLease(_ alias: String) -> String {
        """
        (\(alias).renewed_at > now() - \(leaseStaleInterval) AND EXISTS (SELECT 1 FROM node holding \
        WHERE holding.id = \(alias).node AND holding.last_heartbeat > now() - \(leaseStaleInterval)))
        """
    }

    /// The room's holder, placing the room first when nobody holds it:
    /// on the live node with the fewest peers (a room placed there in the last
    /// 2 s counts as one, on every node alike), then `asking`, then the fewest rooms.
    /// A stale lease of another node is taken over only with `takeOverStale`
    /// (else that holder is returned, not live); one of a node whose row is
    /// gone always is. Nil when the placement lost a race (ask again).
    func placeRoom(_ room: String, asking node: String, takeOverStale: Bool = true) async throws(StorageError)
        -> RoomHolder?
    {
        try await run("place room \(room)") {
            try await self.client.query(
                """
                WITH candidate AS (
                    SELECT n.id FROM node n
                    WHERE n.last_heartbeat > now() - \(unescaped: Self.leaseStaleInterval) AND n.advertised_url <> ''
                    ORDER BY n.peers + (SELECT count(*) FROM room_lease recent
                            WHERE recent.node = n.id AND recent.acquired_at > now() - interval '2 seconds'
                                AND recent.room NOT LIKE '~%'),
                        (n.id = \(node)) DESC, n.rooms, n.id
                    LIMIT 1
                ), placed AS (
                    INSERT INTO room_lease (room, node, acquired_at, renewed_at)
                    SELECT \(room), candidate.id, now(), now() FROM candidate
                    ON CONFLICT (room) DO UPDATE SET node = EXCLUDED.node, acquired_at = now(), renewed_at = now()
                    WHERE NOT \(unescaped: Self.liveLease("room_lease")) AND (\(takeOverStale) OR room_lease.node = \(node)
                        OR NOT EXISTS (SELECT 1 FROM node gone WHERE gone.id = room_lease.node))
                    RETURNING node
                ), holder AS (
                    SELECT node, TRUE AS live FROM placed
                    UNION ALL
                    SELECT lease.node, \(unescaped: Self.liveLease("lease")) FROM room_lease lease
                    WHERE lease.room = \(room) AND NOT EXISTS (SELECT 1 FROM placed)
                )
                SELECT n.id, n.advertised_url, holder.live,
                    GREATEST(0, (EXTRACT(EPOCH FROM now() - n.last_heartbeat) * 1000)::BIGINT)
                FROM holder JOIN node n ON n.id = holder.node
                """, logger: self.logger
            ).decode((String, String, Bool, Int64).self).first { _ in true }.map {
                RoomHolder(node: $0.0, advertisedURL: $0.1, isLive: $0.2, heartbeatAgeMs: Int($0.3))
            }
        }
    }

    /// The room's live holder, if any (nothing is placed).
    func roomHolder(_ room: String) async throws(StorageError) -> RoomHolder? {
        try await run("read the lease of room \(room)") {
            try await self.client.query(
                """
                SELECT lease.node, n.advertised_url FROM room_lease lease JOIN node n ON n.id = lease.node
                WHERE lease.room = \(room) AND \(unescaped: Self.liveLease("lease"))
                """, logger: self.logger
            ).decode((String, String).self).first { _ in true }.map { RoomHolder(node: $0.0, advertisedURL: $0.1) }
        }
    }

    /// Renews this node's leases of `rooms` (taking those nobody holds);
    /// returns the rooms this node holds now. A room missing from the answer
    /// was taken by another node while this one could not renew it.
    func renewLeases(node: String, rooms: [String]) async throws(StorageError) -> Set<String> {
        guard !rooms.isEmpty else { return [] }
        return try await run("renew the room leases of node \(node)") {
            var held = Set<String>()
            for try await room in try await self.client.query(
                """
                INSERT INTO room_lease (room, node, acquired_at, renewed_at)
                SELECT live.room, \(node), now(), now() FROM unnest(\(rooms)::text[]) AS live(room)
                ON CONFLICT (room) DO UPDATE SET renewed_at = now() WHERE room_lease.node = \(node)
                RETURNING room
                """, logger: self.logger
            ).decode(String.self) {
                held.insert(room)
            }
            return held
        }
    }

    /// Gives up one room (it ended here).
    func releaseLease(room: String, node: String) async throws(StorageError) {
        try await execute("release room \(room)", "DELETE FROM room_lease WHERE room = \(room) AND node = \(node)")
    }

    /// Gives up every room of the node (graceful stop).
    func releaseLeases(node: String) async throws(StorageError) {
        try await execute("release the rooms of node \(node)", "DELETE FROM room_lease WHERE node = \(node)")
    }

    /// The advertised URLs of the live nodes, by id.
    func liveNodeURLs() async throws(StorageError) -> [String] {
        try await run("read the live nodes") {
            var urls: [String] = []
            for try await url in try await self.client.query(
                """
                SELECT advertised_url FROM node
                WHERE last_heartbeat > now() - \(unescaped: Self.leaseStaleInterval) AND advertised_url <> '' ORDER BY id
                """, logger: self.logger
            ).decode(String.self) {
                urls.append(url)
            }
            return urls
        }
    }

    /// Every lease, live or stale, by room.
    public func leases() async throws(StorageError) -> [RoomLeaseStatus] {
        try await run("read the room leases") {
            var leases: [RoomLeaseStatus] = []
            for try await (room, node, ageMs, live) in try await self.client.query(
                """
                SELECT lease.room, lease.node,
                    GREATEST(0, (EXTRACT(EPOCH FROM now() - lease.renewed_at) * 1000)::BIGINT),
                    \(unescaped: Self.liveLease("lease"))
                FROM room_lease lease ORDER BY lease.room
                """, logger: self.logger
            ).decode((String, String, Int64, Bool).self) {
                leases.append(RoomLeaseStatus(room: room, node: node, renewedAgeMs: Int(ageMs), isLive: live))
            }
            return leases
        }
    }
}
