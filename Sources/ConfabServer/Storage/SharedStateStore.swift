// The room's shared state in the server's store, SQLite or PostgreSQL: one
// row per live room that has any, the whole state as JSON.
//
//   state.set / API ─▶ Room (in memory) ─▶ state.changed ─▶ HistoryRecorder (in order, off the room's path)
//                                                          ─▶ save the room's whole state (none: the row goes)
//   room ends (ended by a host or the API, or empty for its timeout) ─▶ the row goes
//   room opens (after a restart, or on another node after its node died) ─▶ the row, if any, is its state
//
// A graceful stop keeps the rows: the room goes on elsewhere, or after the
// restart, with its agenda and pinned line. The table is created at start when
// it is missing, alongside the numbered migrations.

import ConfabProtocol
import Foundation
import GRDB
import PostgresNIO

/// What a store needs to keep the rooms' shared state across restarts and failover.
protocol SharedStateStore: Sendable {
    /// Creates the table when it is missing.
    func prepareSharedState() async throws(StorageError)
    /// The state the room had when it was last live; empty when none was kept.
    func sharedState(room: RoomName) async throws(StorageError) -> [StateEntry]
    /// Keeps `entries` as the room's whole state; none removes the room's row.
    func saveSharedState(_ entries: [StateEntry], room: RoomName) async throws(StorageError)
}

private enum SharedStateSQL {
    static let table = """
        CREATE TABLE IF NOT EXISTS room_shared_state (room TEXT PRIMARY KEY, entries TEXT NOT NULL, saved_at BIGINT NOT NULL)
        """

    static func encode(_ entries: [StateEntry]) -> String {
        // StateEntry is plain strings and numbers: encoding cannot fail.
        (try? String(decoding: JSONEncoder().encode(entries), as: UTF8.self)) ?? "[]"
    }

    /// A row written by an older or newer server that does not decode is
    /// dropped rather than refusing the room.
    static func decode(_ text: String?) -> [StateEntry] {
        guard let text else { return [] }
        let entries = (try? JSONDecoder().decode([StateEntry].self, from: Data(text.utf8))) ?? []
        return Array(entries.filter { StateEntry.isValidKey($0.key) }.prefix(ProtocolLimits.maximumStateKeys))
    }
}

// MARK: - SQLite

extension ChatStore: SharedStateStore {
    func prepareSharedState() throws(StorageError) {
        try makeTables("the shared state table", SharedStateSQL.table)
    }

    func sharedState(room: RoomName) throws(StorageError) -> [StateEntry] {
        do {
            return SharedStateSQL.decode(
                try database.read { db in
                    try String.fetchOne(
                        db, sql: "SELECT entries FROM room_shared_state WHERE room = ?", arguments: [room.rawValue])
                })
        } catch {
            throw StorageError(description: "cannot read the shared state of room \(room): \(error)")
        }
    }

    func saveSharedState(_ entries: [StateEntry], room: RoomName) throws(StorageError) {
        do {
            try database.write { db in
                if entries.isEmpty {
                    try db.execute(sql: "DELETE FROM room_shared_state WHERE room = ?", arguments: [room.rawValue])
                } else {
                    try db.execute(
                        sql: """
                            INSERT INTO room_shared_state (room, entries, saved_at) VALUES (?, ?, ?)
                            ON CONFLICT (room) DO UPDATE SET entries = excluded.entries, saved_at = excluded.saved_at
                            """,
                        arguments: [room.rawValue, SharedStateSQL.encode(entries), Timestamp.now().millisecondsSince1970])
                }
            }
        } catch {
            throw StorageError(description: "cannot keep the shared state of room \(room): \(error)")
        }
    }
}

// MARK: - PostgreSQL

extension PostgresStore: SharedStateStore {
    func prepareSharedState() async throws(StorageError) {
        try await prepareTables("make the shared state table", [SharedStateSQL.table])
    }

    func sharedState(room: RoomName) async throws(StorageError) -> [StateEntry] {
        try await run("read the shared state of room \(room)") {
            SharedStateSQL.decode(
                try await self.client.query(
                    "SELECT entries FROM room_shared_state WHERE room = \(room.rawValue)", logger: self.logger
                ).decode(String.self).first { _ in true })
        }
    }

    func saveSharedState(_ entries: [StateEntry], room: RoomName) async throws(StorageError) {
        if entries.isEmpty {
            try await execute(
                "forget the shared state of room \(room)", "DELETE FROM room_shared_state WHERE room = \(room.rawValue)")
            return
        }
        let (text, now) = (SharedStateSQL.encode(entries), Timestamp.now().millisecondsSince1970)
        try await execute(
            "keep the shared state of room \(room)",
            """
            INSERT INTO room_shared_state (room, entries, saved_at) VALUES (\(room.rawValue), \(text), \(now))
            ON CONFLICT (room) DO UPDATE SET entries = EXCLUDED.entries, saved_at = EXCLUDED.saved_at
            """)
    }
}

extension ConfabServer {
    /// Makes the shared state table if the store lacks it; closes the store when it cannot.
    static func prepareSharedState(in store: any ServerStore) async throws(SetupError) {
        do {
            if let state = store as? any SharedStateStore { try await state.prepareSharedState() }
        } catch {
            store.close()
            throw SetupError(error.description)
        }
    }
}
