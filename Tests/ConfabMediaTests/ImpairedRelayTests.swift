import ConfabSocket
import ConfabTestSupport
import Testing

/// The benchmark's and the feedback tests' bad network: it must do what it says, both ways.
@Suite("Impaired relay: seeded loss and delay per direction, answers back to their client")
struct ImpairedRelayTests {
    @Test("datagrams reach the upstream with the configured loss, and its answers come back to the client")
    func bothWays() async throws {
        let upstream = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        let client = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        let relay = try ImpairedRelay(
            upstream: upstream.localAddress, up: PathImpairment(lossPercent: 20), down: .none, seed: 3)
        defer { relay.stop() }
        let batch = DatagramBatch()
        var bytes: [UInt8] = [1, 2, 3]
        var arrived = 0
        var answerTo: SocketAddress?
        // Fifty at a time, each lot read before the next is sent: 500 at once
        // can overrun the upstream socket's receive buffer while this test
        // waits for a thread (the kernel would drop what the relay forwarded).
        for lot in 1...10 {
            for _ in 0..<50 { _ = bytes.withUnsafeBytes { client.send($0, to: relay.address) } }
            _ = await waitUntil(timeout: .seconds(5)) {
                let count = (try? upstream.receive(into: batch, timeoutMs: 5)) ?? 0
                if count > 0 { answerTo = batch.source(0) }
                arrived += count
                return relay.stats.forwardedUp.load(ordering: .relaxed) + relay.stats.droppedUp.load(ordering: .relaxed)
                    == lot * 50 && arrived == relay.stats.forwardedUp.load(ordering: .relaxed)
            }
        }
        #expect(arrived == relay.stats.forwardedUp.load(ordering: .relaxed))
        #expect((60...140).contains(relay.stats.droppedUp.load(ordering: .relaxed)), "about a fifth of 500 dropped")
        let back = try #require(answerTo)
        bytes = [9]
        _ = bytes.withUnsafeBytes { upstream.send($0, to: back) }
        let answered = await waitUntil(timeout: .seconds(5)) { ((try? client.receive(into: batch, timeoutMs: 5)) ?? 0) > 0 }
        #expect(answered, "the upstream's answer reached the client")
    }

    @Test("jitter larger than the spacing reorders datagrams; the delay holds on average")
    func reorders() async throws {
        let upstream = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        let client = try UDPSocket(bindTo: "127.0.0.1", port: 0)
        let relay = try ImpairedRelay(
            upstream: upstream.localAddress, up: PathImpairment(delayMs: 60, jitterMs: 25), down: .none, seed: 5)
        defer { relay.stop() }
        let batch = DatagramBatch()
        // Ten at a time back to back (no spacing that a test starved of CPU
        // could stretch past the jitter), each lot once the relay has taken
        // the last (fifty at once can overrun its socket's receive buffer
        // while its thread is starved).
        for lot in 0..<5 {
            for index in (lot * 10)..<(lot * 10 + 10) {
                let bytes = [UInt8(index)]
                _ = bytes.withUnsafeBytes { client.send($0, to: relay.address) }
            }
            let taken = await waitUntil(timeout: .seconds(5)) {
                relay.stats.forwardedUp.load(ordering: .relaxed) >= lot * 10 + 10
            }
            #expect(taken, "the relay took lot \(lot)")
        }
        var order: [UInt8] = []
        _ = await waitUntil(timeout: .seconds(5)) {
            let count = (try? upstream.receive(into: batch, timeoutMs: 5)) ?? 0
            for index in 0..<count { order.append(batch.datagram(index)[0]) }
            return order.count == 50
        }
        #expect(order.count == 50)
        #expect(order != order.sorted(), "some overtook others")
    }
}
