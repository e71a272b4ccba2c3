import ConfabWire
import Testing

private func packets(_ bytes: [UInt8]) throws -> [RTCPPacket] {
    try bytes.withUnsafeBytes { raw in
        var reader = RTCPCompoundReader(raw)
        var result: [RTCPPacket] = []
        while let packet = try reader.next() { result.append(packet) }
        return result
    }
}

private func writeSR(ssrc: UInt32, info: RTCPSenderInfo, blocks: [RTCPReportBlock], capacity: Int = 1500) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0xEE, count: capacity)
    let written = try buffer.withUnsafeMutableBytes { out in
        try blocks.withUnsafeBufferPointer { try RTCPSenderReport.write(senderSSRC: ssrc, senderInfo: info, reportBlocks: $0, into: out) }
    }
    return Array(buffer[0..<written])
}

private func writeRR(ssrc: UInt32, blocks: [RTCPReportBlock], capacity: Int = 1500) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0xEE, count: capacity)
    let written = try buffer.withUnsafeMutableBytes { out in
        try blocks.withUnsafeBufferPointer { try RTCPReceiverReport.write(senderSSRC: ssrc, reportBlocks: $0, into: out) }
    }
    return Array(buffer[0..<written])
}

private func readSR(_ bytes: [UInt8]) throws -> (RTCPSenderReport, [RTCPReportBlock]) {
    try bytes.withUnsafeBytes { raw in
        let packet = try RTCPPacket.parse(raw)
        let report = try RTCPSenderReport.parse(packet, in: raw)
        return (report, (0..<report.reportCount).map { report.reportBlock($0, in: raw) })
    }
}

private func readRR(_ bytes: [UInt8]) throws -> (RTCPReceiverReport, [RTCPReportBlock]) {
    try bytes.withUnsafeBytes { raw in
        let packet = try RTCPPacket.parse(raw)
        let report = try RTCPReceiverReport.parse(packet, in: raw)
        return (report, (0..<report.reportCount).map { report.reportBlock($0, in: raw) })
    }
}

@Suite("RTCP sender and receiver reports (RFC 3550 §6.4)")
struct RTCPTests {
    let info = RTCPSenderInfo(ntpTimestamp: 0xE8A1_B2C3_4000_0000, rtpTimestamp: 96_000, packetCount: 100, octetCount: 12_345)
    let blocks = [
        RTCPReportBlock(ssrc: 0x1111_1111, fractionLost: 25, cumulativeLost: 1_000, extendedHighestSequence: 0x0001_0005,
                        jitter: 120, lastSenderReport: 0xB2C3_4000, delaySinceLastSenderReport: 65_536),
        RTCPReportBlock(ssrc: 0x2222_2222, fractionLost: 0, cumulativeLost: -5, extendedHighestSequence: 7),
    ]

    @Test("a hand-built SR reads field by field")
    func handBuiltSR() throws {
        let bytes = hex("""
            80 C8 00 06 | 00 00 AB CD
            E8 A1 B2 C3 40 00 00 00 | 00 01 77 00 | 00 00 00 64 | 00 00 30 39
            """)
        let (report, reportBlocks) = try readSR(bytes)
        #expect(report.senderSSRC == 0xABCD)
        #expect(report.senderInfo == info)
        #expect(report.reportCount == 0)
        #expect(reportBlocks.isEmpty)
    }

    @Test("a hand-built RR with one block, cumulative lost negative")
    func handBuiltRR() throws {
        let bytes = hex("""
            81 C9 00 07 | 00 00 00 01
            00 00 00 02 | 19 FF FF FB | 00 01 00 05 | 00 00 00 78 | B2 C3 40 00 | 00 01 00 00
            """)
        let (report, reportBlocks) = try readRR(bytes)
        #expect(report.senderSSRC == 1)
        #expect(report.reportCount == 1)
        #expect(reportBlocks == [RTCPReportBlock(ssrc: 2, fractionLost: 25, cumulativeLost: -5, extendedHighestSequence: 0x0001_0005,
                                                 jitter: 120, lastSenderReport: 0xB2C3_4000, delaySinceLastSenderReport: 65_536)])
    }

    @Test("SR write then parse gives the same sender info and blocks")
    func senderReportRoundTrip() throws {
        let bytes = try writeSR(ssrc: 0xABCD, info: info, blocks: blocks)
        #expect(bytes.count == 4 + 4 + 20 + 2 * 24)
        #expect(Array(bytes[0..<4]) == [0x82, 200, 0x00, 0x12])  // RC 2, PT 200, 19 words - 1
        let (report, reportBlocks) = try readSR(bytes)
        #expect(report.senderSSRC == 0xABCD)
        #expect(report.senderInfo == info)
        #expect(report.reportCount == 2)
        #expect(reportBlocks == blocks)
    }

    @Test("SR without blocks is the hand-built bytes")
    func senderReportBytes() throws {
        let bytes = try writeSR(ssrc: 0xABCD, info: info, blocks: [])
        #expect(bytes == hex("80 C8 00 06 00 00 AB CD E8 A1 B2 C3 40 00 00 00 00 01 77 00 00 00 00 64 00 00 30 39"))
    }

    @Test("RR write then parse, from zero to thirty-one blocks", arguments: [0, 1, 31])
    func receiverReportRoundTrip(count: Int) throws {
        let many = (0..<count).map { RTCPReportBlock(ssrc: UInt32($0), fractionLost: UInt8($0), cumulativeLost: Int32($0) - 10, jitter: UInt32($0 * 3)) }
        let bytes = try writeRR(ssrc: 42, blocks: many)
        #expect(bytes.count == 8 + 24 * count)
        let (report, reportBlocks) = try readRR(bytes)
        #expect(report.senderSSRC == 42)
        #expect(reportBlocks == many)
    }

    @Test("cumulative lost is clamped to the 24-bit signed range")
    func cumulativeLostClamp() throws {
        let extremes = [RTCPReportBlock(ssrc: 1, cumulativeLost: 10_000_000), RTCPReportBlock(ssrc: 2, cumulativeLost: -9_000_000),
                        RTCPReportBlock(ssrc: 3, cumulativeLost: 0x7F_FFFF), RTCPReportBlock(ssrc: 4, cumulativeLost: -0x80_0000)]
        let bytes = try writeRR(ssrc: 1, blocks: extremes)
        #expect(Array(bytes[12..<16]) == [0x00, 0x7F, 0xFF, 0xFF])
        #expect(Array(bytes[36..<40]) == [0x00, 0x80, 0x00, 0x00])
        let lost = try readRR(bytes).1.map(\.cumulativeLost)
        #expect(lost == [0x7F_FFFF, -0x80_0000, 0x7F_FFFF, -0x80_0000])
    }

    @Test("thirty-two blocks do not fit the 5-bit count")
    func tooManyBlocks() {
        let many = (0..<32).map { RTCPReportBlock(ssrc: UInt32($0)) }
        #expect(throws: RTCPWriteError.tooManyReportBlocks(32)) { try writeRR(ssrc: 1, blocks: many) }
    }

    @Test("every buffer short of the report reports the size needed")
    func bufferTooSmall() {
        for capacity in 0..<(28 + 48) {
            #expect(throws: RTCPWriteError.bufferTooSmall(needed: 76)) { try writeSR(ssrc: 1, info: info, blocks: blocks, capacity: capacity) }
        }
        #expect(throws: RTCPWriteError.bufferTooSmall(needed: 8)) { try writeRR(ssrc: 1, blocks: [], capacity: 7) }
    }

    @Test("the compact NTP timestamp is the middle 32 bits, echoed as LSR")
    func compactNTP() {
        #expect(info.compactNTP == 0xB2C3_4000)
    }
}

@Suite("RTCP compound packets (RFC 3550 §6.1)")
struct RTCPCompoundTests {
    @Test("SR, RR and a padded SDES iterate in order")
    func compound() throws {
        let info = RTCPSenderInfo(ntpTimestamp: 1, rtpTimestamp: 2, packetCount: 3, octetCount: 4)
        let sr = try writeSR(ssrc: 10, info: info, blocks: [RTCPReportBlock(ssrc: 20)])
        let rr = try writeRR(ssrc: 10, blocks: [])
        // SDES, SC=1, padded: SSRC, CNAME "ab", END, then 4 padding bytes (P set).
        let sdes = hex("A1 CA 00 03 | 00 00 00 0A | 01 02 61 62 | 00 00 00 04")
        let all = try packets(sr + rr + sdes)
        #expect(all.map(\.packetType) == [.senderReport, .receiverReport, .sourceDescription])
        #expect(all.map(\.range) == [0..<52, 52..<60, 60..<76])
        #expect(all[0].count == 1)
        #expect(all[2].count == 1)
        #expect(all[2].hasPadding)
        #expect(all[2].paddingCount == 4)
        #expect(all[2].bodyRange == 64..<72)
        #expect(all[0].bodyRange == 4..<52)
    }

    @Test("an empty buffer holds no packets")
    func emptyBuffer() throws {
        #expect(try packets([]).isEmpty)
    }

    @Test("fewer than 4 bytes where a header should be is tooShort", arguments: 1..<4)
    func tooShort(length: Int) {
        #expect(throws: RTCPParseError.tooShort) { try packets(Array(hex("81 C9 00 01 00 00 00 01")[0..<length])) }
        // Also after a complete packet.
        #expect(throws: RTCPParseError.tooShort) { try packets(hex("80 C9 00 01 00 00 00 01") + Array(repeating: 0x80, count: length)) }
    }

    @Test("versions other than 2 are rejected", arguments: [UInt8(0), 1, 3])
    func wrongVersion(version: UInt8) {
        #expect(throws: RTCPParseError.unsupportedVersion(version)) { try packets([version << 6, 201, 0, 1, 0, 0, 0, 1]) }
    }

    @Test("a length pointing past the end is truncatedPacket")
    func truncatedPacket() {
        #expect(throws: RTCPParseError.truncatedPacket) { try packets(hex("80 C9 00 02 00 00 00 01")) }
        #expect(throws: RTCPParseError.truncatedPacket) { try packets(hex("80 C9 FF FF 00 00 00 01")) }
    }

    @Test("padding on a packet that is not last is refused")
    func paddingNotLast() {
        #expect(throws: RTCPParseError.paddingNotInLastPacket) {
            try packets(hex("A0 C9 00 01 00 00 00 04 | 80 C9 00 01 00 00 00 01"))
        }
    }

    @Test("a pad count of zero or beyond the body is invalidPadding")
    func invalidPadding() {
        #expect(throws: RTCPParseError.invalidPadding) { try packets(hex("A0 C9 00 01 00 00 00 00")) }
        #expect(throws: RTCPParseError.invalidPadding) { try packets(hex("A0 C9 00 01 00 00 00 05")) }
    }

    @Test("after an error the reader yields nothing more")
    func stopsAfterError() throws {
        let bytes = hex("80 C9 00 05 00 00 00 01")
        try bytes.withUnsafeBytes { raw throws in
            var reader = RTCPCompoundReader(raw)
            #expect(throws: RTCPParseError.truncatedPacket) { try reader.next() }
            #expect(try reader.next() == nil)
        }
    }

    @Test("a report count larger than the body is truncatedReport")
    func truncatedReport() {
        // RR claiming 2 blocks with room for 1.
        let rr = hex("82 C9 00 07 00 00 00 01") + [UInt8](repeating: 0, count: 24)
        #expect(throws: RTCPParseError.truncatedReport) { try readRR(rr) }
        // SR too short even for its sender info.
        #expect(throws: RTCPParseError.truncatedReport) { try readSR(hex("80 C8 00 01 00 00 00 01")) }
    }

    @Test("parsing an RR as an SR reports the type it found")
    func wrongType() {
        let rr = hex("80 C9 00 01 00 00 00 01")
        #expect(throws: RTCPParseError.unexpectedPacketType(.receiverReport)) { try readSR(rr) }
        #expect(throws: RTCPParseError.unexpectedPacketType(.senderReport)) {
            try readRR(hex("80 C8 00 06") + [UInt8](repeating: 0, count: 24))
        }
    }

    @Test("profile-specific extension bytes after the blocks are allowed")
    func profileExtension() throws {
        let bytes = hex("80 C9 00 02 00 00 00 01 | DE AD BE EF")
        let (report, blocks) = try readRR(bytes)
        #expect(report.senderSSRC == 1)
        #expect(blocks.isEmpty)
    }
}
