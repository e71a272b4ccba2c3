// The test vectors of docs/SECURITY.md ("The exact bytes"), read from the
// document itself: what another implementation checks itself against is
// what this one computes.

import ConfabClient
import ConfabProtocol
import ConfabTestSupport
import Foundation
import Testing

@Suite("End-to-end key test vectors in docs/SECURITY.md")
struct KeyVectorTests {
    /// `name = value` lines of the ```text test-vectors block.
    static func vectors() throws -> [String: String] {
        let security = try RepositoryFile.text("docs/SECURITY.md")
        let open = try #require(security.range(of: "```text test-vectors\n"))
        let close = try #require(security.range(of: "```", range: open.upperBound..<security.endIndex))
        var values: [String: String] = [:]
        for line in security[open.upperBound..<close.lowerBound].split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        return values
    }

    static func hex(_ text: String?) throws -> [UInt8] {
        guard let text, text.utf8.count % 2 == 0 else { throw E2EError("not hex: \(text ?? "nothing")") }
        let digits = Array(text.utf8)
        return try stride(from: 0, to: digits.count, by: 2).map { index in
            guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else {
                throw E2EError("not hex: \(text)")
            }
            return byte
        }
    }

    static func identity(_ name: String, _ values: [String: String]) throws -> MediaIdentity {
        let identity = try MediaIdentity(privateKeyBytes: try hex(values["\(name).privateKey"]))
        #expect(Array(identity.publicKey.rawRepresentation) == (try hex(values["\(name).publicKey"])), "\(name)")
        return identity
    }

    static func context(_ values: [String: String]) throws -> MediaKeyContext {
        func value(_ key: String) throws -> String {
            guard let value = values[key] else { throw E2EError("no \(key) in the test vectors") }
            return value
        }
        guard let room = RoomName(rawValue: try value("room")), let sender = PeerID(rawValue: try value("sender")),
            let recipient = PeerID(rawValue: try value("recipient")), let track = TrackID(rawValue: try value("track")),
            let epoch = Int(try value("epoch")), let ssrc = UInt32(try value("ssrc"))
        else { throw E2EError("the test vectors' context does not parse") }
        return MediaKeyContext(room: room, sender: sender, recipient: recipient, track: track, epoch: epoch, ssrc: ssrc)
    }

    @Test("the public keys, the associated data and the documented sealed key agree with this implementation")
    func sealedKeyOpens() throws {
        let values = try Self.vectors()
        let alice = try Self.identity("alice", values)
        let bob = try Self.identity("bob", values)
        let context = try Self.context(values)
        #expect(Array(context.associatedData) == (try Self.hex(values["aad"])))
        let sealed = try #require(Data(base64Encoded: values["sealed"] ?? ""))
        let opened = try MediaKeySealing.open(sealed, senderKey: alice.publicKey, identity: bob, context: context)
        #expect(opened == (try Self.hex(values["keyMaterial"])))
        // And what this implementation seals with the same keys opens the same way.
        let fresh = try MediaKeySealing.seal(opened, to: bob.publicKey, from: alice, context: context)
        #expect(try MediaKeySealing.open(fresh, senderKey: alice.publicKey, identity: bob, context: context) == opened)
    }

    @Test("the documented safety codes are what members compute")
    func safetyCodes() throws {
        let values = try Self.vectors()
        let alice = try Self.identity("alice", values)
        let bob = try Self.identity("bob", values)
        let carol = try Self.identity("carol", values)
        #expect(SafetyCode.compute([("bob", bob.publicKey), ("alice", alice.publicKey)]) == values["safetyCode(alice,bob)"])
        #expect(
            SafetyCode.compute([("carol", carol.publicKey), ("alice", alice.publicKey), ("bob", bob.publicKey)])
                == values["safetyCode(alice,bob,carol)"])
    }
}
