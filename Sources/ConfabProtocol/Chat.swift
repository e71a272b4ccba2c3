// Chat is a numbered room log. The server gives each accepted message an id,
// the next sequence number of the room and a timestamp, commits it, delivers
// it to its recipients (the sender included) and only then acknowledges it.
//
// Sequence numbers count every message of the room, so a peer that is not a
// recipient of some messages sees gaps in the numbers it receives: a gap
// alone is not a loss. What a peer may read back with `chat.history`:
// broadcasts, and every message it was a recipient of when it was sent.

import ConfabMacros

/// Who a chat message is for.
public enum ChatTarget: Codable, Hashable, Sendable {
    /// Everyone in the room, and everyone who joins later (in history).
    case broadcast
    /// Every peer holding one of these roles when the message is sent, plus the sender.
    case roles([RoleName])
    /// These peers, plus the sender.
    case peers([PeerID])

    /// The target's kind, as in the JSON `kind` field.
    public var kind: ChatTargetKind {
        switch self {
        case .broadcast: .broadcast
        case .roles: .roles
        case .peers: .peers
        }
    }

    private enum CodingKeys: String, CodingKey {
        case kind, roles, peers
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(ChatTargetKind.self, forKey: .kind) {
        case .broadcast:
            self = .broadcast
        case .roles:
            self = .roles(
                try container.decode(
                    [RoleName].self, forKey: .roles, counts: 0...ProtocolLimits.maximumChatTargetRoles, of: "roles"))
        case .peers:
            self = .peers(
                try container.decode(
                    [PeerID].self, forKey: .peers, counts: 0...ProtocolLimits.maximumChatTargetPeers, of: "peers"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        switch self {
        case .broadcast: break
        case .roles(let roles): try container.encode(roles, forKey: .roles)
        case .peers(let peers): try container.encode(peers, forKey: .peers)
        }
    }
}

/// The `kind` of a chat target.
public enum ChatTargetKind: String, Codable, Hashable, Sendable, CaseIterable {
    case broadcast
    case roles
    case peers
}

/// A chat message as the log holds it and recipients receive it.
@PublicMemberwiseInit
public struct ChatMessage: Codable, Hashable, Sendable {
    public var id: MessageID
    /// The room-wide sequence number, from 1, increasing by one per message (at most 2^53).
    @InRange<JSONCount> public var seq: Int
    /// When the server accepted the message.
    public var sentAt: Timestamp
    public var from: PeerID
    /// The sender's display name when it sent the message, so history reads
    /// right after the sender renamed itself or left.
    public var fromName: String
    /// The sender's role when it sent the message.
    public var fromRole: RoleName
    public var target: ChatTarget
    /// Sanitised text: no control characters or escape sequences, at most
    /// `ProtocolLimits.maximumChatCharacters`; may hold `\n` line breaks.
    public var text: String
}

/// Some messages of the log, oldest first.
@PublicMemberwiseInit
public struct ChatPage: Codable, Hashable, Sendable {
    public var messages: [ChatMessage]
    /// Whether more visible messages lie beyond this page in the direction
    /// it was read (see `chat.history`).
    public var hasMore: Bool

    public static let empty = ChatPage(messages: [], hasMore: false)
}
