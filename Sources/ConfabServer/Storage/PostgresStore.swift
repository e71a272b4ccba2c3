// The PostgreSQL engine of ServerStore: several `confab serve` nodes share one
// database (postgres-nio, a pool of connections per node).
//
//   start ─▶ migrations under an advisory lock (nodes starting together take turns)
//   appendChat ─▶ BEGIN
//                  ─▶ the sender's idempotency key already stored? ─▶ that message (duplicate)
//                  ─▶ chat_sequence: room's last_seq + 1, its row locked until COMMIT
//                  ─▶ INSERT message and readers
//               ─▶ COMMIT ─▶ only then the caller acknowledges
//
// The row lock on chat_sequence makes concurrent writers of one room take
// turns, and a rolled-back append takes its number back with it: numbers have
// no gaps whichever node writes. Every operation has a deadline: with the
// database unreachable, callers get a retryable error within
// `operationTimeout` instead of waiting on the pool for ever, and for a
// second after such a failure every operation fails at once (then the next
// tries again), so requests queued behind each other do not each wait it out.

import ConfabProtocol
import Logging
import NIOSSL
import PostgresNIO
import Synchronization
import _ConnectionPoolModule

public final class PostgresStore: ServerStore {
    /// The connection pool, renewed when the database answers again while the
    /// pool still waits out its back-off (PostgresStore+Revival.swift).
    var client: PostgresClient { pool.withLock { $0.client } }
    let pool: Mutex<RunningPool>
    let revival = Mutex(PoolRevival())
    let url: DatabaseURL
    let logger: Logger
    /// How long one operation may take, connecting included.
    public let operationTimeout: Duration
    /// Until when operations fail at once, after one found the database
    /// unreachable: callers queued behind each other (a room's chat, history
    /// writes) are answered in a moment rather than a deadline each.
    private let unreachableUntil = Mutex<ContinuousClock.Instant?>(nil)
    /// How long that lasts; the next operation after it tries the database again.
    static let unreachableHold: Duration = .seconds(1)
    /// The deadline of an operation while the database has been unreachable
    /// (a connection lost, none made since): a database back answers in less.
    static let deadlineWhileUnreachable: Duration = .seconds(1)
    /// When an operation last found the database unreachable (nil: never).
    private let lastUnreachable = Mutex<ContinuousClock.Instant?>(nil)

    /// Whether every operation of the last `interval` reached the database:
    /// only then can this node tell a node that stopped writing its heartbeat
    /// from one that could not reach the database either (RoomPlacement.swift).
    func reachedThroughout(_ interval: Duration) -> Bool {
        guard let last = lastUnreachable.withLock({ $0 }) else { return true }
        return ContinuousClock.now - last >= interval
    }

    /// Connects (lazily: the pool opens connections on demand) and brings the
    /// schema up to date.
    public init(url: DatabaseURL, operationTimeout: Duration = .seconds(5), logger: Logger) async throws(StorageError) {
        let pool = RunningPool(url: url, connectTimeout: operationTimeout, logger: logger)
        self.pool = Mutex(pool)
        self.url = url
        self.logger = logger
        self.operationTimeout = operationTimeout
        do {
            try await migrate(url: url)
        } catch {
            pool.runner.cancel()
            throw StorageError(
                description: "cannot prepare the database at \(url.redacted): \(Self.describe(error))",
                isRetryable: error.isRetryable)
        }
    }

    /// Closes the pool's connections.
    public func close() {
        pool.withLock { $0.runner.cancel() }
    }

    // MARK: - Schema

    /// Each entry runs once, in order; `schema_migration` remembers which ran.
    private static let migrations: [(version: Int, sql: [PostgresQuery])] = [
        (1, [
            """
            CREATE TABLE chat_message (
                room TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, sent_at BIGINT NOT NULL,
                sender TEXT NOT NULL, sender_name TEXT NOT NULL, sender_role TEXT NOT NULL,
                target TEXT NOT NULL, broadcast BOOLEAN NOT NULL, text TEXT NOT NULL, idempotency_key TEXT,
                PRIMARY KEY (room, seq))
            """,
            """
            CREATE UNIQUE INDEX chat_message_idempotency
                ON chat_message (room, sender, idempotency_key) WHERE idempotency_key IS NOT NULL
            """,
            "CREATE TABLE chat_sequence (room TEXT PRIMARY KEY, last_seq BIGINT NOT NULL)",
            "CREATE TABLE chat_recipient (room TEXT NOT NULL, seq BIGINT NOT NULL, peer TEXT NOT NULL, PRIMARY KEY (room, peer, seq))",
            """
            CREATE TABLE room (
                name TEXT PRIMARY KEY, created_at BIGINT NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT,
                ended_by TEXT, end_reason TEXT, locked BOOLEAN NOT NULL DEFAULT FALSE)
            """,
            """
            CREATE TABLE peer_session (
                id BIGSERIAL PRIMARY KEY, room TEXT NOT NULL, peer TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL,
                joined_at BIGINT NOT NULL, left_at BIGINT, leave_reason TEXT)
            """,
            "CREATE INDEX peer_session_room ON peer_session (room, joined_at)",
            """
            CREATE TABLE call_record (
                id BIGSERIAL PRIMARY KEY, user_id TEXT NOT NULL, call TEXT NOT NULL, direction TEXT NOT NULL,
                peers TEXT NOT NULL, outcome TEXT NOT NULL, started_at BIGINT NOT NULL, duration_ms BIGINT NOT NULL)
            """,
            "CREATE INDEX call_record_user ON call_record (user_id, started_at)",
        ]),
        (2, [
            // The cluster's one identity: a single row, written once by the first node to start.
            """
            CREATE TABLE cluster_identity (
                id INT PRIMARY KEY CHECK (id = 1), token_secret TEXT NOT NULL, certificate_pem TEXT NOT NULL,
                private_key_pem TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())
            """,
        ]),
        (3, [
            // The nodes of the cluster and their heartbeats (PostgresStore+Nodes.swift).
            """
            CREATE TABLE node (
                id TEXT PRIMARY KEY, instance TEXT NOT NULL, advertised_url TEXT NOT NULL,
                started_at TIMESTAMPTZ NOT NULL, last_heartbeat TIMESTAMPTZ NOT NULL,
                rooms INT NOT NULL DEFAULT 0, peers INT NOT NULL DEFAULT 0)
            """,
        ]),
        (4, [
            // Which node holds which room (PostgresStore+Leases.swift).
            """
            CREATE TABLE room_lease (
                room TEXT PRIMARY KEY, node TEXT NOT NULL, acquired_at TIMESTAMPTZ NOT NULL,
                renewed_at TIMESTAMPTZ NOT NULL)
            """,
            "CREATE INDEX room_lease_node ON room_lease (node)",
        ]),
        (5, [
            // What each room gave each peer, for a resume on another node (PostgresStore+KeptSessions.swift).
            """
            CREATE TABLE kept_session (
                room TEXT NOT NULL, peer TEXT NOT NULL, node TEXT NOT NULL, token_hash TEXT NOT NULL,
                state TEXT NOT NULL, saved_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (room, peer))
            """,
            "CREATE INDEX kept_session_token ON kept_session (token_hash)",
        ]),
    ]

    /// A constant of our own for `pg_advisory_xact_lock`: "confab-m" in ASCII.
    private static let migrationLock: Int64 = 0x636F_6E66_6162_2D6D

    /// Runs on a connection of its own rather than the pool's: the pool keeps
    /// retrying a refused connection, and a wrong password or a missing
    /// database must be said at start, plainly.
    private func migrate(url: DatabaseURL) async throws {
        let configuration = try url.connectionConfiguration(connectTimeout: operationTimeout)
        let logger = self.logger
        try await withDeadline {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            defer { Task { try? await connection.close() } }
            try await connection.withTransaction(logger: logger) { connection in
                // Nodes that start together wait here for each other; the
                // first creates the tables, the others find them made.
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS schema_migration (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                    logger: logger)
                var applied: Set<Int> = []
                for try await version in try await connection.query("SELECT version FROM schema_migration", logger: logger)
                    .decode(Int.self)
                {
                    applied.insert(version)
                }
                for migration in Self.migrations where !applied.contains(migration.version) {
                    for statement in migration.sql { try await connection.query(statement, logger: logger) }
                    try await connection.query(
                        "INSERT INTO schema_migration (version) VALUES (\(migration.version))", logger: logger)
                }
            }
        }
    }

    // MARK: - Chat

    public func appendChat(_ draft: ChatMessage, room: RoomName, recipients: Set<PeerID>, idempotencyKey: RequestID?)
        async throws(StorageError) -> ChatAppend
    {
        try await run("commit a chat message of \(draft.from)") {
            do {
                return try await self.client.withTransaction(logger: self.logger) { connection in
                    if let idempotencyKey,
                        let original = try await self.message(on: connection, room: room, from: draft.from, key: idempotencyKey)
                    {
                        return ChatAppend.duplicate(original)
                    }
                    var message = draft
                    message.seq = try await connection.query(
                        """
                        INSERT INTO chat_sequence (room, last_seq) VALUES (\(room.rawValue), 1)
                        ON CONFLICT (room) DO UPDATE SET last_seq = chat_sequence.last_seq + 1 RETURNING last_seq
                        """, logger: self.logger
                    ).decode(Int.self).first { _ in true } ?? 0
                    message.id = .forSequence(message.seq)
                    let broadcast = message.target == .broadcast
                    try await connection.query(
                        """
                        INSERT INTO chat_message
                            (room, seq, id, sent_at, sender, sender_name, sender_role, target, broadcast, text, idempotency_key)
                        VALUES (\(room.rawValue), \(message.seq), \(message.id.rawValue), \(message.sentAt.millisecondsSince1970),
                            \(message.from.rawValue), \(message.fromName), \(message.fromRole.rawValue),
                            \(StoredColumns.json(message.target)), \(broadcast), \(message.text), \(idempotencyKey?.rawValue))
                        """, logger: self.logger)
                    if !broadcast && !recipients.isEmpty {
                        try await connection.query(
                            """
                            INSERT INTO chat_recipient (room, seq, peer)
                            SELECT \(room.rawValue), \(message.seq), unnest(\(recipients.map(\.rawValue))::text[])
                            """, logger: self.logger)
                    }
                    return ChatAppend.committed(message)
                }
            } catch where error.postgresError?.serverInfo?[.sqlState] == "23505" {
                // Two sends with one key raced and the other committed first:
                // the unique index refused this one. Answer with that message.
                guard let idempotencyKey,
                    let original = try await self.client.withConnection({ connection in
                        try await self.message(on: connection, room: room, from: draft.from, key: idempotencyKey)
                    })
                else { throw error }
                return ChatAppend.duplicate(original)
            }
        }
    }

    public func committedChat(room: RoomName, from sender: PeerID, idempotencyKey: RequestID) async throws(StorageError)
        -> ChatMessage?
    {
        try await run("read the chat log") {
            try await self.client.withConnection { connection in
                try await self.message(on: connection, room: room, from: sender, key: idempotencyKey)
            }
        }
    }

    public func lastSequence(room: RoomName) async throws(StorageError) -> Int {
        try await run("read the chat log") {
            try await self.client.query(
                "SELECT last_seq FROM chat_sequence WHERE room = \(room.rawValue)", logger: self.logger
            ).decode(Int.self).first { _ in true } ?? 0
        }
    }

    public func history(room: RoomName, reader: PeerID, after: Int?, before: Int?, limit: Int) async throws(StorageError)
        -> ChatPage
    {
        try await run("read the chat log") {
            // Forward from just after `after`, or back from just before `before` (or the newest).
            let (comparison, direction) = after == nil ? ("<", "DESC") : (">", "ASC")
            let bound = after ?? before ?? Int(Int64.max)
            let query: PostgresQuery = """
                SELECT seq, id, sent_at, sender, sender_name, sender_role, target, text FROM chat_message
                WHERE room = \(room.rawValue) AND (broadcast OR EXISTS (
                    SELECT 1 FROM chat_recipient r
                    WHERE r.room = chat_message.room AND r.peer = \(reader.rawValue) AND r.seq = chat_message.seq))
                AND seq \(unescaped: comparison) \(bound) ORDER BY seq \(unescaped: direction) LIMIT \(limit + 1)
                """
            var messages: [ChatMessage] = []
            for try await (seq, id, sentAt, sender, senderName, senderRole, target, text) in try await self.client
                .query(query, logger: self.logger)
                .decode((Int, String, Int64, String, String, String, String, String).self)
            {
                if let message = StoredColumns.chatMessage(
                    id: id, seq: seq, sentAtMs: sentAt, sender: sender, senderName: senderName, senderRole: senderRole,
                    target: target, text: text)
                {
                    messages.append(message)
                }
            }
            let hasMore = messages.count > limit
            messages = Array(messages.prefix(limit))
            if after == nil { messages.reverse() }
            return ChatPage(messages: messages, hasMore: hasMore)
        }
    }

    private func message(on connection: PostgresConnection, room: RoomName, from sender: PeerID, key: RequestID)
        async throws -> ChatMessage?
    {
        let rows = try await connection.query(
            """
            SELECT seq, id, sent_at, sender_name, sender_role, target, text FROM chat_message
            WHERE room = \(room.rawValue) AND sender = \(sender.rawValue) AND idempotency_key = \(key.rawValue)
            """, logger: logger)
        for try await (seq, id, sentAt, senderName, senderRole, target, text) in rows.decode(
            (Int, String, Int64, String, String, String, String).self)
        {
            return StoredColumns.chatMessage(
                id: id, seq: seq, sentAtMs: sentAt, sender: sender.rawValue, senderName: senderName,
                senderRole: senderRole, target: target, text: text)
        }
        return nil
    }

    // MARK: - Room and peer history

    public func isLocked(room: RoomName) async throws(StorageError) -> Bool {
        try await run("read room \(room)") {
            try await self.client.query("SELECT locked FROM room WHERE name = \(room.rawValue)", logger: self.logger)
                .decode(Bool.self).first { _ in true } ?? false
        }
    }

    public func roomStarted(_ room: RoomName, at time: Timestamp) async throws(StorageError) {
        let at = time.millisecondsSince1970
        try await execute("record room \(room)", """
            INSERT INTO room (name, created_at, started_at) VALUES (\(room.rawValue), \(at), \(at))
            ON CONFLICT (name) DO UPDATE SET started_at = EXCLUDED.started_at, ended_at = NULL, ended_by = NULL,
                end_reason = NULL, locked = FALSE
            """)
    }

    public func roomEnded(_ room: RoomName, at time: Timestamp, by: PeerID?, reason: String?, locked: Bool)
        async throws(StorageError)
    {
        let at = time.millisecondsSince1970
        try await run("record the end of room \(room)") {
            try await self.client.withTransaction(logger: self.logger) { connection in
                try await connection.query(
                    """
                    UPDATE room SET ended_at = \(at), ended_by = \(by?.rawValue), end_reason = \(reason), locked = \(locked)
                    WHERE name = \(room.rawValue)
                    """, logger: self.logger)
                try await connection.query(
                    """
                    UPDATE peer_session SET left_at = \(at), leave_reason = 'roomEnded'
                    WHERE room = \(room.rawValue) AND left_at IS NULL
                    """, logger: self.logger)
            }
        }
    }

    public func peerJoined(_ room: RoomName, peer: PeerInfo) async throws(StorageError) -> Int64 {
        try await run("record the join of \(peer.id)") {
            try await self.client.query(
                """
                INSERT INTO peer_session (room, peer, name, role, joined_at)
                VALUES (\(room.rawValue), \(peer.id.rawValue), \(peer.name), \(peer.role.rawValue),
                    \(peer.joinedAt.millisecondsSince1970))
                RETURNING id
                """, logger: self.logger
            ).decode(Int64.self).first { _ in true } ?? 0
        }
    }

    public func peerLeft(session: Int64, at time: Timestamp, reason: String) async throws(StorageError) {
        try await execute("record a departure", """
            UPDATE peer_session SET left_at = \(time.millisecondsSince1970), leave_reason = \(reason)
            WHERE id = \(session) AND left_at IS NULL
            """)
    }

    public func peerSessions(room: RoomName) async throws(StorageError) -> [PeerSessionRow] {
        try await run("read peer history") {
            var rows: [PeerSessionRow] = []
            for try await (peer, reason) in try await self.client.query(
                "SELECT peer, leave_reason FROM peer_session WHERE room = \(room.rawValue) ORDER BY id", logger: self.logger
            ).decode((String, String?).self) {
                rows.append(PeerSessionRow(peer: peer, reason: reason))
            }
            return rows
        }
    }

    // MARK: - Call history

    public func recordCall(_ record: CallRecord, user: PeerID) async throws(StorageError) {
        try await execute("record a call of \(user)", """
            INSERT INTO call_record (user_id, call, direction, peers, outcome, started_at, duration_ms)
            VALUES (\(user.rawValue), \(record.call.rawValue), \(record.direction.rawValue),
                \(StoredColumns.json(record.peers)), \(record.outcome.rawValue),
                \(record.startedAt.millisecondsSince1970), \(record.durationMs))
            """)
    }

    public func callHistory(user: PeerID, limit: Int) async throws(StorageError) -> [CallRecord] {
        try await run("read call history") {
            var records: [CallRecord] = []
            for try await (call, direction, peers, outcome, startedAt, durationMs) in try await self.client.query(
                """
                SELECT call, direction, peers, outcome, started_at, duration_ms FROM call_record
                WHERE user_id = \(user.rawValue) ORDER BY started_at DESC, id DESC LIMIT \(limit)
                """, logger: self.logger
            ).decode((String, String, String, String, Int64, Int).self) {
                if let record = StoredColumns.callRecord(
                    call: call, direction: direction, peers: peers, outcome: outcome, startedAtMs: startedAt,
                    durationMs: durationMs)
                {
                    records.append(record)
                }
            }
            return records
        }
    }

    // MARK: - The cluster's identity

    /// The token secret and certificate every node shares; nil before the first node started.
    public func clusterIdentity() async throws(StorageError) -> ClusterIdentity? {
        try await run("read the cluster's identity") {
            for try await (secret, certificate, key) in try await self.client.query(
                "SELECT token_secret, certificate_pem, private_key_pem FROM cluster_identity WHERE id = 1",
                logger: self.logger
            ).decode((String, String, String).self) {
                return ClusterIdentity(tokenSecretBase64: secret, certificatePEM: certificate, privateKeyPEM: key)
            }
            return nil
        }
    }

    /// Keeps `candidate` as the cluster's identity unless one is kept already,
    /// and returns the one kept: nodes starting together each offer one, the
    /// first insert wins (the single row's key), and all read that one.
    public func keepClusterIdentity(_ candidate: ClusterIdentity) async throws(StorageError) -> ClusterIdentity {
        try await execute("keep the cluster's identity", """
            INSERT INTO cluster_identity (id, token_secret, certificate_pem, private_key_pem)
            VALUES (1, \(candidate.tokenSecretBase64), \(candidate.certificatePEM), \(candidate.privateKeyPEM))
            ON CONFLICT (id) DO NOTHING
            """)
        guard let kept = try await clusterIdentity() else {
            throw StorageError(description: "the cluster's identity vanished after it was written")
        }
        return kept
    }

    // MARK: - Running operations

    func execute(_ what: String, _ query: PostgresQuery) async throws(StorageError) {
        try await run(what) { _ = try await self.client.query(query, logger: self.logger) }
    }

    /// Creates tables kept apart from the numbered migrations, under the
    /// migrations' lock: PostgreSQL's `CREATE TABLE IF NOT EXISTS` is not safe
    /// against itself, and two nodes starting at once would otherwise collide on
    /// the table's type (`pg_type_typname_nsp_index`, SQLSTATE 23505).
    func prepareTables(_ what: String, _ statements: [String]) async throws(StorageError) {
        try await run(what) {
            try await self.client.withTransaction(logger: self.logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: self.logger)
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
            }
        }
    }

    /// Runs `operation` within the deadline and turns any failure into a
    /// StorageError that says what could not be done and whether to retry.
    func run<Result: Sendable>(_ what: String, _ operation: @escaping @Sendable () async throws -> Result)
        async throws(StorageError) -> Result
    {
        if let until = unreachableUntil.withLock({ $0 }), ContinuousClock.now < until {
            throw StorageError(description: "cannot \(what): the database was unreachable a moment ago", isRetryable: true)
        }
        if lookHangs() {
            throw StorageError(description: "cannot \(what): the database does not open a connection", isRetryable: true)
        }
        do {
            // Once a connection was lost, a short deadline: a join must hear its
            // 9004 well before its own deadline (5 s) closes the connection.
            let timeout = revival.withLock { $0.lostConnection } ? Self.deadlineWhileUnreachable : operationTimeout
            let result = try await withDeadline(timeout, operation)
            unreachableUntil.withLock { $0 = nil }
            noteReached()
            return result
        } catch {
            // A caller that was cancelled says nothing about the database.
            if error.isRetryable, !Task.isCancelled {
                let now = ContinuousClock.now
                holdUnreachable(now: now)
                lastUnreachable.withLock { $0 = now }
                noteFailure(lostConnection: !(error is DatabaseTimeout))
            }
            throw StorageError(description: "cannot \(what): \(Self.describe(error))", isRetryable: error.isRetryable)
        }
    }

    /// Operations fail at once until `unreachableHold` from `now`.
    func holdUnreachable(now: ContinuousClock.Instant = .now) {
        unreachableUntil.withLock { $0 = now + Self.unreachableHold }
    }

    private func withDeadline<Result: Sendable>(
        _ timeout: Duration? = nil, _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let timeout = timeout ?? operationTimeout
        return try await DeadlineRace.run(operation) {
            // The pool queues requests while it cannot connect: an answer
            // slower than a second is checked on a connection of our own.
            if timeout > Self.checkAfter {
                try await Task.sleep(for: Self.checkAfter)
                // The look gets only what is left of the deadline: a database
                // that accepts connections and never answers (hung) would keep
                // it waiting its own connect timeout past the operation's.
                let looked = ContinuousClock.now
                if await self.databaseRefuses(within: timeout - Self.checkAfter) { throw DatabaseUnreachable() }
                let left = timeout - Self.checkAfter - (ContinuousClock.now - looked)
                if left > .zero { try await Task.sleep(for: left) }
            } else {
                try await Task.sleep(for: timeout)
            }
            throw DatabaseTimeout(after: timeout)
        }
    }

    /// What went wrong, without the query (it may hold chat text) or the password.
    static func describe(_ error: any Error) -> String {
        guard let error = error.postgresError else { return "\(error)" }
        if let info = error.serverInfo, let message = info[.message] {
            return "\(message) (SQLSTATE \(info[.sqlState] ?? "?"))"
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}

/// A connection of our own to the database was refused while an operation waited.
struct DatabaseUnreachable: Error, CustomStringConvertible {
    var description: String { "the database refuses connections" }
}

/// An operation passed its deadline (the database is down, or too slow).
struct DatabaseTimeout: Error, CustomStringConvertible {
    var after: Duration
    var description: String { "no answer from the database within \(after)" }
}

extension Error {
    /// Whether the same request may succeed later: the database was not
    /// reached, the connection broke, or the deadline passed. A refusal by the
    /// database itself (a constraint, bad SQL) is final.
    fileprivate var isRetryable: Bool {
        if self is DatabaseTimeout || self is DatabaseUnreachable || self is CancellationError { return true }
        // After 60 s without a connection the pool fails requests at once
        // (its circuit breaker), and keeps trying to connect.
        if self is ConnectionPoolError { return true }
        guard let error = postgresError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return true
        case .server:
            return error.isOutageState
        default:
            return false
        }
    }

    /// An error the database server itself sent that does not mean it is
    /// going away: it was reached and is running.
    var isAnswerOfAReachableServer: Bool {
        guard let error = postgresError, error.code == .server else { return false }
        return !error.isOutageState
    }

    /// The PostgreSQL error inside, also when a transaction wraps it.
    fileprivate var postgresError: PSQLError? {
        if let error = self as? PSQLError { return error }
        guard let transaction = self as? PostgresTransactionError else { return nil }
        return (transaction.closureError ?? transaction.beginError ?? transaction.commitError)?.postgresError
    }
}

extension PSQLError {
    /// Class 08 (connection exception) and 57P (operator intervention:
    /// shutting down, starting up).
    fileprivate var isOutageState: Bool {
        let state = serverInfo?[.sqlState] ?? ""
        return state.hasPrefix("08") || state.hasPrefix("57P")
    }
}
