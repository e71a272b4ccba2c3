// The chat log and the room and peer history, in SQLite (GRDB) in WAL mode.
//
//   RoomHost ─▶ append(chat) ─▶ COMMIT ─▶ only then: deliver + chat.ack
//            ─▶ history(room, reader, after/before, limit) ◀─ joined, resume, chat.history
//            ─▶ peer and room history (joins, leaves with reason, ends, locks)
//
// Durability: WAL with synchronous=NORMAL. A commit is in the WAL file (the
// kernel's page cache) when `write` returns, so a SIGKILL of the server loses
// nothing acknowledged; only a power cut could lose the last commits, which
// synchronous=FULL would prevent at the cost of an fsync per message.
//
// Numbering: SQLite has one writer at a time, so the next number is read and
// the message inserted in one write transaction. Callers reach it through
// `ServerStore` (async); a commit takes tens of microseconds.

import ConfabProtocol
import Glibc
import GRDB

/// The SQLite engine of ``ServerStore``: a single server's data directory.
public final class ChatStore: ServerStore {
    let database: DatabasePool

    public init(path: String) throws(StorageError) {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // NORMAL is durable against process death in WAL mode (see above).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        configuration.label = "confab"
        do {
            try Self.makePrivate(path)
            // DatabasePool opens the database in WAL mode.
            database = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
        } catch {
            throw StorageError(description: "cannot open the database \(path): \(error)")
        }
    }

    /// The chat log is the room's private conversation: the file is created
    /// 0600 before SQLite opens it (SQLite gives the -wal and -shm files the
    /// database file's mode), and an older, wider file is narrowed.
    private static func makePrivate(_ path: String) throws(StorageError) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StorageError(description: "cannot create the database \(path): \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(descriptor) }
        guard fchmod(descriptor, 0o600) == 0 else {
            throw StorageError(description: "cannot make the database \(path) private: \(String(cString: strerror(errno)))")
        }
    }

    /// Checkpoints the WAL into the main file and closes (graceful shutdown).
    public func close() {
        database.writeWithoutTransaction { db in
            _ = try? db.checkpoint(.truncate)
        }
        try? database.close()
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE chat_message (
                        room TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        id TEXT NOT NULL,
                        sent_at INTEGER NOT NULL,
                        sender TEXT NOT NULL,
                        sender_name TEXT NOT NULL,
                        sender_role TEXT NOT NULL,
                        target TEXT NOT NULL,       -- the ChatTarget as JSON
                        broadcast INTEGER NOT NULL, -- 1: everyone may read it in history
                        text TEXT NOT NULL,
                        idempotency_key TEXT,
                        PRIMARY KEY (room, seq)
                    ) WITHOUT ROWID;
                    CREATE UNIQUE INDEX chat_message_idempotency
                        ON chat_message (room, sender, idempotency_key) WHERE idempotency_key IS NOT NULL;
                    -- Who may read a non-broadcast message: its recipients when it was sent.
                    CREATE TABLE chat_recipient (
                        room TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        peer TEXT NOT NULL,
                        PRIMARY KEY (room, peer, seq)
                    ) WITHOUT ROWID;
                    CREATE TABLE room (
                        name TEXT PRIMARY KEY,
                        created_at INTEGER NOT NULL,
                        started_at INTEGER NOT NULL,
                        ended_at INTEGER,
                        ended_by TEXT,
                        end_reason TEXT,
                        locked INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE peer_session (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        room TEXT NOT NULL,
                        peer TEXT NOT NULL,
                        name TEXT NOT NULL,
                        role TEXT NOT NULL,
                        joined_at INTEGER NOT NULL,
                        left_at INTEGER,
                        leave_reason TEXT
                    );
                    CREATE INDEX peer_session_room ON peer_session (room, joined_at);
                    """)
        }
        migrator.registerMigration("v2-calls") { db in
            try db.execute(
                sql: """
                    -- One row per user per call: the call as that user saw it.
                    CREATE TABLE call_record (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        user TEXT NOT NULL,
                        call TEXT NOT NULL,
                        direction TEXT NOT NULL,
                        peers TEXT NOT NULL,        -- JSON array of user ids
                        outcome TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        duration_ms INTEGER NOT NULL
                    );
                    CREATE INDEX call_record_user ON call_record (user, started_at);
                    """)
        }
        return migrator
    }

    // MARK: - Chat

    private static func insert(
        _ message: ChatMessage, room: RoomName, recipients: Set<PeerID>, idempotencyKey: RequestID?, into db: Database
    ) throws {
        let broadcast = message.target == .broadcast
        try db.execute(
            sql: """
                INSERT INTO chat_message
                    (room, seq, id, sent_at, sender, sender_name, sender_role, target, broadcast, text, idempotency_key)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                room.rawValue, message.seq, message.id.rawValue, message.sentAt.millisecondsSince1970,
                message.from.rawValue, message.fromName, message.fromRole.rawValue, StoredColumns.json(message.target),
                broadcast, message.text, idempotencyKey?.rawValue,
            ])
        if !broadcast, !recipients.isEmpty {
            // One statement compiled once for every recipient: a message to
            // a role in a town hall has thousands.
            let insertRecipient = try db.cachedStatement(sql: "INSERT INTO chat_recipient (room, seq, peer) VALUES (?, ?, ?)")
            for peer in recipients {
                try insertRecipient.execute(arguments: [room.rawValue, message.seq, peer.rawValue])
            }
        }
    }

    /// Numbers and commits a message in one write transaction (SQLite has one
    /// writer at a time, so the next number cannot be taken twice).
    public func appendChat(_ draft: ChatMessage, room: RoomName, recipients: Set<PeerID>, idempotencyKey: RequestID?)
        throws(StorageError) -> ChatAppend
    {
        var result: ChatAppend?
        try write("commit a chat message of \(draft.from)") { db in
            if let idempotencyKey, let original = try Self.message(db, room: room, from: draft.from, idempotencyKey: idempotencyKey) {
                result = .duplicate(original)
                return
            }
            var message = draft
            message.seq = try Int.fetchOne(
                db, sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM chat_message WHERE room = ?", arguments: [room.rawValue]) ?? 1
            message.id = .forSequence(message.seq)
            try Self.insert(message, room: room, recipients: recipients, idempotencyKey: idempotencyKey, into: db)
            result = .committed(message)
        }
        guard let result else { throw StorageError(description: "cannot commit a chat message of \(draft.from)") }
        return result
    }

    /// The highest sequence number committed in a room (0 for none).
    public func lastSequence(room: RoomName) throws(StorageError) -> Int {
        do {
            return try database.read { db in
                try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM chat_message WHERE room = ?", arguments: [room.rawValue])
                    ?? 0
            }
        } catch {
            throw StorageError(description: "cannot read the chat log: \(error)")
        }
    }

    /// The message a sender already committed with this idempotency key.
    public func committedChat(room: RoomName, from sender: PeerID, idempotencyKey: RequestID) throws(StorageError)
        -> ChatMessage?
    {
        do {
            return try database.read { db in try Self.message(db, room: room, from: sender, idempotencyKey: idempotencyKey) }
        } catch {
            throw StorageError(description: "cannot read the chat log: \(error)")
        }
    }

    /// A page of what `reader` may read: broadcasts, and messages it received.
    /// `after` reads forward from just after that seq; otherwise the page ends
    /// just before `before` (or at the newest) and reads back. Oldest first.
    public func history(room: RoomName, reader: PeerID, after: Int?, before: Int?, limit: Int) throws(StorageError)
        -> ChatPage
    {
        let visible = """
            room = :room AND (broadcast = 1 OR EXISTS (
                SELECT 1 FROM chat_recipient r WHERE r.room = :room AND r.peer = :peer AND r.seq = chat_message.seq))
            """
        do {
            return try database.read { db in
                var arguments: StatementArguments = ["room": room.rawValue, "peer": reader.rawValue, "limit": limit + 1]
                var rows: [Row]
                if let after {
                    arguments += ["after": after]
                    rows = try Row.fetchAll(
                        db, sql: "SELECT * FROM chat_message WHERE \(visible) AND seq > :after ORDER BY seq ASC LIMIT :limit",
                        arguments: arguments)
                } else {
                    arguments += ["before": before ?? Int(Int64.max)]
                    rows = try Row.fetchAll(
                        db,
                        sql: "SELECT * FROM chat_message WHERE \(visible) AND seq < :before ORDER BY seq DESC LIMIT :limit",
                        arguments: arguments)
                }
                let hasMore = rows.count > limit
                rows = Array(rows.prefix(limit))
                if after == nil { rows.reverse() }
                return ChatPage(messages: rows.compactMap(Self.message(from:)), hasMore: hasMore)
            }
        } catch {
            throw StorageError(description: "cannot read the chat log: \(error)")
        }
    }

    private static func message(_ db: Database, room: RoomName, from sender: PeerID, idempotencyKey: RequestID) throws
        -> ChatMessage?
    {
        try Row.fetchOne(
            db,
            sql: "SELECT * FROM chat_message WHERE room = ? AND sender = ? AND idempotency_key = ?",
            arguments: [room.rawValue, sender.rawValue, idempotencyKey.rawValue]
        ).flatMap(Self.message(from:))
    }

    /// Read with `decode(forColumn:)`, which throws where GRDB's `row["…"]`
    /// traps: a file edited by hand may hold text where a number belongs.
    private static func message(from row: Row) -> ChatMessage? {
        try? StoredColumns.chatMessage(
            id: row.decode(forColumn: "id"), seq: row.decode(forColumn: "seq"), sentAtMs: row.decode(forColumn: "sent_at"),
            sender: row.decode(forColumn: "sender"), senderName: row.decode(forColumn: "sender_name"),
            senderRole: row.decode(forColumn: "sender_role"), target: row.decode(forColumn: "target"),
            text: row.decode(forColumn: "text"))
    }

    // MARK: - Room and peer history

    /// Whether the room was ended and locked (it refuses joins across restarts).
    public func isLocked(room: RoomName) throws(StorageError) -> Bool {
        do {
            return try database.read { db in
                try Bool.fetchOne(db, sql: "SELECT locked FROM room WHERE name = ?", arguments: [room.rawValue]) ?? false
            }
        } catch {
            throw StorageError(description: "cannot read room \(room): \(error)")
        }
    }

    /// A session of the room began.
    public func roomStarted(_ room: RoomName, at time: Timestamp) throws(StorageError) {
        try write("record room \(room)") { db in
            try db.execute(
                sql: """
                    INSERT INTO room (name, created_at, started_at) VALUES (:name, :time, :time)
                    ON CONFLICT (name) DO UPDATE SET started_at = :time, ended_at = NULL, ended_by = NULL,
                        end_reason = NULL, locked = 0
                    """,
                arguments: ["name": room.rawValue, "time": time.millisecondsSince1970])
        }
    }

    /// The room ended (by a host, or idle), perhaps locked.
    public func roomEnded(_ room: RoomName, at time: Timestamp, by: PeerID?, reason: String?, locked: Bool)
        throws(StorageError)
    {
        try write("record the end of room \(room)") { db in
            try db.execute(
                sql: "UPDATE room SET ended_at = ?, ended_by = ?, end_reason = ?, locked = ? WHERE name = ?",
                arguments: [time.millisecondsSince1970, by?.rawValue, reason, locked, room.rawValue])
            try db.execute(
                sql: "UPDATE peer_session SET left_at = ?, leave_reason = 'roomEnded' WHERE room = ? AND left_at IS NULL",
                arguments: [time.millisecondsSince1970, room.rawValue])
        }
    }

    /// A peer joined; returns the history row to close when it leaves.
    public func peerJoined(_ room: RoomName, peer: PeerInfo) throws(StorageError) -> Int64 {
        var rowID: Int64 = 0
        try write("record the join of \(peer.id)") { db in
            try db.execute(
                sql: "INSERT INTO peer_session (room, peer, name, role, joined_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    room.rawValue, peer.id.rawValue, peer.name, peer.role.rawValue, peer.joinedAt.millisecondsSince1970,
                ])
            rowID = db.lastInsertedRowID
        }
        return rowID
    }

    /// A peer's session ended: `left`, `removed`, `replaced`, `timeout` (the
    /// resume grace passed), `shutdown`.
    public func peerLeft(session: Int64, at time: Timestamp, reason: String) throws(StorageError) {
        try write("record a departure") { db in
            try db.execute(
                sql: "UPDATE peer_session SET left_at = ?, leave_reason = ? WHERE id = ? AND left_at IS NULL",
                arguments: [time.millisecondsSince1970, reason, session])
        }
    }

    /// Peer sessions of a room, oldest first (for tests and operators).
    public func peerSessions(room: RoomName) throws(StorageError) -> [PeerSessionRow] {
        do {
            return try database.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT peer, leave_reason FROM peer_session WHERE room = ? ORDER BY id",
                    arguments: [room.rawValue]
                ).compactMap { row in
                    try? PeerSessionRow(peer: row.decode(forColumn: "peer"), reason: row.decode(forColumn: "leave_reason"))
                }
            }
        } catch {
            throw StorageError(description: "cannot read peer history: \(error)")
        }
    }

    // MARK: - Call history

    /// Records how a call went for one user.
    public func recordCall(_ record: CallRecord, user: PeerID) throws(StorageError) {
        let peers = StoredColumns.json(record.peers)
        try write("record a call of \(user)") { db in
            try db.execute(
                sql: """
                    INSERT INTO call_record (user, call, direction, peers, outcome, started_at, duration_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    user.rawValue, record.call.rawValue, record.direction.rawValue, peers, record.outcome.rawValue,
                    record.startedAt.millisecondsSince1970, record.durationMs,
                ])
        }
    }

    /// A user's most recent calls, newest first.
    public func callHistory(user: PeerID, limit: Int) throws(StorageError) -> [CallRecord] {
        do {
            return try database.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT call, direction, peers, outcome, started_at, duration_ms FROM call_record
                        WHERE user = ? ORDER BY started_at DESC, id DESC LIMIT ?
                        """,
                    arguments: [user.rawValue, limit]
                ).compactMap { row -> CallRecord? in
                    try? StoredColumns.callRecord(
                        call: row.decode(forColumn: "call"), direction: row.decode(forColumn: "direction"),
                        peers: row.decode(forColumn: "peers"), outcome: row.decode(forColumn: "outcome"),
                        startedAtMs: row.decode(forColumn: "started_at"), durationMs: row.decode(forColumn: "duration_ms"))
                }
            }
        } catch {
            throw StorageError(description: "cannot read call history: \(error)")
        }
    }

    private func write(_ what: String, _ body: (Database) throws -> Void) throws(StorageError) {
        do {
            try database.write { db in try body(db) }
        } catch {
            throw StorageError(description: "cannot \(what): \(error)")
        }
    }
}
