// Client → server messages. Every one is a request: it carries an `id` the
// reply repeats. The envelope and the payload share one flat JSON object:
//
//   {"v": 1, "type": "chat.send", "id": "c7", "target": {"kind": "broadcast"}, "text": "hi"}
//    └──────── envelope ────────┘ └──────────────── payload ────────────────┘
//
// No payload has a top-level `v`, `type` or `id` key, so the two never collide.

import ConfabMacros

/// A message from a client, with its request id.
public struct ClientMessage: Hashable, Sendable {
    public var id: RequestID
    public var body: ClientBody

    public init(id: RequestID, _ body: ClientBody) {
        self.id = id
        self.body = body
    }

    public var type: ClientMessageType { body.type }
}

/// What a client asks for. The comment on each case names the reply.
public enum ClientBody: Hashable, Sendable {
    /// Join a room with a token → `joined`, or an error (which closes the connection).
    case join(JoinRequest)
    /// Come back after a dropped connection → `joined` with `resumed: true`.
    case resume(ResumeRequest)
    /// Leave the room → `ok`; the server then closes the connection.
    case leave
    /// Send chat → `chat.message` (the sender is a recipient), then `chat.ack`.
    case sendChat(SendChatRequest)
    /// Read the chat log → `chat.page`.
    case fetchHistory(HistoryRequest)
    /// Page through the room's peers (roles that may see the audience) → `roster.page`.
    case listRoster(RosterRequest)
    /// Change a peer's role, asking it or (with `force`) at once → `ok`.
    case changeRole(RoleChangeRequest)
    /// Accept or decline a prompt put to you → `ok`.
    case answerPrompt(PromptAnswer)
    /// Mute a track: your own, or (with permission) another's, at once → `ok`.
    case muteTrack(TrackID)
    /// Unmute your own track at once, or ask another peer to unmute theirs → `ok`.
    case unmuteTrack(TrackID)
    /// Remove a peer from the room → `ok`.
    case removePeer(RemovePeerRequest)
    /// End the room for everyone → `ok`, after `room.ended`.
    case endRoom(EndRoomRequest)
    /// Raise your hand → `ok`.
    case raiseHand
    /// Lower your hand → `ok`.
    case lowerHand
    /// Change your display name or metadata → `ok`.
    case updatePeer(PeerUpdateRequest)
    /// Keepalive → `pong`.
    case ping
    /// Seal your media key to recipients → `ok`.
    case publishKeys(PublishKeysRequest)
    /// What you lost of each track you play since your last report → `ok`.
    case reportLoss(LossReport)
    /// Set or delete a key of the room's shared state → `ok`, after `state.changed`.
    case setState(SetStateRequest)

    // Presence and calls: only on the server-root connection (see Calls.swift).
    /// Go online with a user token → `connected`, or an error (which closes the connection).
    case connect(ConnectRequest)
    /// Ring users, in a new call or the one you are in → `call.state`.
    case inviteToCall(CallInviteRequest)
    /// Accept an invitation ringing for you → `call.room`.
    case acceptCall(CallAction)
    /// Reject an invitation ringing for you → `ok`.
    case rejectCall(CallAction)
    /// Withdraw the invitations of a call you placed that still ring → `ok`.
    case cancelCall(CallAction)
    /// Leave a call you are in → `ok`.
    case hangUp(CallAction)
    /// Read your call history → `call.historyPage`.
    case fetchCallHistory(CallHistoryRequest)

    public var type: ClientMessageType {
        switch self {
        case .join: .join
        case .resume: .resume
        case .leave: .leave
        case .sendChat: .sendChat
        case .fetchHistory: .fetchHistory
        case .listRoster: .listRoster
        case .changeRole: .changeRole
        case .answerPrompt: .answerPrompt
        case .muteTrack: .muteTrack
        case .unmuteTrack: .unmuteTrack
        case .removePeer: .removePeer
        case .endRoom: .endRoom
        case .raiseHand: .raiseHand
        case .lowerHand: .lowerHand
        case .updatePeer: .updatePeer
        case .ping: .ping
        case .publishKeys: .publishKeys
        case .reportLoss: .reportLoss
        case .setState: .setState
        case .connect: .connect
        case .inviteToCall: .inviteToCall
        case .acceptCall: .acceptCall
        case .rejectCall: .rejectCall
        case .cancelCall: .cancelCall
        case .hangUp: .hangUp
        case .fetchCallHistory: .fetchCallHistory
        }
    }
}

/// The `type` strings of client messages.
public enum ClientMessageType: String, Codable, Hashable, Sendable, CaseIterable {
    case join
    case resume
    case leave
    case sendChat = "chat.send"
    case fetchHistory = "chat.history"
    case listRoster = "roster.list"
    case changeRole = "role.change"
    case answerPrompt = "prompt.answer"
    case muteTrack = "track.mute"
    case unmuteTrack = "track.unmute"
    case removePeer = "peer.remove"
    case endRoom = "room.end"
    case raiseHand = "hand.raise"
    case lowerHand = "hand.lower"
    case updatePeer = "peer.update"
    case ping
    case publishKeys = "keys.publish"
    case reportLoss = "media.loss"
    case setState = "state.set"
    case connect
    case inviteToCall = "call.invite"
    case acceptCall = "call.accept"
    case rejectCall = "call.reject"
    case cancelCall = "call.cancel"
    case hangUp = "call.hangup"
    case fetchCallHistory = "call.history"

    /// Whether the message needs a joined (or connected) session. `join`,
    /// `resume`, `connect` and `ping` do not; anything else before joining
    /// gets `notJoined`.
    public var requiresSession: Bool {
        switch self {
        case .join, .resume, .connect, .ping: false
        default: true
        }
    }

    /// Whether the message belongs on the server-root (presence) connection
    /// rather than a room's; on the other kind it gets `wrongConnection`.
    public var isPresenceMessage: Bool {
        switch self {
        case .connect, .inviteToCall, .acceptCall, .rejectCall, .cancelCall, .hangUp, .fetchCallHistory: true
        default: false
        }
    }
}

// MARK: - Payloads

/// `join`: enter a room.
@PublicMemberwiseInit
public struct JoinRequest: Codable, Hashable, Sendable {
    /// The room to join; must equal the token's room (else `tokenWrongRoom`).
    public var room: RoomName
    /// The HS256 JWT from `confab token`. Absent → `tokenMissing`.
    public var token: String?
    /// A display name, used when the token names none.
    public var name: String?
    /// Initial metadata, opaque to the server.
    public var metadata: String?
    /// Whether the microphone starts muted (default true: nobody is live by surprise).
    public var muted: Bool = true
    /// The client's X25519 public key, for media keys.
    public var publicKey: X25519PublicKey?
    /// How many recent chat messages `joined` should carry, 0...200 (default 50).
    public var historyLimit: Int = ProtocolLimits.defaultHistoryPageSize
    /// The audio formats beyond Opus that the client plays (`["red"]`).
    /// Absent: Opus only, and publishers never send it RED.
    public var receives: AudioPayloadFormats? = nil

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        room = try container.decode(RoomName.self, forKey: .room)
        token = try container.decodeIfPresent(
            String.self, forKey: .token, maximumUTF8Bytes: ProtocolLimits.maximumTokenBytes)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        metadata = try container.decodeIfPresent(
            String.self, forKey: .metadata, maximumUTF8Bytes: ProtocolLimits.maximumMetadataBytes)
        muted = try container.decodeIfPresent(Bool.self, forKey: .muted) ?? true
        publicKey = try container.decodeIfPresent(X25519PublicKey.self, forKey: .publicKey)
        historyLimit = try container.decodeHistoryLimit(
            forKey: .historyLimit, in: 0...ProtocolLimits.maximumHistoryPageSize)
        receives = try container.decodeIfPresent(AudioPayloadFormats.self, forKey: .receives)
    }
}

/// `resume`: come back within the grace period after a dropped connection.
@PublicMemberwiseInit
public struct ResumeRequest: Codable, Hashable, Sendable {
    public var room: RoomName
    /// From `joined.reconnect` or the latest `reconnect.info`. Single use.
    public var resumeToken: String
    /// The highest chat sequence number the client has seen (0 for none);
    /// `joined.history` brings what came after it.
    public var lastSeenSequence: Int
    /// The audio formats beyond Opus the client plays, as at `join`; absent:
    /// the server keeps what the client declared when it joined.
    public var receives: AudioPayloadFormats? = nil

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        room = try container.decode(RoomName.self, forKey: .room)
        resumeToken = try container.decode(
            String.self, forKey: .resumeToken, maximumUTF8Bytes: ProtocolLimits.maximumTokenBytes)
        lastSeenSequence = try container.decode(Int.self, forKey: .lastSeenSequence, in: 0...largestJSONInteger)
        receives = try container.decodeIfPresent(AudioPayloadFormats.self, forKey: .receives)
    }
}

/// `chat.send`: post to the room's chat log.
@PublicMemberwiseInit
public struct SendChatRequest: Codable, Hashable, Sendable {
    public var target: ChatTarget
    /// The text; the server sanitises it before counting its length.
    public var text: String
    /// Optional, chosen by the client (same form as a request id). A resend
    /// with the key of a message the server already committed from this peer
    /// is acknowledged with the original message instead of posting twice,
    /// so a client may safely resend what was unacknowledged when its
    /// connection dropped.
    public var idempotencyKey: RequestID?
}

/// `chat.history`: read a page of the log.
///
/// With `after`, the page starts just after that sequence number and reads
/// forward; otherwise it ends just before `before` (or at the newest message)
/// and reads back. Messages are listed oldest first either way, and only
/// those the asker may read.
@PublicMemberwiseInit
public struct HistoryRequest: Codable, Hashable, Sendable {
    public var after: Int?
    public var before: Int?
    /// 1...200, default 50.
    public var limit: Int = ProtocolLimits.defaultHistoryPageSize

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        after = try container.decodeIfPresent(Int.self, forKey: .after, in: 0...largestJSONInteger)
        before = try container.decodeIfPresent(Int.self, forKey: .before, in: 1...largestJSONInteger)
        limit = try container.decodeHistoryLimit(forKey: .limit, in: 1...ProtocolLimits.maximumHistoryPageSize)
    }
}

/// `role.change`: give a peer another role.
@PublicMemberwiseInit
public struct RoleChangeRequest: Codable, Hashable, Sendable {
    public var peer: PeerID
    public var role: RoleName
    /// Apply at once instead of asking the peer (default false). Changing
    /// your own role always applies at once.
    public var force: Bool = false

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        peer = try container.decode(PeerID.self, forKey: .peer)
        role = try container.decode(RoleName.self, forKey: .role)
        force = try container.decodeIfPresent(Bool.self, forKey: .force) ?? false
    }
}

/// `prompt.answer`: accept or decline a role change or unmute prompt.
@PublicMemberwiseInit
public struct PromptAnswer: Codable, Hashable, Sendable {
    public var prompt: PromptID
    public var accept: Bool
}

/// `peer.remove`: make a peer leave.
@PublicMemberwiseInit
public struct RemovePeerRequest: Codable, Hashable, Sendable {
    public var peer: PeerID
    /// Shown to the removed peer; sanitised, at most 200 characters.
    public var reason: String?
}

/// `room.end`: end the room for everyone.
@PublicMemberwiseInit
public struct EndRoomRequest: Codable, Hashable, Sendable {
    /// Refuse every later join with `roomLocked` (default false: the next
    /// valid join starts the room afresh).
    public var lock: Bool = false
    /// Shown to everyone; sanitised, at most 200 characters.
    public var reason: String?

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        lock = try container.decodeIfPresent(Bool.self, forKey: .lock) ?? false
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
    }
}

/// `peer.update`: change your own display name and/or metadata.
@PublicMemberwiseInit
public struct PeerUpdateRequest: Codable, Hashable, Sendable {
    public var name: String?
    public var metadata: String?

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        metadata = try container.decodeIfPresent(
            String.self, forKey: .metadata, maximumUTF8Bytes: ProtocolLimits.maximumMetadataBytes)
        guard name != nil || metadata != nil else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "name or metadata is required"))
        }
    }
}

/// `keys.publish`: a sender's media key for one track, sealed to each
/// recipient's public key. The server relays each
/// sealed key to its recipient as a `keys` message.
@PublicMemberwiseInit
public struct PublishKeysRequest: Codable, Hashable, Sendable {
    public var track: TrackID
    /// Increases by one each time the sender rotates its key (on every
    /// departure), so recipients drop stale keys.
    public var epoch: Int
    public var keys: [SealedKey]
    /// The RTP SSRC the sender uses with this key (RFC 3550 §8): the server
    /// forwards only announced SSRCs of a peer, and receivers add an
    /// SSRC-specific SRTP stream for it. Required for media to flow.
    public var ssrc: UInt32?

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        track = try container.decode(TrackID.self, forKey: .track)
        epoch = try container.decode(Int.self, forKey: .epoch, in: 0...largestJSONInteger)
        ssrc = try container.decodeIfPresent(UInt32.self, forKey: .ssrc)
        keys = try container.decode(
            [SealedKey].self, forKey: .keys, counts: 0...ProtocolLimits.maximumSealedKeys, of: "keys")
    }
}
