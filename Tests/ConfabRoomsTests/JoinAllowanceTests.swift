// Joins of one identity to one room are counted over a sliding minute: a
// join loop is refused, other identities are not, and identities gone quiet
// are forgotten so the count cannot grow with everyone who ever joined.

import ConfabProtocol
import Testing

@testable import ConfabRooms

@Suite("Joins per identity: ten in any minute")
struct JoinAllowanceTests {
    @Test("ten joins pass, the eleventh is refused until the first leaves the minute; another identity is not affected")
    func tenThenRefused() {
        var allowance = JoinAllowance()
        let start = Fixture.t0
        for n in 0..<10 {
            #expect(allowance.admit("bob", now: start.adding(milliseconds: n * 1_000)) == .admitted)
        }
        // The first join was 10 s ago: 50 s to wait.
        #expect(allowance.admit("bob", now: start.adding(milliseconds: 10_000)) == .refused(retryAfterMs: 50_000))
        #expect(allowance.admit("bob", now: start.adding(milliseconds: 59_999)) == .refused(retryAfterMs: 1))
        #expect(allowance.admit("alice", now: start.adding(milliseconds: 10_000)) == .admitted)
        // A refused join is not counted: once the first join is a minute old, one more passes.
        #expect(allowance.admit("bob", now: start.adding(milliseconds: 60_000)) == .admitted)
        #expect(allowance.admit("bob", now: start.adding(milliseconds: 60_000)) == .refused(retryAfterMs: 1_000))
    }

    @Test("a join refused after it was counted (room full) is refunded: ten more pass")
    func refundedJoins() {
        var allowance = JoinAllowance()
        for _ in 0..<25 {
            #expect(allowance.admit("bob", now: Fixture.t0) == .admitted)
            allowance.refund("bob")
        }
        #expect(allowance.identities == 0, "nothing kept for an identity with no join counted")
        for _ in 0..<10 { #expect(allowance.admit("bob", now: Fixture.t0) == .admitted) }
        #expect(allowance.admit("bob", now: Fixture.t0) != .admitted)
    }

    @Test("identities with no join in the last minute are forgotten")
    func quietIdentitiesForgotten() {
        var allowance = JoinAllowance()
        for n in 0..<1_000 { _ = allowance.admit(PeerID(uncheckedRawValue: "lee\(n)"), now: Fixture.t0) }
        #expect(allowance.identities == 1_000)
        _ = allowance.admit("bob", now: Fixture.t0.adding(milliseconds: 60_000))
        #expect(allowance.identities == 1)
    }

    @Test("a wall clock stepped back forgives the joins it now sees in the future")
    func clockSteppedBack() {
        var allowance = JoinAllowance()
        let late = Fixture.t0.adding(milliseconds: 3_600_000)
        for _ in 0..<10 { _ = allowance.admit("bob", now: late) }
        #expect(allowance.admit("bob", now: late) != .admitted)
        #expect(allowance.admit("bob", now: Fixture.t0) == .admitted)
    }
}
