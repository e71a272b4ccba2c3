// Return routability for a STUN binding: the server moves a peer's media to a
// new address only once the peer shows it receives at that address.
//
//   request from a new address (authenticated) ─▶ answer + CONSENT-TOKEN, not bound
//   request from that address echoing the token ─▶ bound, answer without one
//
// The token is a keyed hash of the peer's USERNAME, the address and the
// current 30-second epoch, under a secret only the server holds: a peer that
// forged its source address never sees the answer, so it cannot name the
// token, and cannot point the room's audio at someone else; and a token seen
// once at an address is good there for 30 to 60 s only, not for the session. This is the purpose of ICE's connectivity check and
// consent (RFC 8445 §7, RFC 7675 §1) in one extra round trip, with no request
// from the server to the client.

import Crypto

extension STUNAttribute {
    /// Confab's CONSENT-TOKEN: 12 bytes. Comprehension-optional (≥ 0x8000,
    /// RFC 8489 §14), so agents that do not know it ignore it.
    public static let consentToken: UInt16 = 0xC0CF
}

/// The 12 bytes of a CONSENT-TOKEN.
public struct STUNConsentToken: Hashable, Sendable, BitwiseCopyable {
    public var high: UInt64
    public var low: UInt32
    public static let length = 12

    public init(high: UInt64, low: UInt32) {
        self.high = high
        self.low = low
    }
}

/// The server's secret for consent tokens (random, per process: a restart
/// only makes clients prove their address again).
public struct STUNConsentKey: Sendable {
    private let key: SymmetricKey

    public init() {
        key = SymmetricKey(size: .bits256)
    }

    public init(bytes: some Sequence<UInt8>) {
        key = SymmetricKey(data: Array(bytes))
    }

    /// How long one epoch of tokens lasts: a token is accepted in its own
    /// epoch and the next.
    public static let epochNs: UInt64 = 30_000_000_000

    /// HMAC-SHA256 of the USERNAME (with its length), the address's bytes and
    /// the epoch, cut to 12 bytes. `address` must hold no padding bytes.
    public func token(username: UnsafeRawBufferPointer, address: UnsafeRawBufferPointer, epoch: UInt64) -> STUNConsentToken {
        var hmac = HMAC<SHA256>(key: key)
        var usernameLength = UInt16(truncatingIfNeeded: username.count).bigEndian
        withUnsafeBytes(of: &usernameLength) { hmac.update(data: $0) }
        hmac.update(data: username)
        hmac.update(data: address)
        var epochBytes = epoch.bigEndian
        withUnsafeBytes(of: &epochBytes) { hmac.update(data: $0) }
        return hmac.finalize().withUnsafeBytes { code in
            STUNConsentToken(high: code.readUInt64(at: 0), low: code.readUInt32(at: 8))
        }
    }
}

extension STUNMessage {
    /// CONSENT-TOKEN, when present with its 12 bytes.
    public func consentToken(in bytes: UnsafeRawBufferPointer) -> STUNConsentToken? {
        guard let range = consentTokenRange, range.count == STUNConsentToken.length else { return nil }
        return STUNConsentToken(high: bytes.readUInt64(at: range.lowerBound), low: bytes.readUInt32(at: range.lowerBound + 8))
    }
}

extension STUNMessageBuilder {
    /// CONSENT-TOKEN (before MESSAGE-INTEGRITY, so that it is signed).
    public mutating func appendConsentToken(_ token: STUNConsentToken) throws(STUNWriteError) {
        var bytes = (token.high.bigEndian, token.low.bigEndian)
        try withUnsafeBytes(of: &bytes) { raw throws(STUNWriteError) in
            // The tuple's 16 bytes hold the 12 of the token first (8 + 4), then padding.
            try append(type: STUNAttribute.consentToken, value: UnsafeRawBufferPointer(rebasing: raw[0..<STUNConsentToken.length]))
        }
    }
}
