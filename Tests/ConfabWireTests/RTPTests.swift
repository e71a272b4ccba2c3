import ConfabWire
import Testing

@Suite("RTP fixed header (RFC 3550 §5.1)")
struct RTPTests {
    // V=2 P=0 X=0 CC=0 | M=0 PT=111 | seq 0x1234 | ts 1000 | SSRC 0xDEADBEEF | payload 01 02 03
    let minimal = hex("80 6F 12 34 | 00 00 03 E8 | DE AD BE EF | 01 02 03")

    @Test("minimal packet exposes every fixed header field")
    func minimalPacket() throws {
        let packet = try parseRTP(minimal)
        #expect(packet.marker == false)
        #expect(packet.payloadType == 111)
        #expect(packet.sequenceNumber == 0x1234)
        #expect(packet.timestamp == 1000)
        #expect(packet.ssrc == 0xDEAD_BEEF)
        #expect(packet.csrcCount == 0)
        #expect(packet.hasPadding == false)
        #expect(packet.paddingCount == 0)
        #expect(packet.hasExtension == false)
        #expect(packet.extensionProfile == nil)
        #expect(packet.extensionRange == nil)
        #expect(packet.headerLength == 12)
        #expect(packet.payloadRange == 12..<15)
        #expect(packet.packetLength == 15)
        let payload = minimal.withUnsafeBytes { Array(packet.payload(in: $0)) }
        #expect(payload == [1, 2, 3])
    }

    @Test("marker bit and payload type share the second byte")
    func markerBit() throws {
        let packet = try parseRTP(hex("80 EF 00 01 00 00 00 00 00 00 00 01"))
        #expect(packet.marker == true)
        #expect(packet.payloadType == 111)
        #expect(packet.sequenceNumber == 1)
        #expect(packet.ssrc == 1)
    }

    @Test("an empty payload is allowed")
    func emptyPayload() throws {
        let packet = try parseRTP(Array(minimal[0..<12]))
        #expect(packet.payloadRange == 12..<12)
        #expect(packet.payloadRange.isEmpty)
    }

    @Test("CSRC list follows the fixed header")
    func csrcList() throws {
        let bytes = hex("82 00 00 07 00 00 00 00 11 11 11 11 | 0A 0B 0C 0D | 01 02 03 04 | FF")
        let packet = try parseRTP(bytes)
        #expect(packet.csrcCount == 2)
        #expect(packet.headerLength == 20)
        #expect(packet.payloadRange == 20..<21)
        bytes.withUnsafeBytes { raw in
            #expect(packet.csrc(0, in: raw) == 0x0A0B_0C0D)
            #expect(packet.csrc(1, in: raw) == 0x0102_0304)
        }
    }

    @Test("fifteen CSRCs, the most the 4-bit count allows")
    func maximumCSRCs() throws {
        var bytes = hex("8F 00 00 00 00 00 00 00 00 00 00 00")
        for index in 0..<15 { bytes += [0, 0, 0, UInt8(index + 1)] }
        let packet = try parseRTP(bytes)
        #expect(packet.csrcCount == 15)
        #expect(packet.headerLength == 72)
        bytes.withUnsafeBytes { raw in
            #expect(packet.csrc(14, in: raw) == 15)
        }
    }

    @Test("padding: the last byte counts the pad bytes, itself included")
    func paddedPacket() throws {
        let packet = try parseRTP(hex("A0 6F 00 01 00 00 00 00 00 00 00 01 | 01 02 03 | 00 00 00 04"))
        #expect(packet.hasPadding)
        #expect(packet.paddingCount == 4)
        #expect(packet.payloadRange == 12..<15)
        #expect(packet.packetLength == 19)
    }

    @Test("padding may take everything after the header")
    func paddingOnly() throws {
        let packet = try parseRTP(hex("A0 6F 00 01 00 00 00 00 00 00 00 01 | 00 00 03"))
        #expect(packet.paddingCount == 3)
        #expect(packet.payloadRange == 12..<12)
    }

    @Test("header extension: profile and data range after its 4-byte header")
    func extensionBlock() throws {
        let bytes = hex("90 6F 00 01 00 00 00 00 00 00 00 01 | BE DE 00 01 | 10 AA 00 00 | 55 66")
        let packet = try parseRTP(bytes)
        #expect(packet.hasExtension)
        #expect(packet.extensionProfile == 0xBEDE)
        #expect(packet.extensionRange == 16..<20)
        #expect(packet.headerLength == 20)
        #expect(packet.payloadRange == 20..<22)
    }

    @Test("extension with zero length words is an empty block")
    func emptyExtension() throws {
        let packet = try parseRTP(hex("90 6F 00 01 00 00 00 00 00 00 00 01 | 12 34 00 00 | 99"))
        #expect(packet.extensionProfile == 0x1234)
        #expect(packet.extensionRange == 16..<16)
        #expect(packet.payloadRange == 16..<17)
    }

    @Test("CSRCs, extension and padding together")
    func everything() throws {
        let bytes = hex("""
            B1 E0 FF FF 12 34 56 78 CA FE BA BE | 00 00 00 2A
            BE DE 00 01 | 10 7F 00 00
            AB CD | 00 02
            """)
        let packet = try parseRTP(bytes)
        #expect(packet.marker)
        #expect(packet.payloadType == 96)
        #expect(packet.sequenceNumber == 0xFFFF)
        #expect(packet.timestamp == 0x1234_5678)
        #expect(packet.ssrc == 0xCAFE_BABE)
        #expect(packet.csrcCount == 1)
        #expect(packet.extensionRange == 20..<24)
        #expect(packet.headerLength == 24)
        #expect(packet.payloadRange == 24..<26)
        #expect(packet.paddingCount == 2)
    }

    // MARK: errors

    @Test("every length short of the fixed header is tooShort", arguments: 0..<12)
    func truncatedFixedHeader(length: Int) {
        #expect(throws: RTPParseError.tooShort) { try parseRTP(Array(minimal[0..<length])) }
    }

    @Test("versions other than 2 are rejected with the version seen", arguments: [UInt8(0), 1, 3])
    func wrongVersion(version: UInt8) {
        var bytes = minimal
        bytes[0] = version << 6
        #expect(throws: RTPParseError.unsupportedVersion(version)) { try parseRTP(bytes) }
    }

    @Test("a CSRC list cut short at every length is truncatedCSRC", arguments: 12..<24)
    func truncatedCSRC(length: Int) {
        let bytes = hex("83 00 00 00 00 00 00 00 00 00 00 00 | 00 00 00 01 00 00 00 02 00 00 00 03")
        #expect(throws: RTPParseError.truncatedCSRC) { try parseRTP(Array(bytes[0..<length])) }
    }

    @Test("an extension header cut short is truncatedExtension", arguments: 12..<16)
    func truncatedExtensionHeader(length: Int) {
        let bytes = hex("90 00 00 00 00 00 00 00 00 00 00 00 | BE DE 00 00")
        #expect(throws: RTPParseError.truncatedExtension) { try parseRTP(Array(bytes[0..<length])) }
    }

    @Test("an extension length pointing past the end is truncatedExtension")
    func extensionLengthPastEnd() {
        // Claims 2 words (8 bytes) of extension data; only 7 follow.
        let bytes = hex("90 00 00 00 00 00 00 00 00 00 00 00 | BE DE 00 02 | 10 01 00 00 00 00 00")
        #expect(throws: RTPParseError.truncatedExtension) { try parseRTP(bytes) }
        #expect(throws: RTPParseError.truncatedExtension) { try parseRTP(hex("90 00 00 00 00 00 00 00 00 00 00 00 | BE DE FF FF"))
        }
    }

    /// Packets with the P bit whose padding (RFC 3550 §5.1) cannot be right.
    static let badPadding: [(why: String, packet: String)] = [
        ("a pad count of zero", "A0 6F 00 01 00 00 00 00 00 00 00 01 | 01 02 03 00"),
        ("a pad count larger than the bytes after the header", "A0 6F 00 01 00 00 00 00 00 00 00 01 | 01 02 03 05"),
        ("a pad count that would reach back into the extension",
         "B0 6F 00 01 00 00 00 00 00 00 00 01 | BE DE 00 01 | 10 01 00 00 | 02"),
        ("the P bit with nothing after the header", "A0 6F 00 01 00 00 00 00 00 00 00 01"),
    ]

    @Test("bad padding is invalidPadding", arguments: badPadding)
    func invalidPadding(why: String, packet: String) {
        #expect(throws: RTPParseError.invalidPadding, "\(why)") { try parseRTP(hex(packet)) }
    }

    // MARK: quick looks

    @Test("peekSSRC reads the SSRC of a version 2 header only")
    func peekSSRC() {
        minimal.withUnsafeBytes { #expect(RTPPacket.peekSSRC($0) == 0xDEAD_BEEF) }
        Array(minimal[0..<11]).withUnsafeBytes { #expect(RTPPacket.peekSSRC($0) == nil) }
        var versionOne = minimal
        versionOne[0] = 0x40
        versionOne.withUnsafeBytes { #expect(RTPPacket.peekSSRC($0) == nil) }
    }

    @Test("isRTP: version 2 and a payload type outside the RTCP range")
    func isRTP() {
        #expect(RTPPacket.isRTP(firstByte: 0x80, secondByte: 0x6F))
        #expect(RTPPacket.isRTP(firstByte: 0x80, secondByte: 0xEF))
        #expect(!RTPPacket.isRTP(firstByte: 0x80, secondByte: 200))  // SR
        #expect(!RTPPacket.isRTP(firstByte: 0x81, secondByte: 201))  // RR
        #expect(!RTPPacket.isRTP(firstByte: 0x40, secondByte: 0x6F))  // version 1
        minimal.withUnsafeBytes { #expect(RTPPacket.isRTP($0)) }
        Array(minimal[0..<2]).withUnsafeBytes { #expect(!RTPPacket.isRTP($0)) }
    }
}

@Suite("RTP writer (RFC 3550 §5.1)")
struct RTPWriterTests {
    let fields = RTPHeaderFields(marker: true, payloadType: 111, sequenceNumber: 65_535, timestamp: 0xFFFF_FFF0, ssrc: 0x0102_0304)

    @Test("writes the exact bytes of a plain packet")
    func exactBytes() throws {
        let bytes = try writeRTP(RTPHeaderFields(payloadType: 111, sequenceNumber: 0x1234, timestamp: 1000, ssrc: 0xDEAD_BEEF), payload: [1, 2, 3])
        #expect(bytes == hex("80 6F 12 34 00 00 03 E8 DE AD BE EF 01 02 03"))
    }

    @Test("write then parse gives the same fields, CSRCs, extension and padding")
    func roundTrip() throws {
        var extensions = HeaderExtensionList()
        try extensions.append(audioLevel: AudioLevel(level: 42, voiceActivity: true))
        let payload: [UInt8] = Array(0..<100)
        let bytes = try writeRTP(fields, csrcs: [7, 0xFFFF_FFFF], extensions: extensions, payload: payload, paddingCount: 3)
        let packet = try parseRTP(bytes)

        #expect(packet.marker == fields.marker)
        #expect(packet.payloadType == fields.payloadType)
        #expect(packet.sequenceNumber == fields.sequenceNumber)
        #expect(packet.timestamp == fields.timestamp)
        #expect(packet.ssrc == fields.ssrc)
        #expect(packet.csrcCount == 2)
        #expect(packet.extensionProfile == 0xBEDE)
        #expect(packet.headerLength == 12 + 8 + 8)
        #expect(packet.paddingCount == 3)
        #expect(Array(bytes[packet.payloadRange]) == payload)
        #expect(bytes.count == 28 + 100 + 3)
        #expect(Array(bytes.suffix(3)) == [0, 0, 3])
        bytes.withUnsafeBytes { raw in
            #expect(packet.csrc(0, in: raw) == 7)
            #expect(packet.csrc(1, in: raw) == 0xFFFF_FFFF)
            #expect(packet.audioLevel(in: raw) == AudioLevel(level: 42, voiceActivity: true))
        }
    }

    @Test("round trip with no payload and no options")
    func emptyRoundTrip() throws {
        let bytes = try writeRTP(fields, payload: [])
        #expect(bytes.count == 12)
        let packet = try parseRTP(bytes)
        #expect(packet.payloadRange == 12..<12)
        #expect(packet.hasExtension == false)
        #expect(packet.hasPadding == false)
    }

    @Test("headerLength predicts where the payload goes")
    func predictedHeaderLength() throws {
        var extensions = HeaderExtensionList()
        try extensions.append(id: 3, data: UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(RTPPacket.headerLength() == 12)
        #expect(RTPPacket.headerLength(csrcCount: 3) == 24)
        // Two-byte form: 2 header bytes, no data, padded to 4.
        #expect(RTPPacket.headerLength(csrcCount: 1, extensions: extensions) == 12 + 4 + 4 + 4)
        let packet = try parseRTP(try writeRTP(fields, csrcs: [9], extensions: extensions, payload: [5]))
        #expect(packet.headerLength == 24)
    }

    @Test("a payload already encoded in place at the header length survives")
    func payloadInPlace() throws {
        var buffer = [UInt8](repeating: 0, count: 64)
        let offset = RTPPacket.headerLength()
        for index in 0..<20 { buffer[offset + index] = UInt8(index + 100) }
        let written = try buffer.withUnsafeMutableBytes { out in
            try RTPPacket.write(header: fields, payload: UnsafeRawBufferPointer(rebasing: out[offset..<(offset + 20)]), into: out)
        }
        #expect(written == 32)
        let packet = try parseRTP(Array(buffer[0..<written]))
        #expect(Array(buffer[packet.payloadRange]) == (100..<120).map { UInt8($0) })
    }

    @Test("a payload overlapping the header area moves before the header is written")
    func payloadOverlappingHeader() throws {
        var buffer = [UInt8](repeating: 0, count: 64)
        for index in 0..<20 { buffer[index] = UInt8(index + 1) }
        let written = try buffer.withUnsafeMutableBytes { out in
            try RTPPacket.write(header: fields, payload: UnsafeRawBufferPointer(rebasing: out[0..<20]), into: out)
        }
        #expect(written == 32)
        #expect(Array(buffer[12..<32]) == (1...20).map { UInt8($0) })
        #expect(buffer[0] == 0x80)
    }

    @Test("every buffer one byte short reports the size needed")
    func bufferTooSmall() throws {
        var extensions = HeaderExtensionList()
        try extensions.append(id: 1, byte: 0x80)
        let needed = 12 + 4 + 4 + 4 + 10 + 2  // header, CSRC, extension header, element + pad, payload, padding
        #expect(try writeRTP(fields, csrcs: [1], extensions: extensions, payload: Array(repeating: 1, count: 10), paddingCount: 2, capacity: needed).count == needed)
        for capacity in 0..<needed {
            #expect(throws: RTPWriteError.bufferTooSmall(needed: needed)) {
                try writeRTP(fields, csrcs: [1], extensions: extensions, payload: Array(repeating: 1, count: 10), paddingCount: 2, capacity: capacity)
            }
        }
    }

    @Test("payload types above 127 and more than 15 CSRCs are refused")
    func invalidFields() throws {
        var wide = fields
        wide.payloadType = 128
        #expect(throws: RTPWriteError.invalidPayloadType(128)) { try writeRTP(wide, payload: []) }
        #expect(throws: RTPWriteError.tooManyCSRCs(16)) { try writeRTP(fields, csrcs: Array(repeating: 1, count: 16), payload: []) }
        #expect(try writeRTP(fields, csrcs: Array(repeating: 1, count: 15), payload: []).count == 72)
    }
}
