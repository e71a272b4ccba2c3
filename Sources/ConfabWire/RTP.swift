// RTP fixed header, CSRC list, header extension and padding (RFC 3550 §5.1, §5.3.1).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|X|  CC   |M|     PT      |       sequence number         |  0
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                           timestamp                           |  4
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           synchronization source (SSRC) identifier            |  8
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |            contributing source (CSRC) identifiers             |  12, CC × 4 bytes
//  |                             ....                              |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |      defined by profile       |  length (32-bit words)        |  only if X = 1
//  |                        header extension                       |  (RFC 8285 elements)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                            payload ...                        |
//  |                               +-------------------------------+
//  |                               | padding ...   | pad count     |  only if P = 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Flow: UDP datagram ─▶ `RTPPacket.parse` (offsets only) ─▶ jitter buffer or the
// SFU forwarder. Encoder output ─▶ `RTPPacket.write` into a reused send buffer ─▶
// SRTP protect ─▶ UDP. Neither direction allocates.
//
// Written by hand rather than taken from a package: the audio path needs
// parsing over borrowed bytes with typed errors and no heap work per packet
// (DESIGN.md, "Audio runs on its own threads").

import ConfabMacros

/// Why an RTP packet was rejected by ``RTPPacket/parse(_:)``.
public enum RTPParseError: Error, Sendable, Hashable {
    /// Fewer than the 12 bytes of the fixed header (RFC 3550 §5.1).
    case tooShort
    /// The version field (top two bits) is not 2 (RFC 3550 §5.1).
    case unsupportedVersion(UInt8)
    /// The CSRC count promises more identifiers than the packet holds (RFC 3550 §5.1).
    case truncatedCSRC
    /// The X bit is set but the extension header or its declared length runs
    /// past the end of the packet (RFC 3550 §5.3.1).
    case truncatedExtension
    /// The P bit is set but the pad count is zero or larger than the bytes
    /// after the header (RFC 3550 §5.1: the count includes itself).
    case invalidPadding
}

/// Why ``RTPPacket/write(header:csrcs:extensions:payload:paddingCount:into:)`` refused.
public enum RTPWriteError: Error, Sendable, Hashable {
    /// The destination holds fewer bytes than the packet needs.
    case bufferTooSmall(needed: Int)
    /// Payload types are 7 bits (RFC 3550 §5.1).
    case invalidPayloadType(UInt8)
    /// The CC field is 4 bits: at most 15 CSRCs (RFC 3550 §5.1).
    case tooManyCSRCs(Int)
}

/// The fields a sender chooses for each packet (RFC 3550 §5.1).
@PublicMemberwiseInit
public struct RTPHeaderFields: Sendable, Hashable, BitwiseCopyable {
    /// M bit; for audio, the first packet after silence (RFC 3551 §4.1).
    public var marker: Bool = false
    /// 7-bit payload type, e.g. ``OpusRTP/defaultPayloadType``.
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    /// Media clock ticks; 48 kHz for Opus (RFC 7587 §4.1).
    public var timestamp: UInt32
    public var ssrc: UInt32
}

/// A parsed RTP packet: the header's values plus byte ranges into the buffer
/// it was parsed from (RFC 3550 §5.1). It holds no pointer, so it stays valid
/// to keep after the buffer is gone; the ranges only mean something against
/// the same bytes.
public struct RTPPacket: Sendable, Hashable {
    /// Length of the fixed header (RFC 3550 §5.1).
    public static let fixedHeaderLength = 12
    /// The only RTP version in use (RFC 3550 §5.1).
    public static let version: UInt8 = 2

    public let marker: Bool
    public let payloadType: UInt8
    public let sequenceNumber: UInt16
    public let timestamp: UInt32
    public let ssrc: UInt32
    /// Number of CSRC identifiers after the fixed header (0...15).
    public let csrcCount: Int
    /// P bit: the packet ends in ``paddingCount`` bytes of padding.
    public let hasPadding: Bool
    /// Padding bytes at the end, including the count byte itself; 0 without P.
    public let paddingCount: Int
    /// The "defined by profile" field of the header extension (RFC 3550 §5.3.1),
    /// e.g. 0xBEDE for RFC 8285 one-byte elements; nil when X is clear.
    public let extensionProfile: UInt16?
    /// The extension data after its 4-byte header; nil when X is clear.
    public let extensionRange: Range<Int>?
    /// The payload, between the header (with CSRCs and extension) and padding.
    /// May be empty.
    public let payloadRange: Range<Int>
    /// Fixed header + CSRCs + extension: where the payload starts.
    public let headerLength: Int
    /// Bytes of the packet parsed (the whole buffer).
    public let packetLength: Int

    /// X bit.
    public var hasExtension: Bool { extensionProfile != nil }

    /// Parses the header of one RTP packet occupying all of `bytes`.
    ///
    /// Checks, in order: the fixed header fits, version is 2, the CSRC list
    /// fits, the extension header and its declared length fit (RFC 3550
    /// §5.3.1), and the padding count is between 1 and the bytes after the
    /// header (RFC 3550 §5.1). An empty payload is allowed.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(RTPParseError) -> RTPPacket {
        let count = bytes.count
        guard count >= fixedHeaderLength else { throw .tooShort }

        let first = bytes[0]
        let version = first >> 6
        guard version == Self.version else { throw .unsupportedVersion(version) }
        let hasPadding = first & 0x20 != 0
        let hasExtension = first & 0x10 != 0
        let csrcCount = Int(first & 0x0F)

        var headerLength = fixedHeaderLength + 4 * csrcCount
        guard count >= headerLength else { throw .truncatedCSRC }

        var extensionProfile: UInt16?
        var extensionRange: Range<Int>?
        if hasExtension {
            guard count - headerLength >= 4 else { throw .truncatedExtension }
            let profile = bytes.readUInt16(at: headerLength)
            let dataLength = 4 * Int(bytes.readUInt16(at: headerLength + 2))
            let dataStart = headerLength + 4
            guard count - dataStart >= dataLength else { throw .truncatedExtension }
            extensionProfile = profile
            extensionRange = dataStart..<(dataStart + dataLength)
            headerLength = dataStart + dataLength
        }

        var paddingCount = 0
        if hasPadding {
            // The pad count byte is the packet's last byte, so at least one byte
            // must follow the header, and the count may not reach into it.
            guard count > headerLength else { throw .invalidPadding }
            paddingCount = Int(bytes[count - 1])
            guard paddingCount > 0, paddingCount <= count - headerLength else { throw .invalidPadding }
        }

        let second = bytes[1]
        return RTPPacket(
            marker: second & 0x80 != 0,
            payloadType: second & 0x7F,
            sequenceNumber: bytes.readUInt16(at: 2),
            timestamp: bytes.readUInt32(at: 4),
            ssrc: bytes.readUInt32(at: 8),
            csrcCount: csrcCount,
            hasPadding: hasPadding,
            paddingCount: paddingCount,
            extensionProfile: extensionProfile,
            extensionRange: extensionRange,
            payloadRange: headerLength..<(count - paddingCount),
            headerLength: headerLength,
            packetLength: count
        )
    }

    /// The CSRC identifier at `index` (0..<``csrcCount``) (RFC 3550 §5.1).
    ///
    /// `bytes` must be the buffer this packet was parsed from; a wrong index
    /// or a shorter buffer is a programming error and traps.
    public func csrc(_ index: Int, in bytes: UnsafeRawBufferPointer) -> UInt32 {
        precondition(index >= 0 && index < csrcCount, "CSRC index \(index) out of 0..<\(csrcCount)")
        let offset = Self.fixedHeaderLength + 4 * index
        precondition(bytes.count >= offset + 4, "buffer is not the one this packet was parsed from")
        return bytes.readUInt32(at: offset)
    }

    /// The payload bytes, a view into `bytes` (the buffer this packet was parsed from).
    public func payload(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        precondition(bytes.count >= payloadRange.upperBound, "buffer is not the one this packet was parsed from")
        return UnsafeRawBufferPointer(rebasing: bytes[payloadRange])
    }

    /// Reads only the SSRC (RFC 3550 §5.1), for routing before a full parse:
    /// nil unless there is a fixed header with version 2.
    @inline(__always)
    public static func peekSSRC(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        guard bytes.count >= fixedHeaderLength, bytes[0] >> 6 == version else { return nil }
        return bytes.readUInt32(at: 8)
    }

    /// True when the first two bytes look like RTP rather than RTCP: version 2
    /// and a payload type outside 64...95, the range RFC 5761 §4 keeps for
    /// RTCP packet types 192...223 when both share a port.
    @inline(__always)
    public static func isRTP(firstByte: UInt8, secondByte: UInt8) -> Bool {
        firstByte >> 6 == version && !RTPOrRTCP.isRTCP(secondByte: secondByte)
    }

    /// ``isRTP(firstByte:secondByte:)`` on a buffer that also holds at least a
    /// fixed header (12 bytes).
    @inline(__always)
    public static func isRTP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= fixedHeaderLength && isRTP(firstByte: bytes[0], secondByte: bytes[1])
    }
}

// MARK: - Writing

extension RTPPacket {
    /// The header length a packet with these CSRCs and extensions will have:
    /// the payload's offset, for encoding it in place before calling ``write``.
    public static func headerLength(csrcCount: Int = 0, extensions: HeaderExtensionList = HeaderExtensionList()) -> Int {
        let extensionLength = extensions.isEmpty ? 0 : 4 + extensions.encodedLength
        return fixedHeaderLength + 4 * csrcCount + extensionLength
    }

    /// Writes one RTP packet (RFC 3550 §5.1) into `buffer` and returns its length.
    ///
    /// - Parameters:
    ///   - csrcs: up to 15 contributing sources; nil or empty for none.
    ///   - extensions: RFC 8285 elements; when empty the X bit stays clear.
    ///   - payload: copied with memmove semantics, so it may already sit in
    ///     `buffer` (for example encoded at ``headerLength(csrcCount:extensions:)``).
    ///   - paddingCount: total padding bytes to append (RFC 3550 §5.1), the
    ///     last of which holds the count; 0 for none.
    public static func write(
        header: RTPHeaderFields,
        csrcs: UnsafeBufferPointer<UInt32>? = nil,
        extensions: HeaderExtensionList = HeaderExtensionList(),
        payload: UnsafeRawBufferPointer,
        paddingCount: UInt8 = 0,
        into buffer: UnsafeMutableRawBufferPointer
    ) throws(RTPWriteError) -> Int {
        guard header.payloadType <= 0x7F else { throw .invalidPayloadType(header.payloadType) }
        let csrcCount = csrcs?.count ?? 0
        guard csrcCount <= 15 else { throw .tooManyCSRCs(csrcCount) }

        let headerLength = headerLength(csrcCount: csrcCount, extensions: extensions)
        let padding = Int(paddingCount)
        let total = headerLength + payload.count + padding
        guard buffer.count >= total else { throw .bufferTooSmall(needed: total) }

        // Payload first: if it already lives in `buffer`, writing the header
        // must not overwrite it before it has moved.
        buffer.copyBytes(from: payload, at: headerLength)

        var first = Self.version << 6 | UInt8(csrcCount)
        if padding > 0 { first |= 0x20 }
        if !extensions.isEmpty { first |= 0x10 }
        buffer[0] = first
        buffer[1] = (header.marker ? 0x80 : 0) | header.payloadType
        buffer.writeUInt16(header.sequenceNumber, at: 2)
        buffer.writeUInt32(header.timestamp, at: 4)
        buffer.writeUInt32(header.ssrc, at: 8)

        var offset = fixedHeaderLength
        if let csrcs {
            for csrc in csrcs {
                buffer.writeUInt32(csrc, at: offset)
                offset += 4
            }
        }
        if !extensions.isEmpty {
            offset += extensions.writeBlock(into: buffer, at: offset)
        }
        if padding > 0 {
            let paddingStart = headerLength + payload.count
            buffer.zero(from: paddingStart, count: padding - 1)
            buffer[total - 1] = paddingCount
        }
        return total
    }
}
