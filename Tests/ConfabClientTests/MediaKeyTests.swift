import ConfabClient
import ConfabProtocol
import Foundation
import Testing

@Suite("End-to-end media keys: HPKE sealing and the safety code")
struct MediaKeyTests {
    let alice = MediaIdentity()
    let bob = MediaIdentity()
    let carol = MediaIdentity()
    let key = (0..<30).map { UInt8($0 * 7 & 0xFF) }

    func context(to recipient: String = "bob", epoch: Int = 1, ssrc: UInt32 = 0x1234) -> MediaKeyContext {
        MediaKeyContext(
            room: "standup", sender: "alice", recipient: PeerID(uncheckedRawValue: recipient), track: "alice:mic",
            epoch: epoch, ssrc: ssrc)
    }

    @Test("a key sealed to bob opens for bob with alice's public key")
    func roundTrip() throws {
        let sealed = try MediaKeySealing.seal(key, to: bob.publicKey, from: alice, context: context())
        #expect(sealed.count == 32 + 30 + 16)  // encapsulated key, key material, Poly1305 tag
        let opened = try MediaKeySealing.open(sealed, senderKey: alice.publicKey, identity: bob, context: context())
        #expect(opened == key)
    }

    @Test("it does not open for anyone else, from anyone else, or in another context")
    func refusals() throws {
        let sealed = try MediaKeySealing.seal(key, to: bob.publicKey, from: alice, context: context())
        #expect(throws: MediaKeyError.cannotOpen("alice")) {
            try MediaKeySealing.open(sealed, senderKey: alice.publicKey, identity: carol, context: context())
        }
        // Auth mode: a key the server substituted for alice's does not verify.
        #expect(throws: MediaKeyError.cannotOpen("alice")) {
            try MediaKeySealing.open(sealed, senderKey: carol.publicKey, identity: bob, context: context())
        }
        for other in [context(epoch: 2), context(ssrc: 0x9999), context(to: "carol")] {
            #expect(throws: MediaKeyError.cannotOpen("alice")) {
                try MediaKeySealing.open(sealed, senderKey: alice.publicKey, identity: bob, context: other)
            }
        }
        var tampered = sealed
        tampered[40] ^= 1
        #expect(throws: MediaKeyError.cannotOpen("alice")) {
            try MediaKeySealing.open(tampered, senderKey: alice.publicKey, identity: bob, context: context())
        }
    }

    @Test("the safety code is the same whatever order members are listed in, and changes with any key")
    func safetyCode() throws {
        let members: [(PeerID, X25519PublicKey)] = [("alice", alice.publicKey), ("bob", bob.publicKey), ("carol", carol.publicKey)]
        let code = try #require(SafetyCode.compute(members))
        #expect(code.count == 29 && code.split(separator: " ").count == 5)
        #expect(SafetyCode.compute(members.reversed()) == code)
        let swapped: [(PeerID, X25519PublicKey)] = [("alice", alice.publicKey), ("bob", MediaIdentity().publicKey), ("carol", carol.publicKey)]
        #expect(SafetyCode.compute(swapped) != code)
        #expect(SafetyCode.compute([("alice", alice.publicKey)]) == nil)
    }
}
