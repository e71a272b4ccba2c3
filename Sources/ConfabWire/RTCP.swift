// RTCP sender and receiver reports (RFC 3550 §6.4) and compound packets (§6.1).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|    RC   |   PT=SR=200   |  length (32-bit words - 1)    |  common header
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         SSRC of sender                        |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |        NTP timestamp (64 bits), RTP timestamp, sender's       |  sender info (SR only,
//  |              packet count, sender's octet count               |  20 bytes)
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                 SSRC_1 (SSRC of first source)                 |  report block,
//  | fraction lost |       cumulative number of packets lost       |  24 bytes, RC times
//  |           extended highest sequence number received           |
//  |                      interarrival jitter                      |
//  |                         last SR (LSR)                         |
//  |                   delay since last SR (DLSR)                  |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  (an RR, PT=201, is the same without the sender info)
//
// Flow: UDP (RTP port, RFC 5761) ─▶ SRTCP unprotect ─▶ `RTCPCompoundReader`
// ─▶ `RTCPSenderReport` / `RTCPReceiverReport` ─▶ round-trip and loss stats.

import ConfabMacros

/// RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1). Unknown values are kept.
public struct RTCPPacketType: RawRepresentable, Sendable, Hashable, BitwiseCopyable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let senderReport = RTCPPacketType(rawValue: 200)
    public static let receiverReport = RTCPPacketType(rawValue: 201)
    public static let sourceDescription = RTCPPacketType(rawValue: 202)
    public static let goodbye = RTCPPacketType(rawValue: 203)
    public static let applicationDefined = RTCPPacketType(rawValue: 204)
    /// Generic RTP feedback (RFC 4585 §6.1).
    public static let transportFeedback = RTCPPacketType(rawValue: 205)
    /// Payload-specific feedback (RFC 4585 §6.1).
    public static let payloadFeedback = RTCPPacketType(rawValue: 206)
}

/// Why an RTCP packet was rejected.
public enum RTCPParseError: Error, Sendable, Hashable {
    /// Fewer than 4 bytes where a packet header should start (RFC 3550 §6.4.1).
    case tooShort
    /// The version field is not 2 (RFC 3550 §6.4.1).
    case unsupportedVersion(UInt8)
    /// The length field points past the end of the buffer (RFC 3550 §6.4.1).
    case truncatedPacket
    /// P is set but the pad count is zero or larger than the packet body.
    case invalidPadding
    /// Only the last packet of a compound packet may be padded (RFC 3550 §6.4.1, A.2).
    case paddingNotInLastPacket
    /// A report parser was handed a packet of another type.
    case unexpectedPacketType(RTCPPacketType)
    /// The body is shorter than its report count requires (RFC 3550 §6.4.1, §6.4.2).
    case truncatedReport
}

/// Why an RTCP report could not be written.
public enum RTCPWriteError: Error, Sendable, Hashable {
    /// The destination holds fewer bytes than the packet needs.
    case bufferTooSmall(needed: Int)
    /// RC is 5 bits: at most 31 report blocks per packet (RFC 3550 §6.4.1).
    case tooManyReportBlocks(Int)
}

/// One packet inside a compound RTCP packet (RFC 3550 §6.1): its common
/// header's values and where its parts lie in the buffer.
public struct RTCPPacket: Sendable, Hashable {
    public static let headerLength = 4

    public let packetType: RTCPPacketType
    /// The 5-bit count field: report count for SR/RR, source count for SDES/BYE,
    /// or a format (FMT) for feedback messages.
    public let count: UInt8
    /// P bit (RFC 3550 §6.4.1).
    public let hasPadding: Bool
    /// Padding bytes at the end of this packet, including the count byte.
    public let paddingCount: Int
    /// The whole packet: header, body and padding.
    public let range: Range<Int>
    /// After the 4-byte header, before any padding.
    public let bodyRange: Range<Int>

    /// Reads the common header at `offset` (RFC 3550 §6.4.1) and checks the
    /// packet fits in `bytes` and its padding is sound.
    public static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) throws(RTCPParseError) -> RTCPPacket {
        precondition(offset >= 0 && offset <= bytes.count, "offset outside the buffer")
        guard bytes.count - offset >= headerLength else { throw .tooShort }
        let first = bytes[offset]
        let version = first >> 6
        guard version == 2 else { throw .unsupportedVersion(version) }
        // length is in 32-bit words minus one, so it counts the header too.
        let length = (Int(bytes.readUInt16(at: offset + 2)) + 1) * 4
        guard bytes.count - offset >= length else { throw .truncatedPacket }
        let end = offset + length
        let bodyStart = offset + headerLength

        let hasPadding = first & 0x20 != 0
        var paddingCount = 0
        if hasPadding {
            paddingCount = Int(bytes[end - 1])
            guard paddingCount > 0, paddingCount <= end - bodyStart else { throw .invalidPadding }
        }
        return RTCPPacket(
            packetType: RTCPPacketType(rawValue: bytes[offset + 1]),
            count: first & 0x1F,
            hasPadding: hasPadding,
            paddingCount: paddingCount,
            range: offset..<end,
            bodyRange: bodyStart..<(end - paddingCount)
        )
    }
}

/// Steps through the packets of a compound RTCP packet (RFC 3550 §6.1)
/// without allocating. After an error it yields nothing more.
///
/// It does not insist that the first packet is an SR or RR: reduced-size
/// RTCP (RFC 5506) drops that rule, and a caller that wants it can check.
public struct RTCPCompoundReader {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The next packet, nil at the end.
    public mutating func next() throws(RTCPParseError) -> RTCPPacket? {
        guard position < bytes.count else { return nil }
        do throws(RTCPParseError) {
            let packet = try RTCPPacket.parse(bytes, at: position)
            // Padding is only for the last packet (RFC 3550 §6.4.1, A.2).
            guard !packet.hasPadding || packet.range.upperBound == bytes.count else {
                throw RTCPParseError.paddingNotInLastPacket
            }
            position = packet.range.upperBound
            return packet
        } catch {
            position = bytes.count
            throw error
        }
    }
}

// MARK: - Report blocks and sender info

/// One reception report block (RFC 3550 §6.4.1).
public struct RTCPReportBlock: Sendable, Hashable, BitwiseCopyable {
    public static let length = 24
    /// Largest and smallest value of the 24-bit signed cumulative-lost field.
    public static let cumulativeLostRange: ClosedRange<Int32> = -0x80_0000...0x7F_FFFF

    /// The source this block reports on.
    public var ssrc: UInt32
    /// Fraction of packets lost since the last report, in 1/256 units.
    public var fractionLost: UInt8
    /// Packets expected minus received since the start; negative with
    /// duplicates. 24-bit signed on the wire; the writer clamps to fit.
    public var cumulativeLost: Int32
    /// Cycles count in the upper 16 bits, highest sequence number in the lower.
    public var extendedHighestSequence: UInt32
    /// Interarrival jitter in timestamp units (RFC 3550 §6.4.1, A.8).
    public var jitter: UInt32
    /// Middle 32 bits of the last SR's NTP timestamp (LSR).
    public var lastSenderReport: UInt32
    /// Delay since that SR in 1/65536 seconds (DLSR).
    public var delaySinceLastSenderReport: UInt32

    public init(
        ssrc: UInt32,
        fractionLost: UInt8 = 0,
        cumulativeLost: Int32 = 0,
        extendedHighestSequence: UInt32 = 0,
        jitter: UInt32 = 0,
        lastSenderReport: UInt32 = 0,
        delaySinceLastSenderReport: UInt32 = 0
    ) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequence = extendedHighestSequence
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    /// Reads a block at `offset`; the caller has checked 24 bytes exist.
    init(reading bytes: UnsafeRawBufferPointer, at offset: Int) {
        let lossWord = bytes.readUInt32(at: offset + 4)
        ssrc = bytes.readUInt32(at: offset)
        fractionLost = UInt8(lossWord >> 24)
        // Sign-extend the 24-bit field: shift it to the top, then back arithmetically.
        cumulativeLost = Int32(bitPattern: lossWord << 8) >> 8
        extendedHighestSequence = bytes.readUInt32(at: offset + 8)
        jitter = bytes.readUInt32(at: offset + 12)
        lastSenderReport = bytes.readUInt32(at: offset + 16)
        delaySinceLastSenderReport = bytes.readUInt32(at: offset + 20)
    }

    /// Writes the block at `offset`; the caller has checked 24 bytes fit.
    func write(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        let range = Self.cumulativeLostRange
        let lost = min(max(cumulativeLost, range.lowerBound), range.upperBound)
        let lossWord = UInt32(fractionLost) << 24 | (UInt32(bitPattern: lost) & 0x00FF_FFFF)
        buffer.writeUInt32(ssrc, at: offset)
        buffer.writeUInt32(lossWord, at: offset + 4)
        buffer.writeUInt32(extendedHighestSequence, at: offset + 8)
        buffer.writeUInt32(jitter, at: offset + 12)
        buffer.writeUInt32(lastSenderReport, at: offset + 16)
        buffer.writeUInt32(delaySinceLastSenderReport, at: offset + 20)
    }
}

/// The sender information section of an SR (RFC 3550 §6.4.1).
@PublicMemberwiseInit
public struct RTCPSenderInfo: Sendable, Hashable, BitwiseCopyable {
    public static let length = 20

    /// Wallclock time in NTP format: seconds since 1900 in the upper 32 bits,
    /// fraction in the lower 32.
    public var ntpTimestamp: UInt64
    /// The same instant in the RTP media clock.
    public var rtpTimestamp: UInt32
    /// RTP packets sent since the start (or since an SSRC change).
    public var packetCount: UInt32
    /// Payload octets sent, excluding headers and padding.
    public var octetCount: UInt32

    /// The middle 32 bits of the NTP timestamp: what a receiver echoes as LSR.
    public var compactNTP: UInt32 { UInt32(truncatingIfNeeded: ntpTimestamp >> 16) }
}

// MARK: - Sender report

/// A parsed sender report (RFC 3550 §6.4.1). Report blocks are read on demand.
public struct RTCPSenderReport: Sendable, Hashable, BitwiseCopyable {
    public let senderSSRC: UInt32
    public let senderInfo: RTCPSenderInfo
    /// Number of report blocks (RC).
    public let reportCount: Int
    /// Where the first report block starts in the buffer.
    public let reportBlocksOffset: Int

    /// Parses `packet`, which must be an SR read from `bytes`.
    public static func parse(_ packet: RTCPPacket, in bytes: UnsafeRawBufferPointer) throws(RTCPParseError) -> RTCPSenderReport {
        let (start, reportCount) = try reportBody(
            packet, type: .senderReport, prefixLength: 4 + RTCPSenderInfo.length, in: bytes)
        return RTCPSenderReport(
            senderSSRC: bytes.readUInt32(at: start),
            senderInfo: RTCPSenderInfo(
                ntpTimestamp: bytes.readUInt64(at: start + 4),
                rtpTimestamp: bytes.readUInt32(at: start + 12),
                packetCount: bytes.readUInt32(at: start + 16),
                octetCount: bytes.readUInt32(at: start + 20)
            ),
            reportCount: reportCount,
            reportBlocksOffset: start + 4 + RTCPSenderInfo.length
        )
    }

    /// The report block at `index` (0..<``reportCount``); `bytes` must be the
    /// buffer this report was parsed from.
    public func reportBlock(_ index: Int, in bytes: UnsafeRawBufferPointer) -> RTCPReportBlock {
        readReportBlock(index, count: reportCount, firstOffset: reportBlocksOffset, in: bytes)
    }

    /// Writes an SR with the given blocks (RFC 3550 §6.4.1) and returns its length.
    public static func write(
        senderSSRC: UInt32,
        senderInfo: RTCPSenderInfo,
        reportBlocks: UnsafeBufferPointer<RTCPReportBlock> = UnsafeBufferPointer(start: nil, count: 0),
        into buffer: UnsafeMutableRawBufferPointer
    ) throws(RTCPWriteError) -> Int {
        let bodyPrefix = 4 + RTCPSenderInfo.length
        let total = try writeReport(type: .senderReport, senderSSRC: senderSSRC, prefixLength: bodyPrefix, reportBlocks: reportBlocks, into: buffer)
        buffer.writeUInt64(senderInfo.ntpTimestamp, at: 8)
        buffer.writeUInt32(senderInfo.rtpTimestamp, at: 16)
        buffer.writeUInt32(senderInfo.packetCount, at: 20)
        buffer.writeUInt32(senderInfo.octetCount, at: 24)
        return total
    }
}

// MARK: - Receiver report

/// A parsed receiver report (RFC 3550 §6.4.2). Report blocks are read on demand.
public struct RTCPReceiverReport: Sendable, Hashable, BitwiseCopyable {
    /// The SSRC of the reporter.
    public let senderSSRC: UInt32
    /// Number of report blocks (RC).
    public let reportCount: Int
    /// Where the first report block starts in the buffer.
    public let reportBlocksOffset: Int

    /// Parses `packet`, which must be an RR read from `bytes`.
    public static func parse(_ packet: RTCPPacket, in bytes: UnsafeRawBufferPointer) throws(RTCPParseError) -> RTCPReceiverReport {
        let (start, reportCount) = try reportBody(packet, type: .receiverReport, prefixLength: 4, in: bytes)
        return RTCPReceiverReport(
            senderSSRC: bytes.readUInt32(at: start),
            reportCount: reportCount,
            reportBlocksOffset: start + 4
        )
    }

    /// The report block at `index` (0..<``reportCount``); `bytes` must be the
    /// buffer this report was parsed from.
    public func reportBlock(_ index: Int, in bytes: UnsafeRawBufferPointer) -> RTCPReportBlock {
        readReportBlock(index, count: reportCount, firstOffset: reportBlocksOffset, in: bytes)
    }

    /// Writes an RR with the given blocks (RFC 3550 §6.4.2) and returns its length.
    public static func write(
        senderSSRC: UInt32,
        reportBlocks: UnsafeBufferPointer<RTCPReportBlock> = UnsafeBufferPointer(start: nil, count: 0),
        into buffer: UnsafeMutableRawBufferPointer
    ) throws(RTCPWriteError) -> Int {
        try writeReport(type: .receiverReport, senderSSRC: senderSSRC, prefixLength: 4, reportBlocks: reportBlocks, into: buffer)
    }
}

// MARK: - Shared by SR and RR

/// Checks that `packet` is a report of `type` from `bytes` whose body holds
/// `prefixLength` bytes (the sender SSRC, and for an SR the sender info) and
/// its report blocks; returns where the body starts and how many blocks follow.
/// Anything after the blocks is a profile-specific extension, which is allowed.
private func reportBody(
    _ packet: RTCPPacket, type: RTCPPacketType, prefixLength: Int, in bytes: UnsafeRawBufferPointer
) throws(RTCPParseError) -> (start: Int, reportCount: Int) {
    guard packet.packetType == type else { throw .unexpectedPacketType(packet.packetType) }
    precondition(bytes.count >= packet.range.upperBound, "buffer is not the one this packet was parsed from")
    let body = packet.bodyRange
    let reportCount = Int(packet.count)
    guard body.count >= prefixLength + reportCount * RTCPReportBlock.length else { throw .truncatedReport }
    return (body.lowerBound, reportCount)
}

private func readReportBlock(_ index: Int, count: Int, firstOffset: Int, in bytes: UnsafeRawBufferPointer) -> RTCPReportBlock {
    precondition(index >= 0 && index < count, "report block index out of range")
    let offset = firstOffset + index * RTCPReportBlock.length
    precondition(bytes.count >= offset + RTCPReportBlock.length, "buffer is not the one this report was parsed from")
    return RTCPReportBlock(reading: bytes, at: offset)
}

/// Writes the common header, the sender SSRC and the report blocks after
/// `prefixLength` body bytes (SSRC plus, for an SR, the sender info, which the
/// caller fills in). Returns the packet length.
private func writeReport(
    type: RTCPPacketType,
    senderSSRC: UInt32,
    prefixLength: Int,
    reportBlocks: UnsafeBufferPointer<RTCPReportBlock>,
    into buffer: UnsafeMutableRawBufferPointer
) throws(RTCPWriteError) -> Int {
    guard reportBlocks.count <= 31 else { throw .tooManyReportBlocks(reportBlocks.count) }
    let total = RTCPPacket.headerLength + prefixLength + reportBlocks.count * RTCPReportBlock.length
    guard buffer.count >= total else { throw .bufferTooSmall(needed: total) }
    buffer[0] = 2 << 6 | UInt8(reportBlocks.count)
    buffer[1] = type.rawValue
    buffer.writeUInt16(UInt16(total / 4 - 1), at: 2)
    buffer.writeUInt32(senderSSRC, at: 4)
    var offset = RTCPPacket.headerLength + prefixLength
    for block in reportBlocks {
        block.write(into: buffer, at: offset)
        offset += RTCPReportBlock.length
    }
    return total
}
