import ConfabWire
import Testing

/// RFC 5769's test vectors (§2.1–2.3): password and the three messages.
enum RFC5769 {
    static let password = "VOkJxbRl1RmTxUk/WvJxBt"
    static let transactionID = STUNTransactionID(high: 0xB7E7_A701, low: 0xBC34_D686_FA87_DFAE)

    /// §2.1 Sample Request: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME
    /// "evtj:h6vY" (padded with spaces), MESSAGE-INTEGRITY, FINGERPRINT.
    static let request = hex("""
        00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
        00 24 00 04 6e 00 01 ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
        80 28 00 04 e5 7a 3b cf
        """)

    /// §2.2 Sample IPv4 Response: 192.0.2.1 port 32853, SOFTWARE "test vector".
    static let ipv4Response = hex("""
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96
        """)

    /// §2.3 Sample IPv6 Response: 2001:db8:1234:5678:11:2233:4455:6677 port 32853.
    static let ipv6Response = hex("""
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c
        """)

    static let ipv4Mapped = STUNAddress.ipv4(address: 0xC000_0201, port: 32853)
    static let ipv6Mapped = STUNAddress.ipv6(high: 0x2001_0DB8_1234_5678, low: 0x0011_2233_4455_6677, port: 32853)
}

func parseSTUN(_ bytes: [UInt8]) throws(STUNParseError) -> STUNMessage {
    let result: Result<STUNMessage, STUNParseError> = bytes.withUnsafeBytes { raw in
        Result { () throws(STUNParseError) in try STUNMessage.parse(raw) }
    }
    return try result.get()
}

/// Builds a message into a fresh buffer and returns exactly its bytes.
func buildSTUN(
    _ type: STUNMessageType, _ id: STUNTransactionID, capacity: Int = 548,
    _ body: (inout STUNMessageBuilder) throws -> Void
) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0xEE, count: capacity)
    return try buffer.withUnsafeMutableBytes { raw in
        var builder = try STUNMessageBuilder(type: type, transactionID: id, into: raw)
        try body(&builder)
        return Array(builder.bytes)
    }
}

@Suite("STUN messages (RFC 8489) against RFC 5769's vectors")
struct STUNVectorTests {
    let key = STUNIntegrityKey(shortTermPassword: RFC5769.password)

    @Test("sample request: header, USERNAME, MESSAGE-INTEGRITY and FINGERPRINT check out")
    func sampleRequest() throws {
        let message = try parseSTUN(RFC5769.request)
        #expect(message.type == .bindingRequest)
        #expect(message.transactionID == RFC5769.transactionID)
        #expect(message.unknownRequiredAttribute == nil)  // PRIORITY is understood (ICE)
        RFC5769.request.withUnsafeBytes { raw in
            #expect(message.username(in: raw).map { String(decoding: $0, as: UTF8.self) } == "evtj:h6vY")
            #expect(message.verifyMessageIntegrity(key: key, in: raw))
            #expect(message.verifyFingerprint(in: raw))
            #expect(!message.verifyMessageIntegrity(key: STUNIntegrityKey(shortTermPassword: "wrong"), in: raw))
        }
    }

    @Test("IPv4 response: XOR-MAPPED-ADDRESS is 192.0.2.1:32853")
    func ipv4Response() throws {
        let message = try parseSTUN(RFC5769.ipv4Response)
        #expect(message.type == .bindingSuccess)
        RFC5769.ipv4Response.withUnsafeBytes { raw in
            #expect(message.xorMappedAddress(in: raw) == RFC5769.ipv4Mapped)
            #expect(message.verifyMessageIntegrity(key: key, in: raw))
            #expect(message.verifyFingerprint(in: raw))
        }
        #expect(RFC5769.ipv4Mapped.description == "192.0.2.1:32853")
    }

    @Test("IPv6 response: XOR-MAPPED-ADDRESS is [2001:db8:1234:5678:11:2233:4455:6677]:32853")
    func ipv6Response() throws {
        let message = try parseSTUN(RFC5769.ipv6Response)
        RFC5769.ipv6Response.withUnsafeBytes { raw in
            #expect(message.xorMappedAddress(in: raw) == RFC5769.ipv6Mapped)
            #expect(message.verifyMessageIntegrity(key: key, in: raw))
            #expect(message.verifyFingerprint(in: raw))
        }
        #expect(RFC5769.ipv6Mapped.description == "[2001:db8:1234:5678:11:2233:4455:6677]:32853")
        // RFC 5952 §4.2: the longest run of zero groups is `::`; a single zero group stays `0`.
        for (high, low, text) in [
            (UInt64(0), UInt64(1), "[::1]:9"), (0, 0, "[::]:9"), (0x2001_0DB8_0000_0000, 0x0000_0000_0000_0001, "[2001:db8::1]:9"),
            (0x2001_0DB8_0000_0001, 0x0000_0000_0001_0001, "[2001:db8:0:1::1:1]:9"),
            (0x2001_0DB8_0000_0000, 0x0001_0000_0000_0001, "[2001:db8::1:0:0:1]:9"),
            (0x2001_0DB8_0001_0000, 0x0001_0001_0001_0001, "[2001:db8:1:0:1:1:1:1]:9"),
            (0xFE80_0000_0000_0000, 0x0211_22FF_FE33_4455, "[fe80::211:22ff:fe33:4455]:9"),
        ] {
            #expect(STUNAddress.ipv6(high: high, low: low, port: 9).description == text)
        }
    }

    @Test("the builder reproduces the sample request byte for byte")
    func buildRequest() throws {
        let built = try buildSTUN(.bindingRequest, RFC5769.transactionID) { message in
            try message.appendSoftware("STUN test client")
            try message.append(type: STUNAttribute.priority, uint32: 0x6E00_01FF)
            try message.append(type: STUNAttribute.iceControlled, uint64: 0x932F_F9B1_5126_3B36)
            try message.appendUsername("evtj:h6vY", paddingByte: 0x20)
            try message.appendMessageIntegrity(key: key)
            try message.appendFingerprint()
        }
        #expect(built == RFC5769.request)
    }

    @Test("the builder reproduces both sample responses byte for byte",
          arguments: [(RFC5769.ipv4Mapped, RFC5769.ipv4Response), (RFC5769.ipv6Mapped, RFC5769.ipv6Response)])
    func buildResponses(mapped: STUNAddress, expected: [UInt8]) throws {
        let built = try buildSTUN(.bindingSuccess, RFC5769.transactionID) { message in
            try message.appendSoftware("test vector", paddingByte: 0x20)
            try message.appendXORMappedAddress(mapped)
            try message.appendMessageIntegrity(key: key)
            try message.appendFingerprint()
        }
        #expect(built == expected)
    }
}

@Suite("STUN parsing rules (RFC 8489 §5, §6.3, §14)")
struct STUNParsingTests {
    @Test("message types interleave method and class bits (§5)",
          arguments: [(STUNMessageType.bindingRequest, UInt16(0x0001)), (.bindingSuccess, UInt16(0x0101)),
                      (.bindingError, UInt16(0x0111)), (.bindingIndication, UInt16(0x0011)),
                      (STUNMessageType(method: 0xFFF, messageClass: .errorResponse), UInt16(0x3FFF))])
    func messageTypes(type: STUNMessageType, raw: UInt16) {
        #expect(type.rawValue == raw)
        #expect(STUNMessageType(rawValue: raw) == type)
    }

    @Test("every 14-bit type round-trips")
    func allTypesRoundTrip() {
        for raw in UInt16(0)...0x3FFF {
            #expect(STUNMessageType(rawValue: raw).rawValue == raw)
        }
    }

    @Test("refusals: short, top bits, cookie, alignment, length, truncation, attribute after FINGERPRINT")
    func refusals() {
        var request = RFC5769.request
        #expect(throws: STUNParseError.tooShort) { try parseSTUN(Array(request.prefix(19))) }
        request[0] = 0x40
        #expect(throws: STUNParseError.notSTUN) { try parseSTUN(request) }
        request = RFC5769.request
        request[4] = 0x22
        #expect(throws: STUNParseError.badMagicCookie) { try parseSTUN(request) }
        request = RFC5769.request
        request[3] = 0x59
        #expect(throws: STUNParseError.lengthNotAligned) { try parseSTUN(request) }
        #expect(throws: STUNParseError.lengthMismatch(declared: 0x58, actual: 0x54)) {
            try parseSTUN(Array(RFC5769.request.prefix(104)))
        }
        // A USERNAME declaring more bytes than remain.
        var truncated = hex("00 01 00 08 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 01 00 06 00 09 61 62 63 64")
        #expect(throws: STUNParseError.truncatedAttribute) { try parseSTUN(truncated) }
        truncated[23] = 0x05  // 5 bytes + 3 padding: 8 bytes, but only 4 are there
        #expect(throws: STUNParseError.truncatedAttribute) { try parseSTUN(truncated) }
        // SOFTWARE after FINGERPRINT.
        var afterFingerprint = RFC5769.request
        afterFingerprint.append(contentsOf: hex("80 22 00 00"))
        afterFingerprint[3] = 0x5C
        #expect(throws: STUNParseError.attributeAfterFingerprint) { try parseSTUN(afterFingerprint) }
    }

    @Test("an unknown comprehension-required attribute is reported; optional ones are not (§14)")
    func unknownAttributes() throws {
        let id = STUNTransactionID(high: 1, low: 2)
        let required = try buildSTUN(.bindingRequest, id) { try $0.append(type: 0x7777, uint32: 1) }
        #expect(try parseSTUN(required).unknownRequiredAttribute == 0x7777)
        let optional = try buildSTUN(.bindingRequest, id) { try $0.append(type: 0xC001, uint32: 1) }
        #expect(try parseSTUN(optional).unknownRequiredAttribute == nil)
    }

    @Test("attributes after MESSAGE-INTEGRITY other than FINGERPRINT are ignored (§14.5)")
    func ignoredAfterIntegrity() throws {
        let key = STUNIntegrityKey(shortTermPassword: "secret")
        var bytes = try buildSTUN(.bindingRequest, STUNTransactionID(high: 7, low: 8)) { message in
            try message.appendUsername("a:b")
            try message.appendMessageIntegrity(key: key)
        }
        // Splice a USERNAME in after MESSAGE-INTEGRITY by hand: the builder refuses to.
        bytes.append(contentsOf: hex("00 06 00 04 65 76 69 6c"))
        bytes[3] = UInt8(bytes.count - 20)
        let message = try parseSTUN(bytes)
        bytes.withUnsafeBytes { raw in
            #expect(message.username(in: raw).map { String(decoding: $0, as: UTF8.self) } == "a:b")
            #expect(message.verifyMessageIntegrity(key: key, in: raw))
        }
    }

    @Test("ERROR-CODE round-trips class and number (§14.8)", arguments: [400, 401, 420, 487, 500])
    func errorCodes(code: Int) throws {
        let bytes = try buildSTUN(.bindingError, STUNTransactionID(high: 1, low: 1)) {
            try $0.appendErrorCode(STUNErrorCode(code))
        }
        let message = try parseSTUN(bytes)
        #expect(message.type == .bindingError)
        bytes.withUnsafeBytes { #expect(message.errorCode(in: $0) == STUNErrorCode(code)) }
    }

    @Test("the builder refuses anything after MESSAGE-INTEGRITY but FINGERPRINT, and after FINGERPRINT")
    func sealing() throws {
        let key = STUNIntegrityKey(shortTermPassword: "x")
        #expect(throws: STUNWriteError.sealed) {
            _ = try buildSTUN(.bindingRequest, .random()) { message in
                try message.appendMessageIntegrity(key: key)
                try message.appendUsername("late")
            }
        }
        #expect(throws: STUNWriteError.sealed) {
            _ = try buildSTUN(.bindingRequest, .random()) { message in
                try message.appendFingerprint()
                try message.appendFingerprint()
            }
        }
        #expect(throws: STUNWriteError.bufferTooSmall(needed: 32)) {
            _ = try buildSTUN(.bindingRequest, .random(), capacity: 28) { try $0.appendUsername("12345678") }
        }
    }

    @Test("a flipped byte anywhere before MESSAGE-INTEGRITY fails the check")
    func tamperedIntegrity() throws {
        let key = STUNIntegrityKey(shortTermPassword: RFC5769.password)
        for index in 0..<84 where !(2...3).contains(index) {
            var bytes = RFC5769.request
            bytes[index] ^= 0x01
            guard let message = try? parseSTUN(bytes) else { continue }
            bytes.withUnsafeBytes { #expect(!message.verifyMessageIntegrity(key: key, in: $0), "byte \(index)") }
        }
    }

    @Test("CRC-32 of \"123456789\" is 0xCBF43926 (the standard check value)")
    func crcCheckValue() {
        Array("123456789".utf8).withUnsafeBytes { #expect(CRC32.checksum($0) == 0xCBF4_3926) }
    }

    @Test("looksLikeSTUN agrees with parse on the vectors and refuses RTP")
    func quickCheck() {
        for vector in [RFC5769.request, RFC5769.ipv4Response, RFC5769.ipv6Response] {
            vector.withUnsafeBytes { #expect(STUNMessage.looksLikeSTUN($0)) }
        }
        hex("80 6F 00 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00").withUnsafeBytes {
            #expect(!STUNMessage.looksLikeSTUN($0))
        }
    }
}
