// Presence and calls across the nodes of a cluster, with separate processes:
// alice online through node a rings bob, online through node b and (a second
// device) through node c; carol through c finds him busy.
//
//   test ─▶ PostgresServer ◀─ confab serve a ◀─ alice (confab connect --headless)
//                          ◀─ confab serve b ◀─ bob
//                          ◀─ confab serve c ◀─ bob's second device, carol
//   one node runs the switchboard (the `~switchboard` lease); the others relay to it over NOTIFY

import ConfabTestSupport
import Foundation
import Testing

@Suite("Calls between users online on different nodes", .serialized, .timeLimit(.minutes(4)))
struct ClusterCallTests {
    @Test("ringing, cancel, reject, accept and answered elsewhere, busy and hang-up behave as on one server")
    func callAcrossNodes() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let nodes = try await Self.threeNodes(database)
        let (nodeA, nodeB, nodeC) = (nodes[0], nodes[1], nodes[2])
        let alice = try await HeadlessBot(online: "alice", server: nodeA)
        try await alice.expectEvent("connected", ["you.user": "alice"])
        let bob = try await HeadlessBot(online: "bob", server: nodeB)
        try await bob.expectEvent("connected", ["you.user": "bob"])
        let bobAgain = try await HeadlessBot(online: "bob", server: nodeC)
        try await bobAgain.expectEvent("connected", ["you.user": "bob"])
        // Presence crosses nodes: alice (on a) sees bob (on b) come online.
        try await alice.expectEvent("presence.online", ["user.user": "bob"])
        // The status names the node running presence, and not as a room.
        let status = try await ClusterRoutingTests.statusListing(database)
        #expect(["a", "b", "c"].contains(status["switchboard"]?["node"]?.text ?? ""), "\(status)")
        #expect(status["switchboard"]?["state"]?.text == "live")
        #expect(!(status["rooms"]?.array ?? []).contains { $0["room"]?.text?.hasPrefix("~") ?? false })

        // Rung on both of bob's devices; alice cancels: both stop ringing.
        try alice.send("call bob")
        let rung = try await bob.expectEvent("call.invited", ["from": "alice"])
        let rungAgain = try await bobAgain.expectEvent("call.invited", ["from": "alice"])
        try alice.send("cancel")
        let cancelled = try await bob.expectEvent("call.invitationEnded", ["reason": "cancelled"], from: rung.index)
        try await bobAgain.expectEvent("call.invitationEnded", ["reason": "cancelled"], from: rungAgain.index)
        let aliceEnded = try await alice.expectEvent("call.ended", ["reason": "cancelled"])

        // Rejected on c: b stops ringing (rejected elsewhere), alice's call ends.
        try alice.send("call bob")
        let second = try await bob.expectEvent("call.invited", ["from": "alice"], from: cancelled.index + 1)
        let secondAgain = try await bobAgain.expectEvent("call.invited", ["from": "alice"], from: rungAgain.index + 1)
        try bobAgain.send("reject")
        try await bob.expectEvent("call.invitationEnded", ["reason": "rejectedElsewhere"], from: second.index)
        try await alice.expectEvent("call.participant", ["user": "bob", "state": "rejected"], from: aliceEnded.index)
        let rejectedEnd = try await alice.expectEvent("call.ended", from: aliceEnded.index + 1)

        // Accepted on b: c is told it was answered elsewhere; both meet in the call's room.
        try alice.send("call bob")
        let third = try await bob.expectEvent("call.invited", ["from": "alice"], from: second.index + 1)
        try await bobAgain.expectEvent("call.invited", ["from": "alice"], from: secondAgain.index + 1)
        try bob.send("accept")
        try await bobAgain.expectEvent("call.invitationEnded", ["reason": "answeredElsewhere"], from: secondAgain.index)
        try await alice.expectEvent("call.participant", ["user": "bob", "state": "accepted"], from: rejectedEnd.index)
        let room = try await alice.expectEvent("call.room", from: rejectedEnd.index)
        try await bob.expectEvent("call.room", from: third.index)
        try await alice.expectEvent("call.userEntered", ["user": "bob"], from: rejectedEnd.index)
        try await bob.expectEvent("call.userEntered", ["user": "alice"], from: third.index)
        // The call's room and the switchboard are on one node, in the lease table.
        // (The call room's lease is taken by its node's next heartbeat, within 2 s.)
        let callRoom = room.line["room"]?.text ?? ""
        var placed: [String: (node: String, state: String)] = [:]
        let together = try await waitUntil(timeout: .seconds(10), every: .milliseconds(500)) {
            placed = try await ClusterRoutingTests.placements(database)
            return placed["~switchboard"] != nil && placed[callRoom]?.node == placed["~switchboard"]?.node
        }
        #expect(together, "\(placed)")

        // Carol (on c) rings bob: busy.
        let carol = try await HeadlessBot(online: "carol", server: nodeC)
        try await carol.expectEvent("connected", ["you.user": "carol"])
        try carol.send("call bob")
        let busy = try await carol.expectEvent("call.placed")
        let bobState = busy.line["participants"]?.array.first { $0["user"]?.text == "bob" }?["state"]?.text
        #expect(bobState == "busy", "\(busy.line)")
        try await carol.expectEvent("call.ended", ["reason": "unanswered"])

        // Alice hangs up: bob's call ends.
        try alice.send("hangup")
        try await bob.expectEvent("call.ended", from: third.index)

        // The switchboard's node is killed: presence comes back on a live node within seconds.
        let bots = [(alice, nodeA), (bob, nodeB), (bobAgain, nodeC), (carol, nodeC)]
        let killed = try await Self.killSwitchboard(database, nodes: nodes, bots: bots)

        for (bot, _) in bots { try? bot.send("quit") }
        for (bot, _) in bots { _ = await bot.process.wait(seconds: 30) }
        for node in nodes where node !== killed { #expect(await node.stop() == 0) }
    }

    /// Kills the node running the switchboard (kill -9); two users online
    /// through the other nodes must be connected again and see each other
    /// online well before the dead node's lease would have lapsed (10 s).
    static func killSwitchboard(
        _ database: PostgresServer, nodes: [ServerProcess], bots: [(HeadlessBot, ServerProcess)]
    ) async throws -> ServerProcess {
        let status = try await ClusterRoutingTests.statusListing(database)
        let switchboard = try #require(status["switchboard"]?["node"]?.text)
        let killed = nodes[try #require(["a", "b", "c"].firstIndex(of: switchboard))]
        let survivors = bots.filter { $0.1 !== killed }.map(\.0)
        let first = try #require(survivors.first)
        let second = try #require(survivors.first { $0.name != first.name })
        let marks = [first.lines.count, second.lines.count]
        let killedAt = ContinuousClock.now
        killed.process.kill()
        _ = await killed.process.wait(seconds: 10)
        for (bot, other, mark) in [(first, second, marks[0]), (second, first, marks[1])] {
            let again = try await bot.expectEvent("connected", from: mark, timeout: .seconds(20))
            let listed = (again.line["online"]?.array ?? []).contains { $0["user"]?.text == other.name }
            if !listed { try await bot.expectEvent("presence.online", ["user.user": other.name], from: again.index) }
        }
        let back = ContinuousClock.now - killedAt
        print("switchboard on node \(switchboard) killed: \(first.name) and \(second.name) online again after \(back)")
        #expect(back < .seconds(8), "presence back \(back) after the switchboard's node was killed")
        let moved = try await ClusterRoutingTests.statusListing(database)
        #expect(moved["switchboard"]?["node"]?.text != switchboard)
        return killed
    }

    /// Nodes a, b and c, all live with their addresses in the node table.
    static func threeNodes(_ database: PostgresServer) async throws -> [ServerProcess] {
        var nodes: [ServerProcess] = []
        for id in ["a", "b", "c"] {
            nodes.append(try await ServerProcess(database: database.url, arguments: ["--node-id", id]))
        }
        let ready = try await NodeProcessTests.waitForStatus(database, timeout: .seconds(10)) { status in
            zip(["a", "b", "c"], nodes).allSatisfy { id, node in
                status[id]?["advertise"]?.text == "wss://127.0.0.1:\(node.port)"
            }
        }
        try #require(ready, "three nodes registered with their addresses")
        return nodes
    }
}
