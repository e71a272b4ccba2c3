// Writing STUN messages (RFC 8489 §5, §14): the binding requests a client
// sends and the answers the server sends, into a caller's buffer; and the
// CRC-32 of FINGERPRINT. Parsing is in STUN.swift.
//
//   builder(type, transaction id) ─▶ USERNAME ─▶ SOFTWARE ─▶ XOR-MAPPED-ADDRESS
//     ─▶ MESSAGE-INTEGRITY (HMAC-SHA1 over everything before it, §14.5)
//     ─▶ FINGERPRINT (CRC-32 over everything before it, §14.7) ─▶ the header's length kept current

import Crypto

/// Writes one STUN message into a caller's buffer, attribute by attribute,
/// keeping the header's length field current (RFC 8489 §5, §14).
///
///     var message = try STUNMessageBuilder(type: .bindingRequest, transactionID: id, into: buffer)
///     try message.appendUsername(username)
///     try message.appendMessageIntegrity(key: key)
///     try message.appendFingerprint()
///     send(buffer.prefix(message.length))
public struct STUNMessageBuilder {
    private let buffer: UnsafeMutableRawBufferPointer
    public let transactionID: STUNTransactionID
    /// Bytes written so far, header included.
    public private(set) var length: Int
    private var hasIntegrity = false
    private var hasFingerprint = false

    public init(
        type: STUNMessageType, transactionID: STUNTransactionID, into buffer: UnsafeMutableRawBufferPointer
    ) throws(STUNWriteError) {
        guard buffer.count >= STUN.headerLength else { throw .bufferTooSmall(needed: STUN.headerLength) }
        self.buffer = buffer
        self.transactionID = transactionID
        buffer.writeUInt16(type.rawValue, at: 0)
        buffer.writeUInt16(0, at: 2)
        buffer.writeUInt32(STUN.magicCookie, at: 4)
        transactionID.write(into: buffer, at: 8)
        length = STUN.headerLength
    }

    /// The message written so far.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[0..<length])
    }

    /// Reserves an attribute of `valueLength` bytes plus padding (filled with
    /// `paddingByte`; §14 lets senders pick any value) and returns where its
    /// value starts.
    private mutating func reserve(type: UInt16, valueLength: Int, paddingByte: UInt8 = 0) throws(STUNWriteError) -> Int {
        if hasFingerprint || (hasIntegrity && type != STUNAttribute.fingerprint) { throw .sealed }
        guard valueLength <= 0xFFFF else { throw .valueTooLong }
        let padded = (valueLength + 3) & ~3
        let total = length + 4 + padded
        guard total - STUN.headerLength <= 0xFFFF else { throw .valueTooLong }
        guard buffer.count >= total else { throw .bufferTooSmall(needed: total) }
        buffer.writeUInt16(type, at: length)
        buffer.writeUInt16(UInt16(valueLength), at: length + 2)
        let valueStart = length + 4
        for i in (valueStart + valueLength)..<(valueStart + padded) { buffer[i] = paddingByte }
        length = total
        buffer.writeUInt16(UInt16(length - STUN.headerLength), at: 2)
        return valueStart
    }

    /// Any attribute with a raw value.
    public mutating func append(type: UInt16, value: UnsafeRawBufferPointer, paddingByte: UInt8 = 0) throws(STUNWriteError) {
        let start = try reserve(type: type, valueLength: value.count, paddingByte: paddingByte)
        buffer.copyBytes(from: value, at: start)
    }

    /// USERNAME (§14.3), e.g. "serverUser:clientUser" as ICE forms it.
    public mutating func appendUsername(_ username: String, paddingByte: UInt8 = 0) throws(STUNWriteError) {
        try append(type: STUNAttribute.username, text: username, paddingByte: paddingByte)
    }

    /// An attribute whose value is UTF-8 text.
    public mutating func append(type: UInt16, text: String, paddingByte: UInt8 = 0) throws(STUNWriteError) {
        let utf8 = text.utf8
        var offset = try reserve(type: type, valueLength: utf8.count, paddingByte: paddingByte)
        for byte in utf8 {
            buffer[offset] = byte
            offset += 1
        }
    }

    /// SOFTWARE (§14.14).
    public mutating func appendSoftware(_ software: String, paddingByte: UInt8 = 0) throws(STUNWriteError) {
        try append(type: STUNAttribute.software, text: software, paddingByte: paddingByte)
    }

    /// A 32-bit attribute such as PRIORITY (RFC 8445 §16.1).
    public mutating func append(type: UInt16, uint32 value: UInt32) throws(STUNWriteError) {
        let start = try reserve(type: type, valueLength: 4)
        buffer.writeUInt32(value, at: start)
    }

    /// A 64-bit attribute such as ICE-CONTROLLED's tie breaker (RFC 8445 §16.1).
    public mutating func append(type: UInt16, uint64 value: UInt64) throws(STUNWriteError) {
        let start = try reserve(type: type, valueLength: 8)
        buffer.writeUInt64(value, at: start)
    }

    /// XOR-MAPPED-ADDRESS (§14.2): the port XORed with the cookie's top half,
    /// an IPv4 address with the cookie, an IPv6 address with the cookie and
    /// the transaction id.
    public mutating func appendXORMappedAddress(_ address: STUNAddress) throws(STUNWriteError) {
        switch address {
        case .ipv4(let ip, let port):
            let start = try reserve(type: STUNAttribute.xorMappedAddress, valueLength: 8)
            buffer[start] = 0
            buffer[start + 1] = 0x01
            buffer.writeUInt16(port ^ UInt16(STUN.magicCookie >> 16), at: start + 2)
            buffer.writeUInt32(ip ^ STUN.magicCookie, at: start + 4)
        case .ipv6(let high, let low, let port):
            let start = try reserve(type: STUNAttribute.xorMappedAddress, valueLength: 20)
            buffer[start] = 0
            buffer[start + 1] = 0x02
            buffer.writeUInt16(port ^ UInt16(STUN.magicCookie >> 16), at: start + 2)
            buffer.writeUInt64(high ^ (UInt64(STUN.magicCookie) << 32 | UInt64(transactionID.high)), at: start + 4)
            buffer.writeUInt64(low ^ transactionID.low, at: start + 12)
        }
    }

    /// ERROR-CODE (§14.8) with the code's recommended reason phrase.
    public mutating func appendErrorCode(_ error: STUNErrorCode) throws(STUNWriteError) {
        let reason = error.reason
        let start = try reserve(type: STUNAttribute.errorCode, valueLength: 4 + reason.utf8CodeUnitCount)
        buffer[start] = 0
        buffer[start + 1] = 0
        buffer[start + 2] = UInt8(truncatingIfNeeded: (error.code / 100) & 0x07)
        buffer[start + 3] = UInt8(truncatingIfNeeded: error.code % 100)
        buffer.copyBytes(
            from: UnsafeRawBufferPointer(start: reason.utf8Start, count: reason.utf8CodeUnitCount), at: start + 4)
    }

    /// MESSAGE-INTEGRITY (§14.5): HMAC-SHA1 over everything so far, with the
    /// length field already counting this attribute.
    public mutating func appendMessageIntegrity(key: STUNIntegrityKey) throws(STUNWriteError) {
        let start = try reserve(type: STUNAttribute.messageIntegrity, valueLength: 20)
        let code = key.authenticationCode(
            header: UnsafeRawBufferPointer(rebasing: buffer[0..<STUN.headerLength]),
            body: UnsafeRawBufferPointer(rebasing: buffer[STUN.headerLength..<(start - 4)]))
        code.withUnsafeBytes { buffer.copyBytes(from: $0, at: start) }
        hasIntegrity = true
    }

    /// FINGERPRINT (§14.7), the last attribute: CRC-32 of everything before
    /// it (the length field counting it) XOR 0x5354554E.
    public mutating func appendFingerprint() throws(STUNWriteError) {
        let start = try reserve(type: STUNAttribute.fingerprint, valueLength: 4)
        let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<(start - 4)]))
        buffer.writeUInt32(crc ^ STUN.fingerprintXOR, at: start)
        hasFingerprint = true
    }
}

// MARK: - CRC-32

/// CRC-32 as ISO 3309 / ITU-T V.42 define it (reflected polynomial
/// 0xEDB88320, initial value and final XOR 0xFFFFFFFF), which FINGERPRINT
/// uses (RFC 8489 §14.7). Bitwise: STUN messages are a few dozen bytes and
/// this runs once per binding, so no table.
public enum CRC32 {
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1)))
            }
        }
        return ~crc
    }
}
