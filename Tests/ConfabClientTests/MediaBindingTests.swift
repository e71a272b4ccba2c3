// The client's half of STUN consent, driven with answers made here: a token
// is echoed at once, the same token asked again waits for the next retry
// (no answering at line rate), and an answer without one binds.

@testable import ConfabClient
import ConfabProtocol
import ConfabWire
import Testing

@Suite("MediaBinding: the client's binding requests and consent echo")
struct MediaBindingTests {
    static let media = MediaEndpoint(host: "127.0.0.1", port: 4_443, username: "u-0123456789abcd", password: "p-0123456789abcdefghijklm")

    /// The request's transaction id and the consent token it echoes.
    static func read(_ request: [UInt8]) throws -> (id: STUNTransactionID, consent: STUNConsentToken?, count: Int) {
        try request.withUnsafeBytes { raw in
            let message = try STUNMessage.parse(raw)
            #expect(message.verifyMessageIntegrity(key: STUNIntegrityKey(shortTermPassword: media.password), in: raw))
            return (message.transactionID, message.consentToken(in: raw), raw.count)
        }
    }

    /// The next request `binding` sends, read back.
    static func nextRequest(_ binding: inout MediaBinding) throws -> (id: STUNTransactionID, consent: STUNConsentToken?, count: Int) {
        let request = binding.request()
        return try read(try #require(request))
    }

    /// A success for `id`, as the server signs it, with `consent` if given.
    static func answer(_ id: STUNTransactionID, consent: STUNConsentToken?, password: String = media.password) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 128)
        return try buffer.withUnsafeMutableBytes { raw in
            var builder = try STUNMessageBuilder(type: .bindingSuccess, transactionID: id, into: raw)
            try builder.appendXORMappedAddress(.ipv4(address: 0x7F00_0001, port: 5_000))
            if let consent { try builder.appendConsentToken(consent) }
            try builder.appendMessageIntegrity(key: STUNIntegrityKey(shortTermPassword: password))
            try builder.appendFingerprint()
            return Array(builder.bytes)
        }
    }

    @Test("a token is echoed once at once, the same token again waits for the retry, a new one is echoed, no token binds")
    func consentEcho() throws {
        var binding = MediaBinding(Self.media)
        var answer: MediaBinding.Answer
        let first = try Self.nextRequest(&binding)
        #expect(first.consent == nil && first.count == 92, "92 bytes: room for an IPv6 answer with a token and FINGERPRINT")
        let token = STUNConsentToken(high: 0xAB, low: 0xCD)
        answer = binding.take(try Self.answer(first.id, consent: token))
        #expect(answer == .echoConsent)

        let echo = try Self.nextRequest(&binding)
        #expect(echo.consent == token)
        answer = binding.take(try Self.answer(echo.id, consent: token))
        #expect(answer == .consentPending)
        // Not ours: another transaction, or signed with another password.
        answer = binding.take(try Self.answer(.random(), consent: nil))
        #expect(answer == .ignored)
        let retry = try Self.nextRequest(&binding)
        answer = binding.take(try Self.answer(retry.id, consent: nil, password: "not-the-password-000000"))
        #expect(answer == .ignored)
        // A new epoch's token is echoed at once.
        let newer = STUNConsentToken(high: 0xAB, low: 0xCE)
        answer = binding.take(try Self.answer(retry.id, consent: newer))
        #expect(answer == .echoConsent)
        let last = try Self.nextRequest(&binding)
        #expect(last.consent == newer)
        answer = binding.take(try Self.answer(last.id, consent: nil))
        #expect(answer == .bound(mapped: .ipv4(address: 0x7F00_0001, port: 5_000)))
        // Each answer counts once.
        answer = binding.take(try Self.answer(last.id, consent: nil))
        #expect(answer == .ignored)
    }
}
