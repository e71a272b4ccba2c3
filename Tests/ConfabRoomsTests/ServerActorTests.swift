// The server's operator (`@server`, the management API) acts through the
// same checked room actions as a host, outranking every role, and can never
// be a peer.

import ConfabProtocol
import ConfabRooms
import Testing

@Suite("The server acting in a room")
struct ServerActorTests {
    @Test("@server removes a host, which no host may: it outranks every role; the events name it")
    func outranksHosts() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.apply(.removePeer("hana", reason: "abuse"), from: .server, now: Fixture.t1)
        #expect(room.peer("hana") == nil)
        #expect(outcome.events.map(\.body) == [
            .removed(Removed(by: .server, reason: "abuse")),
            .peerLeft(PeerLeft(peer: "hana", reason: .removed, by: .server)),
        ])
        #expect(outcome.events.last?.audience == Fixture.everyone.subtracting(["hana"]))
    }

    @Test("a forced role change from @server is the host's peer.updated, by @server; the host role itself may be given")
    func changesRoles() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.apply(.changeRole(peer: "lee", role: "host", force: true), from: .server, now: Fixture.t1)
        #expect(room.peer("lee")?.role == "host")
        guard case .peerUpdated(let updated) = outcome.events.first?.body else { throw ToolFailure("no peer.updated") }
        #expect(updated.by == .server && updated.changed == [.role])
    }

    @Test("a role @server asks of a peer: accepted, it changes by @server; either way the answer goes to no peer, and never to @server",
          arguments: [true, false])
    func askedByServer(accept: Bool) throws {
        var room = Fixture.standardRoom()
        let asked = try room.apply(.changeRole(peer: "lee", role: "speaker", force: false), from: .server, now: Fixture.t1)
        guard case .ok(let reply) = asked.reply, let prompt = reply.prompt else { throw ToolFailure("no prompt id: \(asked.reply)") }
        #expect(room.peer("lee")?.role == "listener", "only asked")
        let answered = try room.apply(.answerPrompt(prompt, accept: accept), from: "lee", now: Fixture.t1)
        #expect(room.peer("lee")?.role == (accept ? "speaker" : "listener"))
        // The answer: for the webhook alone (RoomHost delivers it to nobody).
        let answers = answered.events.filter { if case .promptAnswered = $0.body { true } else { false } }
        #expect(answers.map(\.body) == [.promptAnswered(PromptAnswered(prompt: prompt, peer: "lee", accepted: accept))])
        #expect(answers.first?.audience == [])
        #expect((answered.events.count > 1) == accept, "a declined role changes nothing anyone sees")
        for event in answered.events {
            #expect(!event.audience.contains(.server), "\(event.body) addressed to @server, who has no connection")
            if case .peerUpdated(let updated) = event.body { #expect(updated.by == .server) }
        }
    }

    @Test("a chat message from @server goes to everyone and names the server (unnumbered: the store numbers it)", arguments: [0, 3])
    func chat(earlier: Int) throws {
        var room = Fixture.standardRoom()
        for index in 0..<earlier {
            _ = try room.apply(.sendChat(target: .broadcast, text: "m\(index)"), from: "hana", now: Fixture.t1)
        }
        let outcome = try room.apply(.sendChat(target: .broadcast, text: "Closing in 5 minutes"), from: .server, now: Fixture.t1)
        let message = try #require(outcome.chat?.message)
        #expect(message.seq == 0 && message.from == .server && message.fromRole == "server")
        #expect(outcome.chat?.recipients == Fixture.everyone)
    }

    @Test("@server's chat is held to the room's chat rate as a host's is, not to the audience's allowance")
    func chatRate() throws {
        var room = Fixture.townHall(chatRate: RateLimit(perSecond: 1, burst: 2), audienceRate: RateLimit(perSecond: 1, burst: 1))
        #expect(room.attempt(.sendChat(target: .broadcast, text: "from the audience"), by: "lee").success != nil)
        for text in ["one", "two"] {
            #expect(room.attempt(.sendChat(target: .broadcast, text: text), by: .server).success != nil, "\(text)")
        }
        let third = room.attempt(.sendChat(target: .broadcast, text: "three"), by: .server).failure
        #expect(third?.code == .chatRateLimited && third?.retryAfterMs == 1_000, "\(String(describing: third))")
        #expect(room.attempt(.sendChat(target: .broadcast, text: "hosts are apart"), by: "hana").success != nil)
        let later = Fixture.t1.adding(milliseconds: 1_000)
        #expect(room.attempt(.sendChat(target: .broadcast, text: "four"), by: .server, at: later).success != nil)
    }

    @Test("what only a peer does is refused for @server, and changes nothing", arguments: [
        PeerAction.leave, .raiseHand, .lowerHand, .updatePeer(name: "x", metadata: nil),
    ])
    func onlyPeers(action: PeerAction) {
        var room = Fixture.standardRoom()
        let before = room
        guard case .failure(let error) = room.attempt(action, by: .server) else {
            Issue.record("\(action) succeeded for @server")
            return
        }
        #expect(error.code == .invalidMessage)
        #expect(room == before)
    }

    @Test("a room locked against joins refuses newcomers with roomLocked, lets its peers rejoin, and unlocks when it ends")
    func joinsLocked() throws {
        var room = Fixture.standardRoom()
        let changed = room.setJoinsLocked(true)
        #expect(changed)
        do {
            _ = try room.join(Admission(peer: "zoe", name: "Zoe", role: "listener"), now: Fixture.t1)
            Issue.record("zoe joined a locked room")
        } catch {
            #expect(error.code == .roomLocked)
        }
        _ = try room.join(Admission(peer: "lee", name: "Lee", role: "listener"), now: Fixture.t1)
        _ = room.end(reason: nil, lock: false, now: Fixture.t1)
        _ = try room.join(Admission(peer: "zoe", name: "Zoe", role: "listener"), now: Fixture.t1)
        #expect(!room.joinsLocked)
    }

    @Test("nobody can join as @server")
    func reserved() {
        var room = Fixture.standardRoom()
        do {
            _ = try room.join(Admission(peer: .server, name: "Server", role: "host"), now: Fixture.t1)
            Issue.record("joined as @server")
        } catch {
            #expect(error.code == .tokenMalformed)
        }
        #expect(room.peer(.server) == nil)
    }
}

private struct ToolFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
