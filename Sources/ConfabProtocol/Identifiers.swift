// Identifiers are small validated structs over String, so a peer id can never
// be passed where a room name is wanted, and nothing malformed gets past
// decoding. Every identifier is plain ASCII from a short alphabet: ids reach
// logs, file names and URL paths, so no escape sequence, space or slash can
// hide in one.

/// What all Confab identifiers share: a String that passed validation.
///
/// Decoding an invalid value throws `DecodingError.dataCorrupted` (the codec
/// reports it as `ErrorCode.invalidMessage`). A string literal that is not
/// valid is a programming error and traps.
public protocol ProtocolIdentifier: RawRepresentable, Codable, Hashable, Comparable, Sendable,
    CustomStringConvertible, ExpressibleByStringLiteral
where RawValue == String, StringLiteralType == String {
    /// The longest valid value, in ASCII characters.
    static var maximumLength: Int { get }
    /// Characters allowed besides ASCII letters and digits.
    static var allowedPunctuation: Set<Unicode.Scalar> { get }
    /// Wraps a value that is already known to be valid.
    init(uncheckedRawValue: String)
    /// Whether `text` is a valid identifier of this kind. The default checks
    /// the alphabet and the length; a kind with extra rules adds them.
    static func isValid(_ text: String) -> Bool
}

extension ProtocolIdentifier {
    public static func isValid(_ text: String) -> Bool {
        hasValidAlphabetAndLength(text)
    }

    /// 1...maximumLength characters, each an ASCII letter or digit or one of
    /// `allowedPunctuation`.
    public static func hasValidAlphabetAndLength(_ text: String) -> Bool {
        var length = 0
        for scalar in text.unicodeScalars {
            length += 1
            guard length <= maximumLength else { return false }
            let isAlphanumeric =
                ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
            guard isAlphanumeric || allowedPunctuation.contains(scalar) else { return false }
        }
        return length > 0
    }

    /// A human description of the valid form, for error messages.
    public static var validForm: String {
        let punctuation = allowedPunctuation.sorted { $0.value < $1.value }.map { String($0) }.joined(separator: " ")
        return "1 to \(maximumLength) characters from A-Z a-z 0-9 \(punctuation)"
    }

    public init?(rawValue: String) {
        guard Self.isValid(rawValue) else { return nil }
        self.init(uncheckedRawValue: rawValue)
    }

    public init(stringLiteral value: String) {
        guard let identifier = Self(rawValue: value) else {
            preconditionFailure("\"\(value)\" is not a valid \(Self.self): \(Self.validForm)")
        }
        self = identifier
    }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeText(as: { Self(rawValue: $0) }, expected: "not a valid \(Self.self): expected \(Self.validForm)")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An id that one side makes up and the other only compares (messages,
/// prompts, requests): 1 to 64 ASCII letters, digits and `.` `_` `-` `:`.
public protocol OpaqueProtocolIdentifier: ProtocolIdentifier {}

extension OpaqueProtocolIdentifier {
    public static var maximumLength: Int { 64 }
    public static var allowedPunctuation: Set<Unicode.Scalar> { opaqueIdentifierPunctuation }
}

/// Built once: the validator reads it for every character it checks.
private let opaqueIdentifierPunctuation: Set<Unicode.Scalar> = [".", "_", "-", ":"]

/// A peer's identity within a room: the user id from its token. Unique in a
/// room; a second join with the same id takes the first one's place. Allows
/// `@` and `+` so e-mail addresses work, but not `:`, which track ids use as
/// a separator.
public struct PeerID: ProtocolIdentifier {
    public static let maximumLength = 64
    public static let allowedPunctuation: Set<Unicode.Scalar> = [".", "_", "-", "@", "+"]
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

/// A room's name, as in `wss://host:7443/ROOM`: `[A-Za-z0-9._-]{1,64}`,
/// case-sensitive, and never `.` or `..` (which URL paths would resolve away).
public struct RoomName: ProtocolIdentifier {
    public static let maximumLength = 64
    public static let allowedPunctuation: Set<Unicode.Scalar> = [".", "_", "-"]
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }

    public static func isValid(_ text: String) -> Bool {
        text != "." && text != ".." && hasValidAlphabetAndLength(text)
    }
}

/// A role's name in a room template, such as `host`: `[A-Za-z0-9._-]{1,32}`.
public struct RoleName: ProtocolIdentifier {
    public static let maximumLength = 32
    public static let allowedPunctuation: Set<Unicode.Scalar> = [".", "_", "-"]
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

/// A chat message's id, assigned by the server. Opaque to clients.
public struct MessageID: OpaqueProtocolIdentifier {
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }

    /// The id of the room's message number `seq`: ids follow the numbering,
    /// so whoever assigns the number (the room, or the database) names it too.
    public static func forSequence(_ seq: Int) -> MessageID { MessageID(uncheckedRawValue: "m\(seq)") }
}

/// A track's id, assigned by the server; unique within a room.
public struct TrackID: ProtocolIdentifier {
    public static let maximumLength = 128
    public static let allowedPunctuation: Set<Unicode.Scalar> = [".", "_", "-", "@", "+", ":"]
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }

    /// The id of a peer's microphone track: `PEER:mic`. Peer ids hold no `:`,
    /// so this never collides with another peer's track.
    public static func microphone(of peer: PeerID) -> TrackID {
        TrackID(uncheckedRawValue: peer.rawValue + ":mic")
    }

    /// The peer whose microphone this is, when the id has that form.
    public var microphoneOwner: PeerID? {
        guard rawValue.hasSuffix(":mic") else { return nil }
        return PeerID(uncheckedRawValue: String(rawValue.dropLast(4)))
    }
}

/// The id of a prompt: a question the server puts to a peer on another
/// peer's behalf (change your role? unmute?), answered with `prompt.answer`.
public struct PromptID: OpaqueProtocolIdentifier {
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

/// The id a client puts on each request; the server's reply carries it back.
/// Chosen by the client (a counter or a UUID both fit).
public struct RequestID: OpaqueProtocolIdentifier {
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

extension PeerID {
    /// The server itself (its operator, through the management API) when it
    /// acts in a room: the `by` or `from` of what the API did. No peer can hold it.
    public static let server = PeerID(uncheckedRawValue: "@server")
}
