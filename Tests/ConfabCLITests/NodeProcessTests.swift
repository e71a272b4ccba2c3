// The nodes of a cluster as an operator sees them: `confab serve --database
// --node-id … --advertise …` processes, and `confab cluster status` reading
// their heartbeats from PostgreSQL.
//
//   test ─▶ PostgresServer ◀─ confab serve --node-id a ◀─ bots
//                          ◀─ confab serve --node-id b
//        ─▶ confab cluster status --database URL --json

import ConfabTestSupport
import Foundation
import Testing

@Suite("confab serve --node-id and confab cluster status", .serialized)
struct NodeProcessTests {
    /// `confab cluster status --database URL --json`, parsed; fails the test unless it exits 0.
    static func status(_ database: PostgresServer) async throws -> [String: JSONValue] {
        let run = try ChildProcess(BuiltProducts.confab, ["cluster", "status", "--database", database.url, "--json"])
        let exit = await run.wait(seconds: 30)
        try #require(exit == 0, "cluster status failed: \(run.standardError)")
        let listing = try JSONValue(parsing: run.standardOutput)
        var nodes: [String: JSONValue] = [:]
        for node in listing["nodes"]?.array ?? [] {
            if let id = node["id"]?.text { nodes[id] = node }
        }
        return nodes
    }

    /// Waits (polling the status command) until `condition` holds of the nodes; false if not within `timeout`.
    static func waitForStatus(
        _ database: PostgresServer, timeout: Duration, _ condition: ([String: JSONValue]) -> Bool
    ) async throws -> Bool {
        try await waitUntil(timeout: timeout, every: .milliseconds(500)) { condition(try await status(database)) }
    }

    @Test("two nodes appear with their ids, advertised URLs and fresh heartbeats; a room's peers are counted")
    func twoNodes() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let nodeA = try await ServerProcess(
            database: database.url, arguments: ["--node-id", "a", "--advertise", "wss://a.example:7443"])
        let nodeB = try await ServerProcess(database: database.url, arguments: ["--node-id", "b"])
        #expect(nodeA.process.standardOutput.contains("node: a\n"))
        var nodes = try await Self.status(database)
        #expect(Set(nodes.keys) == ["a", "b"])
        #expect(nodes["a"]?["advertise"]?.text == "wss://a.example:7443")
        // Without --advertise: the URL it listens on (filled in by the first heartbeat after it binds).
        let advertisedB = try await Self.waitForStatus(database, timeout: .seconds(10)) {
            $0["b"]?["advertise"]?.text == "wss://127.0.0.1:\(nodeB.port)"
        }
        #expect(advertisedB)
        nodes = try await Self.status(database)
        for id in ["a", "b"] {
            #expect(nodes[id]?["state"]?.text == "live")
            let age = Int(nodes[id]?["heartbeatAgeMs"]?.text ?? "") ?? .max
            #expect(age < 10_000, "node \(id)'s heartbeat is \(age) ms old")
        }
        // Two people in one room on node a: counted in a's next heartbeat.
        let room = "nodes-\(UUID().uuidString.prefix(6))"
        let alice = try await HeadlessBot("alice", server: nodeA, room: room, role: "host")
        let bob = try await HeadlessBot("bob", server: nodeA, room: room, role: "speaker")
        try await alice.expectEvent("joined")
        try await bob.expectEvent("joined")
        let counted = try await Self.waitForStatus(database, timeout: .seconds(10)) { nodes in
            nodes["a"]?["rooms"]?.text == "1" && nodes["a"]?["peers"]?.text == "2"
        }
        nodes = try await Self.status(database)
        #expect(counted, "node a: \(String(describing: nodes["a"]))")
        #expect(nodes["b"]?["rooms"]?.text == "0" && nodes["b"]?["peers"]?.text == "0")
        // The table for people.
        let table = try ChildProcess(BuiltProducts.confab, ["cluster", "status", "--database", database.url])
        #expect(await table.wait(seconds: 30) == 0)
        let lines = table.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("NODE  ADDRESS") == true, "\(table.standardOutput)")
        #expect(lines.contains { $0.hasPrefix("a ") && $0.contains("wss://a.example:7443") && $0.hasSuffix("live") })
        #expect(!table.standardOutput.contains(database.password))
        await finish([alice, bob], stopping: [nodeA, nodeB])
    }

    @Test("a node killed with SIGKILL turns stale; a node stopped with SIGTERM removes itself")
    func killedAndStopped() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let nodeA = try await ServerProcess(database: database.url, arguments: ["--node-id", "a"])
        let nodeB = try await ServerProcess(database: database.url, arguments: ["--node-id", "b"])
        let bothLive = try await Self.waitForStatus(database, timeout: .seconds(10)) { nodes in
            nodes["a"]?["state"]?.text == "live" && nodes["b"]?["state"]?.text == "live"
        }
        #expect(bothLive)
        // The node that does not run presence and calls is killed: nothing checks its
        // port (a switchboard's is checked once its heartbeat is late: ClusterCallTests).
        var switchboard: String?
        await waitUntil(timeout: .seconds(10), every: .milliseconds(200)) {
            switchboard = try? await ClusterRoutingTests.statusListing(database)["switchboard"]?["node"]?.text
            return switchboard != nil
        }
        let (victim, survivor, victimID, survivorID) =
            switchboard == "a" ? (nodeB, nodeA, "b", "a") : (nodeA, nodeB, "a", "b")
        victim.process.kill()
        _ = await victim.process.wait(seconds: 10)
        // Stale once its last heartbeat is 10 s old: at most 10 s plus one heartbeat interval, and some slack.
        let killed = ContinuousClock.now
        let stale = try await Self.waitForStatus(database, timeout: .seconds(25)) {
            $0[victimID]?["state"]?.text == "stale"
        }
        #expect(stale)
        #expect(ContinuousClock.now - killed >= .seconds(7), "stale only after its heartbeats stopped for a while")
        let nodes = try await Self.status(database)
        #expect(Int(nodes[victimID]?["heartbeatAgeMs"]?.text ?? "") ?? 0 >= 10_000)
        #expect(nodes[survivorID]?["state"]?.text == "live", "the other node goes on beating")
        survivor.process.terminate()
        #expect(await survivor.process.wait(seconds: 30) == 0)
        let afterStop = try await Self.status(database)
        #expect(afterStop[survivorID] == nil, "a node stopped gracefully removes its row")
    }

    @Test("a second node with a live node's id is refused at start; the id is free again after a graceful stop")
    func duplicateID() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let first = try await ServerProcess(database: database.url, arguments: ["--node-id", "a"])
        let data = try TempDirectory(prefix: "confab-serve")
        let arguments = ["serve", "--data", data.path, "--port", "0", "--database", database.url, "--node-id", "a"]
        let second = try ChildProcess(BuiltProducts.confab, arguments)
        #expect(await second.wait(seconds: 60) == 1)
        #expect(second.standardError.contains("node id a is in use by a live node"), "\(second.standardError)")
        #expect(!second.standardOutput.contains("listening on"))
        #expect(!second.standardError.contains(database.password))
        let nodes = try await Self.status(database)
        #expect(nodes["a"]?["advertise"]?.text == "wss://127.0.0.1:\(first.port)", "the first keeps its row")
        #expect(await first.stop() == 0)
        let again = try await ServerProcess(database: database.url, arguments: ["--node-id", "a"])
        #expect(await again.stop() == 0)
    }

    @Test("status with no database to reach, and bad --node-id or --advertise, say so in one line")
    func refusals() async throws {
        let unreachable = "postgresql://confab:hunter2secret@127.0.0.1:\(freeTCPPort())/confab?sslmode=disable"
        let status = try ChildProcess(BuiltProducts.confab, ["cluster", "status", "--database", unreachable])
        #expect(await status.wait(seconds: 30) == 1)
        #expect(status.standardError.hasPrefix("confab: cannot prepare the database at postgresql://confab:***@127.0.0.1"))
        #expect(status.standardError.split(separator: "\n").count == 1, "\(status.standardError)")
        #expect(!status.standardError.contains("hunter2secret") && status.standardOutput.isEmpty)
        let missing = try ChildProcess(
            BuiltProducts.confab, ["cluster", "status"],
            environment: ProcessInfo.processInfo.environment.filter { $0.key != "CONFAB_DATABASE_URL" })
        #expect(await missing.wait(seconds: 30) != 0)
        #expect(missing.standardError.contains("--database URL (or CONFAB_DATABASE_URL) is required"))
        for (option, value, message) in [
            ("--node-id", "has space", "--node-id must be 1 to 64 printable ASCII characters, no spaces"),
            ("--node-id", String(repeating: "n", count: 65), "--node-id must be 1 to 64"),
            ("--advertise", "https://a.example:7443", "--advertise: https://a.example:7443: not a wss://HOST:PORT URL"),
            ("--advertise", "wss://a.example:7443/room", "without a path"),
        ] {
            let serve = try ChildProcess(BuiltProducts.confab, ["serve", "--port", "0", option, value])
            #expect(await serve.wait(seconds: 30) != 0)
            #expect(serve.standardError.contains(message), "\(option) \(value): \(serve.standardError)")
        }
    }
}
