import ConfabMacros

/// A moment as milliseconds since the Unix epoch (UTC), the form JSON carries
/// it in: a plain integer, exact in every JSON implementation up to 2^53.
///
/// Nothing in ConfabProtocol or ConfabRooms reads a clock; callers pass
/// timestamps in, so tests choose the time.
@PublicMemberwiseInit
public struct Timestamp: Codable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var millisecondsSince1970: Int64

    /// This moment moved by `milliseconds` (negative moves back).
    public func adding(milliseconds: Int) -> Timestamp {
        Timestamp(millisecondsSince1970: millisecondsSince1970 + Int64(milliseconds))
    }

    /// Milliseconds from `earlier` to this moment (negative if `earlier` is later).
    public func milliseconds(since earlier: Timestamp) -> Int64 {
        millisecondsSince1970 - earlier.millisecondsSince1970
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(Int64.self)
        // Negative times and times past 2^53 cannot come from a sane clock and
        // would lose precision in JavaScript clients.
        guard value >= 0, value <= Self.largestExactJSONInteger else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "timestamp out of range")
        }
        millisecondsSince1970 = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(millisecondsSince1970)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSince1970 < rhs.millisecondsSince1970
    }

    public var description: String { "\(millisecondsSince1970) ms" }

    /// 2^53: the largest integer every JSON reader (IEEE doubles) holds exactly.
    static let largestExactJSONInteger: Int64 = 1 << 53
}
