// Joining, leaving, dropping and resuming over the wire, with raw JSON clients.

import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("Room lifecycle over the wire")
struct LifecycleTests {
    @Test("three peers join and leave; everyone sees the events in order")
    func threePeersJoinAndLeave() async throws {
        try await TestServer.start().run { server in
            let (alice, aliceJoined) = try await server.join("alice", role: "host")
            #expect(aliceJoined.peers.isEmpty)
            #expect(aliceJoined.you.role == "host")
            #expect(aliceJoined.joinTimeMs >= 0 && aliceJoined.joinTimeMs < 1_000)
            #expect(aliceJoined.keepalive.deadAfterMs == 60_000)
            #expect(aliceJoined.media != nil)

            let (bob, bobJoined) = try await server.join("bob", role: "speaker")
            #expect(bobJoined.peers.map(\.id) == ["alice"])
            let (carol, carolJoined) = try await server.join("carol", role: "listener")
            // Highest role priority first.
            #expect(carolJoined.peers.map(\.id) == ["alice", "bob"])
            #expect(carolJoined.you.tracks.isEmpty)

            try await expectJoined(alice, ["bob", "carol"])
            try await expectJoined(bob, ["carol"])

            carol.send(#"{"v": 1, "type": "leave", "id": "bye"}"#)
            let ok = try await carol.next()
            #expect(ok.type == .ok && ok.id?.rawValue == "bye")
            #expect(try await carol.closeFrame()?.closeCode == .normalClosure)
            try await expectLeft(alice, "carol", .left)
            try await expectLeft(bob, "carol", .left)

            bob.send(#"{"v": 1, "type": "leave", "id": "bye"}"#)
            #expect(try await bob.next().type == .ok)
            try await expectLeft(alice, "bob", .left)
            #expect(try await alice.expectQuiet() == nil)
        }
    }

    @Test("a killed connection is seen as left/timeout by the others")
    func killedConnectionTimesOut() async throws {
        try await TestServer.start().run { server in
            let (alice, bob) = try await server.joinHostAndSpeaker()
            let killedAt = ContinuousClock.now
            bob.kill()
            try await expectLeft(alice, "bob", .timeout)
            // Seen from the closed TCP connection, before the 60 s silence deadline
            // (unless the whole test process was stalled meanwhile).
            #expect(ContinuousClock.now - killedAt < .seconds(30))
        }
    }

    @Test("a silent connection is dropped after deadAfterMs and seen as left/timeout; WebSocket ping frames are no sign of life")
    func silentConnectionTimesOut() async throws {
        // 3 s, not less: Alice's pings and the server's sweep share this
        // process, and when the whole package runs on two cores the pings can
        // be starved for over a second while the sweep runs (Alice then
        // counted silent too).
        try await TestServer.start(deadAfterMs: 3_000).run { server in
            let (alice, _) = try await server.join("alice", role: "host")
            // Bob's last message is his join: the server's deadline counts from
            // when it arrives, which is after this moment.
            let quietSince = ContinuousClock.now
            let (bob, _) = try await server.join("bob", role: "speaker")
            try await expectJoined(alice, ["bob"])
            // Alice keeps pinging; Bob sends WebSocket ping frames only (PROTOCOL.md, Keepalive).
            var left: ServerMessage?
            _ = try await waitUntil(timeout: .seconds(30), every: .milliseconds(100)) {
                alice.send(#"{"v": 1, "type": "ping", "id": "p"}"#)
                bob.send(frame: .ping, fin: true, [])
                let message = try await alice.next()
                if message.type == .peerLeft { left = message }
                return left != nil
            }
            let elapsed = ContinuousClock.now - quietSince
            guard case .peerLeft(let event) = left?.body else {
                Issue.record("alice never saw bob leave")
                return
            }
            #expect(event.peer == "bob" && event.reason == .timeout)
            // Never before the deadline. The upper bound is loose: when the whole
            // package's tests run, other suites can stall this process for seconds.
            #expect(elapsed >= .milliseconds(3_000) && elapsed < .seconds(30))
            _ = try await bob.closeFrame()
        }
    }

    @Test("resume within the grace restores role, mute state and chat position")
    func resumeRestoresState() async throws {
        // A grace of two minutes: with a build on the same cores, the steps
        // between the drop and the resume took longer than the default 20 s.
        try await TestServer.start(template: TestServer.template(resumeGraceMs: 120_000)).run { server in
            let (alice, lee, leeJoined) = try await server.joinHost(and: "lee", role: "listener")
            // Alice makes Lee a speaker; Lee unmutes.
            alice.send(#"{"v": 1, "type": "role.change", "id": "r1", "peer": "lee", "role": "speaker", "force": true}"#)
            #expect(try await alice.next(.ok).id?.rawValue == "r1")
            #expect(try await lee.next().type == .peerUpdated)
            #expect(try await lee.next().type == .trackAdded)
            lee.send(#"{"v": 1, "type": "track.unmute", "id": "u1", "track": "lee:mic"}"#)
            #expect(try await lee.next().type == .trackUnmuted)
            #expect(try await lee.next().type == .ok)
            // Two messages Lee sees.
            for index in 1...2 {
                alice.send(#"{"v": 1, "type": "chat.send", "id": "a\#(index)", "target": {"kind": "broadcast"}, "text": "m\#(index)"}"#)
                _ = try await alice.next(.chatAck)
                _ = try await lee.next(.chatMessage)
            }
            // Lee drops; Alice sends two more while Lee is away.
            lee.kill()
            try await expectLeft(alice, "lee", .timeout)
            for index in 3...4 {
                alice.send(#"{"v": 1, "type": "chat.send", "id": "a\#(index)", "target": {"kind": "broadcast"}, "text": "m\#(index)"}"#)
                _ = try await alice.next(.chatAck)
            }
            let resumeToken = leeJoined.reconnect.resumeToken
            let again = try await server.connect()
            again.send(#"{"v": 1, "type": "resume", "id": "c1", "room": "standup", "resumeToken": "\#(resumeToken)", "lastSeenSequence": 2}"#)
            let reply = try await again.next()
            guard case .joined(let joined) = reply.body else {
                Issue.record("expected joined, got \(reply)")
                return
            }
            #expect(joined.resumed)
            #expect(joined.you.role == "speaker")
            #expect(joined.you.tracks.first?.muted == false)
            #expect(joined.history.messages.map(\.seq) == [3, 4])
            #expect(joined.history.messages.map(\.text) == ["m3", "m4"])
            #expect(!joined.history.hasMore)
            #expect(joined.reconnect.resumeToken != resumeToken)
            let back = try await alice.next(.peerJoined)
            if case .peerJoined(let event) = back.body {
                #expect(event.resumed && event.peer.id == "lee" && event.peer.role == "speaker")
            }
            // The token was single-use.
            let third = try await server.connect()
            third.send(#"{"v": 1, "type": "resume", "id": "c1", "room": "standup", "resumeToken": "\#(resumeToken)", "lastSeenSequence": 0}"#)
            #expect(try await errorCode(third.next()) == .resumeRejected)
            #expect(try await third.closeFrame()?.closeCode == .policyViolation)
        }
    }

    @Test("resume after the grace is refused with 2008")
    func resumeAfterGrace() async throws {
        try await TestServer.start(template: TestServer.template(resumeGraceMs: 200)).run { server in
            let (alice, bob, bobJoined) = try await server.joinHost(and: "bob", role: "speaker")
            bob.kill()
            try await expectLeft(alice, "bob", .timeout)
            try await Task.sleep(for: .milliseconds(400))
            let again = try await server.connect()
            again.send(#"{"v": 1, "type": "resume", "id": "c1", "room": "standup", "resumeToken": "\#(bobJoined.reconnect.resumeToken)", "lastSeenSequence": 0}"#)
            #expect(try await errorCode(again.next()) == .resumeRejected)
        }
    }

    @Test("the same identity twice replaces the older session")
    func sameIdentityReplaces() async throws {
        try await TestServer.start().run { server in
            let (alice, bob) = try await server.joinHostAndSpeaker()
            let (bob2, joined) = try await server.join("bob", role: "speaker")
            #expect(joined.peers.map(\.id) == ["alice"])
            let replaced = try await bob.next()
            #expect(replaced.id == nil)
            #expect(errorCode(replaced) == .sessionReplaced)
            #expect(try await bob.closeFrame()?.closeCode == .normalClosure)
            try await expectLeft(alice, "bob", .replaced)
            try await expectJoined(alice, ["bob"])
            #expect(try await bob2.expectQuiet() == nil)
        }
    }

    @Test("a host ends the room locked: everyone gets room.ended, later joins get 4002")
    func hostEndsRoomLocked() async throws {
        try await TestServer.start().run { server in
            let (alice, bob) = try await server.joinHostAndSpeaker()
            alice.send(#"{"v": 1, "type": "room.end", "id": "e1", "lock": true, "reason": "Thanks, all!"}"#)
            let ended = try await alice.next()
            #expect(ended.type == .roomEnded)
            #expect(try await alice.next().type == .ok)
            #expect(try await bob.next().type == .roomEnded)
            #expect(try await alice.closeFrame()?.closeCode == .normalClosure)
            #expect(try await bob.closeFrame()?.closeCode == .normalClosure)
            let late = try await server.connect()
            let token = try await server.token(user: "carol", role: "speaker")
            late.send(#"{"v": 1, "type": "join", "id": "j", "room": "standup", "token": "\#(token)"}"#)
            #expect(try await errorCode(late.next()) == .roomLocked)
        }
    }

    @Test("graceful shutdown: server.goingAway, then close 1001")
    func gracefulShutdown() async throws {
        let server = try await TestServer.start()
        let (alice, _) = try await server.join("alice", role: "host")
        await server.stop()
        let notice = try await alice.next()
        #expect(notice.type == .serverGoingAway)
        #expect(try await alice.closeFrame()?.closeCode == .goingAway)
    }
}

// MARK: - Helpers shared by the suites

func expectJoined(_ client: RawClient, _ peers: [String], sourceLocation: SourceLocation = #_sourceLocation)
    async throws
{
    for expected in peers {
        let message = try await client.next()
        guard case .peerJoined(let event) = message.body else {
            Issue.record("expected peer.joined \(expected), got \(message)", sourceLocation: sourceLocation)
            return
        }
        #expect(event.peer.id.rawValue == expected, sourceLocation: sourceLocation)
    }
}

func expectLeft(
    _ client: RawClient, _ peer: String, _ reason: LeaveReason, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let message = try await client.next()
    guard case .peerLeft(let event) = message.body else {
        Issue.record("expected peer.left \(peer), got \(message)", sourceLocation: sourceLocation)
        return
    }
    #expect(event.peer.rawValue == peer && event.reason == reason, sourceLocation: sourceLocation)
}

func errorCode(_ message: ServerMessage) -> ErrorCode? {
    if case .error(let error) = message.body { return error.code }
    return nil
}
