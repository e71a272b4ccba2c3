import ConfabProtocol
import ConfabRooms
import Testing

@Suite("Switchboard: requests refused, and nobody rung")
struct SwitchboardRefusalTests {
    /// Why an answer finds no invitation ringing.
    enum Gone: String, CaseIterable {
        case cancelled, rungOut, answeredOnAnotherDevice, rememberedJustUnderTenMinutes, neverInvited, noSuchCall,
            forgottenAfterTenMinutes
    }

    @Test(
        "an answer to an invitation no longer ringing: 6005 for an invitee (remembered 10 minutes), else 6003",
        arguments: Gone.allCases, [true, false])
    func answerTooLate(gone: Gone, accept: Bool) throws {
        var desk = try Desk.online([
            ("alice", .alicePhone), ("bob", .bobPhone), ("bob", .bobLaptop), ("carol", .carolPhone),
        ])
        desk.invite(["bob"], from: "alice", on: .alicePhone)
        var answerer: (PeerID, DeviceID) = ("bob", .bobLaptop)
        var call: CallID = "c1"
        switch gone {
        case .cancelled:
            desk.request(.cancel("c1"), by: "alice", on: .alicePhone)
        case .rungOut:
            desk.advance(.seconds(30))
            desk.sweep()
        case .answeredOnAnotherDevice:
            desk.request(.accept("c1"), by: "bob", on: .bobPhone)
        case .neverInvited:
            desk.request(.cancel("c1"), by: "alice", on: .alicePhone)
            answerer = ("carol", .carolPhone)
        case .noSuchCall:
            call = "nope"
        case .rememberedJustUnderTenMinutes:
            desk.request(.cancel("c1"), by: "alice", on: .alicePhone)
            desk.advance(.seconds(599))
        case .forgottenAfterTenMinutes:
            desk.request(.cancel("c1"), by: "alice", on: .alicePhone)
            // Forgotten after ten minutes, though no other call ended since.
            desk.advance(.seconds(600))
        }
        let request: CallRequest = accept ? .accept(call) : .reject(call)
        let outcome = desk.request(request, by: answerer.0, on: answerer.1, id: "r9")
        let invitee = [.cancelled, .rungOut, .answeredOnAnotherDevice, .rememberedJustUnderTenMinutes].contains(gone)
        let expected = invitee ? "6005 invitationNotPending" : "6003 callNotFound"
        #expect(outcome.lines == ["\(answerer.1.name) ◀ r9 error \(expected)"])
    }

    @Test("accepting while in another call is refused (6004), and the invitation rings on")
    func acceptWhileBusy() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone), ("carol", .carolPhone)])
        desk.invite(["bob"], from: "carol", on: .carolPhone, newCall: "c2")
        desk.invite(["bob"], from: "alice", on: .alicePhone, newCall: "c1")
        desk.request(.accept("c1"), by: "bob", on: .bobPhone)
        #expect(
            desk.request(.accept("c2"), by: "bob", on: .bobPhone, id: "r6").lines == [
                "bobPhone ◀ r6 error 6004 alreadyInCall"
            ])
        #expect(desk.board.call("c2")?.participants.map(\.state) == [.accepted, .ringing])
    }

    @Test(
        "invitations over the caller's rate are refused (6002) until the bucket refills, over all devices and reconnections"
    )
    func rateLimit() throws {
        var settings = CallSettings()
        settings.invitationRate = RateLimit(perSecond: 1, burst: 2)
        var desk = try Desk.online(
            [("alice", .alicePhone), ("alice", .aliceLaptop), ("bob", .bobPhone)], settings: settings)
        // Dan is offline: each call ends at once, so alice is free to place the next.
        desk.invite(["dan"], from: "alice", on: .alicePhone, newCall: "c1")
        desk.invite(["dan"], from: "alice", on: .aliceLaptop, newCall: "c2")
        // The refusal says when the next invitation is let through.
        let limited = ["metric rate-limited", "aliceLaptop ◀ r1 error 6002 callRateLimited, retry in 1000 ms"]
        #expect(desk.invite(["bob"], from: "alice", on: .aliceLaptop, newCall: "c3").lines == limited)
        desk.disconnect("alice", .alicePhone)
        desk.disconnect("alice", .aliceLaptop)
        desk.advance(.milliseconds(999))
        try desk.connect("alice", .aliceLaptop)
        #expect(
            desk.invite(["bob"], from: "alice", on: .aliceLaptop, newCall: "c3").lines
                == ["metric rate-limited", "aliceLaptop ◀ r1 error 6002 callRateLimited, retry in 1 ms"],
            "reconnecting resets nothing")
        desk.advance(.milliseconds(1))
        #expect(
            desk.invite(["bob"], from: "alice", on: .aliceLaptop, newCall: "c3").sends.first
                == "bobPhone ◀ call.invitation c3 from alice, 30000 ms")
    }

    static let pairs = CallPolicy.allowList(["alice": ["bob"]])

    @Test(
        "the call policy is asked for every invitee; one forbidden refuses the whole invitation (6001)",
        arguments: [
            (CallPolicy.anyone, "carol", ["bob", "alice"], true),
            (pairs, "alice", ["bob"], true),
            (pairs, "bob", ["alice"], true),
            (pairs, "alice", ["carol"], false),
            (pairs, "alice", ["bob", "carol"], false),
            (pairs, "carol", ["bob"], false),
        ] as [(CallPolicy, PeerID, [PeerID], Bool)])
    func policy(policy: CallPolicy, caller: PeerID, invitees: [PeerID], allowed: Bool) throws {
        var settings = CallSettings()
        settings.policy = policy
        var desk = try Desk.online(
            [("alice", .alicePhone), ("bob", .bobPhone), ("carol", .carolPhone)], settings: settings)
        let device: DeviceID = caller == "alice" ? .alicePhone : caller == "bob" ? .bobPhone : .carolPhone
        let outcome = desk.invite(invitees, from: caller, on: device)
        if allowed {
            #expect(outcome.lines.first == "metric invitations +\(invitees.count)")
        } else {
            #expect(outcome.lines == ["\(device.name) ◀ r1 error 6001 callForbidden"])
            #expect(desk.board.entries.rateBuckets == 0, "a forbidden invitation spends no rate")
        }
    }

    @Test("ringing yourself is refused (3013)")
    func yourself() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone)])
        #expect(
            desk.invite(["bob", "alice"], from: "alice", on: .alicePhone).lines == [
                "alicePhone ◀ r1 error 3013 cannotTargetYourself"
            ])
    }

    @Test("a call holds 16 people, the caller included (6006)", arguments: [(15, true), (16, false)])
    func newCallFull(invitees: Int, fits: Bool) throws {
        var desk = try Desk.online([("alice", .alicePhone)])
        let users = (1...invitees).map { PeerID(uncheckedRawValue: "user\($0)") }
        let outcome = desk.invite(users, from: "alice", on: .alicePhone)
        if fits {
            // All offline: each recorded, then the call ends unanswered before the reply.
            #expect(outcome.lines.count == 1 + 2 * invitees + 2 + 1)
            #expect(
                outcome.lines.last?.hasPrefix("alicePhone ◀ r1 call.state c1 group: alice accepted, user1 offline")
                    == true)
        } else {
            #expect(outcome.lines == ["alicePhone ◀ r1 error 6006 callFull"])
        }
    }

    @Test("inviting into a call counts those in it and ringing (6006)", arguments: [(14, true), (15, false)])
    func invitingIntoFull(more: Int, fits: Bool) throws {
        var desk = try Desk.aliceCallsBob()
        let users = (1...more).map { PeerID(uncheckedRawValue: "user\($0)") }
        let outcome = desk.invite(users, from: "alice", on: .alicePhone, into: "c1", id: "r3")
        if fits {
            let call = try #require(desk.board.call("c1"))
            #expect(call.participants.count == 16)
            #expect(outcome.lines.last == "alicePhone ◀ r3 call.state \(call.line)")
        } else {
            #expect(outcome.lines == ["alicePhone ◀ r3 error 6006 callFull"])
        }
    }
}
