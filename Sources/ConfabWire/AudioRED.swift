// Redundant audio data (RFC 2198): one RTP payload carries the current
// Opus frame and copies of one or more earlier ones, so a frame is lost only
// when every packet that carries it is lost.
//
//   redundant block header (4 bytes):  F=1 | block PT (7) | timestamp offset (14) | block length (10)
//   primary block header (1 byte):     F=0 | block PT (7)
//   then the blocks' data in the same order, the primary's last (its length is what remains)
//
// Confab's rule on top of RFC 2198 (docs/MEDIA.md, "Redundancy"): the
// redundant blocks are the frames of the packets sent just before this one,
// oldest first, so with n of them, block i (0-based) belongs to sequence
// number − (n − i). The jitter buffer is ordered by sequence number, and
// this lets a copy take the place of exactly the packet that was lost.
//
// Parsing validates the whole payload before it hands out a single block,
// and allocates nothing.

/// Why a RED payload was refused.
public enum AudioREDError: Error, Sendable, Hashable {
    /// No primary block header before the payload ended.
    case truncatedHeaders
    /// More redundant blocks than `AudioRED.maxBlocks` allows.
    case tooManyBlocks
    /// The redundant blocks' lengths add up to more than the payload holds.
    case blockOverrun
    /// A redundant block's timestamp offset is zero or not older than the block after it.
    case invalidTimestampOffset
    /// Writing: a block longer than 1 023 bytes, an offset beyond 14 bits, or too little room.
    case doesNotFit
}

/// One block of a RED payload.
public struct AudioREDBlock: Sendable, Equatable {
    /// The payload type of the block's data (Opus for Confab).
    public var payloadType: UInt8
    /// How far the block's timestamp lies before the packet's [RTP clock ticks]; 0 for the primary.
    public var timestampOffset: UInt32
    /// How many packets back it was sent first: 0 for the primary, n − i for redundant block i of n.
    public var packetsBack: Int
    /// Where its data lies in the payload.
    public var range: Range<Int>
}

public enum AudioRED {
    /// The payload type of RED packets (RFC 2198 §5 leaves it to signaling; 63 as WebRTC offers red/48000/2).
    public static let defaultPayloadType: UInt8 = 63
    /// Redundant blocks accepted in one payload (RFC 2198 sets no limit; we send at most two).
    public static let maxRedundantBlocks = 4
    /// The longest block the 10-bit length field can describe [bytes].
    public static let maxBlockLength = 1_023
    /// The largest timestamp offset the 14-bit field can describe [ticks].
    public static let maxTimestampOffset: UInt32 = 16_383

    /// Validates `payload` and calls `body` for each block, the redundant ones
    /// oldest first, then the primary. Nothing is handed out unless the whole
    /// payload is valid. Block data may be empty (the consumer judges it).
    @inline(__always)
    public static func forEachBlock(in payload: UnsafeRawBufferPointer,
                                    _ body: (AudioREDBlock) -> Void) throws(AudioREDError) {
        let redundantCount = try validatedRedundantCount(payload)
        var dataStart = redundantCount * 4 + 1
        for i in 0..<redundantCount {
            let header = i * 4
            let (payloadType, offset, length) = redundantHeader(payload, at: header)
            body(AudioREDBlock(payloadType: payloadType, timestampOffset: offset, packetsBack: redundantCount - i,
                               range: dataStart..<(dataStart + length)))
            dataStart += length
        }
        body(AudioREDBlock(payloadType: payload[redundantCount * 4] & 0x7F, timestampOffset: 0, packetsBack: 0,
                           range: dataStart..<payload.count))
    }

    /// How many redundant blocks a valid payload has; throws for an invalid one.
    static func validatedRedundantCount(_ payload: UnsafeRawBufferPointer) throws(AudioREDError) -> Int {
        var position = 0
        var count = 0
        var dataLength = 0
        var previousOffset = UInt32.max
        while true {
            guard position < payload.count else { throw .truncatedHeaders }
            if payload[position] & 0x80 == 0 { break }
            guard count < maxRedundantBlocks else { throw .tooManyBlocks }
            guard payload.count - position >= 4 else { throw .truncatedHeaders }
            let (_, offset, length) = redundantHeader(payload, at: position)
            // Oldest first, each strictly newer than the last and older than the primary.
            guard offset > 0, offset < previousOffset else { throw .invalidTimestampOffset }
            previousOffset = offset
            dataLength += length
            count += 1
            position += 4
        }
        guard payload.count - (position + 1) >= dataLength else { throw .blockOverrun }
        return count
    }

    @inline(__always)
    private static func redundantHeader(_ payload: UnsafeRawBufferPointer, at position: Int)
        -> (payloadType: UInt8, offset: UInt32, length: Int) {
        let b1 = UInt32(payload[position + 1]), b2 = UInt32(payload[position + 2]), b3 = UInt32(payload[position + 3])
        let offset = b1 << 6 | b2 >> 2
        let length = Int((b2 & 0x03) << 8 | b3)
        return (payload[position] & 0x7F, offset, length)
    }

    /// Writes a RED payload into `buffer`: `redundantCount` blocks from
    /// `redundant(i)` (oldest first: offset and data), then `primary`. All
    /// blocks carry `payloadType`. Returns the payload's length. No block's
    /// data may lie inside `buffer`.
    public static func write(payloadType: UInt8, primary: UnsafeRawBufferPointer, redundantCount: Int,
                             redundant: (Int) -> (timestampOffset: UInt32, data: UnsafeRawBufferPointer),
                             into buffer: UnsafeMutableRawBufferPointer) throws(AudioREDError) -> Int {
        guard redundantCount >= 0, redundantCount <= maxRedundantBlocks, payloadType <= 0x7F,
              let base = buffer.baseAddress else { throw .doesNotFit }
        var total = redundantCount * 4 + 1 + primary.count
        var previous = UInt32.max
        for i in 0..<redundantCount {
            let (offset, data) = redundant(i)
            guard data.count <= maxBlockLength, offset > 0, offset <= maxTimestampOffset, offset < previous else {
                throw .doesNotFit
            }
            previous = offset
            total += data.count
        }
        guard total <= buffer.count else { throw .doesNotFit }
        let primaryStart = total - primary.count
        if let source = primary.baseAddress, primary.count > 0 {
            (base + primaryStart).copyMemory(from: source, byteCount: primary.count)
        }
        var header = 0
        var data = redundantCount * 4 + 1
        for i in 0..<redundantCount {
            let (offset, block) = redundant(i)
            buffer[header] = 0x80 | payloadType
            buffer[header + 1] = UInt8(truncatingIfNeeded: offset >> 6)
            buffer[header + 2] = UInt8(truncatingIfNeeded: (offset & 0x3F) << 2 | UInt32(block.count >> 8))
            buffer[header + 3] = UInt8(truncatingIfNeeded: block.count)
            if let source = block.baseAddress, block.count > 0 {
                (base + data).copyMemory(from: source, byteCount: block.count)
            }
            header += 4
            data += block.count
        }
        buffer[header] = payloadType
        return total
    }
}
