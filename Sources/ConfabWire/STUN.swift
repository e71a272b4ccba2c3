// STUN messages (RFC 8489): the binding request that proves a client's UDP
// address, and its answers.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |0 0|     STUN Message Type     |         Message Length        |  §5: length excludes the header
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                   Magic Cookie 0x2112A442                     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                     Transaction ID (96 bits)                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Type                         |  Length (value bytes)         |  §14: attributes, each value
//  |  Value ... padded to a multiple of 4 bytes                    |       padded to 4 bytes
//
// Flow (server): UDP in ─▶ `PacketKind.classify` = .stun ─▶ `STUNMessage.parse`
// (offsets only) ─▶ USERNAME ─▶ credentials ─▶ `verifyMessageIntegrity`
// ─▶ bind the source address ─▶ `STUNMessageBuilder` success with
// XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT ─▶ UDP out.
// Flow (client): builder request ─▶ UDP ─▶ answer ─▶ parse ─▶ verify ─▶ mapped address.
//
// Written by hand: parsing over borrowed bytes with typed errors and no heap
// work per message, like the RTP code beside it. The HMAC-SHA1 of
// MESSAGE-INTEGRITY comes from swift-crypto; CRC-32 is a dozen lines here.

import ConfabMacros
import Crypto

/// STUN's fixed numbers (RFC 8489 §5, §6).
public enum STUN {
    /// The magic cookie, bytes 4...7 of every RFC 5389/8489 message (§5).
    public static let magicCookie: UInt32 = 0x2112_A442
    /// Header bytes before the first attribute (§5).
    public static let headerLength = 20
    /// MESSAGE-INTEGRITY attribute: a 4-byte header and a 20-byte HMAC-SHA1 (§14.5).
    public static let messageIntegrityLength = 24
    /// FINGERPRINT attribute: a 4-byte header and a 4-byte CRC (§14.7).
    public static let fingerprintLength = 8
    /// XORed into the CRC-32 of FINGERPRINT (§14.7): "STUN" in ASCII.
    public static let fingerprintXOR: UInt32 = 0x5354_554E
    /// The binding method (§18.2).
    public static let bindingMethod: UInt16 = 0x001
}

/// The class bits of a message type (RFC 8489 §5).
public enum STUNClass: UInt8, Sendable, Hashable, BitwiseCopyable {
    case request = 0b00
    case indication = 0b01
    case successResponse = 0b10
    case errorResponse = 0b11
}

/// A message type: a 12-bit method and a class, interleaved on the wire
/// (RFC 8489 §5, Figure 3: M11..M7 C1 M6..M4 C0 M3..M0).
public struct STUNMessageType: Sendable, Hashable, BitwiseCopyable {
    public var method: UInt16
    public var messageClass: STUNClass

    public init(method: UInt16, messageClass: STUNClass) {
        self.method = method & 0x0FFF
        self.messageClass = messageClass
    }

    /// Decodes the 14 low bits of the first header word (RFC 8489 §5).
    public init(rawValue: UInt16) {
        method = (rawValue & 0x000F) | ((rawValue >> 1) & 0x0070) | ((rawValue >> 2) & 0x0F80)
        let bits = UInt8(truncatingIfNeeded: ((rawValue >> 4) & 0x1) | ((rawValue >> 7) & 0x2))
        messageClass = STUNClass(rawValue: bits) ?? .request  // two bits: always one of the four
    }

    /// The wire value (RFC 8489 §5).
    public var rawValue: UInt16 {
        let m = method & 0x0FFF
        let c = UInt16(messageClass.rawValue)
        return (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 0x1) << 4) | ((c & 0x2) << 7)
    }

    public static let bindingRequest = STUNMessageType(method: STUN.bindingMethod, messageClass: .request)
    public static let bindingSuccess = STUNMessageType(method: STUN.bindingMethod, messageClass: .successResponse)
    public static let bindingError = STUNMessageType(method: STUN.bindingMethod, messageClass: .errorResponse)
    public static let bindingIndication = STUNMessageType(method: STUN.bindingMethod, messageClass: .indication)
}

/// The 96-bit transaction id (RFC 8489 §5), held inline.
@PublicMemberwiseInit
public struct STUNTransactionID: Sendable, Hashable, BitwiseCopyable, CustomStringConvertible {
    public var high: UInt32
    public var low: UInt64

    /// A fresh id from the system's random number generator (§6: "uniformly
    /// and randomly chosen from the interval 0 .. 2**96-1").
    public static func random() -> STUNTransactionID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> STUNTransactionID {
        STUNTransactionID(high: UInt32.random(in: .min ... .max, using: &generator), low: generator.next())
    }

    /// Reads the 12 bytes at `offset`.
    init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        high = bytes.readUInt32(at: offset)
        low = bytes.readUInt64(at: offset + 4)
    }

    func write(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.writeUInt32(high, at: offset)
        buffer.writeUInt64(low, at: offset + 4)
    }

    public var description: String {
        let digits = String(high, radix: 16) + ":" + String(low, radix: 16)
        return digits
    }
}

/// Attribute types Confab reads or writes (RFC 8489 §18.3, RFC 8445 §16.1).
/// Types below 0x8000 are comprehension-required (§14).
public enum STUNAttribute {
    public static let mappedAddress: UInt16 = 0x0001
    public static let username: UInt16 = 0x0006
    public static let messageIntegrity: UInt16 = 0x0008
    public static let errorCode: UInt16 = 0x0009
    public static let unknownAttributes: UInt16 = 0x000A
    public static let realm: UInt16 = 0x0014
    public static let nonce: UInt16 = 0x0015
    public static let messageIntegritySHA256: UInt16 = 0x001C
    public static let passwordAlgorithm: UInt16 = 0x001D
    public static let userhash: UInt16 = 0x001E
    public static let xorMappedAddress: UInt16 = 0x0020
    /// ICE (RFC 8445 §16.1): understood and ignored by an ICE-lite agent.
    public static let priority: UInt16 = 0x0024
    public static let useCandidate: UInt16 = 0x0025
    public static let software: UInt16 = 0x8022
    public static let alternateServer: UInt16 = 0x8023
    public static let fingerprint: UInt16 = 0x8028
    public static let iceControlled: UInt16 = 0x8029
    public static let iceControlling: UInt16 = 0x802A

    /// Whether an agent must understand the attribute to process the message (§14).
    @inline(__always)
    public static func isComprehensionRequired(_ type: UInt16) -> Bool { type < 0x8000 }

    /// The comprehension-required types this implementation understands.
    @inline(__always)
    static func isKnownRequired(_ type: UInt16) -> Bool {
        switch type {
        case mappedAddress, username, messageIntegrity, errorCode, unknownAttributes, realm, nonce,
            messageIntegritySHA256, passwordAlgorithm, userhash, xorMappedAddress, priority, useCandidate:
            true
        default:
            false
        }
    }
}

/// Why bytes are not an acceptable STUN message (RFC 8489 §6.3).
public enum STUNParseError: Error, Sendable, Hashable {
    /// Fewer than the 20 header bytes.
    case tooShort
    /// The two most significant bits are not zero (§6.3).
    case notSTUN
    /// Bytes 4...7 are not the magic cookie (§6.3): not RFC 5389/8489 STUN.
    case badMagicCookie
    /// The length field is not a multiple of 4 (§5: "the two least significant bits are always zero").
    case lengthNotAligned
    /// The length field disagrees with the datagram's size.
    case lengthMismatch(declared: Int, actual: Int)
    /// An attribute header or value runs past the end of the message (§14).
    case truncatedAttribute
    /// An attribute other than FINGERPRINT follows FINGERPRINT, which must be last (§14.7).
    case attributeAfterFingerprint
    /// An attribute Confab reads has a value of the wrong size or form.
    case malformedAttribute(type: UInt16)
}

/// Why a message could not be written.
public enum STUNWriteError: Error, Sendable, Hashable {
    /// The buffer holds fewer bytes than the message needs.
    case bufferTooSmall(needed: Int)
    /// An attribute value over 65,535 bytes, or a message over 65,535 + 20.
    case valueTooLong
    /// MESSAGE-INTEGRITY or FINGERPRINT already written: nothing may follow
    /// them but FINGERPRINT (§14.5, §14.7).
    case sealed
}

/// An address carried in XOR-MAPPED-ADDRESS (RFC 8489 §14.2), in clear.
public enum STUNAddress: Sendable, Hashable, BitwiseCopyable, CustomStringConvertible {
    /// IPv4: the address as a host-order integer (192.0.2.1 is 0xC000_0201).
    case ipv4(address: UInt32, port: UInt16)
    /// IPv6: the 128-bit address as two host-order halves.
    case ipv6(high: UInt64, low: UInt64, port: UInt16)

    public var port: UInt16 {
        switch self {
        case .ipv4(_, let port), .ipv6(_, _, let port): port
        }
    }

    public var description: String {
        switch self {
        case .ipv4(let a, let port):
            return "\(a >> 24).\((a >> 16) & 0xFF).\((a >> 8) & 0xFF).\(a & 0xFF):\(port)"
        case .ipv6(let high, let low, let port):
            return "[\(Self.ipv6Text(high, low))]:\(port)"
        }
    }

    /// RFC 5952 §4: lowercase hex groups without leading zeros, the longest
    /// run of two or more zero groups (the first of equals) written `::`.
    static func ipv6Text(_ high: UInt64, _ low: UInt64) -> String {
        let groups = (0..<8).map { i -> UInt16 in
            let half = i < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> (16 * (3 - UInt64(i % 4))))
        }
        var best: Range<Int>?
        var start: Int?
        for i in 0...8 {
            if i < 8, groups[i] == 0 {
                if start == nil { start = i }
            } else if let runStart = start {
                if i - runStart >= 2, i - runStart > (best?.count ?? 0) { best = runStart..<i }
                start = nil
            }
        }
        let text = { (range: Range<Int>) in range.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        guard let zeros = best else { return text(0..<8) }
        return text(0..<zeros.lowerBound) + "::" + text(zeros.upperBound..<8)
    }
}

/// ERROR-CODE (RFC 8489 §14.8): a code 300...699 and a reason phrase.
public struct STUNErrorCode: Sendable, Hashable, BitwiseCopyable {
    public var code: Int
    public init(_ code: Int) { self.code = code }

    public static let tryAlternate = STUNErrorCode(300)
    public static let badRequest = STUNErrorCode(400)
    public static let unauthenticated = STUNErrorCode(401)
    public static let unknownAttribute = STUNErrorCode(420)
    public static let staleNonce = STUNErrorCode(438)
    public static let roleConflict = STUNErrorCode(487)
    public static let serverError = STUNErrorCode(500)

    /// The recommended reason phrase (§14.8, RFC 8445 §7.3.1.1).
    public var reason: StaticString {
        switch code {
        case 300: "Try Alternate"
        case 400: "Bad Request"
        case 401: "Unauthenticated"
        case 420: "Unknown Attribute"
        case 438: "Stale Nonce"
        case 487: "Role Conflict"
        case 500: "Server Error"
        default: "Error"
        }
    }
}

/// The key of MESSAGE-INTEGRITY. For short-term credentials (what ICE and
/// Confab use) it is the password itself (RFC 8489 §9.1.1, §14.5), after
/// OpaqueString preparation; Confab's passwords are printable ASCII, which
/// that preparation leaves as is.
public struct STUNIntegrityKey: Sendable {
    let key: SymmetricKey

    public init(shortTermPassword password: String) {
        key = SymmetricKey(data: Array(password.utf8))
    }

    public init(bytes: some Sequence<UInt8>) {
        key = SymmetricKey(data: Array(bytes))
    }

    /// HMAC-SHA1 over `header` then `body` (RFC 2104; RFC 8489 §14.5).
    func authenticationCode(header: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer) -> HashedAuthenticationCode<Insecure.SHA1> {
        var hmac = HMAC<Insecure.SHA1>(key: key)
        hmac.update(data: header)
        hmac.update(data: body)
        return hmac.finalize()
    }
}

// MARK: - Parsing

/// A parsed STUN message: the header's values and byte ranges into the
/// datagram it came from (no pointer kept, no heap). Attributes after
/// MESSAGE-INTEGRITY other than FINGERPRINT are ignored, as §14.5 requires.
public struct STUNMessage: Sendable, Hashable {
    public let type: STUNMessageType
    public let transactionID: STUNTransactionID
    /// Header plus attributes: the whole datagram.
    public let length: Int
    /// USERNAME's value (§14.3).
    public let usernameRange: Range<Int>?
    /// Where the MESSAGE-INTEGRITY attribute (its header) starts (§14.5).
    public let messageIntegrityOffset: Int?
    /// Where the FINGERPRINT attribute (its header) starts (§14.7).
    public let fingerprintOffset: Int?
    /// XOR-MAPPED-ADDRESS's value (§14.2).
    public let xorMappedAddressRange: Range<Int>?
    /// ERROR-CODE's value (§14.8).
    public let errorCodeRange: Range<Int>?
    /// SOFTWARE's value (§14.14).
    public let softwareRange: Range<Int>?
    /// CONSENT-TOKEN's value (STUNConsent.swift).
    public let consentTokenRange: Range<Int>?
    /// The first comprehension-required attribute this parser does not know,
    /// before MESSAGE-INTEGRITY; a request carrying one gets a 420 (§6.3.1).
    public let unknownRequiredAttribute: UInt16?

    /// Parses and checks one STUN message occupying all of `bytes` (§6.3):
    /// top bits zero, magic cookie, length a multiple of 4 that matches the
    /// datagram, every attribute inside the message, FINGERPRINT last.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(STUNParseError) -> STUNMessage {
        let count = bytes.count
        guard count >= STUN.headerLength else { throw .tooShort }
        let first = bytes.readUInt16(at: 0)
        guard first & 0xC000 == 0 else { throw .notSTUN }
        guard bytes.readUInt32(at: 4) == STUN.magicCookie else { throw .badMagicCookie }
        let declared = Int(bytes.readUInt16(at: 2))
        guard declared & 0x3 == 0 else { throw .lengthNotAligned }
        guard declared + STUN.headerLength == count else {
            throw .lengthMismatch(declared: declared, actual: count - STUN.headerLength)
        }

        var username: Range<Int>?
        var integrity: Int?
        var fingerprint: Int?
        var xorMapped: Range<Int>?
        var errorCode: Range<Int>?
        var software: Range<Int>?
        var consent: Range<Int>?
        var unknown: UInt16?

        var offset = STUN.headerLength
        while offset < count {
            guard count - offset >= 4 else { throw .truncatedAttribute }
            let type = bytes.readUInt16(at: offset)
            let valueLength = Int(bytes.readUInt16(at: offset + 2))
            let valueStart = offset + 4
            guard count - valueStart >= valueLength else { throw .truncatedAttribute }
            let padded = (valueLength + 3) & ~3
            guard count - valueStart >= padded else { throw .truncatedAttribute }
            let value = valueStart..<(valueStart + valueLength)

            if fingerprint != nil { throw .attributeAfterFingerprint }
            if type == STUNAttribute.fingerprint {
                guard valueLength == 4 else { throw .malformedAttribute(type: type) }
                fingerprint = offset
            } else if integrity == nil {
                switch type {
                case STUNAttribute.messageIntegrity:
                    guard valueLength == 20 else { throw .malformedAttribute(type: type) }
                    integrity = offset
                case STUNAttribute.username:
                    // §14.3: fewer than 509 bytes.
                    guard valueLength < 509 else { throw .malformedAttribute(type: type) }
                    if username == nil { username = value }
                case STUNAttribute.xorMappedAddress:
                    if xorMapped == nil { xorMapped = value }
                case STUNAttribute.errorCode:
                    guard valueLength >= 4 else { throw .malformedAttribute(type: type) }
                    if errorCode == nil { errorCode = value }
                case STUNAttribute.software:
                    if software == nil { software = value }
                case STUNAttribute.consentToken:
                    if consent == nil { consent = value }
                default:
                    if unknown == nil, STUNAttribute.isComprehensionRequired(type), !STUNAttribute.isKnownRequired(type) {
                        unknown = type
                    }
                }
            }
            // Else: after MESSAGE-INTEGRITY, ignored (§14.5).
            offset = valueStart + padded
        }

        return STUNMessage(
            type: STUNMessageType(rawValue: first), transactionID: STUNTransactionID(bytes, at: 8), length: count,
            usernameRange: username, messageIntegrityOffset: integrity, fingerprintOffset: fingerprint,
            xorMappedAddressRange: xorMapped, errorCodeRange: errorCode, softwareRange: software,
            consentTokenRange: consent, unknownRequiredAttribute: unknown)
    }

    /// Cheap pre-check before ``parse(_:)``: top bits zero, magic cookie,
    /// length field matching the datagram (§6.3; RFC 7983 §7 for the first byte).
    @inline(__always)
    public static func looksLikeSTUN(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= STUN.headerLength && bytes[0] & 0xC0 == 0 && bytes.readUInt32(at: 4) == STUN.magicCookie
            && Int(bytes.readUInt16(at: 2)) + STUN.headerLength == bytes.count
    }

    /// USERNAME's bytes, a view into `bytes`.
    public func username(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        usernameRange.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
    }

    /// Whether MESSAGE-INTEGRITY is present and correct for `key` (§14.5):
    /// HMAC-SHA1 over the message up to the attribute, with the header's
    /// length field counting through MESSAGE-INTEGRITY and not beyond;
    /// compared in constant time.
    public func verifyMessageIntegrity(key: STUNIntegrityKey, in bytes: UnsafeRawBufferPointer) -> Bool {
        guard let integrity = messageIntegrityOffset, bytes.count >= integrity + STUN.messageIntegrityLength else {
            return false
        }
        var header: (UInt64, UInt64, UInt32) = (0, 0, 0)
        let code = withUnsafeMutableBytes(of: &header) { copy -> HashedAuthenticationCode<Insecure.SHA1> in
            copy.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<STUN.headerLength]))
            copy.writeUInt16(UInt16(integrity + STUN.messageIntegrityLength - STUN.headerLength), at: 2)
            return key.authenticationCode(
                header: UnsafeRawBufferPointer(copy),
                body: UnsafeRawBufferPointer(rebasing: bytes[STUN.headerLength..<integrity]))
        }
        let received = UnsafeRawBufferPointer(rebasing: bytes[(integrity + 4)..<(integrity + 24)])
        return code.withUnsafeBytes { computed in
            var difference: UInt8 = 0
            for i in 0..<20 { difference |= computed[i] ^ received[i] }
            return difference == 0
        }
    }

    /// Whether FINGERPRINT is present and correct (§14.7): CRC-32 of the
    /// message before it, XORed with 0x5354554E.
    public func verifyFingerprint(in bytes: UnsafeRawBufferPointer) -> Bool {
        guard let fingerprint = fingerprintOffset, bytes.count >= fingerprint + STUN.fingerprintLength else {
            return false
        }
        let expected = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<fingerprint])) ^ STUN.fingerprintXOR
        return bytes.readUInt32(at: fingerprint + 4) == expected
    }

    /// XOR-MAPPED-ADDRESS in clear (§14.2); nil when absent or malformed.
    public func xorMappedAddress(in bytes: UnsafeRawBufferPointer) -> STUNAddress? {
        guard let range = xorMappedAddressRange, range.count >= 8, bytes[range.lowerBound] == 0 else { return nil }
        let start = range.lowerBound
        let port = bytes.readUInt16(at: start + 2) ^ UInt16(STUN.magicCookie >> 16)
        switch bytes[start + 1] {
        case 0x01 where range.count == 8:
            return .ipv4(address: bytes.readUInt32(at: start + 4) ^ STUN.magicCookie, port: port)
        case 0x02 where range.count == 20:
            let high = bytes.readUInt64(at: start + 4) ^ (UInt64(STUN.magicCookie) << 32 | UInt64(transactionID.high))
            let low = bytes.readUInt64(at: start + 12) ^ transactionID.low
            return .ipv6(high: high, low: low, port: port)
        default:
            return nil
        }
    }

    /// ERROR-CODE's number, 300...699 (§14.8); nil when absent or out of range.
    public func errorCode(in bytes: UnsafeRawBufferPointer) -> STUNErrorCode? {
        guard let range = errorCodeRange, range.count >= 4 else { return nil }
        let errorClass = Int(bytes[range.lowerBound + 2] & 0x07)
        let number = Int(bytes[range.lowerBound + 3])
        guard (3...6).contains(errorClass), number < 100 else { return nil }
        return STUNErrorCode(errorClass * 100 + number)
    }
}
