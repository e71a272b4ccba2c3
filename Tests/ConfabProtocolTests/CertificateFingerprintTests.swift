import ConfabProtocol
import Testing

@Suite("Certificate fingerprints")
struct CertificateFingerprintTests {
    static let digest: [UInt8] = (0..<32).map { UInt8($0 * 7 & 0xFF) }
    static let canonical = "SHA256:00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9"

    @Test("prints SHA256: and 64 lowercase hex digits")
    func format() throws {
        let fingerprint = try #require(CertificateFingerprint(sha256Digest: Self.digest))
        #expect(fingerprint.description == Self.canonical)
    }

    @Test(
        "reads it back with or without the prefix and colons, in any case",
        arguments: [
            canonical,
            String(canonical.dropFirst(7)),
            canonical.uppercased(),
            "sha256:" + stride(from: 7, to: 71, by: 2).map { index in
                let start = canonical.index(canonical.startIndex, offsetBy: index)
                return String(canonical[start...canonical.index(after: start)])
            }.joined(separator: ":"),
            "  \(canonical)\n",
        ])
    func parse(_ text: String) {
        #expect(CertificateFingerprint(parsing: text)?.digest == Self.digest)
    }

    @Test("refuses anything else", arguments: ["", "SHA256:", "SHA256:abc", "MD5:" + String(repeating: "0", count: 64), String(repeating: "g", count: 64), String(repeating: "0", count: 66)])
    func refuse(_ text: String) {
        #expect(CertificateFingerprint(parsing: text) == nil)
    }
}
