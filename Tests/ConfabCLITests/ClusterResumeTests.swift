// A node killed under a room whose host gave roles and muted someone: its
// clients resume on the other node as the room had them, with separate
// processes.
//
//   test ─▶ PostgresServer ◀─ node a (holds the room) ◀─ alice (host), carol (speaker, muted by alice)
//                          ◀─ node b ◀─ bob (speaker through b, made a host by alice)
//        ─▶ kept_session rows written ─▶ kill -9 node a ─▶ all three resume on b (resumed: true)
//
//   and: alice joins on node a alone ─▶ node b starts ─▶ cluster.nodes names b
//        ─▶ kill -9 node a ─▶ alice resumes on b, which her `joined` did not name

import ConfabTestSupport
import Foundation
import Testing

@Suite("A cluster's clients resume on another node with their roles and mutes", .serialized)
struct ClusterResumeTests {
    /// The peers `bot` sees (its `state` command), by id, once all of `expected` are there.
    static func peersSeen(by bot: HeadlessBot, expected: Set<String>) async throws -> [String: JSON] {
        var seen: [String: JSON] = [:]
        var asked = 0
        await waitUntil(timeout: .seconds(15), every: .milliseconds(200)) {
            asked += 1
            guard (try? bot.send(#"{"id": "s\#(asked)", "cmd": "state"}"#)) != nil,
                let state = try? await bot.expectEvent("state", ["id": "s\(asked)"], timeout: .seconds(5))
            else { return false }
            seen = [:]
            for peer in (state.line["peers"]?.array ?? []) + [state.line["you"]].compactMap({ $0 }) {
                if let id = peer["id"]?.text { seen[id] = peer }
            }
            return expected.isSubset(of: seen.keys)
        }
        return seen
    }

    /// Nodes a and b; alice (host) and carol (speaker) through a, bob (speaker)
    /// through b, all three in one new room held by node a.
    static func threeInARoom(_ database: PostgresServer, named prefix: String) async throws
        -> (nodeA: ServerProcess, nodeB: ServerProcess, room: String, alice: HeadlessBot, bob: HeadlessBot, carol: HeadlessBot)
    {
        let (nodeA, nodeB) = try await ClusterRoutingTests.twoNodes(database)
        let room = "\(prefix)-\(UUID().uuidString.prefix(6))"
        let alice = try await HeadlessBot.joined("alice", server: nodeA, room: room, role: "host")
        let bob = try await HeadlessBot.joined("bob", server: nodeB, room: room, role: "speaker")
        let carol = try await HeadlessBot.joined("carol", server: nodeA, room: room, role: "speaker")
        #expect(try await ClusterRoutingTests.placements(database)[room]?.node == "a")
        return (nodeA, nodeB, room, alice, bob, carol)
    }

    @Test("kill -9 of the room's node: a co-host and a muted peer come back on the other node as they were")
    func rolesAndMutesSurvive() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let (nodeA, nodeB, room, alice, bob, carol) = try await Self.threeInARoom(database, named: "kept")
        // Bob unmutes and alice makes him a host (above his token's speaker);
        // carol unmutes and alice mutes her. A fresh join would undo all three.
        try bob.send(#"{"id": "u", "cmd": "unmute"}"#)
        try await alice.expectEvent("track.unmuted", ["track": "bob:mic"])
        try alice.send(#"{"id": "r", "cmd": "role", "peer": "bob", "role": "host", "force": true}"#)
        try await bob.expectEvent("peer.updated", ["peer.id": "bob", "peer.role": "host"])
        try carol.send(#"{"id": "u", "cmd": "unmute"}"#)
        try await alice.expectEvent("track.unmuted", ["track": "carol:mic"])
        try alice.send(#"{"id": "m", "cmd": "mute", "peer": "carol"}"#)
        try await carol.expectEvent("track.muted", ["track": "carol:mic"])
        // Node a writes what changed with its next heartbeat (every 2 s).
        let kept = try await waitUntil(timeout: .seconds(10), every: .milliseconds(200)) {
            let rows = try await database.query(
                "SELECT peer || ' ' || state FROM kept_session WHERE room = '\(room)' AND node = 'a' ORDER BY peer")
            return rows.contains(#"bob {"#) && rows.contains(#""role":"host""#) && rows.contains(#""mutedBy":"alice""#)
                && rows.split(separator: "\n").count == 3
        }
        try #require(kept, "node a keeps the three sessions in the database")
        // A message acknowledged just before the kill must reach everyone.
        try alice.send(#"{"id": "c", "cmd": "chat", "text": "last words of node a"}"#)
        try await alice.expectEvent("result", ["id": "c", "ok": "true"])
        let marks = [alice, bob, carol].map { $0.lines.count }
        let killed = ContinuousClock.now
        nodeA.process.kill()
        _ = await nodeA.process.wait(seconds: 10)
        for (bot, mark) in zip([alice, bob, carol], marks) {
            try await bot.expectEvent("reconnected", ["resumed": "true"], from: mark, timeout: .seconds(30))
        }
        let backAfter = ContinuousClock.now - killed
        print("\(room): the three clients resumed on node b \(backAfter) after node a was killed")
        #expect(backAfter < .seconds(10))
        #expect(try await ClusterRoutingTests.placements(database)[room]?.node == "b")
        try await bob.expectEvent("joined", ["resumed": "true", "you.role": "host"], from: marks[1])
        // Everyone sees bob a host and unmuted, carol muted by alice.
        for bot in [alice, bob, carol] {
            let peers = try await Self.peersSeen(by: bot, expected: ["alice", "bob", "carol"])
            let bobTrack = peers["bob"]?["tracks"]?.array.first
            let carolTrack = peers["carol"]?["tracks"]?.array.first
            #expect(peers["bob"]?["role"]?.text == "host", "\(bot.name) sees bob: \(String(describing: peers["bob"]))")
            #expect(bobTrack?["muted"]?.text == "false", "\(bot.name) sees bob's microphone: \(String(describing: bobTrack))")
            #expect(peers["carol"]?["role"]?.text == "speaker")
            #expect(carolTrack?["muted"]?.text == "true", "\(bot.name) sees carol's microphone: \(String(describing: carolTrack))")
            #expect(carolTrack?["mutedBy"]?.text == "alice")
        }
        // Bob's host role is real on node b: he may give roles.
        try bob.send(#"{"id": "r2", "cmd": "role", "peer": "carol", "role": "listener", "force": true}"#)
        try await bob.expectEvent("result", ["id": "r2", "ok": "true"], from: marks[1])
        try await carol.expectEvent("peer.updated", ["peer.id": "carol", "peer.role": "listener"], from: marks[2])
        // No acknowledged message lost: the last one before the kill reached bob and carol.
        for bot in [bob, carol] {
            let got = ClusterRoutingTests.lines(of: bot, containing: "last words of node a").contains { line in
                line["message.text"]?.text == "last words of node a"
                    || (line["history"]?.array ?? []).contains { $0["text"]?.text == "last words of node a" }
            }
            #expect(got, "\(bot.name) has the last message acknowledged on node a")
        }
        await finish([alice, bob, carol], stopping: [nodeB])
    }

    @Test("joined before a second node started: when the room's node is killed, the client resumes on the new one")
    func resumeOnANodeStartedLater() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let nodeA = try await ServerProcess(database: database.url, arguments: ["--node-id", "a"])
        let room = "later-\(UUID().uuidString.prefix(6))"
        let alice = try await HeadlessBot.joined("alice", server: nodeA, room: room, role: "host")
        // Node b starts after her join (whose `reconnect.nodes` named node a alone), and she hears of it.
        let nodeB = try await ServerProcess(database: database.url, arguments: ["--node-id", "b"])
        let announced = try await alice.expect("cluster.nodes naming node b", timeout: .seconds(15)) { line in
            line["event"]?.text == "cluster.nodes"
                && (line["nodes"]?.array ?? []).contains { $0.text == "wss://127.0.0.1:\(nodeB.port)" }
        }
        #expect(
            (announced.line["nodes"]?.array ?? []).contains { $0.text == "wss://127.0.0.1:\(nodeA.port)" },
            "the list is the whole cluster: \(announced.line)")
        let kept = try await waitUntil(timeout: .seconds(10), every: .milliseconds(200)) {
            try await database.query("SELECT count(*) FROM kept_session WHERE room = '\(room)' AND node = 'a'") == "1"
        }
        try #require(kept, "node a keeps alice's session in the database")
        let mark = alice.lines.count
        let killed = ContinuousClock.now
        nodeA.process.kill()
        _ = await nodeA.process.wait(seconds: 10)
        // Node a's address refuses connections: only node b, known from cluster.nodes, can take her.
        try await alice.expectEvent("reconnected", ["resumed": "true"], from: mark, timeout: .seconds(30))
        print("\(room): alice (joined before node b started) resumed on b \(ContinuousClock.now - killed) after a was killed")
        try await alice.expectEvent("joined", ["resumed": "true", "you.role": "host"], from: mark)
        #expect(try await ClusterRoutingTests.placements(database)[room]?.node == "b")
        await finish([alice], stopping: [nodeB])
    }
}
