// The numbers both ends agree on: the protocol version, the sizes the server
// refuses beyond, and the timing of the connection lifecycle. docs/PROTOCOL.md
// quotes every one of them; change them here and there together.

import ConfabMacros

/// The signalling protocol version carried in every message's `v` field.
public enum ProtocolVersion {
    /// The only version so far. A peer that receives another version answers
    /// with `ErrorCode.unsupportedVersion` and does not act on the message.
    public static let current = 1
}

/// Sizes and counts the server enforces on what clients send.
public enum ProtocolLimits {
    /// Largest client→server message, in bytes of UTF-8 JSON (64 KiB). Checked
    /// before parsing, so an oversized message costs the server nothing more
    /// than counting its length.
    public static let maximumClientMessageBytes = 64 * 1024
    /// Largest server→client message a client should accept (16 MiB). Server
    /// messages are larger than client ones: the `joined` reply of a room with
    /// 1,000 peers is about 200 KB.
    public static let maximumServerMessageBytes = 16 * 1024 * 1024
    /// Chat text, in grapheme clusters (user-perceived characters) after sanitising.
    public static let maximumChatCharacters = 4_000
    /// Lines one chat message may keep; newlines after this many become "⏎".
    public static let maximumChatLines = 40
    /// Display names, in grapheme clusters after sanitising; longer ones are cut.
    public static let maximumNameCharacters = 64
    /// Reasons given for removing a peer or ending a room, in grapheme clusters.
    public static let maximumReasonCharacters = 200
    /// Peer metadata: an opaque string for applications, in UTF-8 bytes.
    public static let maximumMetadataBytes = 4_096
    /// Join tokens and resume tokens, in UTF-8 bytes.
    public static let maximumTokenBytes = 4_096
    /// Roles one chat message may be addressed to.
    public static let maximumChatTargetRoles = 16
    /// Peers one direct chat message may be addressed to.
    public static let maximumChatTargetPeers = 100
    /// Messages in one history page when the request names no limit.
    public static let defaultHistoryPageSize = 50
    /// The most messages one history page may hold.
    public static let maximumHistoryPageSize = 200
    /// Sealed media keys in one `keys.publish` (one per recipient).
    public static let maximumSealedKeys = 1_000
    /// A sealed key blob in base64 characters (an HPKE-sealed SRTP master key
    /// and salt is about 110; the limit leaves room for other suites).
    public static let maximumSealedKeyCharacters = 1_024
    /// Keys the room's shared state may hold at once (`state.set`).
    public static let maximumStateKeys = 16
    /// A shared-state key, in bytes (ASCII).
    public static let maximumStateKeyBytes = 32
    /// A shared-state value, in grapheme clusters after sanitising.
    public static let maximumStateValueCharacters = 500
    /// The longest wait a client takes from an error's `retryAfterMs` (the
    /// longest any limit here asks for is the joins' minute); a larger value
    /// is read as this.
    public static let maximumRetryAfterMs = 60_000
}

/// Rate limits the server enforces per peer. Both are token buckets: `burst`
/// messages may arrive at once, then `perSecond` more each second.
public enum RateLimits {
    /// `chat.send` per peer: 5 messages a second, bursts of 10.
    public static let chat = RateLimit(perSecond: 5, burst: 10)
    /// Changes a peer makes that the whole room is told of, to its own hand,
    /// name or metadata and to the shared state: 5 a second, bursts of 10.
    /// (Muting is never limited; unmuting neither, as it pairs with muting.)
    public static let changes = RateLimit(perSecond: 5, burst: 10)
    /// Every message a connection sends, chat included: 50 a second, bursts of 100.
    public static let allMessages = RateLimit(perSecond: 50, burst: 100)
    /// Joins of one identity to one room: 10 in any minute (`resume` not counted).
    public static let joinsPerWindow = 10
    public static let joinWindowMs: Int64 = 60_000
}

/// A token bucket's two numbers, each 1 … 1,000,000 where one is read
/// (a template, the management API, config.toml).
@PublicMemberwiseInit
public struct RateLimit: Codable, Hashable, Sendable {
    /// Tokens added per second: the sustained rate.
    @InRange<RateFigure> public var perSecond: Int
    /// The bucket's size: how many may arrive at once after a quiet spell.
    @InRange<RateFigure> public var burst: Int
}

/// 1 … 1,000,000: a rate a second or a burst. A million a second is beyond
/// anything a room sends, and keeps a bucket's arithmetic far from overflow.
public enum RateFigure: IntegerBounds {
    public static let range = 1...1_000_000
}

/// Default timing of the connection lifecycle, in milliseconds. The server
/// reports the values it uses in `joined.keepalive` and `joined.reconnect`,
/// so clients should read those rather than assume these.
public enum LifecycleDefaults {
    /// A client sends `ping` this often when it has sent nothing else.
    public static let pingIntervalMs = 5_000
    /// The server declares a silent connection dead after this long and tells
    /// the others the peer left with reason `timeout`.
    public static let deadAfterMs = 15_000
    /// A dropped peer may `resume` within this long after the drop and keep
    /// its identity, role, mute state and chat position.
    public static let resumeGraceMs = 20_000
    /// The server sends `speakers` this often while anyone is speaking.
    public static let speakersIntervalMs = 500
    /// A role-change or unmute prompt may be answered for this long.
    public static let promptLifetimeMs = 60_000
    /// An empty room ends after this long without peers.
    public static let emptyRoomTimeoutMs = 300_000
}
