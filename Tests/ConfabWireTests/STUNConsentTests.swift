import ConfabWire
import Testing

@Suite("STUN consent tokens: keyed by the server's secret, the USERNAME and the address")
struct STUNConsentTests {
    static func token(_ key: STUNConsentKey, username: String, address: [UInt8], epoch: UInt64 = 7) -> STUNConsentToken {
        Array(username.utf8).withUnsafeBytes { name in
            address.withUnsafeBytes { key.token(username: name, address: $0, epoch: epoch) }
        }
    }

    @Test("the same inputs give the same token; another address, USERNAME, epoch or secret another")
    func keyed() {
        let key = STUNConsentKey(bytes: [UInt8](repeating: 7, count: 32))
        let address: [UInt8] = [10, 0, 0, 2, 0x9C, 0x40]
        let token = Self.token(key, username: "alice-0123456789", address: address)
        #expect(Self.token(key, username: "alice-0123456789", address: address) == token)
        #expect(Self.token(key, username: "alice-0123456789", address: [10, 0, 0, 3, 0x9C, 0x40]) != token)
        #expect(Self.token(key, username: "bob-0123456789ab", address: address) != token)
        #expect(Self.token(key, username: "alice-0123456789", address: address, epoch: 8) != token)
        #expect(Self.token(STUNConsentKey(bytes: [UInt8](repeating: 8, count: 32)), username: "alice-0123456789", address: address) != token)
        // The USERNAME's length is hashed too: moving bytes from name to address changes the token.
        #expect(Self.token(key, username: "alice-012345678", address: [0x39] + address) != token)
    }

    @Test("written before MESSAGE-INTEGRITY it is signed and read back; a message without one reads none")
    func roundTrip() throws {
        let token = STUNConsentToken(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C)
        let integrity = STUNIntegrityKey(shortTermPassword: "a-password-of-some-length")
        var buffer = [UInt8](repeating: 0, count: 128)
        let bytes = try buffer.withUnsafeMutableBytes { raw in
            var builder = try STUNMessageBuilder(type: .bindingSuccess, transactionID: .random(), into: raw)
            try builder.appendConsentToken(token)
            try builder.appendMessageIntegrity(key: integrity)
            try builder.appendFingerprint()
            return Array(builder.bytes)
        }
        #expect(bytes.count == 20 + 16 + 24 + 8)
        #expect(Array(bytes[20..<24]) == [0xC0, 0xCF, 0x00, 0x0C], "type 0xC0CF (comprehension-optional), 12 bytes")
        #expect(Array(bytes[24..<36]) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        try bytes.withUnsafeBytes { raw in
            let message = try STUNMessage.parse(raw)
            #expect(message.consentToken(in: raw) == token)
            #expect(message.verifyMessageIntegrity(key: integrity, in: raw))
            #expect(message.unknownRequiredAttribute == nil)
        }
        let sample = try RFC5769.request.withUnsafeBytes { raw in try STUNMessage.parse(raw).consentToken(in: raw) }
        #expect(sample == nil)
    }
}
