// The keepalive rule both the room session and the call client follow, at
// given times (no clock, no sleeps).

@testable import ConfabClient
import ConfabProtocol
import Testing

@Suite("Keepalive: when a client pings and when it gives the server up")
struct KeepalivePolicyTests {
    let policy = KeepalivePolicy(info: KeepaliveInfo(pingIntervalMs: 5_000, deadAfterMs: 15_000))

    @Test("nothing while the client spoke within the interval and the server within the deadline")
    func quiet() {
        #expect(policy.action(sinceReceivedMs: 0, sinceSentMs: 0) == .nothing)
        #expect(policy.action(sinceReceivedMs: 14_999, sinceSentMs: 4_999) == .nothing)
    }

    @Test("a ping once the client has sent nothing for the interval; any request counts as sending")
    func ping() {
        #expect(policy.action(sinceReceivedMs: 100, sinceSentMs: 5_000) == .ping)
        #expect(policy.action(sinceReceivedMs: 100, sinceSentMs: 60_000) == .ping)
    }

    @Test("silence from the server for the deadline is a dead connection, whatever was sent")
    func dead() {
        #expect(policy.action(sinceReceivedMs: 15_000, sinceSentMs: 0) == .dead)
        #expect(policy.action(sinceReceivedMs: 15_000, sinceSentMs: 5_000) == .dead)
    }

    @Test("ticks are a quarter of the shorter period, never below 20 ms", arguments: [
        (5_000, 15_000, 1_250), (200, 10_000, 50), (10_000, 2_000, 500), (40, 40, 20),
    ])
    func ticks(pingMs: Int, deadMs: Int, tickMs: Int) {
        #expect(KeepalivePolicy(info: KeepaliveInfo(pingIntervalMs: pingMs, deadAfterMs: deadMs)).tickMs == tickMs)
    }
}
