// The room's shared state: a few keys of text for the whole room (an agenda
// line, a pinned message, who is in the spotlight), as 100ms's session store.
//
//   state.set {key, value} ─▶ server checks role (setState), key, value, count
//                          ─▶ state.changed {key, value, by, at} to everyone in the room
//   join / resume          ─▶ joined.state: every key, sorted by key
//
// A `value` that is absent or null deletes the key. The state lives as long
// as the room's session: ending the room clears it.

import ConfabMacros

/// `state.set`: set one key of the room's shared state, or delete it.
@PublicMemberwiseInit
public struct SetStateRequest: Codable, Hashable, Sendable {
    /// 1 to `ProtocolLimits.maximumStateKeyBytes` characters of `a-z`, `0-9`, `.`, `_`, `-`, starting with a letter or digit.
    public var key: String
    /// The text (sanitised as one line, at most `ProtocolLimits.maximumStateValueCharacters`);
    /// absent or null deletes the key. The whole message is bounded by
    /// `maximumClientMessageBytes`; the room gives the numbered errors.
    public var value: String?
}

/// One key of the room's shared state as it stands.
@PublicMemberwiseInit
public struct StateEntry: Codable, Hashable, Sendable {
    public var key: String
    public var value: String
    /// Who set it last: a peer, or `@server` (the management API).
    public var by: PeerID
    /// When it was set.
    public var at: Timestamp
}

/// `state.changed`: a key was set (with `value`) or deleted (without).
@PublicMemberwiseInit
public struct StateChanged: Codable, Hashable, Sendable {
    public var key: String
    public var value: String?
    public var by: PeerID
    public var at: Timestamp
}

extension StateEntry {
    /// Whether `key` has the form a state key must have.
    public static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard (1...ProtocolLimits.maximumStateKeyBytes).contains(bytes.count) else { return false }
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard isAlphanumeric(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// The key rule in words, for error messages.
    public static let validKeyForm =
        "1 to \(ProtocolLimits.maximumStateKeyBytes) characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
}

extension TextPolicy {
    /// A value of the room's shared state: one line, refused when too long.
    public static let stateValue = TextPolicy(
        lineBreaks: .singleLine, maximumCharacters: ProtocolLimits.maximumStateValueCharacters, overflow: .reject,
        allowsEmpty: false)
}
