// Two `confab serve --database` processes on one PostgreSQL: one cluster
// identity. A token from `confab token --database` admits on both, both
// present the certificate `confab fingerprint --database` prints, and the
// database password is never printed. Started at the same moment, they
// migrate the schema once and give a room asked of both at once one owner.

import ConfabTestSupport
import Foundation
import Testing

@Suite("confab serve --database: one identity for every node", .serialized)
struct ClusterProcessTests {
    @Test("two nodes started at once share the token secret and the certificate; the password is never printed")
    func sharedIdentity() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        // Started together: both race to write the identity; one wins, both use it.
        async let first = ServerProcess(database: database.url)
        async let second = ServerProcess(database: database.url, databaseInEnvironment: true)
        let (nodeA, nodeB) = try await (first, second)
        #expect(nodeA.fingerprint == nodeB.fingerprint)
        let fingerprint = try ChildProcess(BuiltProducts.confab, ["fingerprint", "--database", database.url])
        #expect(await fingerprint.wait(seconds: 30) == 0, "\(fingerprint.standardError)")
        #expect(fingerprint.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == nodeA.fingerprint)
        for node in [nodeA, nodeB] {
            #expect(node.process.standardOutput.contains("database: postgresql://confab:***@127.0.0.1:\(database.port)/"))
            #expect(!node.process.standardOutput.contains(database.password))
            #expect(!node.process.standardError.contains(database.password))
        }
        // Tokens minted once with `confab token --database` (HeadlessBot mints through nodeA's arguments)
        // admit to a room on either node, pinned to the one fingerprint.
        let room = "cluster-\(UUID().uuidString.prefix(6))"
        let alice = try await HeadlessBot("alice", server: nodeA, room: room, role: "host")
        let bob = try await HeadlessBot("bob", server: nodeB, room: room, role: "host")
        try await alice.expectEvent("joined", ["you.id": "alice"])
        try await bob.expectEvent("joined", ["you.id": "bob"])
        try alice.send(#"{"id": "x1", "cmd": "chat", "text": "from node A"}"#)
        try await alice.expectEvent("result", ["id": "x1", "cmd": "chat", "ok": "true"])
        try bob.send(#"{"id": "x2", "cmd": "chat", "text": "from node B"}"#)
        try await bob.expectEvent("result", ["id": "x2", "cmd": "chat", "ok": "true"])
        let own = try await bob.expectEvent("chat.message", ["message.text": "from node B"])
        #expect(own.line["message.seq"]?.text == "2", "node B continues the room's numbering from node A")
        await finish([alice, bob], stopping: [nodeA, nodeB])
    }

    @Test("two nodes started at once on a fresh database: the schema migrated once; a room asked of both at once gets one owner")
    func oneMigrationOneOwner() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        async let first = ServerProcess(database: database.url, arguments: ["--node-id", "a"])
        async let second = ServerProcess(database: database.url, arguments: ["--node-id", "b"])
        let (nodeA, nodeB) = try await (first, second)
        // Every numbered migration is recorded once, all in one transaction
        // (one `applied_at`): one node migrated, the other found the schema made.
        let versions = try await database.query("SELECT version FROM schema_migration ORDER BY version")
        let numbers = versions.split(separator: "\n").compactMap { Int($0) }
        #expect(numbers.count >= 5 && numbers == Array(1...numbers.count), "migrations recorded: \(versions)")
        let runs = try await database.query("SELECT count(DISTINCT applied_at) FROM schema_migration")
        #expect(runs == "1", "migrations applied in \(runs) transactions")
        // Neither node tripped over the other's tables.
        let clashes = database.log.split(separator: "\n").filter { $0.contains("already exists") || $0.contains("duplicate key") }
        #expect(clashes.isEmpty, "PostgreSQL logged: \(clashes)")
        let ready = try await NodeProcessTests.waitForStatus(database, timeout: .seconds(10)) { nodes in
            nodes["a"]?["advertise"]?.text == "wss://127.0.0.1:\(nodeA.port)"
                && nodes["b"]?["advertise"]?.text == "wss://127.0.0.1:\(nodeB.port)"
        }
        try #require(ready, "both nodes registered with their addresses")
        // A new room asked of both nodes at the same moment: one lease, one live room both are in.
        let room = "race-\(UUID().uuidString.prefix(6))"
        let (aliceToken, bobToken) = try await (
            nodeA.token(room: room, user: "alice", role: "host"), nodeB.token(room: room, user: "bob", role: "host"))
        let alice = try HeadlessBot("alice", server: nodeA, room: room, token: aliceToken)
        let bob = try HeadlessBot("bob", server: nodeB, room: room, token: bobToken)
        try await alice.expectEvent("joined", ["you.id": "alice"])
        try await bob.expectEvent("joined", ["you.id": "bob"])
        #expect(try await ClusterResumeTests.peersSeen(by: alice, expected: ["bob"]).keys.contains("bob"))
        #expect(try await ClusterResumeTests.peersSeen(by: bob, expected: ["alice"]).keys.contains("alice"))
        let leases = try await database.query("SELECT node FROM room_lease WHERE room = '\(room)'")
        #expect(leases == "a" || leases == "b", "one lease for the room: \(leases)")
        // Only the owner counts the two peers; the other node holds no room.
        let counted = try await NodeProcessTests.waitForStatus(database, timeout: .seconds(10)) { nodes in
            let owner = leases == "a" ? "a" : "b", other = leases == "a" ? "b" : "a"
            return nodes[owner]?["peers"]?.text == "2" && nodes[other]?["peers"]?.text == "0"
        }
        #expect(counted, "the owner counts both peers, the other node none")
        await finish([alice, bob], stopping: [nodeA, nodeB])
    }

    @Test("confab token and fingerprint --database before any node started say so in one line")
    func noIdentityYet() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let token = try ChildProcess(BuiltProducts.confab, ["token", "--database", database.url, "--user", "alice"])
        #expect(await token.wait(seconds: 30) != 0)
        #expect(token.standardError.contains("start `confab serve --database URL` once first"))
        #expect(!token.standardError.contains(database.password))
        let wrong = database.url.replacingOccurrences(of: database.password, with: "not-the-password")
        let refused = try ChildProcess(BuiltProducts.confab, ["fingerprint", "--database", wrong])
        #expect(await refused.wait(seconds: 30) != 0)
        #expect(refused.standardError.contains("password authentication failed"), "\(refused.standardError)")
        #expect(!refused.standardError.contains("not-the-password"))
    }
}
