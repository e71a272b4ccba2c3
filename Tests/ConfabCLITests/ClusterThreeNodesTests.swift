// Three `confab serve` nodes acting as one server, with separate processes:
// three clients, each through a different node, in one room.
//
//   test ─▶ PostgresServer ◀─ node a ◀─ alice (talks: --input WAV; redirected to b)
//                          ◀─ node b ◀─ bob (listens: --output WAV; places the room on b)
//                          ◀─ node c ◀─ carol (redirected to b)
//        ─▶ peer events, chat sent through each node in one numbered order,
//           alice's speech in bob's WAV (correlation)

import ConfabMedia
import ConfabTestSupport
import Foundation
import Testing

@Suite("Three nodes: clients through each meet in one room", .serialized)
struct ClusterThreeNodesTests {
    @Test("three clients through three nodes: each sees the others join, chat in one order numbered 1…3, alice heard by bob")
    func threeClientsThroughThreeNodes() async throws {
        let started = ContinuousClock.now
        let database = try await PostgresServer()
        defer { database.remove() }
        async let startA = ServerProcess(database: database.url, arguments: ["--node-id", "a"])
        async let startB = ServerProcess(database: database.url, arguments: ["--node-id", "b"])
        async let startC = ServerProcess(database: database.url, arguments: ["--node-id", "c"])
        let (nodeA, nodeB, nodeC) = try await (startA, startB, startC)
        let ready = try await NodeProcessTests.waitForStatus(database, timeout: .seconds(10)) { nodes in
            [("a", nodeA), ("b", nodeB), ("c", nodeC)].allSatisfy { id, node in
                nodes[id]?["advertise"]?.text == "wss://127.0.0.1:\(node.port)"
            }
        }
        try #require(ready, "three nodes registered with their addresses")
        let room = "three-\(UUID().uuidString.prefix(6))"
        // Bob listens first (through b, which places the room), then alice talks through a
        // while carol joins through c: both are redirected to b, alice's media included.
        let scratch = try TempDirectory(prefix: "confab-three")
        let reference = try pcmOf(SpeechLikeSource(seed: 17, durationSeconds: 4))
        try WAVFile.write(reference, path: scratch.file("alice.wav"))
        // No --duration: a bot given one reads no commands. Interrupted, bob finishes his WAV.
        let bob = try await HeadlessBot(
            "bob", server: nodeB, room: room, role: "speaker", arguments: ["--output", scratch.file("bob.wav")])
        try await bob.expectEvent("media.bound", ["bound": "true"])
        let aliceToken = try await nodeA.token(room: room, user: "alice", role: "host", name: "Alice")
        let carolToken = try await nodeC.token(room: room, user: "carol", role: "speaker", name: "Carol")
        let alice = try HeadlessBot(
            "alice", server: nodeA, room: room, token: aliceToken,
            arguments: ["--input", scratch.file("alice.wav")])
        let carol = try HeadlessBot("carol", server: nodeC, room: room, token: carolToken)
        let bots = [alice, bob, carol]
        for bot in bots { try await bot.expectEvent("joined", ["you.id": bot.name]) }
        #expect(try await ClusterRoutingTests.placements(database)[room]?.node == "b")
        // Each sees the other two: in the room when it joined, or joining after.
        for bot in bots {
            let others = Set(bots.map(\.name)).subtracting([bot.name])
            var seen = Set<String>()
            let all = await waitUntil(timeout: .seconds(15)) {
                seen = []
                for line in bot.lines {
                    switch line["event"]?.text {
                    case "joined": seen.formUnion(ClusterRoutingTests.peerIDs(line))
                    case "peer.joined": if let id = line["peer.id"]?.text { seen.insert(id) }
                    default: break
                    }
                }
                return seen.isSuperset(of: others)
            }
            #expect(all, "\(bot.name) saw \(seen.sorted()) of \(others.sorted())")
        }
        // One message sent through each node at once: one numbering, the same order for everyone.
        for bot in bots { try bot.send(#"{"id": "c", "cmd": "chat", "text": "from \#(bot.name)"}"#) }
        for bot in bots { try await bot.expectEvent("result", ["id": "c", "cmd": "chat", "ok": "true"]) }
        var orders: [String: [String: String]] = [:]
        for bot in bots {
            for sender in bots { try await bot.expectEvent("chat.message", ["message.text": "from \(sender.name)"]) }
            var order: [String: String] = [:]
            for line in bot.lines where line["event"]?.text == "chat.message" {
                if let seq = line["message.seq"]?.text { order[seq] = line["message.text"]?.text }
            }
            orders[bot.name] = order
        }
        #expect(Set((orders["bob"] ?? [:]).keys) == ["1", "2", "3"], "numbers: \(orders)")
        #expect(orders["alice"] == orders["bob"] && orders["carol"] == orders["bob"], "one order: \(orders)")
        // Alice's speech went through the room's node (b) into bob's WAV: once bob
        // has her 4 s of 20 ms packets (a few lost allowed) and one more second
        // of stats (the last of it played out), both leave.
        let allIn = try await bob.expect("media.stats with alice's 4 s", timeout: .seconds(20)) {
            $0["event"]?.text == "media.stats" && ($0["peers.alice.received"]?.text.flatMap { Int($0) } ?? 0) >= 190
        }
        try await bob.expectEvent("media.stats", from: allIn.index + 1)
        for bot in [alice, bob] { bot.process.interrupt() }
        #expect(await alice.process.wait(seconds: 30) == 0, "\(alice.process.standardError)")
        #expect(await bob.process.wait(seconds: 30) == 0, "\(bob.process.standardError)")
        let match = SignalComparison.segmentedMatch(
            reference: reference, received: try WAVFile.read(path: scratch.file("bob.wav")), maxLagSamples: 48_000 * 6)
        print("three nodes: correlation \(match.correlation) over \(match.segments) segments; test took \(ContinuousClock.now - started)")
        #expect(match.correlation >= 0.9)
        await finish([carol], stopping: [nodeA, nodeB, nodeC])
    }
}
