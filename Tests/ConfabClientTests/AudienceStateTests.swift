import ConfabClient
import ConfabProtocol
import Testing

@Suite("RoomState: counts of a room with an audience, and their headless lines")
struct AudienceStateTests {
    static let counts = RoomCounts(
        total: 1_234,
        roles: [RoleCount(role: "host", count: 1), RoleCount(role: "speaker", count: 3), RoleCount(role: "listener", count: 1_230)])

    @Test("joined brings the counts; room.counts replaces them; without counts the known peers are counted")
    func counts() {
        var state = RoomState()
        var joined = Fixture.joined()
        reduce(&state, .joined(joined, roundTripMs: 1))
        #expect(state.counts == nil)
        #expect(state.headCount == 2, "alice and bob, counted from the peers")
        #expect(state.count(of: "host") == 2)
        joined.counts = RoomCounts(total: 2, roles: [RoleCount(role: "listener", count: 1)])
        reduce(&state, .joined(joined, roundTripMs: 1))
        #expect(state.headCount == 2 && state.count(of: "listener") == 1)
        reduce(&state, .countsUpdated(Self.counts))
        #expect(state.headCount == 1_234)
        #expect(state.count(of: "listener") == 1_230)
        #expect(state.peers.count == 1, "counts do not invent peers")
    }

    @Test("a roster page leaves the store's peers alone")
    func rosterPage() {
        var state = RoomState()
        reduce(&state, .joined(Fixture.joined(), roundTripMs: 1))
        let page = RosterPage(peers: [Fixture.peer("zed", role: "listener")], next: nil, total: 1)
        reduce(&state, .rosterPage(page, request: RosterRequest()))
        #expect(state.peers["zed"] == nil)
    }

    @Test("headless prints counts and roster pages as documented")
    func headlessLines() {
        #expect(
            HeadlessEvents.line(for: .countsUpdated(Self.counts))
                == #"{"event":"counts","total":1234,"roles":[{"count":1,"role":"host"},{"count":3,"role":"speaker"},{"count":1230,"role":"listener"}]}"#
        )
        let page = RosterPage(peers: [], next: "17.zed", total: 40)
        #expect(
            HeadlessEvents.line(for: .rosterPage(page, request: RosterRequest(limit: 10, role: "listener")))
                == #"{"event":"roster","peers":[],"next":"17.zed","total":40,"request":{"limit":10,"role":"listener"}}"#)
    }
}
