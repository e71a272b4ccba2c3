import ConfabProtocol
import ConfabRooms
import Testing

@Suite("Switchboard: calls in progress, their members and devices")
struct SwitchboardCallTests {
    enum Leaving: String, CaseIterable { case hangUp, leaveRoom }

    @Test("in a 1:1 call, either side leaving ends it for both, with the duration", arguments: Leaving.allCases)
    func oneToOneEnds(how: Leaving) throws {
        var desk = try Desk.aliceCallsBob()
        desk.advance(.milliseconds(61_250))
        let outcome =
            switch how {
            case .hangUp: desk.request(.hangUp("c1"), by: "bob", on: .bobPhone, id: "r3")
            case .leaveRoom: desk.inRoom(["alice"])
            }
        #expect(
            outcome.lines
                == [
                    "room c1 revokes bob",
                    "alicePhone ◀ call.ended c1 hangup, 61250 ms",
                    "bobPhone ◀ call.ended c1 hangup, 61250 ms",
                    "history bob: incoming c1 answered, peers alice, 61250 ms",
                    "history alice: outgoing c1 answered, peers bob, 61250 ms",
                ] + (how == .hangUp ? ["bobPhone ◀ r3 ok"] : []) + [
                    "bobPhone ◀ presence.updated alice",
                    "alicePhone ◀ presence.updated bob",
                    "then: end room c1",
                ])
        #expect(desk.board.call("c1") == nil)
    }

    @Test("the caller hanging up an answered 1:1 call ends it too")
    func callerHangsUp() throws {
        var desk = try Desk.aliceCallsBob()
        desk.advance(.seconds(5))
        #expect(
            desk.request(.hangUp("c1"), by: "alice", on: .alicePhone, id: "r3").lines == [
                "room c1 revokes alice",
                "bobPhone ◀ call.ended c1 hangup, 5000 ms",
                "history bob: incoming c1 answered, peers alice, 5000 ms",
                "alicePhone ◀ call.ended c1 hangup, 5000 ms",
                "history alice: outgoing c1 answered, peers bob, 5000 ms",
                "alicePhone ◀ r3 ok",
                "bobPhone ◀ presence.updated alice",
                "alicePhone ◀ presence.updated bob",
                "then: end room c1",
            ])
    }

    /// Alice rings bob and carol; bob accepts at once, carol a second later;
    /// all three are in the room.
    static func groupCall() throws -> Desk {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone), ("carol", .carolPhone)])
        desk.invite(["bob", "carol"], from: "alice", on: .alicePhone)
        desk.request(.accept("c1"), by: "bob", on: .bobPhone)
        desk.advance(.seconds(1))
        let carol = desk.request(.accept("c1"), by: "carol", on: .carolPhone)
        #expect(
            carol.lines == [
                "metric invitation accepted",
                "room c1 admits carol",
                "alicePhone,bobPhone ◀ call.updated carol accepted (c1 group: alice accepted, bob accepted, carol accepted)",
                "alicePhone,bobPhone ◀ presence.updated carol (busy)",
                "then: token c1 for carol → carolPhone, reply r2",
            ], "a later accept opens nothing and mints only the accepter's token")
        desk.inRoom(["alice", "bob", "carol"])
        return desk
    }

    @Test("a member leaving a group call: call.ended for them, call.updated for the rest; the last two ending it")
    func groupCallGoesOn() throws {
        var desk = try Self.groupCall()
        desk.advance(.seconds(9))
        #expect(
            desk.request(.hangUp("c1"), by: "bob", on: .bobPhone, id: "r3").lines == [
                "room c1 revokes bob",
                "history bob: incoming c1 answered, peers alice carol, 10000 ms",
                "bobPhone ◀ call.ended c1 hangup, 10000 ms",
                "alicePhone,carolPhone ◀ call.updated bob left (c1 group: alice accepted, bob left, carol accepted)",
                "bobPhone ◀ r3 ok",
                "alicePhone,carolPhone ◀ presence.updated bob",
            ])
        desk.advance(.seconds(10))
        #expect(
            desk.inRoom(["alice"]).lines == [
                "room c1 revokes carol",
                "alicePhone ◀ call.ended c1 hangup, 20000 ms",
                "carolPhone ◀ call.ended c1 hangup, 20000 ms",
                "history carol: incoming c1 answered, peers alice bob, 19000 ms",
                "history alice: outgoing c1 answered, peers bob carol, 20000 ms",
                "bobPhone,carolPhone ◀ presence.updated alice",
                "alicePhone,bobPhone ◀ presence.updated carol",
                "then: end room c1",
            ])
    }

    @Test("a caller who leaves a group call that goes on is recorded then, and once")
    func callerLeavesGroupCall() throws {
        var desk = try Self.groupCall()
        desk.advance(.seconds(4))
        let callerLeaves = desk.request(.hangUp("c1"), by: "alice", on: .alicePhone, id: "r3")
        #expect(callerLeaves.history == ["history alice: outgoing c1 answered, peers bob carol, 5000 ms"])
        #expect(
            callerLeaves.sends.prefix(2) == [
                "alicePhone ◀ call.ended c1 hangup, 5000 ms",
                "bobPhone,carolPhone ◀ call.updated alice left (c1 group: alice left, bob accepted, carol accepted)",
            ])
        desk.advance(.seconds(5))
        let end = desk.request(.hangUp("c1"), by: "carol", on: .carolPhone, id: "r4")
        #expect(
            end.history == [
                "history bob: incoming c1 answered, peers alice carol, 10000 ms",
                "history carol: incoming c1 answered, peers alice bob, 9000 ms",
            ])
        #expect(
            end.sends.prefix(2) == [
                "bobPhone ◀ call.ended c1 hangup, 10000 ms", "carolPhone ◀ call.ended c1 hangup, 10000 ms",
            ])
    }

    @Test(
        "a member invites more into the call: the new invitee rings, the members hear of it, the call becomes a group")
    func inviteMore() throws {
        var desk = try Desk.aliceCallsBob([("alice", .alicePhone), ("bob", .bobPhone), ("carol", .carolPhone)])
        let outcome = desk.invite(
            ["carol", "alice"], from: "bob", on: .bobPhone, into: "c1", newCall: "unused", id: "r3")
        #expect(
            outcome.lines == [
                "metric invitations +1",
                "carolPhone ◀ call.invitation c1 from bob, 30000 ms",
                "alicePhone ◀ call.updated carol ringing (c1 group: alice accepted, bob accepted, carol ringing)",
                "bobPhone ◀ r3 call.state c1 group: alice accepted, bob accepted, carol ringing",
            ], "alice, already in it, is left as she is")
        #expect(desk.board.call("c1")?.participants.last?.invitedBy == "bob")
        desk.advance(.seconds(30))
        #expect(
            desk.sweep().lines == [
                "carolPhone ◀ call.invitationEnded c1 noResponse",
                "alicePhone,bobPhone ◀ call.updated carol noResponse (c1 group: alice accepted, bob accepted, carol noResponse)",
                "metric invitation noResponse",
                "history carol: incoming c1 noResponse, peers alice bob, 0 ms",
            ], "an answered call goes on when an invitation into it rings out")
    }

    @Test("a member who left is invited back: a fresh token, and the room admits them again")
    func invitedBack() throws {
        var desk = try Self.groupCall()
        desk.request(.hangUp("c1"), by: "bob", on: .bobPhone, id: "r3")
        desk.invite(["bob"], from: "carol", on: .carolPhone, into: "c1", id: "r4")
        #expect(desk.board.call("c1")?.participants.map(\.state) == [.accepted, .ringing, .accepted])
        let back = desk.request(.accept("c1"), by: "bob", on: .bobPhone, id: "r5")
        #expect(
            back.lines == [
                "metric invitation accepted",
                "room c1 admits bob",
                "alicePhone,carolPhone ◀ call.updated bob accepted (c1 group: alice accepted, bob accepted, carol accepted)",
                "alicePhone,carolPhone ◀ presence.updated bob (busy)",
                "then: token c1 for bob → bobPhone, reply r5",
            ])
    }

    @Test("inviting into a call you are not in is refused (6003); a new call while in one (6004)")
    func inviteRefusals() throws {
        var desk = try Desk.aliceCallsBob([("alice", .alicePhone), ("bob", .bobPhone), ("carol", .carolPhone)])
        #expect(
            desk.invite(["alice"], from: "carol", on: .carolPhone, into: "c1").lines == [
                "carolPhone ◀ r1 error 6003 callNotFound"
            ])
        #expect(
            desk.invite(["carol"], from: "bob", on: .bobPhone, newCall: "c2").lines == [
                "bobPhone ◀ r1 error 6004 alreadyInCall"
            ])
    }

    @Test("shutting down ends every call, tells every device and closes it")
    func shutDown() throws {
        var desk = try Desk.aliceCallsBob([("alice", .alicePhone), ("bob", .bobPhone), ("carol", .carolPhone)])
        desk.advance(.seconds(3))
        let outcome = desk.board.shutDown(ServerGoingAway(reason: "bye", retryAfterMs: 3_000), at: desk.now)
        #expect(
            outcome.lines == [
                "alicePhone ◀ call.ended c1 shutdown, 3000 ms",
                "bobPhone ◀ call.ended c1 shutdown, 3000 ms",
                "history bob: incoming c1 answered, peers alice, 3000 ms",
                "history alice: outgoing c1 answered, peers bob, 3000 ms",
                "alicePhone,bobPhone,carolPhone ◀ server.goingAway",
                "close alicePhone,bobPhone,carolPhone goingAway",
                "then: end room c1",
            ])
        #expect(throws: CodedError(.shuttingDown, "the server is shutting down")) {
            try desk.connect("dan", .danPhone)
        }
    }

    @Test("everything the switchboard holds returns to zero once everyone is gone and buckets refilled")
    func entriesReturnToZero() throws {
        var desk = try Desk.aliceCallsBob([("alice", .alicePhone), ("bob", .bobPhone), ("bob", .bobLaptop)])
        try desk.connect("carol", .carolPhone, instance: "carol-1")
        desk.invite(["carol"], from: "alice", on: .alicePhone, into: "c1")
        #expect(desk.board.entries.toldElsewhere == 1, "bob's laptop was told he is busy elsewhere")
        let devices: [(PeerID, DeviceID)] = [
            ("alice", .alicePhone), ("bob", .bobPhone), ("bob", .bobLaptop), ("carol", .carolPhone),
        ]
        for (user, device) in devices { desk.disconnect(user, device) }
        #expect(desk.board.call("c1") != nil, "alice and bob are still in the call's room")
        let roomEmpty = desk.inRoom([])
        #expect(
            desk.board.entries == Switchboard.Entries(rateBuckets: 1), "alice's spent bucket stays until it refills")
        #expect(roomEmpty.wakeAt == desk.now.instant + .seconds(2), "two invitations at 1 a second")
        desk.advance(.seconds(2))
        let refilled = desk.sweep()
        #expect(desk.board.entries == Switchboard.Entries())
        #expect(refilled.wakeAt == nil)
    }
}
