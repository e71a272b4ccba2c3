// A cluster acting as one server, down to separate processes: rooms placed
// on nodes by lease, clients that reach another node redirected to the
// room's, and a room placed again when its node is killed.
//
//   test ─▶ PostgresServer ◀─ confab serve --node-id a ◀─┐ alice (through a)
//                          ◀─ confab serve --node-id b ◀─┴ bob (through b, redirected to the room's node)
//        ─▶ confab cluster status --json: which node holds which room

import ConfabMedia
import ConfabTestSupport
import Foundation
import Testing

@Suite("A cluster routes clients to the room's node", .serialized)
struct ClusterRoutingTests {
    /// `confab cluster status --json`: room (and `~switchboard`) → (node, state).
    static func placements(_ database: PostgresServer) async throws -> [String: (node: String, state: String)] {
        let listing = try await statusListing(database)
        var rooms: [String: (node: String, state: String)] = [:]
        // The switchboard's lease is listed apart from the rooms, under its own name.
        for lease in (listing["rooms"]?.array ?? []) + [listing["switchboard"]].compactMap({ $0 }) {
            if let room = lease["room"]?.text { rooms[room] = (lease["node"]?.text ?? "", lease["state"]?.text ?? "") }
        }
        return rooms
    }

    /// `confab cluster status --json`, the whole listing; fails the test unless it exits 0.
    static func statusListing(_ database: PostgresServer) async throws -> JSONValue {
        let run = try ChildProcess(BuiltProducts.confab, ["cluster", "status", "--database", database.url, "--json"])
        try #require(await run.wait(seconds: 30) == 0, "cluster status failed: \(run.standardError)")
        return try JSONValue(parsing: run.standardOutput)
    }

    /// Two nodes a and b, both live with their addresses in the node table.
    static func twoNodes(_ database: PostgresServer) async throws -> (ServerProcess, ServerProcess) {
        let nodeA = try await ServerProcess(database: database.url, arguments: ["--node-id", "a"])
        let nodeB = try await ServerProcess(database: database.url, arguments: ["--node-id", "b"])
        let ready = try await NodeProcessTests.waitForStatus(database, timeout: .seconds(10)) { nodes in
            nodes["a"]?["advertise"]?.text == "wss://127.0.0.1:\(nodeA.port)"
                && nodes["b"]?["advertise"]?.text == "wss://127.0.0.1:\(nodeB.port)"
        }
        try #require(ready, "both nodes registered with their addresses")
        return (nodeA, nodeB)
    }

    /// A fresh database with nodes a and b live on it, and a new room name
    /// starting with `prefix`. The caller removes the database.
    static func twoNodes(room prefix: String) async throws
        -> (database: PostgresServer, nodeA: ServerProcess, nodeB: ServerProcess, room: String)
    {
        let database = try await PostgresServer()
        do {
            let (nodeA, nodeB) = try await twoNodes(database)
            return (database, nodeA, nodeB, "\(prefix)-\(UUID().uuidString.prefix(6))")
        } catch {
            database.remove()
            throw error
        }
    }

    static func peerIDs(_ joined: JSON) -> Set<String> {
        Set((joined["peers"]?.array ?? []).compactMap { $0["id"]?.text })
    }

    @Test("clients joining one room through two nodes meet in one live room; a new room goes to the least-loaded node")
    func oneRoomThroughTwoNodes() async throws {
        let (database, nodeA, nodeB, room) = try await Self.twoNodes(room: "routed")
        defer { database.remove() }
        // Both nodes empty: the room goes to the node that was asked.
        let alice = try await HeadlessBot.joined("alice", server: nodeA, room: room, role: "host")
        #expect(try await Self.placements(database)[room]?.node == "a")
        // Through node b: redirected to a, into the same live room.
        let bob = try await HeadlessBot("bob", server: nodeB, room: room, role: "speaker")
        let bobJoined = try await bob.expectEvent("joined", ["you.id": "bob"])
        #expect(Self.peerIDs(bobJoined.line).contains("alice"), "bob sees alice in the room: \(bobJoined.line)")
        try await alice.expectEvent("peer.joined", ["peer.id": "bob"])
        try bob.send(#"{"id": "b1", "cmd": "chat", "text": "hello through node b"}"#)
        try await bob.expectEvent("result", ["id": "b1", "ok": "true"])
        let live = try await alice.expectEvent("chat.message", ["message.text": "hello through node b"])
        #expect(live.line["message.seq"]?.text == "1")
        try bob.send(#"{"id": "b2", "cmd": "unmute"}"#)
        try await alice.expectEvent("track.unmuted", ["track": "bob:mic"])
        // Node a now reports two peers: a second room asked of a goes to b, the least loaded.
        let counted = try await NodeProcessTests.waitForStatus(database, timeout: .seconds(10)) {
            $0["a"]?["peers"]?.text == "2"
        }
        #expect(counted)
        let other = room + "-2"
        let carol = try await HeadlessBot.joined("carol", server: nodeA, room: other, role: "host")
        let placed = try await Self.placements(database)
        #expect(placed[room]?.node == "a" && placed[room]?.state == "live")
        #expect(placed[other]?.node == "b", "the second room on the least-loaded node: \(placed)")
        // The table shows room → node too.
        let table = try ChildProcess(BuiltProducts.confab, ["cluster", "status", "--database", database.url])
        #expect(await table.wait(seconds: 30) == 0)
        #expect(table.standardOutput.contains("ROOM"), "\(table.standardOutput)")
        #expect(table.standardOutput.split(separator: "\n").contains { $0.hasPrefix(Substring(other)) && $0.contains(" b ") })
        // A room that ends releases its lease; a graceful stop releases the rest.
        await finish([alice, bob, carol], stopping: [nodeA, nodeB])
        #expect(try await Self.placements(database).isEmpty)
    }

    @Test("audio between a client redirected to the room's node and one on it: what alice says is in bob's WAV")
    func audioThroughTheRoomsNode() async throws {
        let (database, nodeA, nodeB, room) = try await Self.twoNodes(room: "talk")
        defer { database.remove() }
        // Bob through b places the room there; alice through a is redirected to b, media included.
        let talk = try await HeadlessAudioTests.Talk(seed: 13, room: room, alice: nodeA, bob: nodeB)
        #expect(try await Self.placements(database)[room]?.node == "b")
        #expect(await talk.alice.process.wait(seconds: 30) == 0)
        #expect(await talk.bob.process.wait(seconds: 30) == 0, "\(talk.bob.process.standardError)")
        let match = try talk.match()
        print("cluster: correlation \(match.correlation) over \(match.segments) segments")
        #expect(match.correlation >= 0.9)
        #expect(await nodeA.stop() == 0)
        #expect(await nodeB.stop() == 0)
    }

    @Test("kill -9 of the room's node: within 10 s its clients come back on the other node, with the whole chat")
    func failover() async throws {
        try await moveRoom(within: .seconds(10)) { nodeA in
            nodeA.process.kill()
            _ = await nodeA.process.wait(seconds: 10)
        }
    }

    @Test("SIGTERM of the room's node releases its rooms: its clients come back on the other node")
    func gracefulStop() async throws {
        try await moveRoom { nodeA in
            nodeA.process.terminate()
            #expect(await nodeA.process.wait(seconds: 30) == 0)
        }
    }

    /// alice (through a) and bob (through b) in a room on node a, three
    /// messages; `stop` ends node a; both must come back on b by themselves,
    /// with the whole chat and the numbering going on (and back `within` this long, when given).
    func moveRoom(within limit: Duration? = nil, _ stop: (ServerProcess) async throws -> Void) async throws {
        let (database, nodeA, nodeB, room) = try await Self.twoNodes(room: "moved")
        defer { database.remove() }
        let alice = try await HeadlessBot.joined("alice", server: nodeA, room: room, role: "host")
        let bob = try await HeadlessBot.joined("bob", server: nodeB, room: room, role: "speaker")
        #expect(try await Self.placements(database)[room]?.node == "a")
        for index in 1...3 {
            try alice.send(#"{"id": "a\#(index)", "cmd": "chat", "text": "before \#(index)"}"#)
            try await alice.expectEvent("result", ["id": "a\(index)", "ok": "true"])
        }
        try await bob.expectEvent("chat.message", ["message.text": "before 3"])
        let stopped = ContinuousClock.now
        try await stop(nodeA)
        // Both reconnect by themselves: alice's node is gone, so through b (from joined.reconnect.nodes).
        try await alice.expectEvent("reconnected", timeout: .seconds(60))
        try await bob.expectEvent("reconnected", timeout: .seconds(60))
        let backAfter = ContinuousClock.now - stopped
        if let limit { #expect(backAfter < limit, "both clients back \(backAfter) after the node stopped") }
        #expect(try await Self.placements(database)[room]?.node == "b")
        try bob.send(#"{"id": "b1", "cmd": "chat", "text": "after the move"}"#)
        try await bob.expectEvent("result", ["id": "b1", "ok": "true"])
        let after = try await alice.expectEvent("chat.message", ["message.text": "after the move"])
        #expect(after.line["message.seq"]?.text == "4", "numbering goes on with no gap or repeat")
        // Nothing acknowledged is lost: alice's history holds 1 … 4.
        try alice.send(#"{"id": "h", "cmd": "history", "limit": 10}"#)
        try await alice.expectEvent("result", ["id": "h", "ok": "true"])
        var seen = Set<String>()
        for line in alice.lines {
            if line["event"]?.text == "chat.message", let seq = line["message.seq"]?.text { seen.insert(seq) }
            for message in (line["history"]?.array ?? []) + (line["messages"]?.array ?? []) {
                if let seq = message["seq"]?.text { seen.insert(seq) }
            }
        }
        #expect(seen.isSuperset(of: ["1", "2", "3", "4"]), "alice saw \(seen.sorted())")
        print("\(room): both clients back on node b \(backAfter) after node a stopped")
        await finish([alice, bob], stopping: [nodeB])
    }
}
