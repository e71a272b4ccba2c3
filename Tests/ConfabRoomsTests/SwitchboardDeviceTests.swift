import ConfabProtocol
import ConfabRooms
import Testing

@Suite("Switchboard: several devices of a user, and devices that reconnect")
struct SwitchboardDeviceTests {
    /// Bob answered on his phone; his laptop stayed out of the call.
    static func bobOnTwoDevices() throws -> Desk {
        try Desk.aliceCallsBob([("alice", .alicePhone), ("bob", .bobPhone), ("bob", .bobLaptop)])
    }

    /// Bob's phone, client instance bob-1, answered alice's call c1; both
    /// joined its room if `joined`.
    static func bobOnInstance(joined: Bool) throws -> Desk {
        var desk = try Desk.online([("alice", .alicePhone)])
        try desk.connect("bob", .bobPhone, instance: "bob-1")
        desk.invite(["bob"], from: "alice", on: .alicePhone)
        desk.request(.accept("c1"), by: "bob", on: .bobPhone)
        if joined { desk.inRoom(["alice", "bob"]) }
        return desk
    }

    @Test("a seventeenth device of one user closes the oldest (4009): the user stays online, nobody else is told, and that device's own close later changes nothing")
    func deviceCap() throws {
        var desk = try Desk.online([("alice", .alicePhone)])
        let bobs = (0..<16).map { DeviceID(rawValue: 100 + $0) }
        for device in bobs { try desk.connect("bob", device) }
        let seventeenth = try desk.connect("bob", DeviceID(rawValue: 200))
        guard case .send(let message, let devices)? = seventeenth.effects.first, case .error(let error) = message.body
        else {
            Issue.record("the oldest device was not told: \(seventeenth.lines)")
            return
        }
        #expect(devices == [DeviceID(rawValue: 100)])
        #expect(error.code == .sessionReplaced && error.message.contains("more than 16 devices"))
        #expect(
            Array(seventeenth.lines.dropFirst()) == [
                "close device100 normalClosure",
                "device200 ◀ hello connected bob, online [alice], calls []",
            ])
        #expect(desk.disconnect("bob", DeviceID(rawValue: 100)).lines.isEmpty, "already gone")
        // Sixteen left: bob goes offline with the last of them, not before.
        for device in bobs.dropFirst() { #expect(desk.disconnect("bob", device).lines.isEmpty) }
        #expect(desk.disconnect("bob", DeviceID(rawValue: 200)).lines == ["alicePhone ◀ presence.offline bob"])
    }

    @Test("another device of a user in a call gets it as elsewhere, and hears when it is over")
    func elsewhere() throws {
        var desk = try Self.bobOnTwoDevices()
        let third = try desk.connect("bob", .bobPhoneAgain)
        #expect(
            third.lines == [
                "bobPhoneAgain ◀ hello connected bob (busy), online [alice (busy)], calls [] elsewhere [c1]"
            ])
        let end = desk.request(.hangUp("c1"), by: "alice", on: .alicePhone, id: "r3")
        #expect(
            end.sends.suffix(3) == [
                "bobPhone,bobLaptop,bobPhoneAgain ◀ presence.updated alice",
                "alicePhone ◀ presence.updated bob",
                "bobLaptop,bobPhoneAgain ◀ presence.updated bob",
            ],
            "the devices told of the call elsewhere hear it is over")
    }

    @Test(
        "from a device not in the call: placing a call is refused (6004), answering again too (6005), hanging up works")
    func fromAnotherDevice() throws {
        var desk = try Self.bobOnTwoDevices()
        #expect(
            desk.invite(["alice"], from: "bob", on: .bobLaptop, newCall: "c2").lines == [
                "bobLaptop ◀ r1 error 6004 alreadyInCall"
            ])
        #expect(
            desk.request(.accept("c1"), by: "bob", on: .bobLaptop, id: "r3").lines == [
                "bobLaptop ◀ r3 error 6005 invitationNotPending"
            ])
        let hangUp = desk.request(.hangUp("c1"), by: "bob", on: .bobLaptop, id: "r4")
        #expect(
            hangUp.sends.prefix(3) == [
                "alicePhone ◀ call.ended c1 hangup, 0 ms",
                "bobPhone ◀ call.ended c1 hangup, 0 ms",
                "bobLaptop ◀ r4 ok",
            ], "call.ended goes to the device in the call, the reply to the one that asked")
    }

    @Test("the same client instance reconnecting after a drop takes its call back")
    func sameInstanceAfterDrop() throws {
        var desk = try Self.bobOnInstance(joined: true)
        #expect(
            desk.disconnect("bob", .bobPhone).lines == ["alicePhone ◀ presence.offline bob"],
            "still in the room: still in the call")
        let back = try desk.connect("bob", .bobPhoneAgain, instance: "bob-1")
        #expect(
            back.lines == [
                "bobPhoneAgain ◀ hello connected bob (busy), online [alice (busy)], calls [c1]",
                "alicePhone ◀ presence.online bob (busy)",
                "alicePhone ◀ presence.updated bob (busy)",
            ], "in the room already: no new token")
        let end = desk.request(.hangUp("c1"), by: "alice", on: .alicePhone, id: "r3")
        #expect(
            end.sends.prefix(2) == [
                "bobPhoneAgain ◀ call.ended c1 hangup, 0 ms", "alicePhone ◀ call.ended c1 hangup, 0 ms",
            ])
    }

    @Test("the same instance back before its old connection is noticed gone, not yet in the room: a fresh call.room")
    func sameInstanceBeforeDropNoticed() throws {
        var desk = try Self.bobOnInstance(joined: false)
        let back = try desk.connect("bob", .bobPhoneAgain, instance: "bob-1")
        #expect(
            back.lines == [
                "bobPhoneAgain ◀ hello connected bob (busy), online [alice (busy)], calls [c1]",
                "then: token c1 for bob → bobPhoneAgain",
            ])
        #expect(desk.disconnect("bob", .bobPhone).lines.isEmpty, "the old connection no longer holds the call")
        #expect(desk.board.call("c1")?.participants.map(\.state) == [.accepted, .accepted])
    }

    @Test("clients naming no instance: the newest connection takes the call when the one in it drops")
    func unnamedClients() throws {
        var desk = try Self.bobOnTwoDevices()
        #expect(desk.disconnect("bob", .bobPhone).lines.isEmpty)
        let end = desk.request(.hangUp("c1"), by: "alice", on: .alicePhone, id: "r3")
        #expect(end.sends.first == "bobLaptop ◀ call.ended c1 hangup, 0 ms")
    }

    @Test("another client instance of the user does not take the call over")
    func otherInstance() throws {
        var desk = try Self.bobOnInstance(joined: true)
        desk.disconnect("bob", .bobPhone)
        let laptop = try desk.connect("bob", .bobLaptop, instance: "bob-2")
        #expect(
            laptop.lines == [
                "bobLaptop ◀ hello connected bob (busy), online [alice (busy)], calls [] elsewhere [c1]",
                "alicePhone ◀ presence.online bob (busy)",
                "alicePhone ◀ presence.updated bob (busy)",
                "bobLaptop ◀ presence.updated bob (busy)",
            ])
        let end = desk.request(.hangUp("c1"), by: "alice", on: .alicePhone, id: "r3")
        #expect(!end.sends.contains { $0.hasPrefix("bobLaptop ◀ call.ended") })
        #expect(end.sends.last == "bobLaptop ◀ presence.updated bob")
    }

    @Test("a member's device dropping before they joined the room: they leave, and the 1:1 call ends")
    func memberDropsBeforeJoining() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone)])
        desk.invite(["bob"], from: "alice", on: .alicePhone)
        desk.request(.accept("c1"), by: "bob", on: .bobPhone)
        #expect(
            desk.disconnect("bob", .bobPhone).lines == [
                "room c1 revokes bob",
                "alicePhone ◀ call.ended c1 hangup, 0 ms",
                "history bob: incoming c1 answered, peers alice, 0 ms",
                "history alice: outgoing c1 answered, peers bob, 0 ms",
                "alicePhone ◀ presence.offline bob",
                "then: end room c1",
            ])
    }

    @Test("the caller's device dropping before anyone answered cancels the call")
    func callerDropsBeforeAnswer() throws {
        var desk = try Desk.online([("alice", .alicePhone), ("bob", .bobPhone)])
        desk.invite(["bob"], from: "alice", on: .alicePhone)
        #expect(
            desk.disconnect("alice", .alicePhone).lines == [
                "bobPhone ◀ call.invitationEnded c1 cancelled",
                "metric invitation cancelled",
                "history bob: incoming c1 cancelled, peers alice, 0 ms",
                "history alice: outgoing c1 cancelled, peers bob, 0 ms",
                "bobPhone ◀ presence.offline alice",
            ])
    }
}
