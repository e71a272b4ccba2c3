// RTP header extension elements (RFC 8285): several small, individually
// identified values inside the one RFC 3550 §5.3.1 extension block.
//
//  One-byte form (§4.2), profile 0xBEDE:          Two-byte form (§4.3), profile 0x100 + appbits:
//   0 1 2 3 4 5 6 7                                0                   1
//  +-+-+-+-+-+-+-+-+                               0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//  |  ID   |  len  |  data (len + 1 bytes) ...    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  +-+-+-+-+-+-+-+-+                               |       ID      |     length    |  data (length bytes) ...
//  ID 1...14; 15 stops parsing; a 0 byte is        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  padding.                                        ID 1...255; a 0 byte is padding.
//
// Flow: `RTPPacket.extensionRange` ─▶ `HeaderExtensionBlock.parse` (validate once)
// ─▶ `elements(in:)` / `find(id:in:)` ─▶ e.g. `AudioLevel` for the speaker detector.
// Sending: `HeaderExtensionList` (inline, no heap) ─▶ `RTPPacket.write`.

/// Which RFC 8285 layout an extension block uses, chosen by the block's
/// "defined by profile" field (RFC 8285 §4.2, §4.3).
public enum HeaderExtensionForm: Sendable, Hashable, BitwiseCopyable {
    /// Profile 0xBEDE: one-byte element headers (RFC 8285 §4.2).
    case oneByte
    /// Profile 0x100X: two-byte element headers; the low 4 bits of the profile
    /// are application bits (RFC 8285 §4.3).
    case twoByte(appBits: UInt8)

    /// "defined by profile" value for the one-byte form (RFC 8285 §4.2).
    public static let oneByteProfile: UInt16 = 0xBEDE
    /// Upper 12 bits of the profile for the two-byte form (RFC 8285 §4.3).
    public static let twoByteProfileBase: UInt16 = 0x1000

    /// The form a profile value selects, or nil for a non-RFC 8285 extension.
    public init?(profile: UInt16) {
        if profile == Self.oneByteProfile {
            self = .oneByte
        } else if profile & 0xFFF0 == Self.twoByteProfileBase {
            self = .twoByte(appBits: UInt8(profile & 0x000F))
        } else {
            return nil
        }
    }

    /// The "defined by profile" value that announces this form.
    public var profile: UInt16 {
        switch self {
        case .oneByte: Self.oneByteProfile
        case .twoByte(let appBits): Self.twoByteProfileBase | UInt16(appBits & 0x0F)
        }
    }
}

/// Why an extension block was rejected (RFC 8285 §4).
public enum HeaderExtensionError: Error, Sendable, Hashable {
    /// The profile is neither 0xBEDE nor 0x100X, so the block is not RFC 8285.
    case unsupportedProfile(UInt16)
    /// A two-byte element ID is the block's last byte: its length byte is missing (RFC 8285 §4.3).
    case truncatedElementHeader
    /// An element's data runs past the end of the extension block.
    case elementOverrun(id: UInt8)
}

/// Walks the elements of one block. Shared by validation, iteration and lookup
/// so the three agree on every edge: padding, ID 15, ID 0 with a length.
struct HeaderExtensionCursor {
    let bytes: UnsafeRawBufferPointer
    let end: Int
    let isOneByte: Bool
    var position: Int

    init(bytes: UnsafeRawBufferPointer, range: Range<Int>, isOneByte: Bool) {
        self.bytes = bytes
        self.end = range.upperBound
        self.isOneByte = isOneByte
        self.position = range.lowerBound
    }

    mutating func next() throws(HeaderExtensionError) -> (id: UInt8, range: Range<Int>)? {
        while position < end {
            let first = bytes[position]
            if first == 0 {
                // Padding byte (RFC 8285 §4.2, §4.3): skip it alone.
                position += 1
                continue
            }
            let id: UInt8
            let length: Int
            let dataStart: Int
            if isOneByte {
                id = first >> 4
                // ID 0 with a non-zero length (RFC 8285 §4.1.2) and the reserved
                // ID 15 (§4.2) both end processing; elements before them count.
                guard id != 0, id != 15 else {
                    position = end
                    return nil
                }
                length = Int(first & 0x0F) + 1
                dataStart = position + 1
            } else {
                id = first
                guard end - position >= 2 else {
                    position = end
                    throw .truncatedElementHeader
                }
                length = Int(bytes[position + 1])
                dataStart = position + 2
            }
            guard end - dataStart >= length else {
                position = end
                throw .elementOverrun(id: id)
            }
            position = dataStart + length
            return (id, dataStart..<position)
        }
        return nil
    }
}

/// A validated RFC 8285 extension block: its form, where its elements lie,
/// and how many there are. Holds offsets, not bytes.
public struct HeaderExtensionBlock: Sendable, Hashable {
    public let form: HeaderExtensionForm
    /// The element area (after the 4-byte extension header), as offsets into the packet.
    public let range: Range<Int>
    /// Elements before the end or before a stop marker (ID 15, or ID 0 with a length).
    public let elementCount: Int

    /// Validates the elements in `range` of `bytes` under `profile` (RFC 8285 §4.2, §4.3).
    ///
    /// `range` must lie inside `bytes` (it normally comes from
    /// ``RTPPacket/extensionRange``); a range outside is a programming error.
    public static func parse(
        profile: UInt16,
        range: Range<Int>,
        in bytes: UnsafeRawBufferPointer
    ) throws(HeaderExtensionError) -> HeaderExtensionBlock {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "extension range outside the buffer")
        guard let form = HeaderExtensionForm(profile: profile) else { throw .unsupportedProfile(profile) }
        var cursor = HeaderExtensionCursor(bytes: bytes, range: range, isOneByte: form == .oneByte)
        var count = 0
        while try cursor.next() != nil {
            count += 1
        }
        return HeaderExtensionBlock(form: form, range: range, elementCount: count)
    }

    /// The elements, in packet order; `bytes` must be the buffer this block was parsed from.
    public func elements(in bytes: UnsafeRawBufferPointer) -> HeaderExtensionElements {
        precondition(bytes.count >= range.upperBound, "buffer is not the one this block was parsed from")
        return HeaderExtensionElements(cursor: HeaderExtensionCursor(bytes: bytes, range: range, isOneByte: form == .oneByte))
    }

    /// The data range of the first element with `id`, or nil.
    public func find(id: UInt8, in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        for element in elements(in: bytes) where element.id == id {
            return element.range
        }
        return nil
    }
}

/// Iterates the elements of a validated block without allocating.
public struct HeaderExtensionElements: Sequence, IteratorProtocol {
    public typealias Element = (id: UInt8, range: Range<Int>)

    var cursor: HeaderExtensionCursor

    public mutating func next() -> Element? {
        // The block was validated when parsed, so the cursor cannot throw here;
        // if it somehow did, ending the walk is the safe answer.
        try? cursor.next()
    }
}

extension RTPPacket {
    /// The packet's RFC 8285 extension block, validated; nil when the X bit is clear.
    public func headerExtensions(in bytes: UnsafeRawBufferPointer) throws(HeaderExtensionError) -> HeaderExtensionBlock? {
        guard let extensionProfile, let extensionRange else { return nil }
        return try HeaderExtensionBlock.parse(profile: extensionProfile, range: extensionRange, in: bytes)
    }
}

// MARK: - Writing

/// Why an element could not be added to a ``HeaderExtensionList``.
public enum HeaderExtensionListError: Error, Sendable, Hashable {
    /// ID 0 is reserved for padding (RFC 8285 §4.1.2).
    case invalidID(UInt8)
    /// Each extension in a packet has a unique ID (RFC 8285 §4.1.2).
    case duplicateID(UInt8)
    /// More than ``HeaderExtensionList/maxElements`` elements.
    case tooManyElements
    /// The data would not fit the list's inline storage (``HeaderExtensionList/dataCapacity`` bytes).
    case capacityExceeded
}

/// Up to four RFC 8285 elements held inline (no heap), for
/// ``RTPPacket/write(header:csrcs:extensions:payload:paddingCount:into:)``.
///
/// The writer uses the one-byte form (§4.2) when every element fits it (ID
/// 1...14, 1...16 bytes, no application bits) and the two-byte form (§4.3)
/// otherwise, and zero-pads the block to a 32-bit boundary (RFC 3550 §5.3.1).
public struct HeaderExtensionList: Sendable, BitwiseCopyable {
    public static let maxElements = 4
    /// Total data bytes all elements may hold together.
    public static let dataCapacity = 64

    /// The 4 application bits of the two-byte profile (RFC 8285 §4.3);
    /// non-zero forces the two-byte form.
    public var appBits: UInt8 {
        get { storedAppBits }
        set { storedAppBits = newValue & 0x0F }
    }

    public private(set) var count = 0
    private var storedAppBits: UInt8 = 0
    private var usedBytes = 0
    private var ids: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
    private var lengths: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    public init() {}

    public var isEmpty: Bool { count == 0 }

    /// Adds an element with the given data (0...64 bytes; 0 forces the two-byte form).
    public mutating func append(id: UInt8, data: UnsafeRawBufferPointer) throws(HeaderExtensionListError) {
        guard id != 0 else { throw .invalidID(id) }
        for index in 0..<count where self.id(at: index) == id {
            throw .duplicateID(id)
        }
        guard count < Self.maxElements else { throw .tooManyElements }
        guard data.count <= Self.dataCapacity - usedBytes else { throw .capacityExceeded }

        let slot = count
        let offset = usedBytes
        withUnsafeMutableBytes(of: &ids) { $0[slot] = id }
        withUnsafeMutableBytes(of: &lengths) { $0[slot] = UInt8(data.count) }
        withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: data, at: offset) }
        usedBytes += data.count
        count += 1
    }

    /// Adds a one-byte element, e.g. an RFC 6464 audio level.
    public mutating func append(id: UInt8, byte: UInt8) throws(HeaderExtensionListError) {
        var value = byte
        try withUnsafeBytes(of: &value) { (data) throws(HeaderExtensionListError) in
            try append(id: id, data: data)
        }
    }

    /// The ID of the element at `index` (0..<``count``).
    public func id(at index: Int) -> UInt8 {
        precondition(index >= 0 && index < count, "element index out of range")
        return withUnsafeBytes(of: ids) { $0[index] }
    }

    /// Calls `body` with the data of the element at `index` (0..<``count``).
    public func withData<Result, Failure: Error>(
        at index: Int,
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        precondition(index >= 0 && index < count, "element index out of range")
        let (offset, length) = dataSpan(at: index)
        return try withUnsafeBytes(of: storage) { (raw) throws(Failure) -> Result in
            try body(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)]))
        }
    }

    /// The form ``RTPPacket/write(header:csrcs:extensions:payload:paddingCount:into:)`` will use.
    public var form: HeaderExtensionForm {
        guard storedAppBits == 0 else { return .twoByte(appBits: storedAppBits) }
        for index in 0..<count {
            let id = id(at: index)
            let length = dataSpan(at: index).length
            if !(1...14).contains(id) || !(1...16).contains(length) {
                return .twoByte(appBits: 0)
            }
        }
        return .oneByte
    }

    /// Bytes of the element area after the 4-byte extension header, padded to
    /// a multiple of 4 (RFC 3550 §5.3.1 counts the length in 32-bit words).
    public var encodedLength: Int {
        let headerBytesPerElement = form == .oneByte ? 1 : 2
        let unpadded = headerBytesPerElement * count + usedBytes
        return (unpadded + 3) & ~3
    }

    private func dataSpan(at index: Int) -> (offset: Int, length: Int) {
        withUnsafeBytes(of: lengths) { lengths in
            var offset = 0
            for earlier in 0..<index {
                offset += Int(lengths[earlier])
            }
            return (offset, Int(lengths[index]))
        }
    }

    /// Writes the extension header and elements at `offset`; returns the bytes
    /// written. The caller has checked that `4 + encodedLength` bytes fit.
    func writeBlock(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        let form = form
        let dataLength = encodedLength
        buffer.writeUInt16(form.profile, at: offset)
        buffer.writeUInt16(UInt16(dataLength / 4), at: offset + 2)
        var position = offset + 4
        for index in 0..<count {
            let id = id(at: index)
            withData(at: index) { data in
                switch form {
                case .oneByte:
                    buffer[position] = id << 4 | UInt8(data.count - 1)
                    position += 1
                case .twoByte:
                    buffer[position] = id
                    buffer[position + 1] = UInt8(data.count)
                    position += 2
                }
                buffer.copyBytes(from: data, at: position)
                position += data.count
            }
        }
        let end = offset + 4 + dataLength
        buffer.zero(from: position, count: end - position)
        return end - offset
    }
}

extension HeaderExtensionList: Equatable {
    /// Same form, same elements in the same order.
    public static func == (lhs: HeaderExtensionList, rhs: HeaderExtensionList) -> Bool {
        guard lhs.count == rhs.count, lhs.storedAppBits == rhs.storedAppBits else { return false }
        for index in 0..<lhs.count {
            guard lhs.id(at: index) == rhs.id(at: index) else { return false }
            let same = lhs.withData(at: index) { left in
                rhs.withData(at: index) { right in left.elementsEqual(right) }
            }
            guard same else { return false }
        }
        return true
    }
}
