// keys.publish in pages, at the room's host: pages of the SSRC already
// announced are more of the same key, not a rotation.

@testable import ConfabServer
import ConfabProtocol
import Foundation
import Testing

@Suite("keys.publish pages at the host")
struct KeysPagesTests {
    static func publish(epoch: Int, ssrc: Int, to peers: [String]) -> String {
        let keys = peers.map { #"{"peer": "\#($0)", "sealed": "3q2+7wAB"}"# }.joined(separator: ", ")
        return #"{"v": 1, "type": "keys.publish", "id": "k\#(epoch)", "track": "alice:mic", "epoch": \#(epoch), "ssrc": \#(ssrc), "keys": [\#(keys)]}"#
    }

    @Test("a further page of the current epoch keeps the previous SSRC forwarded, and every page's keys are relayed")
    func furtherPageIsNoRotation() async throws {
        let harness = try RoomHostMediaTests.Harness()
        let alice = try await harness.join("alice", role: "host", muted: false)
        let bob = try await harness.join("bob", role: "speaker")
        let lee = try await harness.join("lee", role: "listener")
        try await harness.send(Self.publish(epoch: 1, ssrc: 100, to: ["bob", "lee"]), as: "alice", on: alice)
        try await harness.send(Self.publish(epoch: 2, ssrc: 200, to: ["bob"]), as: "alice", on: alice)
        #expect(harness.media.table?["alice"]?.ssrcs.0 == 200 && harness.media.table?["alice"]?.ssrcs.1 == 100)
        // The second page of epoch 2: the old SSRC still forwarded while receivers switch.
        try await harness.send(Self.publish(epoch: 2, ssrc: 200, to: ["lee"]), as: "alice", on: alice)
        #expect(harness.media.table?["alice"]?.ssrcs.0 == 200 && harness.media.table?["alice"]?.ssrcs.1 == 100)

        for (connection, expected) in [(bob, [1, 2]), (lee, [1, 2])] {
            connection.sink.finish()
            var epochs: [Int] = []
            for await outbound in connection.stream {
                if case .keys(let delivery) = try RoomHostMediaTests.Harness.decode(outbound)?.body {
                    #expect(delivery.ssrc == (delivery.epoch == 1 ? 100 : 200))
                    epochs.append(delivery.epoch)
                }
            }
            #expect(epochs == expected)
        }
    }
}
