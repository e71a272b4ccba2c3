// A peer's changes that go to the whole room (hand, name, metadata, shared
// state) are limited per peer; muting never is, and the server is not a peer.

import ConfabProtocol
import Testing

@testable import ConfabRooms

@Suite("Changes a peer announces to the room are rate-limited")
struct ChangeRateTests {
    @Test("ten changes at once pass, the eleventh is 4015 and changes nothing; muting is never limited; 400 ms later two more pass")
    func burstThenRefill() throws {
        var room = Fixture.standardRoom()
        let now = Fixture.t1
        for n in 0..<10 {
            let action: PeerAction = n % 2 == 0 ? .raiseHand : .lowerHand
            _ = try room.apply(action, from: "lee", now: now)
        }
        let before = room
        for action in [PeerAction.raiseHand, .updatePeer(name: "Lee L.", metadata: nil)] {
            do {
                _ = try room.apply(action, from: "lee", now: now)
                Issue.record("an eleventh change went through: \(action)")
            } catch {
                #expect(error.code == .changesRateLimited)
                #expect(error.retryAfterMs == 200, "5 a second: the next in 200 ms")
            }
        }
        #expect(room == before, "a refused change leaves the room as it was")
        // Another peer has its own allowance.
        _ = try room.apply(.raiseHand, from: "lina", now: now)
        // A speaker that spent its changes still mutes and unmutes.
        for n in 0..<10 { _ = try room.apply(.updatePeer(name: "Sam \(n)", metadata: nil), from: "sam", now: now) }
        #expect(throws: CodedError.self) { try room.apply(.updatePeer(name: "Sam", metadata: nil), from: "sam", now: now) }
        _ = try room.apply(.unmuteTrack(.microphone(of: "sam")), from: "sam", now: now)
        _ = try room.apply(.muteTrack(.microphone(of: "sam")), from: "sam", now: now)
        #expect(room.peer("sam")?.microphone?.muted == true)
        // 5 a second: 400 ms later two more.
        let later = now.adding(milliseconds: 400)
        _ = try room.apply(.raiseHand, from: "lee", now: later)
        _ = try room.apply(.lowerHand, from: "lee", now: later)
        #expect(throws: CodedError.self) { try room.apply(.raiseHand, from: "lee", now: later) }
    }

    @Test("a refused change spends nothing; the server acting through the API has no allowance")
    func refusalsAndServer() throws {
        var room = Fixture.standardRoom()
        let now = Fixture.t1
        for _ in 0..<20 {
            #expect(throws: CodedError.self) { try room.apply(.setState(key: ".bad", value: "x"), from: "hana", now: now) }
        }
        _ = try room.apply(.setState(key: "agenda", value: "one"), from: "hana", now: now)
        for n in 0..<30 {
            _ = try room.apply(.setState(key: "agenda", value: "item \(n)"), from: .server, now: now)
        }
        #expect(room.sharedStateEntries?.first?.value == "item 29")
    }
}
