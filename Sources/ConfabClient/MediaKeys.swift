// End-to-end media keys: the server relays them and cannot open them.
//
//   session start ─▶ X25519 key pair (MediaIdentity) ─▶ publicKey in `join`
//   each (re)join, and each departure / loss of hearing ─▶ fresh SRTP master key + SSRC (OutboundMediaKey)
//     ─▶ for each peer that hears us: HPKE seal (RFC 9180, auth mode, X25519 + HKDF-SHA256 + ChaCha20-Poly1305)
//     ─▶ keys.publish {track, epoch, ssrc, keys: [{peer, sealed}]}  ─▶ server relays each as `keys`
//   `keys` in ─▶ HPKE open with our private key and the sender's public key ─▶ SRTP key for (sender, ssrc)
//     ─▶ one SSRC-specific inbound SRTP stream (ConfabMedia)
//
// What is sealed: the 30 bytes of SRTP master key and salt
// (AES_CM_128_HMAC_SHA1_80, RFC 3711 §8.2). What is authenticated with it
// (HPKE's aad): the room, sender, recipient, track, epoch and SSRC, so a
// server cannot move a sealed key to another context. A key is never used
// with a restarted sequence number or rollover counter (RFC 3711 §9.1): every
// new key comes with a new SSRC and a fresh sender.

import ConfabMacros
import ConfabProtocol
import Crypto
import Foundation

/// Why a sealed key could not be made or opened.
public enum MediaKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The peer has no (valid) public key.
    case noPublicKey(PeerID)
    /// HPKE refused: not sealed to us, tampered, or another context.
    case cannotOpen(PeerID)
    /// The opened key material has the wrong length.
    case invalidKeyMaterial

    public var description: String {
        switch self {
        case .noPublicKey(let peer): "\(peer) has no public key"
        case .cannotOpen(let peer): "the key from \(peer) does not open"
        case .invalidKeyMaterial: "the media key has the wrong length"
        }
    }
}

/// A session's X25519 key pair (RFC 7748).
public struct MediaIdentity: Sendable {
    let privateKey: Curve25519.KeyAgreement.PrivateKey

    public init() {
        privateKey = Curve25519.KeyAgreement.PrivateKey()
    }

    /// A key pair from a stored 32-byte X25519 private key (a bot that keeps
    /// its identity, or the test vectors of docs/SECURITY.md).
    public init(privateKeyBytes: some ContiguousBytes) throws(MediaKeyError) {
        do {
            privateKey = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: privateKeyBytes)
        } catch {
            throw .invalidKeyMaterial
        }
    }

    /// The public half, as `join` carries it.
    public var publicKey: X25519PublicKey {
        // 32 bytes by construction.
        X25519PublicKey(rawRepresentation: privateKey.publicKey.rawRepresentation)!
    }
}

/// Where a sealed key belongs: bound into HPKE as associated data.
@PublicMemberwiseInit
public struct MediaKeyContext: Sendable, Hashable {
    public var room: RoomName
    public var sender: PeerID
    public var recipient: PeerID
    public var track: TrackID
    public var epoch: Int
    public var ssrc: UInt32

    /// HPKE's associated data: "confab media key v1", then each field as a
    /// 2-byte big-endian length and its UTF-8 bytes, so no two contexts
    /// encode alike (docs/SECURITY.md, "The exact bytes").
    public var associatedData: Data {
        var data = Data("confab media key v1".utf8)
        for field in [room.rawValue, sender.rawValue, recipient.rawValue, track.rawValue, String(epoch), String(ssrc)] {
            let bytes = Array(field.utf8)
            data.append(UInt8(truncatingIfNeeded: bytes.count >> 8))
            data.append(UInt8(truncatingIfNeeded: bytes.count))
            data.append(contentsOf: bytes)
        }
        return data
    }
}

/// HPKE sealing of SRTP master keys (RFC 9180 §5.1.3, auth mode: the
/// recipient also checks that the sender's private key made it).
public enum MediaKeySealing {
    static let suite = HPKE.Ciphersuite.Curve25519_SHA256_ChachaPoly
    static let info = Data("confab/media-key".utf8)
    /// X25519's encapsulated key: the first 32 bytes of a sealed blob.
    static let encapsulatedKeyLength = 32

    /// Seals `keyMaterial` to `recipient`: the encapsulated key, then the ciphertext.
    public static func seal(
        _ keyMaterial: [UInt8], to recipient: X25519PublicKey, from identity: MediaIdentity, context: MediaKeyContext
    ) throws(MediaKeyError) -> Data {
        do {
            let recipientKey = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: recipient.rawRepresentation)
            var sender = try HPKE.Sender(
                recipientKey: recipientKey, ciphersuite: suite, info: info, authenticatedBy: identity.privateKey)
            let ciphertext = try sender.seal(keyMaterial, authenticating: context.associatedData)
            return sender.encapsulatedKey + ciphertext
        } catch {
            throw .noPublicKey(context.recipient)
        }
    }

    /// Opens a key sealed to `identity` by the holder of `senderKey`.
    public static func open(
        _ sealed: Data, senderKey: X25519PublicKey, identity: MediaIdentity, context: MediaKeyContext,
        expectedLength: Int = 30
    ) throws(MediaKeyError) -> [UInt8] {
        guard sealed.count > encapsulatedKeyLength else { throw .cannotOpen(context.sender) }
        let opened: Data
        do {
            let sender = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: senderKey.rawRepresentation)
            var recipient = try HPKE.Recipient(
                privateKey: identity.privateKey, ciphersuite: suite, info: info,
                encapsulatedKey: sealed.prefix(encapsulatedKeyLength), authenticatedBy: sender)
            opened = try recipient.open(sealed.dropFirst(encapsulatedKeyLength), authenticating: context.associatedData)
        } catch {
            throw .cannotOpen(context.sender)
        }
        guard opened.count == expectedLength else { throw .invalidKeyMaterial }
        return Array(opened)
    }
}

/// The safety code: a short fingerprint of everyone's public key that every
/// member computes alike (sorted by peer id), to compare aloud. A server
/// that swapped someone's key to read along changes it.
public enum SafetyCode {
    /// Five groups of five digits from SHA-256 over the sorted (id, key)
    /// pairs, each length-prefixed; nil when fewer than two members have keys.
    public static func compute(_ members: [(PeerID, X25519PublicKey)]) -> String? {
        guard members.count >= 2 else { return nil }
        var hash = SHA256()
        hash.update(data: Data("confab safety code v1".utf8))
        for (peer, key) in members.sorted(by: { $0.0 < $1.0 }) {
            let id = Array(peer.rawValue.utf8)
            hash.update(data: [UInt8(truncatingIfNeeded: id.count >> 8), UInt8(truncatingIfNeeded: id.count)])
            hash.update(data: id)
            hash.update(data: key.rawRepresentation)
        }
        let digest = Array(hash.finalize())
        return (0..<5).map { group -> String in
            // 5 bytes (40 bits) per group, reduced to 5 digits; the bias of
            // 2^40 mod 10^5 is negligible for a code read aloud.
            var value: UInt64 = 0
            for byte in digest[(group * 5)..<(group * 5 + 5)] { value = value << 8 | UInt64(byte) }
            let digits = String(value % 100_000)
            return String(repeating: "0", count: 5 - digits.count) + digits
        }.joined(separator: " ")
    }

    /// The code of a room state: you and every peer with a public key.
    public static func compute(_ state: RoomState) -> String? {
        var members: [(PeerID, X25519PublicKey)] = []
        if let you = state.you, let key = you.publicKey { members.append((you.id, key)) }
        for peer in state.peers.values { if let key = peer.publicKey { members.append((peer.id, key)) } }
        return compute(members)
    }
}
