// The media plane's parsers, as the server's forwarder and every client's
// receiver meet a datagram from anywhere: each range a parser hands out must
// lie inside the datagram, and whatever they accept must read without a trap.
import ConfabWire

enum WireFuzzing {
    /// Every parser meets every datagram, whatever its first byte says: the
    /// demultiplexer's verdict is a hint a hostile sender controls.
    static func run(_ datagram: UnsafeRawBufferPointer) throws(FuzzViolation) {
        _ = PacketKind.classify(datagram)
        try rtp(datagram)
        try rtcp(datagram)
        try stun(datagram)
    }

    static func inside(_ range: Range<Int>, _ bytes: UnsafeRawBufferPointer, _ what: String)
        throws(FuzzViolation)
    {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw FuzzViolation("\(what) \(range) outside a datagram of \(bytes.count) bytes")
        }
    }

    private static func rtp(_ bytes: UnsafeRawBufferPointer) throws(FuzzViolation) {
        guard let packet = try? RTPPacket.parse(bytes) else { return }
        try inside(packet.payloadRange, bytes, "RTP payload")
        if let range = packet.extensionRange { try inside(range, bytes, "RTP extension") }
        guard packet.headerLength + packet.payloadRange.count + packet.paddingCount == packet.packetLength,
            packet.packetLength == bytes.count
        else {
            throw FuzzViolation(
                "RTP header \(packet.headerLength) + payload \(packet.payloadRange.count) + padding "
                    + "\(packet.paddingCount) is not the packet's \(packet.packetLength) of \(bytes.count)")
        }
        if let block = try? packet.headerExtensions(in: bytes) {
            for element in block.elements(in: bytes) { try inside(element.range, bytes, "extension element") }
        }
        _ = packet.audioLevel(in: bytes)
        let payload = UnsafeRawBufferPointer(rebasing: bytes[packet.payloadRange])
        _ = try? OpusTOC.frameCount(payload)
        _ = try? OpusTOC.packetDurationSamples48k(payload)
        var blocks: [AudioREDBlock] = []
        do {
            try AudioRED.forEachBlock(in: payload) { blocks.append($0) }
        } catch {
            return
        }
        for block in blocks { try inside(block.range, payload, "RED block") }
    }

    private static func rtcp(_ bytes: UnsafeRawBufferPointer) throws(FuzzViolation) {
        var offset = 0
        while offset < bytes.count, let packet = try? RTCPPacket.parse(bytes, at: offset) {
            try inside(packet.range, bytes, "RTCP packet")
            try inside(packet.bodyRange, bytes, "RTCP body")
            guard packet.range.lowerBound == offset, packet.range.upperBound > offset else {
                throw FuzzViolation("RTCP packet at \(offset) spans \(packet.range): the walk would not advance")
            }
            if let report = try? RTCPSenderReport.parse(packet, in: bytes) {
                try blocks(report.reportBlocksOffset, count: report.reportCount, of: packet, "SR")
                for index in 0..<report.reportCount { _ = report.reportBlock(index, in: bytes) }
            }
            if let report = try? RTCPReceiverReport.parse(packet, in: bytes) {
                try blocks(report.reportBlocksOffset, count: report.reportCount, of: packet, "RR")
                for index in 0..<report.reportCount { _ = report.reportBlock(index, in: bytes) }
            }
            offset = packet.range.upperBound
        }
    }

    /// A report's blocks lie within its packet's body (RFC 3550 §6.4.1: 24 bytes each).
    private static func blocks(_ offset: Int, count: Int, of packet: RTCPPacket, _ what: String) throws(FuzzViolation) {
        let end = offset + count * RTCPReportBlock.length
        guard offset >= packet.bodyRange.lowerBound, end <= packet.bodyRange.upperBound else {
            throw FuzzViolation("\(what) report blocks \(offset)..<\(end) outside the packet's body \(packet.bodyRange)")
        }
    }

    private static func stun(_ bytes: UnsafeRawBufferPointer) throws(FuzzViolation) {
        guard let message = try? STUNMessage.parse(bytes) else { return }
        for range in [message.usernameRange, message.xorMappedAddressRange, message.errorCodeRange, message.softwareRange] {
            if let range { try inside(range, bytes, "STUN attribute") }
        }
        _ = message.username(in: bytes)
        _ = message.xorMappedAddress(in: bytes)
        _ = message.errorCode(in: bytes)
        _ = message.verifyFingerprint(in: bytes)
    }
}
