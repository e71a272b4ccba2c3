// The real SDK against the real server: `ConfabSession`s over TLS with the
// certificate pinned, to an in-process `confab serve` on loopback. Each test
// starts its own server and stops it; what is checked is what each
// participant's RoomStore shows, as a user of the SDK would see it.

import ConfabClient
import ConfabProtocol
import Foundation
import Testing

@Suite("End to end: SDK sessions against the real server", .timeLimit(.minutes(2)))
struct EndToEndTests {
    @Test("joins and leaves arrive in order for everyone, and each store shows the right peers")
    func joinAndLeaveOrder() async throws {
        let (server, alice, bob, carol) = try await LiveServer.start().withThreeJoined(room: "order")

        #expect(alice.peerEvents == ["+bob", "+carol"])
        #expect(bob.peerEvents == ["+carol"], "alice came in bob's joined snapshot")
        #expect(carol.peerEvents == [])
        #expect(carol.state.orderedPeers.map(\.id) == ["alice", "bob"], "highest role first")
        #expect(carol.state.peers["alice"]?.role == "host")
        #expect(carol.state.peers["bob"]?.tracks.map(\.id) == ["bob:mic"])
        #expect(carol.state.you?.tracks == [], "a listener has no microphone")
        #expect(alice.state.joinTimeMs.map { $0 >= 0 && $0 < 5_000 } == true)

        await carol.session.leave()
        #expect(carol.state.connection == .disconnected(.left))
        await alice.until("carol gone") { $0.peers["carol"] == nil }
        await bob.until("carol gone") { $0.peers["carol"] == nil }

        await bob.session.leave()
        await alice.until("bob gone") { $0.peers.isEmpty }

        #expect(alice.peerEvents == ["+bob", "+carol", "-carol(left)", "-bob(left)"])
        #expect(bob.peerEvents == ["+carol", "-carol(left)"])
        await alice.session.leave()
        await server.stop()
    }

    @Test("a client that dies without leaving is seen as left with reason timeout")
    func deadClientTimesOut() async throws {
        let deadAfterMs = 1_000
        let (server, alice, bob, carol) = try await LiveServer.start(deadAfterMs: deadAfterMs).withThreeJoined(room: "dead")

        // A hung process: nothing more goes either way, no close, no comeback.
        carol.transport.refuseConnections()
        carol.transport.freeze()
        let frozenAt = ContinuousClock.now
        await alice.until("carol dropped") { $0.peers["carol"] == nil }
        let elapsed = ContinuousClock.now - frozenAt
        await bob.until("carol dropped") { $0.peers["carol"] == nil }

        #expect(alice.peerEvents.last == "-carol(timeout)")
        #expect(bob.peerEvents.last == "-carol(timeout)")
        // Not before the server's deadline (less the ping interval: carol's
        // last ping may have been up to a quarter of it before the freeze).
        #expect(elapsed >= .milliseconds(deadAfterMs * 3 / 4 - 50), "dropped after \(elapsed)")
        // The others were kept alive by their own pings meanwhile.
        #expect(!alice.peerEvents.contains { $0.hasPrefix("-bob") })
        #expect(!bob.peerEvents.contains { $0.hasPrefix("-alice") })

        await leaveAll(alice, bob, carol)
        await server.stop()
    }

    @Test("reconnecting within the grace restores role, mute state and the chat, with no gaps or duplicates")
    func reconnectWithinGrace() async throws {
        let (server, alice, bob, carol) = try await LiveServer.start(resumeGraceMs: 15_000).withThreeJoined(room: "resume")

        // Carol becomes a speaker and unmutes: state the server must keep.
        try await alice.session.changeRole(of: "carol", to: "speaker", force: true)
        await carol.until("speaker with a microphone") { $0.you?.role == "speaker" && $0.yourMicrophone != nil }
        try await carol.session.unmuteSelf()
        var carolSees: [Int] = []
        carolSees.append(try await alice.session.broadcast("before 1").seq)
        carolSees.append(try await bob.session.broadcast("before 2").seq)
        await carol.until("the chat before the drop") { $0.chat.count == 2 }

        // The network drops; carol's reconnection attempts fail until allowed.
        carol.transport.refuseConnections()
        await carol.transport.cut()
        await alice.until("carol dropped") { $0.peers["carol"] == nil }
        await bob.until("carol dropped") { $0.peers["carol"] == nil }
        #expect(alice.peerEvents.last == "-carol(timeout)")

        // While she is away: messages she is a recipient of, and one she is not.
        carolSees.append(try await alice.session.broadcast("away 1").seq)
        carolSees.append(try await bob.session.send("away 2 (to carol)", toPeers: ["carol"]).seq)
        carolSees.append(try await alice.session.send("away 3 (to speakers)", toRoles: ["speaker"]).seq)
        let notForCarol = try await bob.session.send("away 4 (hosts only)", toRoles: ["host"]).seq
        carolSees.append(try await alice.session.broadcast("away 5").seq)
        #expect(carol.state.connection != .connected)

        carol.transport.allowConnections()
        await carol.until("reconnected") { $0.connection == .connected && $0.reconnectCount == 1 }
        #expect(carol.events.contains(.reconnected(resumed: true)), "the session was resumed, not joined afresh")

        let you = carol.state.you
        #expect(you?.role == "speaker")
        #expect(you?.tracks.first?.muted == false, "still unmuted after the resume")
        let expectedCount = carolSees.count
        await carol.until("every message carol may read") { $0.chat.count == expectedCount }
        #expect(carol.state.chat.map(\.seq) == carolSees, "no gaps, in order")
        #expect(!carol.state.chat.contains { $0.seq == notForCarol })
        #expect(carol.chatTexts == ["before 1", "before 2", "away 1", "away 2 (to carol)", "away 3 (to speakers)", "away 5"])
        // No duplicates on the wire either: each message reached carol once
        // (live, in a joined's history, or in a history page).
        var deliveries: [Int: Int] = [:]
        for event in carol.events {
            switch event {
            case .chatMessage(let message): deliveries[message.seq, default: 0] += 1
            case .joined(let joined, _): for message in joined.history.messages { deliveries[message.seq, default: 0] += 1 }
            case .chatHistory(let page, _): for message in page.messages { deliveries[message.seq, default: 0] += 1 }
            default: break
            }
        }
        #expect(deliveries == Dictionary(uniqueKeysWithValues: carolSees.map { ($0, 1) }))

        // The others see her come back as she was.
        for other in [alice, bob] {
            await other.until("carol back") { $0.peers["carol"] != nil }
            #expect(other.peerEvents.last == "+carol(resumed)")
            #expect(other.state.peers["carol"]?.role == "speaker")
            #expect(other.state.peers["carol"]?.tracks.first?.muted == false)
        }
        // And the chat goes on from where it was.
        let next = try await carol.session.broadcast("back").seq
        #expect(next == notForCarol + 2)
        await alice.until("carol's message") { $0.chat.last?.text == "back" }

        await leaveAll(alice, bob, carol)
        await server.stop()
    }

    @Test("broadcast, role and direct chat reach exactly the right peers")
    func chatRouting() async throws {
        let (server, alice, bob, carol) = try await LiveServer.start().withThreeJoined(room: "chat")

        _ = try await alice.session.broadcast("hello all")
        _ = try await bob.session.send("for hosts", toRoles: ["host"])
        _ = try await alice.session.send("psst carol", toPeers: ["carol"])
        _ = try await carol.session.send("a question", toRoles: ["host", "speaker"])
        // Listeners may not send direct messages: refused, nothing posted.
        do {
            _ = try await carol.session.send("hi bob", toPeers: ["bob"])
            Issue.record("a listener sent a direct message")
        } catch {
            #expect(error.code == .cannotChatDirect)
        }
        // Messages on one connection arrive in order: once everyone has the
        // last broadcast, nothing earlier is still on its way.
        _ = try await alice.session.broadcast("the end")
        for participant in [alice, bob, carol] {
            await participant.until("the last message") { $0.chat.last?.text == "the end" }
        }

        #expect(alice.chatTexts == ["hello all", "for hosts", "psst carol", "a question", "the end"])
        #expect(bob.chatTexts == ["hello all", "for hosts", "a question", "the end"])
        #expect(carol.chatTexts == ["hello all", "psst carol", "a question", "the end"])
        #expect(carol.state.unread[.direct(["alice"])] == 1)
        #expect(bob.state.unread[.roles(["host"])] == nil, "your own messages are not unread")
        #expect(alice.state.unread[.roles(["host"])] == 1)
        #expect(carol.state.chat.first?.fromName == "Alice")

        await leaveAll(alice, bob, carol)
        await server.stop()
    }

    @Test("a host mutes a speaker: the speaker's store shows muted by the host; a listener cannot")
    func hostMutesSpeaker() async throws {
        let (server, alice, bob, carol) = try await LiveServer.start().withThreeJoined(room: "mute")

        try await bob.session.unmuteSelf()
        for participant in [alice, carol] {
            await participant.until("bob unmuted") { $0.peers["bob"]?.tracks.first?.muted == false }
        }
        try await alice.session.mute(peer: "bob")
        await bob.until("muted by alice") { $0.yourMicrophone?.muted == true && $0.yourMicrophone?.mutedBy == "alice" }
        for participant in [alice, carol] {
            await participant.until("bob muted by alice") {
                $0.peers["bob"]?.tracks.first?.muted == true && $0.peers["bob"]?.tracks.first?.mutedBy == "alice"
            }
        }

        // A listener may not mute anyone, and nothing changes.
        try await alice.session.unmuteSelf()
        await carol.until("alice unmuted") { $0.peers["alice"]?.tracks.first?.muted == false }
        do {
            try await carol.session.mute(peer: "alice")
            Issue.record("a listener muted the host")
        } catch {
            #expect(error.code == .cannotMuteOthers)
        }
        _ = try await bob.session.broadcast("sync")
        await alice.until("bob's message") { $0.chat.last?.text == "sync" }
        #expect(alice.state.isMuted == false)
        #expect(!alice.events.contains { if case .trackMuted(peer: "alice", _, _) = $0 { true } else { false } })

        // Asking to unmute is a prompt the speaker accepts.
        let prompt = try await alice.session.askToUnmute(peer: "bob")
        #expect(prompt != nil)
        await bob.until("the unmute request") { $0.pendingPrompts.first?.question == .unmute("bob:mic") }
        if let id = bob.state.pendingPrompts.first?.id {
            try await bob.session.answer(id, accept: true)
        }
        await bob.until("unmuted by himself") { $0.yourMicrophone?.muted == false }
        await alice.until("the answer") { $0.promptAnswers.last?.accepted == true && $0.peers["bob"]?.tracks.first?.muted == false }

        await leaveAll(alice, bob, carol)
        await server.stop()
    }

    @Test("a role change request accepted by the target shows in everyone's store")
    func roleChangeAccepted() async throws {
        let (server, alice, bob, carol) = try await LiveServer.start().withThreeJoined(room: "roles")

        let prompt = try await alice.session.requestRoleChange(of: "carol", to: "speaker")
        #expect(prompt != nil)
        #expect(alice.state.outgoingPrompts[prompt ?? "none"]?.to == "carol")
        await carol.until("the question") { $0.pendingPrompts.count == 1 }
        let pending = carol.state.pendingPrompts.first
        #expect(pending?.by == "alice")
        #expect(pending?.question == .roleChange("speaker"))
        // Nothing changes before the answer.
        #expect(bob.state.peers["carol"]?.role == "listener")

        if let pending { try await carol.session.answer(pending.id, accept: true) }
        #expect(carol.state.pendingPrompts.isEmpty)
        await carol.until("speaker") { $0.you?.role == "speaker" }
        #expect(carol.state.yourMicrophone?.muted == true, "the new microphone starts muted")
        #expect(carol.state.yourRole?.publishAudio == true)
        for participant in [alice, bob] {
            await participant.until("carol a speaker with a microphone") {
                $0.peers["carol"]?.role == "speaker" && $0.peers["carol"]?.tracks.map(\.id) == ["carol:mic"]
            }
        }
        await alice.until("the answer") { $0.promptAnswers.last?.accepted == true }
        #expect(alice.state.outgoingPrompts.isEmpty)
        #expect(alice.state.promptAnswers.last?.peer == "carol")

        // A declined request changes nothing.
        let second = try await alice.session.requestRoleChange(of: "bob", to: "listener")
        await bob.until("the question") { $0.pendingPrompts.count == 1 }
        if let id = bob.state.pendingPrompts.first?.id { try await bob.session.answer(id, accept: false) }
        await alice.until("the refusal") { $0.promptAnswers.last?.prompt == second && $0.promptAnswers.last?.accepted == false }
        #expect(bob.state.you?.role == "speaker")
        #expect(alice.state.peers["bob"]?.role == "speaker")

        await leaveAll(alice, bob, carol)
        await server.stop()
    }

    @Test("a removed peer's session ends as removed; the others see it leave as removed")
    func removePeer() async throws {
        let (server, alice, bob, carol) = try await LiveServer.start().withThreeJoined(room: "remove")

        try await alice.session.remove("bob", reason: "spamming")
        await bob.until("disconnected") { $0.connection == .disconnected(.removed(by: "alice", reason: "spamming")) }
        #expect(bob.events.contains(.removed(Removed(by: "alice", reason: "spamming"))))
        for participant in [alice, carol] {
            await participant.until("bob gone") { $0.peers["bob"] == nil }
            #expect(participant.peerEvents.last == "-bob(removed by alice)")
        }
        // A listener may not remove anyone.
        do {
            try await carol.session.remove("alice")
            Issue.record("a listener removed the host")
        } catch {
            #expect(error.code == .cannotRemovePeers)
        }
        #expect(carol.state.peers["alice"] != nil)

        await leaveAll(alice, carol)
        await server.stop()
    }

    @Test("a peer removed while it was away (in its grace) cannot come back by resuming; its session ends as removed")
    func removeWhileAway() async throws {
        let (server, alice, bob, carol) = try await LiveServer.start(resumeGraceMs: 15_000).withThreeJoined(room: "troll")

        // Carol drops; while she is away, alice removes her.
        carol.transport.refuseConnections()
        await carol.transport.cut()
        await alice.until("carol dropped") { $0.peers["carol"] == nil }
        try await alice.session.remove("carol", reason: "trolling")

        // Her network comes back: the resume is refused, and she does not slip in with a fresh join.
        carol.transport.allowConnections()
        await carol.until("the session ended") {
            if case .disconnected(.removed) = $0.connection { true } else { false }
        }
        guard case .disconnected(.removed(_, let reason)) = carol.state.connection else {
            throw E2EError("carol's session did not end as removed: \(carol.state.connection)")
        }
        #expect(reason?.contains("trolling") == true)
        #expect(!carol.events.contains(.reconnected(resumed: false)), "carol joined again by herself")
        #expect(!carol.events.contains(.reconnected(resumed: true)))
        // The others never see her again.
        _ = try await bob.session.broadcast("still here?")
        await alice.until("bob's message") { $0.chat.last?.text == "still here?" }
        #expect(alice.state.peers["carol"] == nil && bob.state.peers["carol"] == nil)
        #expect(alice.peerEvents.filter { $0.contains("carol") }.last == "-carol(timeout)")

        await leaveAll(alice, bob)
        await server.stop()
    }

    @Test("ending the room: everyone sees room ended, and a locked room refuses joins")
    func endRoom() async throws {
        let (server, alice, bob, carol) = try await LiveServer.start().withThreeJoined(room: "end")

        try await alice.session.endRoom(lock: true, reason: "Thanks, all!")
        let ended = DisconnectReason.roomEnded(by: "alice", reason: "Thanks, all!", locked: true)
        for participant in [alice, bob, carol] {
            await participant.until("the end of the room") { $0.connection == .disconnected(ended) }
            #expect(participant.events.contains(.roomEnded(RoomEnded(by: "alice", reason: "Thanks, all!", locked: true))))
        }

        let late = try await server.participant("dave", role: "host", room: "end")
        do {
            try await late.session.join()
            Issue.record("joined a locked room")
        } catch {
            #expect(error.code == .roomLocked)
        }
        await server.stop()
    }

    enum BadToken: String, CaseIterable, Sendable {
        case forged, expired, wrongRoom
    }

    @Test("a forged, expired or wrong-room token is refused with its code", arguments: BadToken.allCases)
    func badToken(_ kind: BadToken) async throws {
        let server = try await LiveServer.start()
        let token: String
        let code: ErrorCode
        switch kind {
        case .forged:
            token = try await server.token(
                room: "tokens", user: "mallory", role: "host", secret: Array(repeating: 7, count: 32))
            code = .tokenSignatureInvalid
        case .expired:
            token = try await server.token(room: "tokens", user: "mallory", role: "host", ttlSeconds: -60)
            code = .tokenExpired
        case .wrongRoom:
            token = try await server.token(room: "elsewhere", user: "mallory", role: "host")
            code = .tokenWrongRoom
        }
        let session = try LiveSession.session(url: server.url("tokens"), token: token, fingerprint: server.fingerprint)
        do {
            try await session.join()
            Issue.record("joined with a \(kind) token")
        } catch {
            #expect(error.code == code, "\(error)")
        }
        guard case .disconnected(.failed(let failure)) = session.state.connection else {
            Issue.record("expected the session to end as failed, got \(session.state.connection)")
            await server.stop()
            return
        }
        #expect(failure.code == code)

        // Nobody got in.
        let host = try await server.participant("alice", role: "host", room: "tokens")
        try await host.session.join()
        #expect(host.state.peers.isEmpty)
        await host.session.leave()
        await server.stop()
    }

    @Test("a server with another certificate than the pinned one is refused with a trust error")
    func wrongFingerprint() async throws {
        let server = try await LiveServer.start()
        let wrong = "SHA256:" + String(repeating: "ab", count: 32)
        let token = try await server.token(room: "trust", user: "alice", role: "host")
        let session = try LiveSession.session(url: server.url("trust"), token: token, fingerprint: wrong)
        do {
            try await session.join()
            Issue.record("joined a server whose certificate does not match the pin")
        } catch {
            guard case .certificateRejected(let message) = error else {
                Issue.record("expected a certificate error, got \(error)")
                await server.stop()
                return
            }
            #expect(message.contains("not the pinned \(wrong)"), "\(message)")
            #expect(message.contains(server.fingerprint), "the message names what the server presented")
            #expect(error.kind == "certificate")
        }
        // The token was never sent: the room does not exist, so the right pin joins an empty room.
        let bob = try await server.participant("bob", role: "host", room: "trust")
        try await bob.session.join()
        #expect(bob.state.peers.isEmpty)
        await bob.session.leave()
        await server.stop()
    }
}
