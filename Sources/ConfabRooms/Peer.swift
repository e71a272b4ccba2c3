import ConfabMacros
import ConfabProtocol

/// A peer as the room holds it: what others see (`info`) plus what only the
/// server tracks (connection state, chat allowance).
public struct Peer: Hashable, Sendable {
    public let id: PeerID
    /// Sanitised display name.
    public internal(set) var name: String
    public internal(set) var role: RoleName
    public internal(set) var metadata: String
    public let joinedAt: Timestamp
    public internal(set) var handRaisedAt: Timestamp?
    /// The microphone track, present exactly when the role may publish audio.
    public internal(set) var microphone: TrackInfo?
    public internal(set) var connection: ConnectionState
    public internal(set) var publicKey: X25519PublicKey?
    var chatAllowance: TokenBucket
    /// Its changes the room is told of (`RateLimits.changes`); nil until the first.
    var changeAllowance: TokenBucket? = nil
    /// Joined quiet (Room+Audience.swift): only those who see the audience
    /// and peers it was introduced to hear of it. Cleared for good when it
    /// takes a role that is not quiet.
    public internal(set) var isQuiet = false
    /// The audio formats beyond Opus it declared at `join` (nil: none).
    public internal(set) var receives: AudioPayloadFormats? = nil

    /// The peer as others see it.
    public var info: PeerInfo {
        PeerInfo(
            id: id, name: name, role: role, metadata: metadata, joinedAt: joinedAt,
            handRaisedAt: handRaisedAt, tracks: microphone.map { [$0] } ?? [], publicKey: publicKey,
            receives: receives)
    }

    public var isConnected: Bool { connection == .connected }
}

/// Whether a peer's connection is live.
public enum ConnectionState: Hashable, Sendable {
    case connected
    /// The connection dropped at `since`. The others were told the peer left
    /// (`timeout`); its state waits here for a `resume` until the grace ends.
    case suspended(since: Timestamp)
}

/// A question put to a peer on another's behalf, waiting for `prompt.answer`.
public struct Prompt: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// Take this role.
        case roleChange(RoleName)
        /// Unmute this track.
        case unmute(TrackID)
    }

    public let id: PromptID
    public let kind: Kind
    /// The peer that asked.
    public let from: PeerID
    /// The peer asked.
    public let to: PeerID
    public let createdAt: Timestamp

    /// Who asks whom what: asked again while pending, it is the same prompt.
    struct Question: Hashable, Sendable {
        let from: PeerID
        let to: PeerID
        let kind: Kind
    }

    var question: Question { Question(from: from, to: to, kind: kind) }
}

/// What the server knows about a joining peer once its token is verified.
@PublicMemberwiseInit
public struct Admission: Hashable, Sendable {
    public var peer: PeerID
    /// Raw display name; the room sanitises it, falling back to the peer id
    /// when nothing printable is left.
    public var name: String
    public var role: RoleName
    public var metadata: String = ""
    /// Whether the microphone starts muted.
    public var muted: Bool = true
    public var publicKey: X25519PublicKey?
    /// The audio formats beyond Opus the peer plays (nil or empty: none).
    public var receives: AudioPayloadFormats? = nil

    /// From a verified token's claims and the `join` request. The token's
    /// name wins over the request's, since a host may mint names; without
    /// either, the peer id is the name.
    public init(peer: PeerID, role: RoleName, tokenName: String?, request: JoinRequest) {
        self.init(
            peer: peer, name: tokenName ?? request.name ?? peer.rawValue, role: role,
            metadata: request.metadata ?? "", muted: request.muted, publicKey: request.publicKey,
            receives: request.receives)
    }
}
