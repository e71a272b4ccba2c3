import ConfabProtocol
import ConfabRooms
import Testing

@Suite("The roster: pages of the room for roles that see the audience")
struct RosterTests {
    /// A town hall with the fixture's six and `listeners` more, joined a millisecond apart.
    static func room(listeners: Int) throws -> Room {
        var room = Fixture.standardRoom(template: .townHall)
        for index in 0..<listeners {
            _ = try room.join(
                Admission(peer: PeerID(uncheckedRawValue: "l\(index)"), name: "Listener \(index)", role: "listener"),
                now: Fixture.t0.adding(milliseconds: 10 + index))
        }
        return room
    }

    @Test("a listener may not read the roster")
    func permission() throws {
        let room = try Self.room(listeners: 3)
        #expect(throws: CodedError.self) { try room.roster(RosterRequest(), for: "lee") }
        do {
            _ = try room.roster(RosterRequest(), for: "sam")
        } catch {
            #expect(error.code == .cannotSeeAudience)
        }
    }

    @Test("pages follow join order and end with no cursor")
    func pagesInOrder() throws {
        let room = try Self.room(listeners: 250)
        var seen: [PeerID] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try room.roster(RosterRequest(cursor: cursor, limit: 100), for: "hana")
            #expect(page.total == 256)
            #expect(page.peers.count <= 100)
            seen += page.peers.map(\.id)
            cursor = page.next
            pages += 1
        } while cursor != nil
        #expect(pages == 3)
        #expect(seen.count == 256 && Set(seen).count == 256)
        #expect(Array(seen.prefix(7)) == ["hana", "hugo", "sam", "sara", "lee", "lina", "l0"])
    }

    @Test("while peers come and go, everyone present throughout is listed exactly once", arguments: [1, 2, 3])
    func pagingUnderChurn(seed: UInt64) throws {
        var room = try Self.room(listeners: 300)
        let before = Set(room.connectedIDs)
        var random = seed &* 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(bound))
        }
        var leftSomeTime: Set<PeerID> = []
        var seen: [PeerID] = []
        var cursor: String?
        var newcomer = 0
        var now = Fixture.t0.adding(milliseconds: 10_000)
        repeat {
            let page = try room.roster(RosterRequest(cursor: cursor, limit: 1 + next(40)), for: "hana")
            seen += page.peers.map(\.id)
            cursor = page.next
            // Between pages: some leave, some join, some drop and resume.
            for _ in 0..<next(6) {
                let candidates = room.connectedIDs.subtracting(["hana"]).sorted()
                let leaving = candidates[next(candidates.count)]
                _ = try room.apply(.leave, from: leaving, now: now)
                leftSomeTime.insert(leaving)
            }
            for _ in 0..<next(6) {
                now = now.adding(milliseconds: 1)
                _ = try room.join(
                    Admission(peer: PeerID(uncheckedRawValue: "n\(newcomer)"), name: "New \(newcomer)", role: "listener"),
                    now: now)
                newcomer += 1
            }
        } while cursor != nil
        #expect(seen.count == Set(seen).count, "no peer twice")
        let throughout = before.subtracting(leftSomeTime)
        #expect(throughout.isSubset(of: Set(seen)), "missing: \(throughout.subtracting(Set(seen)).sorted())")
    }

    @Test("filters: role, raised hand, name prefix (any case); total counts the matches")
    func filters() throws {
        var room = try Self.room(listeners: 20)
        _ = try room.apply(.raiseHand, from: "l3", now: Fixture.t1)
        _ = try room.apply(.raiseHand, from: "sam", now: Fixture.t1)
        let hands = try room.roster(RosterRequest(handRaised: true), for: "hana")
        #expect(hands.peers.map(\.id) == ["sam", "l3"] && hands.total == 2)
        let speakers = try room.roster(RosterRequest(role: "speaker"), for: "hana")
        #expect(speakers.peers.map(\.id) == ["sam", "sara"])
        let named = try room.roster(RosterRequest(namePrefix: "listener 1"), for: "hana")
        #expect(named.peers.map(\.id) == ["l1"] + (10..<20).map { PeerID(uncheckedRawValue: "l\($0)") })
        #expect(named.total == 11)
        #expect(throws: CodedError.self) { try room.roster(RosterRequest(role: "guest"), for: "hana") }
        #expect(throws: CodedError.self) { try room.roster(RosterRequest(cursor: "nonsense"), for: "hana") }
    }
}
