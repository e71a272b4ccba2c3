// What a client can play besides plain Opus, declared at `join` and shown to
// the other peers (docs/PROTOCOL.md, "Audio formats").
//
//   join {receives: ["red"]} ─▶ the server keeps it with the peer ─▶ PeerInfo.receives, Hearer.receives
//   a publisher ─▶ sends RED (PT 63) only while every peer that hears it declared "red"
//
// The server cannot read media (it is end-to-end encrypted), so it never
// rewrites a packet for a listener: the sender has to choose a format every
// listener plays. A client that declares nothing is sent plain Opus only.

/// The audio payload formats, beyond Opus (payload type 111), that a peer plays.
/// On the wire a list of names; names this version does not know are ignored
/// (and so not relayed), which makes a newer client's extra formats harmless.
public struct AudioPayloadFormats: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Audio redundancy (RFC 2198) with Opus inside, payload type 63: "red".
    public static let red = AudioPayloadFormats(rawValue: 1 << 0)

    /// Every format this version plays.
    public static let all: AudioPayloadFormats = [.red]

    /// The wire names, in a fixed order.
    static let names: [(AudioPayloadFormats, String)] = [(.red, "red")]

    public var names: [String] { Self.names.filter { contains($0.0) }.map(\.1) }
}

extension AudioPayloadFormats: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let listed = try container.decode([String].self)
        guard listed.count <= ProtocolLimits.maximumAudioPayloadFormats else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "at most \(ProtocolLimits.maximumAudioPayloadFormats) audio formats")
        }
        var formats: AudioPayloadFormats = []
        for name in listed {
            if let known = Self.names.first(where: { $0.1 == name }) { formats.insert(known.0) }
        }
        self = formats
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(names)
    }
}

extension AudioPayloadFormats: CustomStringConvertible {
    public var description: String { "[" + names.joined(separator: ", ") + "]" }
}

extension ProtocolLimits {
    /// Names in one `receives` list (known or not).
    public static let maximumAudioPayloadFormats = 16
}

extension Optional where Wrapped == AudioPayloadFormats {
    /// Whether the peer declared RED (absent: it did not).
    public var playsRED: Bool { self?.contains(.red) ?? false }
}
