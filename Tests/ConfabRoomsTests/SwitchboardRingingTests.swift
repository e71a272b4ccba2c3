import ConfabProtocol
import ConfabRooms
import Testing

@Suite("Switchboard: invitations ring, and end answered, rejected, cancelled or unanswered")
struct SwitchboardRingingTests {
    @Test("an invitation rings every device of the invitee; the caller gets call.state and shows busy")
    func ringing() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone), ("bob", .bobLaptop)])
        let outcome = desk.invite(["bob"], from: "alice", on: .alicePhone)
        #expect(
            outcome.lines == [
                "metric invitations +1",
                "bobPhone,bobLaptop ◀ call.invitation c1 from alice, 30000 ms",
                "alicePhone ◀ r1 call.state c1: alice accepted, bob ringing",
                "bobPhone,bobLaptop ◀ presence.updated alice (busy)",
            ])
        #expect(outcome.wakeAt == Desk.start.instant + .seconds(30))
        let call = try #require(desk.board.call("c1"))
        #expect(call.caller == "alice" && call.createdAt == Desk.start.wall && call.answeredAt == nil && !call.group)
        #expect(call.participants[1] == CallParticipant(user: "bob", name: "bob", state: .ringing, invitedBy: "alice"))
    }

    @Test(
        "an invitation rings for the request's time, else the server's",
        arguments: [(nil, nil, 30_000), (5_000, nil, 5_000), (nil, 12_000, 12_000), (2_000, 12_000, 2_000)]
            as [(Int?, Int?, Int)])
    func ringTime(requested: Int?, configured: Int?, expected: Int) throws {
        var settings = CallSettings()
        if let configured { settings.ringTimeoutMs = configured }
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone)], settings: settings)
        let invited = desk.invite(["bob"], from: "alice", on: .alicePhone, ringTimeoutMs: requested)
        #expect(invited.sends.first == "bobPhone ◀ call.invitation c1 from alice, \(expected) ms")
        #expect(invited.wakeAt == Desk.start.instant + .milliseconds(expected))
        desk.advance(.milliseconds(expected - 1))
        #expect(desk.sweep().lines.isEmpty, "a millisecond early")
        desk.advance(.milliseconds(1))
        #expect(desk.sweep().sends.first == "bobPhone ◀ call.invitationEnded c1 noResponse")
    }

    @Test("nobody answers by the deadline: noResponse to the invitee's devices, the call ends unanswered")
    func noResponse() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone), ("bob", .bobLaptop)])
        desk.invite(["bob"], from: "alice", on: .alicePhone)
        desk.advance(.seconds(30))
        let outcome = desk.sweep()
        #expect(
            outcome.lines == [
                "bobPhone,bobLaptop ◀ call.invitationEnded c1 noResponse",
                "alicePhone ◀ call.updated bob noResponse (c1: alice accepted, bob noResponse)",
                "metric invitation noResponse",
                "history bob: incoming c1 noResponse, peers alice, 0 ms",
                "alicePhone ◀ call.ended c1 unanswered, 0 ms",
                "history alice: outgoing c1 noResponse, peers bob, 0 ms",
                "bobPhone,bobLaptop ◀ presence.updated alice",
            ])
        #expect(outcome.wakeAt == nil, "nothing left to wait for")
        #expect(desk.board.call("c1") == nil)
    }

    @Test("the invitee rejects on one device: rejectedElsewhere on the others, the 1:1 call ends")
    func reject() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone), ("bob", .bobLaptop)])
        desk.invite(["bob"], from: "alice", on: .alicePhone)
        let outcome = desk.request(.reject("c1"), by: "bob", on: .bobLaptop)
        #expect(
            outcome.lines == [
                "bobPhone ◀ call.invitationEnded c1 rejectedElsewhere",
                "alicePhone ◀ call.updated bob rejected (c1: alice accepted, bob rejected)",
                "metric invitation rejected",
                "history bob: incoming c1 rejected, peers alice, 0 ms",
                "alicePhone ◀ call.ended c1 unanswered, 0 ms",
                "history alice: outgoing c1 rejected, peers bob, 0 ms",
                "bobLaptop ◀ r2 ok",
                "bobPhone,bobLaptop ◀ presence.updated alice",
            ])
    }

    @Test("one of two invitees rejects: the call rings on for the other")
    func rejectInGroup() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone), ("carol", .carolPhone)])
        desk.invite(["bob", "carol"], from: "alice", on: .alicePhone)
        let outcome = desk.request(.reject("c1"), by: "bob", on: .bobPhone)
        #expect(
            outcome.lines == [
                "alicePhone,carolPhone ◀ call.updated bob rejected (c1 group: alice accepted, bob rejected, carol ringing)",
                "metric invitation rejected",
                "history bob: incoming c1 rejected, peers alice carol, 0 ms",
                "bobPhone ◀ r2 ok",
            ])
        #expect(desk.board.call("c1")?.participants.map(\.state) == [.accepted, .rejected, .ringing])
    }

    @Test("the caller cancels: each invitation is withdrawn, then the call ends cancelled")
    func cancel() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone), ("carol", .carolPhone)])
        desk.invite(["bob", "carol"], from: "alice", on: .alicePhone)
        desk.advance(.seconds(3))
        let outcome = desk.request(.cancel("c1"), by: "alice", on: .alicePhone)
        #expect(
            outcome.lines == [
                "bobPhone ◀ call.invitationEnded c1 cancelled",
                "metric invitation cancelled",
                "history bob: incoming c1 cancelled, peers alice carol, 0 ms",
                "alicePhone ◀ call.updated bob cancelled (c1 group: alice accepted, bob cancelled, carol cancelled)",
                "carolPhone ◀ call.invitationEnded c1 cancelled",
                "metric invitation cancelled",
                "history carol: incoming c1 cancelled, peers alice bob, 0 ms",
                "alicePhone ◀ call.updated carol cancelled (c1 group: alice accepted, bob cancelled, carol cancelled)",
                "alicePhone ◀ call.ended c1 cancelled, 0 ms",
                "history alice: outgoing c1 cancelled, peers bob carol, 0 ms",
                "alicePhone ◀ r2 ok",
                "bobPhone,carolPhone ◀ presence.updated alice",
            ])
        #expect(outcome.wakeAt == nil)
    }

    @Test("only the caller may cancel (6003)")
    func cancelByOther() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone)])
        desk.invite(["bob"], from: "alice", on: .alicePhone)
        #expect(
            desk.request(.cancel("c1"), by: "bob", on: .bobPhone).lines == ["bobPhone ◀ r2 error 6003 callNotFound"])
        #expect(desk.board.call("c1")?.participants.map(\.state) == [.accepted, .ringing])
    }

    @Test("the first accept opens the room; the other devices hear answeredElsewhere; tokens come last")
    func accept() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone), ("bob", .bobLaptop)])
        desk.invite(["bob"], from: "alice", on: .alicePhone)
        desk.advance(.seconds(2))
        let outcome = desk.request(.accept("c1"), by: "bob", on: .bobLaptop)
        #expect(
            outcome.lines == [
                "room c1 opens for alice",
                "metric invitation accepted",
                "room c1 admits bob",
                "bobPhone ◀ call.invitationEnded c1 answeredElsewhere",
                "alicePhone ◀ call.updated bob accepted (c1: alice accepted, bob accepted)",
                "alicePhone ◀ presence.updated bob (busy)",
                "bobPhone ◀ presence.updated bob (busy)",
                "then: token c1 for alice → alicePhone",
                "then: token c1 for bob → bobLaptop, reply r2",
            ])
        #expect(
            outcome.followUps.first
                == .roomToken(
                    call: "c1", user: "alice", name: "alice", device: .alicePhone, reply: nil,
                    issuedAt: desk.now.wall))
        #expect(outcome.wakeAt == nil, "nothing rings any more")
        #expect(desk.board.call("c1")?.answeredAt == desk.now.wall)
    }

    @Test(
        "invitees busy or offline are not rung; a call that rings nobody ends before the reply",
        arguments: [
            (["bob"], "busy"), (["dan"], "offline"), (["bob", "dan"], "unanswered"),
        ])
    func nobodyToRing(invitees: [PeerID], callerOutcome: String) throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone), ("carol", .carolPhone)])
        desk.invite(["carol"], from: "bob", on: .bobPhone, newCall: "c0")  // bob is busy from here
        let outcome = desk.invite(invitees, from: "alice", on: .alicePhone)
        let rows = invitees.map { invitee -> [String] in
            let state = invitee == "bob" ? "busy" : "offline"
            let peers = (["alice"] + invitees.filter { $0 != invitee }.map(\.rawValue)).joined(separator: " ")
            return ["metric invitation \(state)", "history \(invitee): incoming c1 \(state), peers \(peers), 0 ms"]
        }
        let group = invitees.count > 1 ? " group" : ""
        let states = invitees.map { "\($0) \($0 == "bob" ? "busy" : "offline")" }.joined(separator: ", ")
        #expect(
            outcome.lines
                == ["metric invitations +\(invitees.count)"] + rows.joined() + [
                    "alicePhone ◀ call.ended c1 unanswered, 0 ms",
                    "history alice: outgoing c1 \(callerOutcome), peers \(invitees.map(\.rawValue).joined(separator: " ")), 0 ms",
                    "alicePhone ◀ r1 call.state c1\(group): alice accepted, \(states)",
                ])
        #expect(desk.board.call("c1") == nil)
    }
}

@Suite("Switchboard: an invitee whose devices all went away")
struct SwitchboardOfflineTests {
    /// Alice rings bob at the start; bob's only device drops a second later.
    static func bobDrops() throws -> (Desk, Switchboard.Outcome) {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone)])
        desk.invite(["bob"], from: "alice", on: .alicePhone)
        desk.advance(.seconds(1))
        let dropped = desk.disconnect("bob", .bobPhone)
        return (desk, dropped)
    }

    @Test("gone while rung: offline to everyone, and a wake at the end of the grace")
    func drop() throws {
        let (_, dropped) = try Self.bobDrops()
        #expect(dropped.lines == ["alicePhone ◀ presence.offline bob"])
        #expect(dropped.wakeAt == Desk.start.instant + .seconds(1) + Switchboard.offlineGrace)
    }

    @Test("not back within the grace: the caller hears offline at once, not at the ring timeout")
    func offlinePastGrace() throws {
        var (desk, _) = try Self.bobDrops()
        desk.advance(.milliseconds(4_999))
        #expect(desk.sweep().lines.isEmpty)
        desk.advance(.milliseconds(1))
        #expect(
            desk.sweep().lines == [
                "alicePhone ◀ call.updated bob offline (c1: alice accepted, bob offline)",
                "metric invitation offline",
                "history bob: incoming c1 offline, peers alice, 0 ms",
                "alicePhone ◀ call.ended c1 unanswered, 0 ms",
                "history alice: outgoing c1 offline, peers bob, 0 ms",
            ])
    }

    @Test("back within the grace: the invitation rings on the new connection until its deadline")
    func backWithinGrace() throws {
        var (desk, _) = try Self.bobDrops()
        desk.advance(.milliseconds(4_999))
        let back = try desk.connect("bob", .bobPhoneAgain)
        #expect(
            back.lines == [
                "bobPhoneAgain ◀ hello connected bob, online [alice (busy)], calls [c1]",
                "alicePhone ◀ presence.online bob",
            ])
        #expect(back.wakeAt == Desk.start.instant + .seconds(30), "the grace is over: only the ring timeout is left")
        desk.advance(.seconds(1))
        #expect(desk.sweep().lines.isEmpty)
        #expect(desk.board.call("c1")?.participants.map(\.state) == [.accepted, .ringing])
    }

    @Test("an invitation withdrawn while its invitee is away leaves nothing to wake for")
    func withdrawnWhileAway() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone), ("carol", .carolPhone)])
        desk.invite(["bob", "carol"], from: "alice", on: .alicePhone)
        desk.request(.accept("c1"), by: "bob", on: .bobPhone)
        desk.disconnect("carol", .carolPhone)
        let withdrawn = desk.request(.cancel("c1"), by: "alice", on: .alicePhone, id: "r3")
        #expect(
            withdrawn.lines.prefix(2) == [
                "metric invitation cancelled", "history carol: incoming c1 cancelled, peers alice bob, 0 ms",
            ])
        #expect(withdrawn.wakeAt == nil, "neither the ring timeout nor the offline grace is left")
        desk.advance(.seconds(30))
        #expect(desk.sweep().lines.isEmpty)
        #expect(desk.board.call("c1")?.participants.map(\.state) == [.accepted, .accepted, .cancelled])
    }
}
