// A presence connection whose node dies comes back through another node of
// the cluster (`connected.nodes`), with separate processes.
//
//   test ─▶ PostgresServer ◀─ node a ◀─ alice (confab connect --headless, given a's URL only)
//                          ◀─ node b ◀─ bob
//        ─▶ kill -9 node a ─▶ alice online again through b, bob listed; a call between them works

import ConfabTestSupport
import Foundation
import Testing

@Suite("A presence connection reconnects through another node", .serialized, .timeLimit(.minutes(3)))
struct ClusterPresenceFailoverTests {
    /// Nodes a and b, alice online through a and bob through b, each seeing the other online.
    static func onlineOnTwoNodes(_ database: PostgresServer) async throws
        -> (nodeA: ServerProcess, nodeB: ServerProcess, alice: HeadlessBot, bob: HeadlessBot)
    {
        let (nodeA, nodeB) = try await ClusterRoutingTests.twoNodes(database)
        let alice = try await HeadlessBot(online: "alice", server: nodeA)
        let bob = try await HeadlessBot(online: "bob", server: nodeB)
        try await alice.expectEvent("connected", ["you.user": "alice"])
        try await bob.expectEvent("connected", ["you.user": "bob"])
        try await alice.expectEvent("presence.online", ["user.user": "bob"])
        return (nodeA, nodeB, alice, bob)
    }

    @Test("kill -9 of the node alice went online through: she is online again through the other, and can call")
    func presenceThroughAnotherNode() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let (nodeA, nodeB, alice, bob) = try await Self.onlineOnTwoNodes(database)
        let mark = alice.lines.count
        let killed = ContinuousClock.now
        nodeA.process.kill()
        _ = await nodeA.process.wait(seconds: 10)
        // Node a's address refuses connections from now on: only node b can bring her back.
        let again = try await alice.expectEvent("connected", ["you.user": "alice"], from: mark, timeout: .seconds(30))
        let listed = (again.line["online"]?.array ?? []).contains { $0["user"]?.text == "bob" }
        if !listed { try await alice.expectEvent("presence.online", ["user.user": "bob"], from: again.index) }
        print("alice online again through node b \(ContinuousClock.now - killed) after node a was killed")
        // Online for real: she rings bob, he accepts, and both are in the call's room on node b.
        try alice.send("call bob")
        try await bob.expectEvent("call.invited", ["from": "alice"])
        try bob.send("accept")
        try await alice.expectEvent("call.participant", ["user": "bob", "state": "accepted"], from: again.index)
        await finish([alice, bob], stopping: [nodeB])
    }

    @Test("online before a second node started: when her node is killed, she is online again through the new one")
    func failoverToANodeStartedLater() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let nodeA = try await ServerProcess(database: database.url, arguments: ["--node-id", "a"])
        let alice = try await HeadlessBot(online: "alice", server: nodeA)
        // Her `connected.nodes` names node a alone: b does not run yet.
        try await alice.expectEvent("connected", ["you.user": "alice"])
        let nodeB = try await ServerProcess(database: database.url, arguments: ["--node-id", "b"])
        let bob = try await HeadlessBot(online: "bob", server: nodeB)
        try await bob.expectEvent("connected", ["you.user": "bob"])
        try await alice.expectEvent("presence.online", ["user.user": "bob"])
        // `confab connect --headless` prints the announcement: the whole cluster, node b included.
        let announced = try await alice.expect("cluster.nodes naming node b") { line in
            line["event"]?.text == "cluster.nodes"
                && (line["nodes"]?.array ?? []).contains { $0.text == "wss://127.0.0.1:\(nodeB.port)" }
        }
        #expect((announced.line["nodes"]?.array ?? []).contains { $0.text == "wss://127.0.0.1:\(nodeA.port)" })
        let mark = alice.lines.count
        let killed = ContinuousClock.now
        nodeA.process.kill()
        _ = await nodeA.process.wait(seconds: 10)
        // Only node b, announced to her after she went online, can bring her back.
        let again = try await alice.expectEvent("connected", ["you.user": "alice"], from: mark, timeout: .seconds(30))
        print("alice (online before node b started) online again through b \(ContinuousClock.now - killed) after a was killed")
        let listed = (again.line["online"]?.array ?? []).contains { $0["user"]?.text == "bob" }
        if !listed { try await alice.expectEvent("presence.online", ["user.user": "bob"], from: again.index) }
        await finish([alice, bob], stopping: [nodeB])
    }

    @Test("the switchboard's node killed during a call: the call is gone, both are online again and can call again")
    func callLostWithTheSwitchboard() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let (nodeA, nodeB, alice, bob) = try await Self.onlineOnTwoNodes(database)
        try alice.send("call bob")
        try await bob.expectEvent("call.invited", ["from": "alice"])
        try bob.send("accept")
        try await alice.expectEvent("call.participant", ["user": "bob", "state": "accepted"])
        try await bob.expectEvent("call.room")
        let status = try await ClusterRoutingTests.statusListing(database)
        let switchboard = try #require(status["switchboard"]?["node"]?.text)
        let (killed, survivor) = switchboard == "a" ? (nodeA, nodeB) : (nodeB, nodeA)
        let marks = [alice.lines.count, bob.lines.count]
        let killedAt = ContinuousClock.now
        killed.process.kill()
        _ = await killed.process.wait(seconds: 10)
        // Both online again (one of them through the node it did not start on), the call no longer listed.
        var aliceAgain = 0
        for (bot, mark) in zip([alice, bob], marks) {
            let again = try await bot.expectEvent("connected", ["you.user": bot.name], from: mark, timeout: .seconds(30))
            #expect(again.line["calls"]?.array.isEmpty ?? true, "\(bot.name)'s call is gone: \(again.line)")
            #expect(again.line["elsewhere"]?.array.isEmpty ?? true)
            if bot === alice { aliceAgain = again.index }
        }
        print("switchboard on node \(switchboard) killed during a call: both online again after \(ContinuousClock.now - killedAt)")
        // They must call again, and can: once alice sees bob online, her new call rings him.
        let seen = alice.lines[aliceAgain]["online"]?.array.contains { $0["user"]?.text == "bob" } ?? false
        if !seen { try await alice.expectEvent("presence.online", ["user.user": "bob"], from: aliceAgain) }
        let ringMark = bob.lines.count
        try alice.send("call bob")
        try await bob.expectEvent("call.invited", ["from": "alice"], from: ringMark)
        #expect(try await ClusterRoutingTests.statusListing(database)["switchboard"]?["node"]?.text != switchboard)
        await finish([alice, bob], stopping: [survivor])
    }
}
