// A callee who quits while the call rings: the caller hears it at once.
import ConfabClient
import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("Calls: an invitee who goes offline while rung", .timeLimit(.minutes(2)))
struct CallRingingOfflineTests {
    @Test("the caller sees 'offline' within seconds (a 5 s grace for a dropped connection), not 'no response' after the 30 s ring; the call ends")
    func calleeQuitsWhileRinging() async throws {
        let server = try await LiveServer.start()
        let (alice, bob) = try await Caller.online(server, "alice", "bob")
        try await alice.rings(bob)
        let quit = ContinuousClock.now
        await bob.client.disconnect()
        #expect(await alice.sawState("bob", .offline, timeoutMs: 12_000))
        let ended = try await alice.waitForEnd()
        #expect(ended.reason == .unanswered)
        #expect(ContinuousClock.now - quit < .seconds(12))
        #expect(!alice.events.contains { event in
            if case .participantChanged(_, "bob", .noResponse) = event { return true }
            return false
        })
        await Caller.end(alice)
        await server.stop()
    }
}
