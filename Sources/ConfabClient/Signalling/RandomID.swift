import Foundation

/// Random ids a client makes up for itself.
enum RandomID {
    /// 16 random letters and digits (95 bits): a chat idempotency-key prefix,
    /// unique across a user's sessions.
    static func idempotencyPrefix() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// 12 random bytes as hex: a `connect.device`.
    static func device() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<12).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
