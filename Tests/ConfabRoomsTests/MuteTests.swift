import ConfabProtocol
import ConfabRooms
import Foundation
import Testing

@Suite("Mute and unmute")
struct MuteTests {
    @Test("a host mutes another at once, and everyone hears who did it")
    func hostMutes() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.apply(.muteTrack("sara:mic"), from: "hana", now: Fixture.t1)
        #expect(
            outcome.events == [
                RoomEvent(
                    audience: Fixture.everyone,
                    body: .trackMuted(TrackMuteChange(peer: "sara", track: "sara:mic", by: "hana")))
            ])
        #expect(room.peer("sara")?.microphone == TrackInfo(id: "sara:mic", muted: true, mutedBy: "hana"))
    }

    @Test("a peer muted by a host may unmute itself: its role may publish")
    func unmuteAfterHostMute() throws {
        var room = Fixture.standardRoom()
        _ = try room.apply(.muteTrack("sara:mic"), from: "hana", now: Fixture.t1)
        let outcome = try room.apply(.unmuteTrack("sara:mic"), from: "sara", now: Fixture.t1)
        #expect(room.peer("sara")?.microphone == TrackInfo(id: "sara:mic", muted: false))
        #expect(
            outcome.events.map(\.body) == [.trackUnmuted(TrackMuteChange(peer: "sara", track: "sara:mic", by: "sara"))])
    }

    @Test("muting a muted track succeeds without events")
    func idempotent() throws {
        var room = Fixture.standardRoom()
        let before = room
        let outcome = try room.apply(.muteTrack("sam:mic"), from: "sam", now: Fixture.t1)
        #expect(outcome.events == [])
        #expect(room == before)
    }

    @Test("a listener has no microphone to unmute")
    func listener() {
        var room = Fixture.standardRoom()
        #expect(room.attempt(.unmuteTrack("lee:mic"), by: "lee").failure?.code == .cannotPublish)
        #expect(room.attempt(.muteTrack("lee:mic"), by: "hana").failure?.code == .trackNotFound)
    }

    @Test("an unknown track is not found")
    func unknownTrack() {
        var room = Fixture.standardRoom()
        #expect(room.attempt(.muteTrack("nobody:mic"), by: "hana").failure?.code == .trackNotFound)
    }
}

@Suite("Hands, names and keys")
struct PeerStateTests {
    @Test("raising a hand records when; raising again keeps the first time")
    func hands() throws {
        var room = Fixture.standardRoom()
        let first = try room.apply(.raiseHand, from: "lee", now: Fixture.t1)
        #expect(first.events.map(\.body) == [.peerUpdated(PeerUpdated(peer: room.peer("lee")!.info, changed: [.hand]))])
        let again = try room.apply(.raiseHand, from: "lee", now: Fixture.t1.adding(milliseconds: 9))
        #expect(again.events == [])
        #expect(room.peer("lee")?.handRaisedAt == Fixture.t1)
        let lowered = try room.apply(.lowerHand, from: "lee", now: Fixture.t1)
        #expect(lowered.events.count == 1)
        let loweredAgain = try room.apply(.lowerHand, from: "lee", now: Fixture.t1)
        #expect(loweredAgain.events == [])
    }

    @Test("a role without the permission cannot raise a hand")
    func noHand() {
        let template = RoomTemplate(roles: [
            Role(name: "mute", priority: 0, publishAudio: false, subscribesTo: [], chat: .none, permissions: .none)
        ])
        var room = Room(name: "r", template: template, now: Fixture.t0)
        _ = try? room.join(Admission(peer: "m", name: "M", role: "mute"), now: Fixture.t0)
        let before = room
        #expect(room.attempt(.raiseHand, by: "m").failure?.code == .cannotRaiseHand)
        #expect(room.attempt(.sendChat(target: .broadcast, text: "x"), by: "m").failure?.code == .cannotChatBroadcast)
        #expect(
            room.attempt(.sendChat(target: .roles(["mute"]), text: "x"), by: "m").failure?.code == .cannotChatToRoles)
        #expect(room == before)
    }

    @Test("renaming sanitises; an empty name is refused")
    func rename() throws {
        var room = Fixture.standardRoom()
        let outcome = try room.apply(
            .updatePeer(name: "\u{1B}[31mLee\u{1B}[0m  Park", metadata: "{}"), from: "lee", now: Fixture.t1)
        #expect(room.peer("lee")?.name == "Lee Park")
        #expect(
            outcome.events.map(\.body) == [
                .peerUpdated(PeerUpdated(peer: room.peer("lee")!.info, changed: [.name, .metadata]))
            ])
        let before = room
        #expect(room.attempt(.updatePeer(name: "\u{200B}\u{07}", metadata: nil), by: "lee").failure?.code == .emptyName)
        #expect(
            room.attempt(.updatePeer(name: "x", metadata: String(repeating: "m", count: 4_097)), by: "lee").failure?
                .code == .invalidMessage)
        #expect(room == before)
        #expect(room.attempt(.updatePeer(name: "Lee Park", metadata: nil), by: "lee").success?.events == [])
    }

    @Test("sealed keys go to each connected recipient, from the owner of the track only")
    func keys() throws {
        var room = Fixture.standardRoom()
        _ = room.connectionLost("lina", now: Fixture.t1)
        let request = PublishKeysRequest(
            track: "sara:mic", epoch: 3,
            keys: [
                SealedKey(peer: "hana", sealed: Data([1])), SealedKey(peer: "lina", sealed: Data([2])),
                SealedKey(peer: "sara", sealed: Data([3])),
            ])
        let outcome = try room.apply(.publishKeys(request), from: "sara", now: Fixture.t1)
        #expect(
            outcome.events == [
                RoomEvent(
                    audience: ["hana"],
                    body: .keys(SealedKeyDelivery(from: "sara", track: "sara:mic", epoch: 3, sealed: Data([1]))))
            ])
        #expect(room.attempt(.publishKeys(request), by: "sam").failure?.code == .trackNotFound)
        #expect(room.attempt(.publishKeys(request), by: "lee").failure?.code == .cannotPublish)
    }

    @Test("relaying sealed keys leaves the room's state exactly as it was: the server's memory of keys stays empty")
    func keysAreNotKept() throws {
        var room = Fixture.standardRoom()
        let before = room
        let sealed = Data((0..<78).map { UInt8($0) })
        let request = PublishKeysRequest(
            track: "sara:mic", epoch: 1, keys: [SealedKey(peer: "hana", sealed: sealed), SealedKey(peer: "lee", sealed: sealed)],
            ssrc: 0x5A5A)
        let outcome = try room.apply(.publishKeys(request), from: "sara", now: Fixture.t1)
        #expect(outcome.events.map(\.audience) == [["hana"], ["lee"]])
        // Delivered and forgotten: nothing of the request stays in the room.
        #expect(room == before)
    }
}
