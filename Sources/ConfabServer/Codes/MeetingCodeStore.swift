// Meeting codes in the server's store, SQLite or PostgreSQL: one row per code.
//
//   create ─▶ INSERT (the code is random: a clash is retried by the caller)
//   exchange ─▶ one UPDATE … SET used = used + 1 WHERE active ─▶ a row: a use taken
//            └▶ no row ─▶ read it to say why (not found, revoked, expired, used up)
//   revoke ─▶ UPDATE … SET revoked_at
//
// A use is taken by one conditional UPDATE, so two people exchanging the
// last use of a code at once (on one server or two sharing PostgreSQL)
// cannot both get it: the database serialises the two updates and the second
// finds `used` at the limit. The table is created at start when it is
// missing (CREATE TABLE IF NOT EXISTS), alongside the numbered migrations.

import ConfabProtocol
import GRDB
import PostgresNIO

/// A meeting code as stored.
struct StoredMeetingCode: Sendable, Hashable {
    var code: String
    var room: RoomName
    var role: RoleName
    var maxUses: Int?
    var used: Int
    var expiresAt: Timestamp?
    var createdAt: Timestamp
    var createdBy: String
    var revokedAt: Timestamp?

    func state(at now: Timestamp) -> MeetingCodeState {
        if revokedAt != nil { return .revoked }
        if let expiresAt, now >= expiresAt { return .expired }
        if let maxUses, used >= maxUses { return .usedUp }
        return .active
    }

    func info(at now: Timestamp) -> MeetingCodeInfo {
        MeetingCodeInfo(
            code: MeetingCodeFormat.display(code), room: room, role: role, uses: maxUses, used: used, expiresAt: expiresAt,
            createdAt: createdAt, createdBy: createdBy, revokedAt: revokedAt, state: state(at: now))
    }
}

/// What a store needs to keep meeting codes.
protocol MeetingCodeStore: Sendable {
    /// Creates the table when it is missing.
    func prepareMeetingCodes() async throws(StorageError)
    /// False when the code exists already.
    func insertCode(_ code: StoredMeetingCode) async throws(StorageError) -> Bool
    /// The room's codes, newest first.
    func codes(room: RoomName) async throws(StorageError) -> [StoredMeetingCode]
    func code(_ code: String) async throws(StorageError) -> StoredMeetingCode?
    /// Revokes an unrevoked code of `room`; false when there is none.
    func revokeCode(_ code: String, room: RoomName, at time: Timestamp) async throws(StorageError) -> Bool
    /// Takes one use of the code if it is active at `now` and for `room`: the row after the use, else nil.
    func takeUse(of code: String, room: RoomName, now: Timestamp) async throws(StorageError) -> StoredMeetingCode?
}

/// The same statement for both engines: only the placeholders differ.
private enum MeetingCodeSQL {
    static let table = """
        CREATE TABLE IF NOT EXISTS meeting_code (
            code TEXT PRIMARY KEY, room TEXT NOT NULL, role TEXT NOT NULL, max_uses INTEGER, used INTEGER NOT NULL DEFAULT 0,
            expires_at BIGINT, created_at BIGINT NOT NULL, created_by TEXT NOT NULL, revoked_at BIGINT)
        """
    static let index = "CREATE INDEX IF NOT EXISTS meeting_code_room ON meeting_code (room, created_at)"
    static let columns = "code, room, role, max_uses, used, expires_at, created_at, created_by, revoked_at"

    static func row(
        code: String, room: String, role: String, maxUses: Int?, used: Int, expiresAt: Int64?, createdAt: Int64,
        createdBy: String, revokedAt: Int64?
    ) -> StoredMeetingCode? {
        guard let room = RoomName(rawValue: room), let role = RoleName(rawValue: role) else { return nil }
        return StoredMeetingCode(
            code: code, room: room, role: role, maxUses: maxUses, used: used,
            expiresAt: expiresAt.map(Timestamp.init(millisecondsSince1970:)), createdAt: Timestamp(millisecondsSince1970: createdAt),
            createdBy: createdBy, revokedAt: revokedAt.map(Timestamp.init(millisecondsSince1970:)))
    }
}

// MARK: - SQLite

extension ChatStore: MeetingCodeStore {
    func prepareMeetingCodes() throws(StorageError) {
        try makeTables("the meeting code table", MeetingCodeSQL.table, MeetingCodeSQL.index)
    }

    func insertCode(_ code: StoredMeetingCode) throws(StorageError) -> Bool {
        do {
            return try database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO meeting_code (\(MeetingCodeSQL.columns)) VALUES (?, ?, ?, ?, 0, ?, ?, ?, NULL)
                        ON CONFLICT (code) DO NOTHING
                        """,
                    arguments: [
                        code.code, code.room.rawValue, code.role.rawValue, code.maxUses,
                        code.expiresAt?.millisecondsSince1970, code.createdAt.millisecondsSince1970, code.createdBy,
                    ])
                return db.changesCount == 1
            }
        } catch {
            throw StorageError(description: "cannot store a meeting code: \(error)")
        }
    }

    func codes(room: RoomName) throws(StorageError) -> [StoredMeetingCode] {
        try readCodes(
            "SELECT \(MeetingCodeSQL.columns) FROM meeting_code WHERE room = ? ORDER BY created_at DESC, code",
            [room.rawValue])
    }

    func code(_ code: String) throws(StorageError) -> StoredMeetingCode? {
        try readCodes("SELECT \(MeetingCodeSQL.columns) FROM meeting_code WHERE code = ?", [code]).first
    }

    func revokeCode(_ code: String, room: RoomName, at time: Timestamp) throws(StorageError) -> Bool {
        do {
            return try database.write { db in
                try db.execute(
                    sql: "UPDATE meeting_code SET revoked_at = ? WHERE code = ? AND room = ? AND revoked_at IS NULL",
                    arguments: [time.millisecondsSince1970, code, room.rawValue])
                return db.changesCount == 1
            }
        } catch {
            throw StorageError(description: "cannot revoke a meeting code: \(error)")
        }
    }

    func takeUse(of code: String, room: RoomName, now: Timestamp) throws(StorageError) -> StoredMeetingCode? {
        do {
            // The count read back in the same transaction as the increment: read after it, a
            // concurrent exchange's increment could come between and two would see the same count.
            return try database.write { db -> StoredMeetingCode? in
                try db.execute(
                    sql: """
                        UPDATE meeting_code SET used = used + 1
                        WHERE code = ? AND room = ? AND revoked_at IS NULL
                            AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR used < max_uses)
                        """,
                    arguments: [code, room.rawValue, now.millisecondsSince1970])
                guard db.changesCount == 1 else { return nil }
                return try Row.fetchOne(db, sql: "SELECT \(MeetingCodeSQL.columns) FROM meeting_code WHERE code = ?", arguments: [code])
                    .flatMap(Self.meetingCode(from:))
            }
        } catch {
            throw StorageError(description: "cannot take a use of a meeting code: \(error)")
        }
    }

    /// Read with `decode(forColumn:)`, which throws where GRDB's `row["…"]` traps
    /// (a file edited by hand): a code that does not parse is none.
    private static func meetingCode(from row: Row) -> StoredMeetingCode? {
        try? MeetingCodeSQL.row(
            code: row.decode(forColumn: "code"), room: row.decode(forColumn: "room"), role: row.decode(forColumn: "role"),
            maxUses: row.decode(forColumn: "max_uses"), used: row.decode(forColumn: "used"),
            expiresAt: row.decode(forColumn: "expires_at"), createdAt: row.decode(forColumn: "created_at"),
            createdBy: row.decode(forColumn: "created_by"), revokedAt: row.decode(forColumn: "revoked_at"))
    }

    private func readCodes(_ sql: String, _ arguments: StatementArguments) throws(StorageError) -> [StoredMeetingCode] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap(Self.meetingCode(from:))
            }
        } catch {
            throw StorageError(description: "cannot read meeting codes: \(error)")
        }
    }
}

// MARK: - PostgreSQL

extension PostgresStore: MeetingCodeStore {
    func prepareMeetingCodes() async throws(StorageError) {
        try await prepareTables("make the meeting code table", [MeetingCodeSQL.table, MeetingCodeSQL.index])
    }

    func insertCode(_ code: StoredMeetingCode) async throws(StorageError) -> Bool {
        let (expires, created) = (code.expiresAt?.millisecondsSince1970, code.createdAt.millisecondsSince1970)
        return try await run("store a meeting code") {
            let rows = try await self.client.query(
                """
                INSERT INTO meeting_code (code, room, role, max_uses, used, expires_at, created_at, created_by)
                VALUES (\(code.code), \(code.room.rawValue), \(code.role.rawValue), \(code.maxUses), 0, \(expires), \(created),
                    \(code.createdBy))
                ON CONFLICT (code) DO NOTHING RETURNING code
                """, logger: self.logger)
            return try await rows.collect().count == 1
        }
    }

    func codes(room: RoomName) async throws(StorageError) -> [StoredMeetingCode] {
        try await readCodes(
            "SELECT \(unescaped: MeetingCodeSQL.columns) FROM meeting_code WHERE room = \(room.rawValue) ORDER BY created_at DESC, code")
    }

    func code(_ code: String) async throws(StorageError) -> StoredMeetingCode? {
        try await readCodes("SELECT \(unescaped: MeetingCodeSQL.columns) FROM meeting_code WHERE code = \(code)").first
    }

    func revokeCode(_ code: String, room: RoomName, at time: Timestamp) async throws(StorageError) -> Bool {
        let at = time.millisecondsSince1970
        return try await run("revoke a meeting code") {
            let rows = try await self.client.query(
                """
                UPDATE meeting_code SET revoked_at = \(at)
                WHERE code = \(code) AND room = \(room.rawValue) AND revoked_at IS NULL RETURNING code
                """, logger: self.logger)
            return try await rows.collect().count == 1
        }
    }

    func takeUse(of code: String, room: RoomName, now: Timestamp) async throws(StorageError) -> StoredMeetingCode? {
        let at = now.millisecondsSince1970
        return try await readCodes(
            """
            UPDATE meeting_code SET used = used + 1
            WHERE code = \(code) AND room = \(room.rawValue) AND revoked_at IS NULL
                AND (expires_at IS NULL OR expires_at > \(at)) AND (max_uses IS NULL OR used < max_uses)
            RETURNING \(unescaped: MeetingCodeSQL.columns)
            """
        ).first
    }

    private func readCodes(_ query: PostgresQuery) async throws(StorageError) -> [StoredMeetingCode] {
        try await run("read meeting codes") {
            var codes: [StoredMeetingCode] = []
            let rows = try await self.client.query(query, logger: self.logger)
            for try await (code, room, role, maxUses, used, expires, created, createdBy, revoked) in rows.decode(
                (String, String, String, Int?, Int, Int64?, Int64, String, Int64?).self)
            {
                if let row = MeetingCodeSQL.row(
                    code: code, room: room, role: role, maxUses: maxUses, used: used, expiresAt: expires, createdAt: created,
                    createdBy: createdBy, revokedAt: revoked)
                {
                    codes.append(row)
                }
            }
            return codes
        }
    }
}
