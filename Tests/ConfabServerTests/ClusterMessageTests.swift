// Messages between nodes as NOTIFY payloads: every payload under
// PostgreSQL's 8000-byte limit, and what is cut into parts comes back whole.

import Foundation
import Testing

@testable import ConfabServer

@Suite("Cluster messages fit NOTIFY")
struct ClusterMessageTests {
    static func header(_ device: UInt64 = 7) -> ClusterMessage.Header {
        ClusterMessage.Header(to: "node-b", from: "node-a", op: .send, device: device)
    }

    @Test("a short message is one payload that parses back to itself")
    func shortMessage() throws {
        let message = ClusterMessage(header: Self.header(), body: #"{"type":"presence.online"}"#)
        let payloads = message.payloads()
        #expect(payloads.count == 1)
        let parsed = try #require(ClusterMessage.parse(payloads[0]))
        var assembler = ClusterMessageAssembler()
        #expect(assembler.add(parsed.header, part: parsed.part) == message)
    }

    @Test("a long message with multi-byte characters is cut under 8000 bytes a payload and joined again",
        arguments: [1, 2, 3, 4])
    func longMessage(bytesPerCharacter: Int) throws {
        let character = ["a", "é", "€", "🎧"][bytesPerCharacter - 1]
        let body = "[" + String(repeating: character, count: 25_000 / bytesPerCharacter) + "\n\"quoted\"]"
        let message = ClusterMessage(header: Self.header(), body: body)
        let payloads = message.payloads()
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.utf8.count < 8_000 })
        var assembler = ClusterMessageAssembler()
        var whole: [ClusterMessage] = []
        for payload in payloads {
            let parsed = try #require(ClusterMessage.parse(payload))
            if let done = assembler.add(parsed.header, part: parsed.part) { whole.append(done) }
        }
        #expect(whole == [message])
    }

    @Test("parts of two connections' messages interleaved are joined per connection")
    func interleaved() throws {
        let first = ClusterMessage(header: Self.header(1), body: String(repeating: "x", count: 13_000))
        let second = ClusterMessage(header: Self.header(2), body: String(repeating: "y", count: 13_000))
        var assembler = ClusterMessageAssembler()
        var whole: [ClusterMessage] = []
        for (a, b) in zip(first.payloads(), second.payloads()) {
            for payload in [a, b] {
                let parsed = try #require(ClusterMessage.parse(payload))
                if let done = assembler.add(parsed.header, part: parsed.part) { whole.append(done) }
            }
        }
        #expect(whole == [first, second])
    }

    @Test("a message that grows past the limit is dropped to its last part; the connection's next message comes through")
    func oversizedMessage() throws {
        let large = ClusterMessage(header: Self.header(), body: String(repeating: "x", count: 30_000))
        let next = ClusterMessage(header: Self.header(), body: String(repeating: "y", count: 13_000))
        var assembler = ClusterMessageAssembler(maximumBytes: 20_000)
        var whole: [ClusterMessage] = []
        for payload in large.payloads() + next.payloads() {
            let parsed = try #require(ClusterMessage.parse(payload))
            if let done = assembler.add(parsed.header, part: parsed.part) { whole.append(done) }
        }
        #expect(large.payloads().count >= 4, "parts go on after the limit is passed")
        #expect(whole == [next])
    }

    @Test("a payload that is not a cluster message is ignored")
    func foreignPayload() {
        #expect(ClusterMessage.parse("hello") == nil)
        #expect(ClusterMessage.parse("{\"to\":1}\nbody") == nil)
    }
}
