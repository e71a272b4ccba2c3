// The fingerprint clients pin a server's certificate by, in one format shared
// by `confab serve` (which prints it), the SDK and `--fingerprint`:
//
//   SHA256:3f1c…9a (64 lowercase hex digits of SHA-256 over the leaf certificate's DER)
//
// Input is read leniently, the way people copy fingerprints around: with or
// without the `SHA256:` prefix, with or without colons between bytes (as
// OpenSSL prints them), in any case. The server (which prints it) and the SDK
// (which pins it) share this one type.

import Crypto
import Foundation

/// The SHA-256 fingerprint of a TLS certificate.
public struct CertificateFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes of SHA-256 over the certificate's DER encoding.
    public let digest: [UInt8]

    /// The prefix of the printed form.
    public static let prefix = "SHA256:"

    /// From a SHA-256 digest (`SHA256.hash(data: der)`); nil unless it has 32 bytes.
    public init?(sha256Digest: some Sequence<UInt8>) {
        let bytes = Array(sha256Digest)
        guard bytes.count == 32 else { return nil }
        digest = bytes
    }

    /// SHA-256 over a certificate's DER encoding.
    public init(certificateDER: some DataProtocol) {
        digest = Array(SHA256.hash(data: certificateDER))
    }

    /// The same as `init?(parsing:)`.
    public init?(_ text: String) { self.init(parsing: text) }

    /// Parses `SHA256:ab12…`, `ab:12:…` or `AB12…`: an optional `SHA256:`
    /// prefix (any case), then 64 hex digits, optionally separated by colons.
    /// Nil for anything else.
    public init?(parsing text: String) {
        var body = Substring(text.trimmingWhitespace())
        if body.uppercased().hasPrefix(Self.prefix) {
            body = body.dropFirst(Self.prefix.count)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var high: UInt8?
        for character in body where character != ":" {
            guard let nibble = character.hexDigitValue.map(UInt8.init) else { return nil }
            if let pending = high {
                bytes.append(pending << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard high == nil else { return nil }
        self.init(sha256Digest: bytes)
    }

    /// `SHA256:` and 64 lowercase hex digits, no colons.
    public var description: String {
        let digits: [Character] = Array("0123456789abcdef")
        var text = Self.prefix
        text.reserveCapacity(Self.prefix.count + 64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> Substring {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return Substring(scalars[first...last])
    }
}
