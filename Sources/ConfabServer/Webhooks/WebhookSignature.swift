// The signature on every webhook delivery, as Stripe signs its webhooks:
//
//   Confab-Signature: t=1764931200,v1=5257a869…   (t: Unix seconds when this attempt was sent)
//   v1 = lowercase hex of HMAC-SHA256(secret, "\(t)." + body)   (RFC 2104 HMAC, FIPS 180-4 SHA-256)
//
// The timestamp is signed with the body, so a receiver that refuses old
// timestamps (five minutes, say) cannot be fed a recorded delivery again
// later. Each retry is signed afresh with its own time; the event id
// (Confab-Event-Id, and `id` in the body) stays the same, for dedupe.

import Crypto
import Foundation

public enum WebhookSignature {
    public static let header = "Confab-Signature"
    public static let eventIDHeader = "Confab-Event-Id"

    /// The header's value for `body` sent at `timestamp` (Unix seconds).
    public static func header(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> String {
        "t=\(timestamp),v1=\(signature(secret: secret, timestamp: timestamp, body: body))"
    }

    /// Lowercase hex of HMAC-SHA256(secret, "t." + body).
    public static func signature(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> String {
        var message = Array("\(timestamp).".utf8)
        message += body
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `header` signs `body` with `secret`, sent within `toleranceSeconds` of `now`.
    public static func verify(
        header: String, body: [UInt8], secret: [UInt8], now: Int64, toleranceSeconds: Int64 = 300
    ) -> Bool {
        var timestamp: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1" { signatures.append(pair[1]) }
        }
        // A receiver is handed any `t`: the difference is taken without trapping.
        guard let timestamp else { return false }
        let (difference, overflowed) = now.subtractingReportingOverflow(timestamp)
        guard !overflowed, difference.magnitude <= toleranceSeconds.magnitude else { return false }
        let expected = Array(signature(secret: secret, timestamp: timestamp, body: body).utf8)
        // Compared in constant time: how far a guess matches must not show in the timing.
        return signatures.contains { candidate in
            let bytes = Array(candidate.utf8)
            guard bytes.count == expected.count else { return false }
            return zip(bytes, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }
}
