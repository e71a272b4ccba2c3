// A refused join changes nothing: Room.join checks everything before it
// changes anything (it works in place, with no copy of the room to roll back to).

import ConfabProtocol
import ConfabRooms
import Testing

@Suite("A refused join leaves the room exactly as it was")
struct JoinRefusalTests {
    @Test("an unknown role, a reserved id, metadata too long: refused, and the room is unchanged (LifecycleTests has the full room)")
    func refusalsChangeNothing() throws {
        var room = Fixture.standardRoom()
        let before = room
        let refused = [
            Admission(peer: "lee", name: "Lee", role: "emperor"), Admission(peer: .server, name: "S", role: "host"),
            Admission(peer: "zed", name: "Zed", role: "listener", metadata: String(repeating: "m", count: 70_000)),
        ]
        for admission in refused {
            #expect(throws: CodedError.self) { _ = try room.join(admission, now: Fixture.t1) }
        }
        #expect(room == before)
    }

    @Test("an ended room stays ended when the join that would reopen it is refused")
    func endedRoomStaysEnded() throws {
        var room = Fixture.standardRoom()
        _ = room.end(reason: nil, lock: false, now: Fixture.t1)
        let ended = room
        #expect(throws: CodedError.self) { _ = try room.join(Admission(peer: "zed", name: "Zed", role: "emperor"), now: Fixture.t1) }
        #expect(room == ended)
        _ = try room.join(Admission(peer: "zed", name: "Zed", role: "listener"), now: Fixture.t1)
        #expect(room.phase == .open)
    }
}
