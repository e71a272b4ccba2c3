// Two `confab serve --database` processes on one PostgreSQL: one cluster
// identity. A token from `confab token --database` admits on both, both
// present the certificate `confab fingerprint --database` prints, and the
// database password is never printed.

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
