// What a room of a cluster changed just before its node went away is what its
// clients come back with on the other node, with separate processes.
//
//   test ─▶ PostgresServer ◀─ node a (holds the room) ◀─ alice (host), carol (speaker)
//                          ◀─ node b ◀─ bob (through b)
//   kill -9: alice demotes bob and mutes carol; writes of kept_session take 0.3 s a row
//            (a trigger), and node a is killed the moment the second answer is in
//   SIGTERM: alice promotes bob and mutes carol, a message is acknowledged, node a is stopped

import ConfabTestSupport
import Foundation
import Testing

@Suite("A cluster keeps a change acknowledged just before its node went away", .serialized)
struct ClusterKeptChangeTests {
    /// Node a with alice and carol, node b with bob (redirected to a), all
    /// unmuted, bob made a host by alice; returns once node a keeps all three.
    static func roomOnNodeA(_ database: PostgresServer) async throws
        -> (nodes: (a: ServerProcess, b: ServerProcess), room: String, bots: (alice: HeadlessBot, bob: HeadlessBot, carol: HeadlessBot))
    {
        let (nodeA, nodeB, room, alice, bob, carol) = try await ClusterResumeTests.threeInARoom(database, named: "change")
        for bot in [bob, carol] {
            try bot.send(#"{"id": "u", "cmd": "unmute"}"#)
            try await alice.expectEvent("track.unmuted", ["track": "\(bot.name):mic"])
        }
        try alice.send(#"{"id": "r0", "cmd": "role", "peer": "bob", "role": "host", "force": true}"#)
        try await alice.expectEvent("result", ["id": "r0", "ok": "true"])
        let kept = try await waitUntil(timeout: .seconds(10), every: .milliseconds(200)) {
            let rows = try await database.query(
                "SELECT peer || ' ' || state FROM kept_session WHERE room = '\(room)' AND node = 'a' ORDER BY peer")
            let lines = rows.split(separator: "\n")
            return lines.count == 3 && lines.contains { $0.hasPrefix("bob ") && $0.contains(#""role":"host""#) }
                && lines.contains { $0.hasPrefix("carol ") && $0.contains(#""muted":false"#) }
        }
        try #require(kept, "node a keeps the three sessions, bob a host and carol unmuted")
        return ((nodeA, nodeB), room, (alice, bob, carol))
    }

    /// Waits for the three to resume on node b, then checks what everyone sees of bob and carol.
    static func expectBack(
        _ bots: [HeadlessBot], marks: [Int], bobRole: String, since: ContinuousClock.Instant, what: String
    ) async throws {
        for (bot, mark) in zip(bots, marks) {
            try await bot.expectEvent("reconnected", ["resumed": "true"], from: mark, timeout: .seconds(30))
        }
        print("\(what): the three clients resumed on node b \(ContinuousClock.now - since) later")
        try await bots[1].expectEvent("joined", ["resumed": "true", "you.role": bobRole], from: marks[1])
        for bot in bots {
            let peers = try await ClusterResumeTests.peersSeen(by: bot, expected: ["alice", "bob", "carol"])
            let carolTrack = peers["carol"]?["tracks"]?.array.first
            #expect(peers["bob"]?["role"]?.text == bobRole, "\(bot.name) sees bob: \(String(describing: peers["bob"]))")
            #expect(carolTrack?["muted"]?.text == "true", "\(bot.name) sees carol's microphone: \(String(describing: carolTrack))")
            #expect(carolTrack?["mutedBy"]?.text == "alice")
        }
    }

    /// How long `bot` waits for the answer to `command` (its id is `id`), through its process.
    static func answerTime(_ bot: HeadlessBot, id: String, _ command: String) async throws -> Duration {
        let sent = ContinuousClock.now
        try bot.send(command)
        try await bot.expectEvent("result", ["id": id, "ok": "true"])
        return ContinuousClock.now - sent
    }

    @Test("kill -9 the moment a demotion and a mute are answered: bob comes back demoted, carol muted")
    func demotionAndMuteSurviveAKill() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let ((nodeA, nodeB), room, (alice, bob, carol)) = try await Self.roomOnNodeA(database)
        // What a change costs now: a hand (written off the room's path) against a
        // role change (written first), each through alice's process, six times.
        var hands: [Duration] = []
        var roles: [Duration] = []
        for index in 1...6 {
            hands.append(try await Self.answerTime(alice, id: "h\(index)", #"{"id": "h\#(index)", "cmd": "raiseHand"}"#))
            _ = try await Self.answerTime(alice, id: "l\(index)", #"{"id": "l\#(index)", "cmd": "lowerHand"}"#)
            let role = index % 2 == 1 ? "speaker" : "host"
            roles.append(
                try await Self.answerTime(
                    alice, id: "p\(index)", #"{"id": "p\#(index)", "cmd": "role", "peer": "bob", "role": "\#(role)", "force": true}"#))
        }
        print("\(room): answered in \(hands.sorted()[3]) (hand, median) and \(roles.sorted()[3]) (role change, median)")
        // Bob is a host again (the sixth change). From now on every write of a
        // kept session takes 0.3 s a row: a write still under way when the node
        // dies is lost with it.
        _ = try await database.query(#"""
            CREATE FUNCTION slow_kept() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep(0.3); RETURN COALESCE(NEW, OLD); END $$;
            CREATE TRIGGER slow_kept BEFORE INSERT OR UPDATE OR DELETE ON kept_session
            FOR EACH ROW EXECUTE FUNCTION slow_kept();
            """#)
        let demoted = try await Self.answerTime(
            alice, id: "d", #"{"id": "d", "cmd": "role", "peer": "bob", "role": "listener", "force": true}"#)
        let muted = try await Self.answerTime(alice, id: "m", #"{"id": "m", "cmd": "mute", "peer": "carol"}"#)
        let marks = [alice, bob, carol].map { $0.lines.count }
        let killed = ContinuousClock.now
        nodeA.process.kill()
        _ = await nodeA.process.wait(seconds: 10)
        print("\(room): demotion answered in \(demoted), mute in \(muted), with writes slowed to 0.3 s a row")
        try await Self.expectBack([alice, bob, carol], marks: marks, bobRole: "listener", since: killed, what: room)
        await finish([alice, bob, carol], stopping: [nodeB])
    }

    @Test("SIGTERM: the room is handed over, everyone resumes with roles and mutes, no acknowledged message lost")
    func sigtermHandsOver() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        let ((nodeA, nodeB), room, (alice, bob, carol)) = try await Self.roomOnNodeA(database)
        try alice.send(#"{"id": "m", "cmd": "mute", "peer": "carol"}"#)
        try await alice.expectEvent("result", ["id": "m", "ok": "true"])
        try carol.send(#"{"id": "c", "cmd": "chat", "text": "said before the stop"}"#)
        try await carol.expectEvent("result", ["id": "c", "ok": "true"])
        let marks = [alice, bob, carol].map { $0.lines.count }
        let stopped = ContinuousClock.now
        nodeA.process.terminate()
        #expect(await nodeA.process.wait(seconds: 30) == 0, "node a exits cleanly on SIGTERM")
        try await Self.expectBack([alice, bob, carol], marks: marks, bobRole: "host", since: stopped, what: room)
        #expect(try await ClusterRoutingTests.placements(database)[room]?.node == "b")
        for bot in [alice, bob] {
            let got = ClusterRoutingTests.lines(of: bot, containing: "said before the stop").contains { line in
                line["message.text"]?.text == "said before the stop"
                    || (line["history"]?.array ?? []).contains { $0["text"]?.text == "said before the stop" }
            }
            #expect(got, "\(bot.name) has the message acknowledged before the stop")
        }
        // Bob's host role works on node b.
        try bob.send(#"{"id": "r2", "cmd": "role", "peer": "carol", "role": "listener", "force": true}"#)
        try await bob.expectEvent("result", ["id": "r2", "ok": "true"], from: marks[1])
        await finish([alice, bob, carol], stopping: [nodeB])
    }
}
