// The management API of a cluster, down to separate processes: whichever
// node `confab admin` reaches answers for every room of the cluster.
//
//   test ─▶ PostgresServer ◀─ confab serve --node-id a ◀─ alice (the room lives on a)
//                          ◀─ confab serve --node-id b ◀─ confab admin … --server b

import ConfabTestSupport
import Foundation
import Testing

@Suite("The management API of a cluster answers for every node's rooms", .serialized)
struct ClusterAdminTests {
    /// A new admin token for the cluster, from `confab token --admin --database`.
    static func adminToken(_ database: PostgresServer, _ arguments: [String] = []) async throws -> String {
        let minted = try await confab(["token", "--admin", "--database", database.url] + arguments)
        try #require(minted.status == 0, "\(minted.error)")
        return minted.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("through node b: the list holds a's room, the room's peers, a message into it, a create placed like a join, 409")
    func anyNodeAnswers() async throws {
        let (database, nodeA, nodeB, room) = try await ClusterRoutingTests.twoNodes(room: "board")
        defer { database.remove() }
        let token = try await Self.adminToken(database, ["--subject", "ops"])
        let alice = try await HeadlessBot("alice", server: nodeA, room: room, role: "host")
        defer { alice.process.kill() }
        try await alice.expectEvent("joined", ["you.id": "alice"])
        #expect(try await ClusterRoutingTests.placements(database)[room]?.node == "a")

        // The list through b holds the room a holds, with its node and peers.
        let listed = try await admin(nodeB, token: token, ["rooms", "--json"])
        #expect(listed.status == 0, "\(listed.error)")
        let rooms = try JSONValue(parsing: listed.output)["rooms"]?.array ?? []
        let entry = rooms.first { $0["name"]?.text == room }
        #expect(entry?["node"]?.text == "a" && entry?["peers"]?.text == "1", "\(listed.output)")
        // The room's detail and a message into its chat, through b: alice, on a, sees it.
        let detail = try await admin(nodeB, token: token, ["room", room])
        #expect(detail.status == 0 && detail.output.contains("alice"), "\(detail.output) \(detail.error)")
        let said = try await admin(nodeB, token: token, ["say", room, "Back at 3."])
        #expect(said.output == "posted to \(room) as message 1\n", "\(said.error)")
        try await alice.expectEvent("chat.message", ["message.text": "Back at 3.", "message.from": "@server"])
        // The name is taken on a: creating it through b is refused as on one server.
        let taken = try await admin(nodeB, token: token, ["create", room])
        #expect(taken.status == 1 && taken.error.hasPrefix("confab: 4012 roomExists"), "\(taken.error)")
        // A new room through a goes where a join would put it: b, the least-loaded node (a has alice).
        let counted = try await NodeProcessTests.waitForStatus(database, timeout: .seconds(10)) {
            $0["a"]?["peers"]?.text == "1"
        }
        #expect(counted)
        let fresh = room + "-2"
        let created = try await admin(nodeA, token: token, ["create", fresh])
        #expect(created.status == 0 && created.output == "created \(fresh)\n", "\(created.error)")
        #expect(try await ClusterRoutingTests.placements(database)[fresh]?.node == "b")
        let both = try JSONValue(parsing: try await admin(nodeA, token: token, ["rooms", "--json"]).output)
        let nodes = Dictionary(
            uniqueKeysWithValues: (both["rooms"]?.array ?? []).compactMap { room in
                room["name"]?.text.flatMap { name in room["node"]?.text.map { (name, $0) } }
            })
        #expect(nodes == [room: "a", fresh: "b"], "\(both)")
        // Ending it through a ends it on b: the audit log of the node that acted has it.
        let ended = try await admin(nodeA, token: token, ["end", fresh])
        #expect(ended.status == 0, "\(ended.error)")
        let gone = try await admin(nodeA, token: token, ["room", fresh])
        #expect(gone.status == 1 && gone.error.hasPrefix("confab: 4011 roomNotFound"), "\(gone.error)")
        let auditB = try String(contentsOfFile: nodeB.dataPath + "/admin-audit.jsonl", encoding: .utf8)
        #expect(auditB.contains("\"DELETE\"") && auditB.contains(fresh), "\(auditB)")

        // A node that stops answering (stopped, not dead: its lease is still live) is named, not waited for.
        kill(nodeA.process.pid, SIGSTOP)
        let partial = try await admin(nodeB, token: token, ["rooms"])
        kill(nodeA.process.pid, SIGCONT)
        #expect(partial.status == 0)
        #expect(partial.error.contains("node wss://127.0.0.1:\(nodeA.port) did not answer"), "\(partial.error)")
        #expect(!partial.output.contains(room), "\(partial.output)")
        await finish([alice], stopping: [nodeA, nodeB])
    }

    @Test("a rate limit met on the room's node reaches a client of another node with its Retry-After header")
    func forwardedRetryAfter() async throws {
        let (database, nodeA, nodeB, room) = try await ClusterRoutingTests.twoNodes(room: "slow")
        defer { database.remove() }
        let token = try await Self.adminToken(database)
        // The server's posts are held to the room's chat rate: here one a second.
        let created = try await admin(nodeA, token: token, ["create", room, "--chat-rate", "1/1"])
        #expect(created.status == 0, "\(created.error)")
        #expect(try await ClusterRoutingTests.placements(database)[room]?.node == "a")
        // An outside HTTP client posts through b until the room's one message a second is spent.
        let script = """
            import http.client, json, ssl, sys
            port, room, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            # One kept-alive connection: posts follow each other closer than the rate's second.
            connection = http.client.HTTPSConnection("127.0.0.1", port, context=ssl._create_unverified_context())
            for attempt in range(20):
                connection.request("POST", "/api/v1/rooms/" + room + "/messages", body=json.dumps({"text": "hello"}),
                                   headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
                reply = connection.getresponse()
                body = reply.read().decode()
                if reply.status != 201:
                    print(reply.status, reply.getheader("Retry-After"), body)
                    break
            """
        let post = try ChildProcess("/usr/bin/python3", ["-c", script, "\(nodeB.port)", room, token])
        #expect(await post.wait(seconds: 30) == 0, "\(post.standardError)")
        let words = post.standardOutput.split(separator: " ", maxSplits: 2).map(String.init)
        try #require(words.count == 3, "no refusal within twenty posts: \(post.standardOutput)")
        #expect(words[0] == "429", "\(post.standardOutput)")
        let body = try JSONValue(parsing: words[2])
        #expect(body["error.code"]?.text == "5003", "chatRateLimited: \(words[2])")
        let waitMs = try #require(body["error.retryAfterMs"]?.text.flatMap { Int($0) }, "\(words[2])")
        #expect((1...1_000).contains(waitMs), "one message a second: \(waitMs) ms")
        #expect(words[1] == "\((waitMs + 999) / 1_000)", "the header in whole seconds, as node a sent it")
        #expect(await nodeA.stop() == 0)
        #expect(await nodeB.stop() == 0)
    }

    @Test("a call between users on two nodes is listed by `confab admin calls` through either node")
    func callsFromAnyNode() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let (nodeA, nodeB, alice, bob) = try await ClusterPresenceFailoverTests.onlineOnTwoNodes(database)
        defer { for bot in [alice, bob] { bot.process.kill() } }
        let token = try await Self.adminToken(database)
        try alice.send("call bob")
        try await bob.expectEvent("call.invited", ["from": "alice"])
        try bob.send("accept")
        try await alice.expectEvent("call.participant", ["user": "bob", "state": "accepted"])
        // One node runs the switchboard; the other sends the request on to it.
        for node in [nodeA, nodeB] {
            let listed = try await admin(node, token: token, ["calls"])
            #expect(listed.status == 0, "\(listed.error)")
            let line = listed.output.split(separator: "\n").first ?? ""
            #expect(line.contains("by alice: alice (accepted), bob (accepted)"), "through :\(node.port): \(listed.output)")
        }
        try alice.send("hangup")
        try await bob.expectEvent("call.ended")
        for bot in [alice, bob] { try? bot.send("quit") }
        for bot in [alice, bob] { _ = await bot.process.wait(seconds: 30) }
        #expect(await nodeA.stop() == 0)
        #expect(await nodeB.stop() == 0)
    }
}
