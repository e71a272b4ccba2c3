import ConfabProtocol
import ConfabRooms
import Foundation
import Testing

@Suite("A peer restored on another node as its room had it")
struct FailoverRestoreTests {
    /// The fixture after hana made sam a host and muted sara: what a node keeps of them.
    static func keptAfterChanges() throws -> (sam: KeptPeerState, sara: KeptPeerState) {
        var room = Fixture.standardRoom()
        _ = try room.apply(.changeRole(peer: "sam", role: "host", force: true), from: "hana", now: Fixture.t1)
        _ = try room.apply(.muteTrack("sara:mic"), from: "hana", now: Fixture.t1)
        let sam = try #require(room.keptState(of: "sam"))
        let sara = try #require(room.keptState(of: "sara"))
        // Kept as JSON in the database: what comes back is what went in.
        let stored = try JSONDecoder().decode(KeptPeerState.self, from: JSONEncoder().encode(sara))
        #expect(stored == sara)
        return (sam, sara)
    }

    @Test("the audio formats a resume declares come with the restored peer; one that declares none plays Opus only")
    func restoresWhatTheResumeDeclares() throws {
        let kept = try Self.keptAfterChanges()
        var room = Room(name: Fixture.room, template: .standard, now: Fixture.t1)
        _ = try room.join(Admission(peer: "hana", name: "Hana", role: "host"), now: Fixture.t1)
        _ = try room.restore(kept.sam, receives: .red, now: Fixture.t1)
        _ = try room.restore(kept.sara, now: Fixture.t1)
        #expect(room.peer("sam")?.info.receives == .red)
        #expect(room.peer("sara")?.info.receives == nil)
    }

    @Test("a role given in the room and a mute by a host come back, and the others hear a resumed peer.joined")
    func restoresRoleAndMute() throws {
        let kept = try Self.keptAfterChanges()
        #expect(kept.sam.role == "host")
        #expect(kept.sara.muted && kept.sara.mutedBy == "hana")
        // The room starts afresh on the other node with hana back first.
        var room = Room(name: Fixture.room, template: .standard, now: Fixture.t1)
        _ = try room.join(Admission(peer: "hana", name: "Hana", role: "host"), now: Fixture.t1)
        let samBack = try room.restore(kept.sam, now: Fixture.t1)
        let saraBack = try room.restore(kept.sara, now: Fixture.t1)
        #expect(room.peer("sam")?.role == "host")
        #expect(room.peer("sam")?.microphone == TrackInfo(id: "sam:mic", muted: true))
        #expect(room.peer("sara")?.microphone == TrackInfo(id: "sara:mic", muted: true, mutedBy: "hana"))
        let saraInfo = try #require(room.peer("sara")?.info)
        #expect(
            saraBack.events == [
                RoomEvent(audience: ["hana", "sam"], body: .peerJoined(PeerJoined(peer: saraInfo, resumed: true)))
            ])
        #expect(samBack.events.map(\.audience) == [["hana"]])
        // The restored host's role is a real one: sam may now change roles.
        _ = try room.apply(.changeRole(peer: "sara", role: "listener", force: true), from: "sam", now: Fixture.t1)
        #expect(room.peer("sara")?.role == "listener")
    }

    @Test("a raised hand comes back with when it went up, so the hands keep their order")
    func raisedHandsKeepTheirOrder() throws {
        var room = Fixture.standardRoom()
        _ = try room.apply(.raiseHand, from: "sara", now: Fixture.t1)
        _ = try room.apply(.raiseHand, from: "sam", now: Fixture.t1.adding(milliseconds: 500))
        let sara = try #require(room.keptState(of: "sara"))
        let sam = try #require(room.keptState(of: "sam"))
        let stored = try JSONDecoder().decode(KeptPeerState.self, from: JSONEncoder().encode(sam))
        #expect(stored.handRaisedAt == Fixture.t1.adding(milliseconds: 500))
        // Restored later, sam first: sara's hand is still the earlier one.
        var moved = Room(name: Fixture.room, template: .standard, now: Fixture.t1)
        _ = try moved.join(Admission(peer: "hana", name: "Hana", role: "host"), now: Fixture.t1)
        let later = Fixture.t1.adding(milliseconds: 5_000)
        let samBack = try moved.restore(stored, now: later)
        _ = try moved.restore(sara, now: later)
        #expect(moved.peer("sara")?.handRaisedAt == Fixture.t1)
        #expect(moved.peer("sam")?.handRaisedAt == Fixture.t1.adding(milliseconds: 500))
        let joined = samBack.events.compactMap { event -> PeerJoined? in
            if case .peerJoined(let joined) = event.body { joined } else { nil }
        }
        #expect(joined.first?.peer.isHandRaised == true, "the others see sam's hand up")
        // A row written before hands were kept decodes with no hand up.
        let old = #"{"peer":"sam","name":"Sam","role":"speaker","metadata":"","muted":true}"#
        #expect(try JSONDecoder().decode(KeptPeerState.self, from: Data(old.utf8)).handRaisedAt == nil)
    }

    @Test("a kept role this room does not define is refused, and nothing changes")
    func unknownRole() throws {
        var kept = try Self.keptAfterChanges().sam
        kept.role = "producer"
        var room = Room(name: Fixture.room, template: .standard, now: Fixture.t1)
        let before = room
        #expect(throws: CodedError.self) { try room.restore(kept, now: Fixture.t1) }
        #expect(room == before)
    }

    @Test("a peer that is in the room already (it joined afresh) is not restored over itself")
    func alreadyHere() throws {
        let kept = try Self.keptAfterChanges().sam
        var room = Room(name: Fixture.room, template: .standard, now: Fixture.t1)
        _ = try room.join(Admission(peer: "sam", name: "Sam", role: "speaker"), now: Fixture.t1)
        do {
            _ = try room.restore(kept, now: Fixture.t1)
            Issue.record("restored over a live session")
        } catch {
            #expect(error.code == .resumeRejected)
        }
        #expect(room.peer("sam")?.role == "speaker")
    }
}
