import ConfabProtocol
import ConfabTestSupport
import Foundation
import Logging
import Testing

@testable import ConfabServer

/// What several nodes on one PostgreSQL database rely on: numbers without
/// gaps whoever writes, migrations that can run at once, and clear retryable
/// errors (never a false acknowledgement) while the database is away.
@Suite("PostgreSQL store shared by several nodes", .serialized)
struct PostgresStoreTests {
    let logger = Logger(label: "test")

    /// Two nodes' stores on one fresh PostgreSQL database.
    private func withTwoNodes(_ body: (PostgresStore, PostgresStore) async throws -> Void) async throws {
        let server = try await PostgresServer()
        defer { server.remove() }
        let url = try DatabaseURL(parsing: server.url)
        let nodeA = try await PostgresStore(url: url, logger: logger)
        let nodeB = try await PostgresStore(url: url, logger: logger)
        defer { nodeA.close(); nodeB.close() }
        try await body(nodeA, nodeB)
    }

    @Test("two nodes write one room at once: 400 messages numbered 1...400, each once, read the same on both")
    func concurrentNodes() async throws {
        try await withTwoNodes { nodeA, nodeB in
            let perNode = 200
            let sequences = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                for (name, store) in [("a", nodeA), ("b", nodeB)] {
                    for n in 0..<perNode {
                        group.addTask {
                            let message = try await store.appendChat(
                                draft(from: "peer-\(name)", "\(name)\(n)"), room: room, recipients: [], idempotencyKey: nil
                            ).message
                            return (message.text, message.seq)
                        }
                    }
                }
                var all: [(String, Int)] = []
                for try await entry in group { all.append(entry) }
                return all
            }
            #expect(sequences.map(\.1).sorted() == Array(1...(2 * perNode)))
            #expect(Set(sequences.map(\.0)).count == 2 * perNode)
            #expect(try await nodeB.lastSequence(room: room) == 2 * perNode)
            var read: [ChatMessage] = []
            var after = 0
            while true {
                let page = try await nodeA.history(room: room, reader: alice, after: after, before: nil, limit: 100)
                read += page.messages
                guard page.hasMore, let last = page.messages.last else { break }
                after = last.seq
            }
            #expect(read.map(\.seq) == Array(1...(2 * perNode)))
            #expect(Dictionary(uniqueKeysWithValues: read.map { ($0.text, $0.seq) })
                == Dictionary(uniqueKeysWithValues: sequences))
        }
    }

    @Test("the same resend on two nodes at once is stored once")
    func racingResends() async throws {
        try await withTwoNodes { nodeA, nodeB in
            for n in 0..<20 {
                let key = RequestID(uncheckedRawValue: "race-\(n)")
                async let first = nodeA.appendChat(draft(from: "alice", "once \(n)"), room: room, recipients: [], idempotencyKey: key)
                async let second = nodeB.appendChat(draft(from: "alice", "once \(n)"), room: room, recipients: [], idempotencyKey: key)
                let results = try await [first, second]
                #expect(results[0].message == results[1].message)
                #expect(results.filter { if case .committed = $0 { true } else { false } }.count == 1)
            }
            #expect(try await nodeA.lastSequence(room: room) == 20)
        }
    }

    @Test("nodes starting together keep one cluster identity: the first offer wins and every node reads it")
    func oneIdentity() async throws {
        try await withTwoNodes { nodeA, nodeB in
            #expect(try await nodeA.clusterIdentity() == nil)
            let offers = try (0..<2).map { _ in try ClusterIdentity.make(host: "127.0.0.1") }
            #expect(offers[0] != offers[1])
            async let keptByA = nodeA.keepClusterIdentity(offers[0])
            async let keptByB = nodeB.keepClusterIdentity(offers[1])
            let kept = try await [keptByA, keptByB]
            #expect(kept[0] == kept[1])
            #expect(offers.contains(kept[0]))
            #expect(try await nodeB.clusterIdentity() == kept[0])
            // A later node's offer changes nothing.
            #expect(try await nodeB.keepClusterIdentity(ClusterIdentity.make(host: "other")) == kept[0])
        }
    }

    @Test("five nodes starting together on an empty database all get the schema and the code and token tables, made once")
    func concurrentMigrations() async throws {
        let server = try await PostgresServer()
        defer { server.remove() }
        let url = try DatabaseURL(parsing: server.url)
        let logger = self.logger
        // As `confab serve` starts: the migrations, then the tables kept apart from them
        // (two nodes once collided there on the table's type: SQLSTATE 23505).
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    let store = try await PostgresStore(url: url, logger: logger)
                    try await store.prepareMeetingCodes()
                    try await store.prepareRevokedTokens()
                    return store
                }
            }
            var stores: [PostgresStore] = []
            for try await store in group { stores.append(store) }
            return stores
        }
        defer { for store in stores { store.close() } }
        for (n, store) in stores.enumerated() {
            _ = try await store.appendChat(draft(from: "node\(n)", "hello"), room: room, recipients: [], idempotencyKey: nil)
        }
        #expect(try await stores[0].lastSequence(room: room) == 5)
    }

    @Test("the database goes away: a send fails within the deadline as retryable, then numbering goes on without a gap")
    func databaseAway() async throws {
        let server = try await PostgresServer()
        defer { server.remove() }
        let store = try await PostgresStore(url: DatabaseURL(parsing: server.url), operationTimeout: .seconds(2), logger: logger)
        defer { store.close() }
        _ = try await store.appendChat(draft(from: "alice", "before"), room: room, recipients: [], idempotencyKey: nil)
        try await server.stop()

        let started = ContinuousClock.now
        await #expect {
            _ = try await store.appendChat(draft(from: "alice", "while away"), room: room, recipients: [], idempotencyKey: nil)
        } throws: { error in
            guard let error = error as? StorageError else { return false }
            return error.isRetryable && error.description.contains("cannot commit a chat message of alice")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        // Right after, the next caller is answered at once instead of waiting out a deadline too.
        let next = ContinuousClock.now
        await #expect {
            _ = try await store.history(room: room, reader: bob, after: nil, before: nil, limit: 10)
        } throws: { error in
            (error as? StorageError)?.isRetryable == true
        }
        #expect(ContinuousClock.now - next < .milliseconds(500))

        try await server.start()
        let back = await waitUntil(timeout: .seconds(30), every: .milliseconds(200)) {
            (try? await store.lastSequence(room: room)) == 1
        }
        #expect(back, "the store did not reconnect: \(server.log.suffix(2_000))")
        let after = try await store.appendChat(draft(from: "alice", "after"), room: room, recipients: [], idempotencyKey: nil)
        #expect(after.message.seq == 2)
        let page = try await store.history(room: room, reader: bob, after: nil, before: nil, limit: 10)
        #expect(page.messages.map(\.text) == ["before", "after"])
    }

    @Test("a database that turns new connections away for want of slots is busy, not away: nothing is held as unreachable")
    func connectionSlotsFull() async throws {
        let server = try await PostgresServer()
        defer { server.remove() }
        // A role of its own: the superuser may always connect (reserved slots).
        _ = try await server.query(
            "CREATE ROLE member LOGIN PASSWORD 'member-secret'; GRANT ALL ON SCHEMA public TO member")
        var url = try DatabaseURL(parsing: server.url)
        url.user = "member"
        url.password = "member-secret"
        let store = try await PostgresStore(url: url, operationTimeout: .seconds(5), logger: logger)
        defer { store.close() }
        _ = try await store.appendChat(draft(from: "alice", "before"), room: room, recipients: [], idempotencyKey: nil)
        // Every further connection of the role is refused with SQLSTATE 53300;
        // the pool's open one goes on.
        _ = try await server.query("ALTER ROLE member CONNECTION LIMIT 0")

        #expect(await store.databaseRefuses(within: .seconds(5)) == false)
        let after = try await store.appendChat(draft(from: "alice", "after"), room: room, recipients: [], idempotencyKey: nil)
        #expect(after.message.seq == 2)
    }

    @Test("a wrong password is a clear error that retrying will not mend")
    func wrongPassword() async throws {
        let server = try await PostgresServer()
        defer { server.remove() }
        var url = try DatabaseURL(parsing: server.url)
        url.password = "not-the-password"
        await #expect {
            _ = try await PostgresStore(url: url, operationTimeout: .seconds(5), logger: logger)
        } throws: { error in
            guard let error = error as? StorageError else { return false }
            return !error.isRetryable && error.description.contains("password authentication failed")
                && !error.description.contains("not-the-password")
        }
    }
}
