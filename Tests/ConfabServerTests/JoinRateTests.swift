// A client that joins one room in a loop with one token makes the room read
// history, store the session and tell every member each time: past ten joins
// in a minute the server refuses with 4016 and keeps the connection open.

import ConfabProtocol
import Testing

@testable import ConfabServer

@Suite("Joins per identity are rate-limited on the server")
struct JoinRateTests {
    @Test("the eleventh join as bob in a minute is 4016 with its id; the connection stays open for another join; bob's session still resumes")
    func eleventhJoinRefused() async throws {
        try await TestServer.start().run { server in
            let (alice, _) = try await server.join("alice", role: "host")
            var lastJoined: Joined?
            for _ in 0..<10 {
                // Each join replaces the one before it.
                lastJoined = try await server.join("bob", role: "speaker").1
            }
            let client = try await server.connect()
            let bobToken = try await server.token(user: "bob", role: "speaker")
            client.send(#"{"v": 1, "type": "join", "id": "j11", "room": "standup", "token": "\#(bobToken)"}"#)
            let refusal = try await client.next()
            #expect(errorCode(refusal) == .joinsRateLimited)
            #expect(refusal.id == "j11")
            if case .error(let error) = refusal.body {
                #expect(error.message.contains("join again in"))
                // The first of the ten joins leaves the window within the minute.
                #expect((1...60_000).contains(error.retryAfterMs ?? 0), "\(error)")
            }

            // The same connection joins as someone else.
            let carolToken = try await server.token(user: "carol", role: "speaker")
            client.send(#"{"v": 1, "type": "join", "id": "j12", "room": "standup", "token": "\#(carolToken)"}"#)
            let carolJoined = try await client.next()
            guard case .joined = carolJoined.body else {
                Issue.record("carol expected joined, got \(carolJoined)")
                return
            }
            _ = try await alice.next { message in
                if case .peerJoined(let event) = message.body { event.peer.id == "carol" } else { false }
            }

            // Bob's tenth session was untouched, and a resume is not a join.
            let resumeToken = try #require(lastJoined?.reconnect.resumeToken)
            let again = try await server.connect()
            again.send(
                #"{"v": 1, "type": "resume", "id": "r1", "room": "standup", "resumeToken": "\#(resumeToken)", "lastSeenSequence": 0}"#)
            let resumed = try await again.next()
            guard case .joined(let joined) = resumed.body else {
                Issue.record("bob expected to resume, got \(resumed)")
                return
            }
            #expect(joined.resumed)
        }
    }
}
