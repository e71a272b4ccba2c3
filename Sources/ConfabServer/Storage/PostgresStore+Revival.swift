// The connection pool after the database was away: postgres-nio's pool
// retries a failed connection with a back-off that grows by a quarter each
// attempt up to a minute, so after a long outage it could wait most of a
// minute more before it notices the database is back. A node does not wait:
//
//   operations failing for 3 s, one of them a lost or refused connection
//     ─▶ (at most every 3 s, on the next failure) a connection of our own to the database
//         ├ refused ─▶ still away: the pool keeps failing operations (9004 for chat)
//         └ accepted ─▶ a fresh pool replaces the old one (whose back-off is
//                        cancelled with it): the next operation connects at once
//
// A database that is only slow (deadlines passed, no connection lost) never
// renews the pool: renewing it would cancel the queries still under way.

import Logging
import PostgresNIO
import Synchronization

/// A PostgresClient and the task that runs it.
struct RunningPool: Sendable {
    let client: PostgresClient
    let runner: Task<Void, Never>

    init(url: DatabaseURL, connectTimeout: Duration, logger: Logger) {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: url.tls.clientTLS)
        configuration.options.connectTimeout = connectTimeout
        configuration.options.maximumConnections = 16
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
    }
}

/// The failures since the last operation that reached the database.
struct PoolRevival {
    /// Since when operations have failed; nil when the last one succeeded.
    var failingSince: ContinuousClock.Instant?
    /// One of them lost or could not open a connection (not only a deadline passed).
    var lostConnection = false
    var checking = false
    var lastCheck: ContinuousClock.Instant?
    /// When the last direct look (databaseRefuses) answered, and what.
    var lastLook: ContinuousClock.Instant?
    var lastLookRefused = false
    /// The look under way and when it began. Every operation waiting meanwhile
    /// shares it: hundreds of slow writes each opening a connection of their
    /// own took the database past its connection limit, and its refusals then
    /// read as the database being down.
    var lookInFlight: (task: Task<Bool, Never>, began: ContinuousClock.Instant)?
}

extension PostgresStore {
    /// How long operations fail before the database is checked directly, and how often after.
    static let revivalCheckInterval: Duration = .seconds(3)

    func noteReached() {
        revival.withLock { state in
            state.failingSince = nil
            state.lostConnection = false
        }
    }

    /// Notes a retryable failure; may start a direct check of the database.
    func noteFailure(lostConnection: Bool) {
        let now = ContinuousClock.now
        let check = revival.withLock { state -> Bool in
            let since = state.failingSince ?? now
            state.failingSince = since
            state.lostConnection = state.lostConnection || lostConnection
            guard state.lostConnection, !state.checking, now - since >= Self.revivalCheckInterval,
                state.lastCheck.map({ now - $0 >= Self.revivalCheckInterval }) ?? true
            else { return false }
            state.checking = true
            state.lastCheck = now
            return true
        }
        if check { Task { await self.renewPoolIfDatabaseAnswers() } }
    }

    /// An operation waiting longer than this has the database looked at directly.
    static let checkAfter: Duration = .seconds(1)

    /// Whether a look of our own has waited longer than `checkAfter` for the
    /// database to open a connection: a database that answers opens one in
    /// milliseconds, so it hangs.
    func lookHangs(now: ContinuousClock.Instant = .now) -> Bool {
        revival.withLock { state in
            guard let look = state.lookInFlight else { return false }
            return now - look.began >= Self.checkAfter
        }
    }

    /// Whether the database refuses a connection of our own, or does not open
    /// one `within` this long (one look at a time, shared by all who wait, and
    /// at most one a second: the last answer in between). A refusal marks the
    /// failures as a lost connection: short deadlines, and the pool renewed
    /// once it answers again; and, as a failed operation does, it has
    /// operations fail at once for `unreachableHold`. A waiter whose operation
    /// ends first leaves the look to finish within its limit, unheld (DeadlineRace).
    func databaseRefuses(within limit: Duration) async -> Bool {
        enum Look {
            case answered(refused: Bool)
            case underWay(Task<Bool, Never>)
        }
        let now = ContinuousClock.now
        let look = revival.withLock { state -> Look in
            // An answer already in, or one look for all who wait meanwhile.
            if let last = state.lastLook, now - last < Self.checkAfter { return .answered(refused: state.lastLookRefused) }
            if let underWay = state.lookInFlight { return .underWay(underWay.task) }
            let task = Task { await self.lookOnce(within: limit) }
            state.lookInFlight = (task, now)
            return .underWay(task)
        }
        switch look {
        case .answered(let refused): return refused
        case .underWay(let task): return await task.value
        }
    }

    private func lookOnce(within limit: Duration) async -> Bool {
        let refused = await !databaseAnswers(within: limit)
        revival.withLock { state in
            state.lookInFlight = nil
            state.lastLook = ContinuousClock.now
            state.lastLookRefused = refused
            if refused { state.lostConnection = true }
        }
        if refused { holdUnreachable() }
        return refused
    }

    /// Whether the database is there: it opens a connection, or its server
    /// itself turns one away for a reason that is not an outage (no free
    /// connection slot, SQLSTATE 53300: under a burst of writes that is a busy
    /// database, and holding it as unreachable failed every operation for no
    /// reason). Not reached, reset, timed out, starting up or shutting down
    /// (classes 08 and 57P) is away.
    private func databaseAnswers(within limit: Duration) async -> Bool {
        do {
            let configuration = try url.connectionConfiguration(connectTimeout: limit)
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
            try await connection.close()
            return true
        } catch {
            return error.isAnswerOfAReachableServer
        }
    }

    /// Connects once on a connection of its own; if the database answers while
    /// operations still fail, the pool is replaced by a fresh one.
    private func renewPoolIfDatabaseAnswers() async {
        defer { revival.withLock { $0.checking = false } }
        guard await databaseAnswers(within: operationTimeout), revival.withLock({ $0.failingSince != nil }) else { return }
        let fresh = RunningPool(url: url, connectTimeout: operationTimeout, logger: logger)
        let old = pool.withLock { pool in
            let old = pool
            pool = fresh
            return old
        }
        old.runner.cancel()
        logger.info("the database answers again: its connection pool is renewed")
    }
}
