// Range and size checks shared by the message decoders. Each throws
// `DecodingError.dataCorrupted` naming the field, which the codec turns into
// `ErrorCode.invalidMessage` with the field's path.

extension KeyedDecodingContainer {
    func decode(_ type: Int.Type, forKey key: Key, in range: ClosedRange<Int>) throws -> Int {
        let value = try decode(Int.self, forKey: key)
        try check(value, in: range, forKey: key)
        return value
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = try decodeIfPresent(Int.self, forKey: key) else { return nil }
        try check(value, in: range, forKey: key)
        return value
    }

    func decode(_ type: String.Type, forKey key: Key, maximumUTF8Bytes: Int) throws -> String {
        let value = try decode(String.self, forKey: key)
        try check(value, maximumUTF8Bytes: maximumUTF8Bytes, forKey: key)
        return value
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key, maximumUTF8Bytes: Int) throws -> String? {
        guard let value = try decodeIfPresent(String.self, forKey: key) else { return nil }
        try check(value, maximumUTF8Bytes: maximumUTF8Bytes, forKey: key)
        return value
    }

    /// A list whose length is in `counts`; `noun` names its elements in the error.
    func decode<Element: Decodable>(
        _ type: [Element].Type, forKey key: Key, counts: ClosedRange<Int>, of noun: String
    ) throws -> [Element] {
        let list = try decode([Element].self, forKey: key)
        guard counts.contains(list.count) else {
            let bounds =
                counts.lowerBound == 0
                ? "at most \(counts.upperBound)" : "\(counts.lowerBound) to \(counts.upperBound)"
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "\(bounds) \(noun)")
        }
        return list
    }

    /// A history page size: absent means the default page.
    func decodeHistoryLimit(forKey key: Key, in range: ClosedRange<Int>) throws -> Int {
        try decodeIfPresent(Int.self, forKey: key, in: range) ?? ProtocolLimits.defaultHistoryPageSize
    }

    private func check(_ value: Int, in range: ClosedRange<Int>, forKey key: Key) throws {
        guard range.contains(value) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "must be in \(range.lowerBound)...\(range.upperBound)")
        }
    }

    private func check(_ value: String, maximumUTF8Bytes: Int, forKey key: Key) throws {
        guard value.utf8.count <= maximumUTF8Bytes else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "longer than \(maximumUTF8Bytes) bytes")
        }
    }
}

extension Decoder {
    /// One string that `convert` accepts; anything else is `dataCorrupted`
    /// with `expected` (the text itself is not echoed: it is untrusted and
    /// may hold anything).
    func decodeText<Value>(as convert: (String) -> Value?, expected: @autoclosure () -> String) throws -> Value {
        let container = try singleValueContainer()
        guard let value = convert(try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: expected())
        }
        return value
    }
}

/// The largest integer every JSON reader holds exactly (2^53), as an Int.
let largestJSONInteger = 1 << 53

// MARK: - Fields checked by their type

/// The bounds of an `@InRange` field.
public protocol IntegerBounds: Sendable {
    static var range: ClosedRange<Int> { get }
}

/// 0 … 100: a level.
public enum Percent: IntegerBounds {
    public static let range = 0...100
}

/// 0 … 1,000: a share in parts per thousand.
public enum Permille: IntegerBounds {
    public static let range = 0...1_000
}

/// 0 … 2^53: a count every JSON reader holds exactly.
public enum JSONCount: IntegerBounds {
    public static let range = 0...largestJSONInteger
}

/// An integer field that a message refuses outside `Bounds.range`, with the
/// same error as `decode(_:forKey:in:)`; on the wire a plain JSON number.
@propertyWrapper
public struct InRange<Bounds: IntegerBounds>: Codable, Hashable, Sendable {
    public var wrappedValue: Int

    public init(wrappedValue: Int) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = try container.decode(Int.self)
        guard Bounds.range.contains(wrappedValue) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "must be in \(Bounds.range.lowerBound)...\(Bounds.range.upperBound)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

/// An optional `InRange`: absent (or null) decodes as nil and nil is left out.
@propertyWrapper
public struct InRangeIfPresent<Bounds: IntegerBounds>: Codable, Hashable, Sendable {
    public var wrappedValue: Int?

    public init(wrappedValue: Int?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = try container.decodeNil() ? nil : InRange<Bounds>(from: decoder).wrappedValue
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

// Synthesised coding asks the container for a wrapper even when its key is
// absent; these make an absent optional field nil, and a nil one absent.
extension KeyedDecodingContainer {
    public func decode<Bounds: IntegerBounds>(_ type: InRangeIfPresent<Bounds>.Type, forKey key: Key) throws
        -> InRangeIfPresent<Bounds>
    {
        try decodeIfPresent(type, forKey: key) ?? InRangeIfPresent(wrappedValue: nil)
    }
}

extension KeyedEncodingContainer {
    public mutating func encode<Bounds: IntegerBounds>(_ value: InRangeIfPresent<Bounds>, forKey key: Key) throws {
        try encodeIfPresent(value.wrappedValue, forKey: key)
    }
}
