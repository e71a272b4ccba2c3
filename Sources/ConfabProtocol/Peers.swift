import ConfabMacros
import Foundation

// Peers and their tracks as clients see them. The server's own model of a
// peer (connection state, rate-limit buckets) lives in ConfabRooms; this is
// what goes over the wire in `joined`, `peer.joined` and `peer.updated`.

/// A peer as the others see it.
@PublicMemberwiseInit
public struct PeerInfo: Codable, Hashable, Sendable {
    public var id: PeerID
    /// Display name, already sanitised by the server (single line, at most
    /// `ProtocolLimits.maximumNameCharacters`). Clients sanitise again before
    /// showing it: a client never trusts a server with its terminal.
    public var name: String
    public var role: RoleName
    /// Opaque application data, at most `ProtocolLimits.maximumMetadataBytes`.
    /// Not sanitised and never shown by Confab; empty when unset.
    public var metadata: String = ""
    /// When the peer joined this room session.
    public var joinedAt: Timestamp
    /// When the hand went up; absent while the hand is down. Clients order
    /// raised hands by this time, first raised first.
    public var handRaisedAt: Timestamp?
    /// Published tracks: at most a microphone in protocol version 1, and only
    /// for roles that may publish audio.
    public var tracks: [TrackInfo] = []
    /// The peer's X25519 public key, to seal media keys to.
    public var publicKey: X25519PublicKey?
    /// The audio formats beyond Opus the peer plays, as it declared them at
    /// `join`; absent when it declared none. A publisher sends RED only while
    /// every peer that hears it has `red` here.
    public var receives: AudioPayloadFormats? = nil

    /// Whether the peer's hand is up.
    public var isHandRaised: Bool { handRaisedAt != nil }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(PeerID.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        role = try container.decode(RoleName.self, forKey: .role)
        metadata = try container.decodeIfPresent(String.self, forKey: .metadata) ?? ""
        joinedAt = try container.decode(Timestamp.self, forKey: .joinedAt)
        handRaisedAt = try container.decodeIfPresent(Timestamp.self, forKey: .handRaisedAt)
        tracks = try container.decodeIfPresent([TrackInfo].self, forKey: .tracks) ?? []
        publicKey = try container.decodeIfPresent(X25519PublicKey.self, forKey: .publicKey)
        receives = try container.decodeIfPresent(AudioPayloadFormats.self, forKey: .receives)
    }
}

/// A published track and its state.
@PublicMemberwiseInit
public struct TrackInfo: Codable, Hashable, Sendable {
    public var id: TrackID
    public var kind: TrackKind = .audio
    public var source: TrackSource = .microphone
    public var muted: Bool
    /// Who muted the track: the owner or another peer. Absent while unmuted,
    /// and for a track that started muted.
    public var mutedBy: PeerID?
    /// Why the server considers the track degraded; absent while it is fine.
    public var degraded: DegradationReason?
}

/// A track's media kind. Version 1 has audio only.
public enum TrackKind: String, Codable, Hashable, Sendable, CaseIterable {
    case audio
}

/// Where a track's media comes from. Version 1 has the microphone only.
public enum TrackSource: String, Codable, Hashable, Sendable, CaseIterable {
    case microphone
}

/// Why the server flags a track as degraded.
public enum DegradationReason: String, Codable, Hashable, Sendable, CaseIterable {
    /// No packets arrive from the unmuted track.
    case noMedia
    /// Many of the track's packets are lost on the way in.
    case packetLoss
}

/// Why a peer left the room.
public enum LeaveReason: String, Codable, Hashable, Sendable, CaseIterable {
    /// It sent `leave`.
    case left
    /// Its connection closed or went silent for `deadAfterMs`; it may still
    /// `resume` within the grace period and reappear.
    case timeout
    /// A peer with the permission removed it.
    case removed
    /// The room ended. The server sends one `room.ended` rather than a
    /// `peer.left` per peer; clients and the server's history use this reason
    /// for everyone who was in the room.
    case roomEnded
    /// A new connection joined with the same identity and took its place;
    /// a `peer.joined` for the same id follows.
    case replaced
    /// Still in the room, but out of your view: your role no longer sees the
    /// audience of a large room, and this quiet peer is in it. Sent to you alone.
    case outOfView
}

/// The fields of a peer that a `peer.updated` says changed.
public enum PeerField: String, Codable, Hashable, Sendable, CaseIterable {
    case role
    case name
    case metadata
    case hand
}

/// An X25519 public key (RFC 7748 §5), 32 bytes, carried as standard base64
/// (RFC 4648 §4) with padding. Used to seal media keys.
public struct X25519PublicKey: Codable, Hashable, Sendable {
    public static let byteCount = 32
    public let rawRepresentation: Data

    /// Nil unless `bytes` is exactly 32 bytes long.
    public init?(rawRepresentation bytes: Data) {
        guard bytes.count == Self.byteCount else { return nil }
        rawRepresentation = bytes
    }

    /// Nil unless `text` is base64 of exactly 32 bytes.
    public init?(base64: String) {
        guard let bytes = Data(base64Encoded: base64) else { return nil }
        self.init(rawRepresentation: bytes)
    }

    public var base64: String { rawRepresentation.base64EncodedString() }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeText(as: X25519PublicKey.init(base64:), expected: "not base64 of a 32-byte X25519 public key")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(base64)
    }
}

/// One media key sealed to one recipient with HPKE (RFC 9180), as opaque
/// bytes carried in base64. The server relays it and
/// cannot open it.
@PublicMemberwiseInit
public struct SealedKey: Codable, Hashable, Sendable {
    /// The recipient.
    public var peer: PeerID
    /// The HPKE encapsulated key and ciphertext, as the sender's SDK packs them.
    @SealedBytes public var sealed: Data
}

/// Opaque sealed bytes, on the wire a non-empty base64 string of at most
/// `maximumSealedKeyCharacters` characters.
@propertyWrapper
public struct SealedBytes: Codable, Hashable, Sendable {
    public var wrappedValue: Data

    public init(wrappedValue: Data) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        wrappedValue = try decoder.decodeText(
            as: { text in
                guard text.utf8.count <= ProtocolLimits.maximumSealedKeyCharacters,
                    let bytes = Data(base64Encoded: text), !bytes.isEmpty
                else { return nil }
                return bytes
            },
            expected: "not base64 of 1 to \(ProtocolLimits.maximumSealedKeyCharacters) characters")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue.base64EncodedString())
    }
}
