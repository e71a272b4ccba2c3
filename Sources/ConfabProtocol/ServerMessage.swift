import ConfabMacros
import Foundation

// Server → client messages: replies, which repeat the request's `id`, and
// events, which have none. Same flat envelope as client messages:
//
//   {"v": 1, "type": "peer.left", "peer": "bob", "reason": "timeout"}
//
// A reply comes after the events its request caused, so when a client sees
// `ok` its state already shows the effect.

/// A message from the server. `id` is the request's id on replies
/// (`joined`, `ok`, `error`, `pong`, `chat.ack`, `chat.page`,
/// `roster.page`) and absent on
/// events. An `error` without an id concerns the connection, not a request.
public struct ServerMessage: Hashable, Sendable {
    public var id: RequestID?
    public var body: ServerBody

    public init(id: RequestID? = nil, _ body: ServerBody) {
        self.id = id
        self.body = body
    }

    public var type: ServerMessageType { body.type }
}

/// What the server says.
public enum ServerBody: Hashable, Sendable {
    // Replies.
    /// The reply to `join` and `resume`.
    case joined(Joined)
    /// Success, for requests with no reply of their own.
    case ok(OkReply)
    /// A refused request, or (without an id) a problem with the connection.
    case error(CodedError)
    /// The reply to `ping`.
    case pong(Pong)
    /// The reply to `chat.send`, after the message is committed and delivered.
    case chatAck(ChatAck)
    /// The reply to `chat.history`.
    case chatPage(ChatPage)
    /// The reply to `roster.list`.
    case rosterPage(RosterPage)

    // Peers.
    case peerJoined(PeerJoined)
    case peerLeft(PeerLeft)
    case peerUpdated(PeerUpdated)
    /// How many peers hold each role (rooms with an audience; coalesced).
    case roomCounts(RoomCounts)

    // Tracks.
    case trackAdded(TrackAdded)
    case trackRemoved(PeerTrack)
    case trackMuted(TrackMuteChange)
    case trackUnmuted(TrackMuteChange)
    case trackDegraded(TrackDegraded)
    case trackRestored(PeerTrack)
    /// A key of the room's shared state was set or deleted.
    case stateChanged(StateChanged)
    /// Who is speaking, loudest first.
    case speakers([SpeakerLevel])
    /// To a publisher: what its listeners lose of its track.
    case mediaFeedback(MediaFeedback)

    // Chat.
    /// A chat message to one of its recipients.
    case chatMessage(ChatMessage)

    // Prompts: questions put to you on another peer's behalf.
    case roleChangeRequested(RoleChangePrompt)
    case unmuteRequested(UnmutePrompt)
    /// To the peer that caused a prompt: how the target answered it.
    case promptAnswered(PromptAnswered)

    // The session.
    /// You were removed; the server closes the connection next.
    case removed(Removed)
    /// The room ended; the server closes the connection next.
    case roomEnded(RoomEnded)
    /// The server is shutting down; reconnect later.
    case serverGoingAway(ServerGoingAway)
    /// A new resume token, replacing the one from `joined`.
    case reconnectInfo(ReconnectInfo)
    /// A media key sealed to you.
    case keys(SealedKeyDelivery)
    /// To a publisher: the quiet peers that hear it (rooms with an audience).
    case hearers(HearersUpdate)

    // Presence and calls: only on the server-root connection (see Calls.swift).
    /// The reply to `connect`.
    case connected(Connected)
    /// The reply to `call.invite`: the call after the invitations went out.
    case callState(CallInfo)
    /// The reply to `call.history`.
    case callHistoryPage(CallHistoryPage)
    /// A user came online (their first device connected).
    case presenceOnline(OnlineUser)
    /// A user went offline (their last device disconnected).
    case presenceOffline(PresenceOffline)
    /// An online user's state changed (busy: in a call, or not any more).
    case presenceUpdated(OnlineUser)
    /// You are being rung.
    case callInvitation(CallInvitation)
    /// A participant's state changed.
    case callUpdated(CallUpdated)
    /// An invitation to you stopped ringing.
    case callInvitationEnded(CallInvitationEnded)
    /// The room of a call: the reply to `call.accept`; an event to the caller.
    case callRoom(CallRoom)
    /// The call is over.
    case callEnded(CallEnded)
    /// On a cluster: its live nodes changed (a node started or stopped).
    case clusterNodes(ClusterNodes)

    public var type: ServerMessageType {
        switch self {
        case .joined: .joined
        case .ok: .ok
        case .error: .error
        case .pong: .pong
        case .chatAck: .chatAck
        case .chatPage: .chatPage
        case .rosterPage: .rosterPage
        case .roomCounts: .roomCounts
        case .peerJoined: .peerJoined
        case .peerLeft: .peerLeft
        case .peerUpdated: .peerUpdated
        case .trackAdded: .trackAdded
        case .trackRemoved: .trackRemoved
        case .trackMuted: .trackMuted
        case .trackUnmuted: .trackUnmuted
        case .trackDegraded: .trackDegraded
        case .trackRestored: .trackRestored
        case .stateChanged: .stateChanged
        case .speakers: .speakers
        case .mediaFeedback: .mediaFeedback
        case .chatMessage: .chatMessage
        case .roleChangeRequested: .roleChangeRequested
        case .unmuteRequested: .unmuteRequested
        case .promptAnswered: .promptAnswered
        case .removed: .removed
        case .roomEnded: .roomEnded
        case .serverGoingAway: .serverGoingAway
        case .reconnectInfo: .reconnectInfo
        case .keys: .keys
        case .hearers: .hearers
        case .connected: .connected
        case .callState: .callState
        case .callHistoryPage: .callHistoryPage
        case .presenceOnline: .presenceOnline
        case .presenceOffline: .presenceOffline
        case .presenceUpdated: .presenceUpdated
        case .callInvitation: .callInvitation
        case .callUpdated: .callUpdated
        case .callInvitationEnded: .callInvitationEnded
        case .callRoom: .callRoom
        case .callEnded: .callEnded
        case .clusterNodes: .clusterNodes
        }
    }
}

/// The `type` strings of server messages.
public enum ServerMessageType: String, Codable, Hashable, Sendable, CaseIterable {
    case joined
    case ok
    case error
    case pong
    case chatAck = "chat.ack"
    case chatPage = "chat.page"
    case rosterPage = "roster.page"
    case roomCounts = "room.counts"
    case peerJoined = "peer.joined"
    case peerLeft = "peer.left"
    case peerUpdated = "peer.updated"
    case trackAdded = "track.added"
    case trackRemoved = "track.removed"
    case trackMuted = "track.muted"
    case trackUnmuted = "track.unmuted"
    case trackDegraded = "track.degraded"
    case trackRestored = "track.restored"
    case stateChanged = "state.changed"
    case speakers
    case mediaFeedback = "media.feedback"
    case chatMessage = "chat.message"
    case roleChangeRequested = "role.changeRequested"
    case unmuteRequested = "track.unmuteRequested"
    case promptAnswered = "prompt.answered"
    case removed
    case roomEnded = "room.ended"
    case serverGoingAway = "server.goingAway"
    case reconnectInfo = "reconnect.info"
    case keys
    case hearers
    case connected
    case callState = "call.state"
    case callHistoryPage = "call.historyPage"
    case presenceOnline = "presence.online"
    case presenceOffline = "presence.offline"
    case presenceUpdated = "presence.updated"
    case callInvitation = "call.invitation"
    case callUpdated = "call.updated"
    case callInvitationEnded = "call.invitationEnded"
    case callRoom = "call.room"
    case callEnded = "call.ended"
    case clusterNodes = "cluster.nodes"
}

// MARK: - Replies

/// The reply to `join` and `resume`: everything a client needs to show the room.
@PublicMemberwiseInit
public struct Joined: Codable, Hashable, Sendable {
    public var room: RoomInfo
    /// Yourself as the others see you.
    public var you: PeerInfo
    /// Everyone else in the room, with their tracks, in one batch.
    public var peers: [PeerInfo]
    /// Recent chat you may read (after a resume: what came after
    /// `lastSeenSequence`), oldest first; page further with `chat.history`.
    public var history: ChatPage
    /// When the server admitted you.
    public var joinedAt: Timestamp
    /// Milliseconds the server spent on the join, from reading `join` to
    /// sending this reply. A client adds its own round trip to report the
    /// whole join time (as TRTC's onEnterRoom does). 0 … 2^53.
    @InRange<JSONCount> public var joinTimeMs: Int
    /// True when this answers a `resume`: role, mute state and hand are as
    /// they were before the drop.
    public var resumed: Bool
    public var reconnect: ReconnectInfo
    public var keepalive: KeepaliveInfo = KeepaliveInfo()
    /// Where to send media.
    public var media: MediaEndpoint?
    /// In a room with an audience (docs/PROTOCOL.md, "Large rooms"): how many
    /// peers hold each role. `peers` then lists only the peers you see.
    public var counts: RoomCounts?
    /// True when you joined quiet: only hosts and peers you interact with see you.
    public var quiet: Bool?
    /// The room's shared state, sorted by key; absent when it holds no key.
    public var state: [StateEntry]?
}

/// The room as a whole.
@PublicMemberwiseInit
public struct RoomInfo: Codable, Hashable, Sendable {
    public var name: RoomName
    /// When this session of the room began (its first join, or the first
    /// join after it last ended).
    public var startedAt: Timestamp
    /// Every role of the room's template, so a client can tell what each
    /// role (its own included) may do.
    public var roles: [Role]
    /// How often the server sends `speakers`.
    public var speakersIntervalMs: Int = LifecycleDefaults.speakersIntervalMs
    /// How long a prompt put to a peer of this room may be answered; absent
    /// from older servers, which used the default.
    public var promptLifetimeMs: Int? = nil

    /// The role with this name, if the template defines it.
    public func role(named name: RoleName) -> Role? {
        roles.first { $0.name == name }
    }
}

/// How to come back after a drop.
@PublicMemberwiseInit
public struct ReconnectInfo: Codable, Hashable, Sendable {
    /// Secret and single use: `resume` with it within the grace period.
    public var resumeToken: String
    /// How long after a drop the server keeps the session for `resume`.
    public var resumeGraceMs: Int = LifecycleDefaults.resumeGraceMs
    /// A cluster's live nodes (`wss://HOST:PORT`, each node's advertised
    /// address) to try, after the room's URL, when the node is unreachable;
    /// absent on a single server.
    public var nodes: [String]? = nil
}

/// The keepalive timing this server uses.
@PublicMemberwiseInit
public struct KeepaliveInfo: Codable, Hashable, Sendable {
    /// Send `ping` at least this often when sending nothing else.
    public var pingIntervalMs: Int = LifecycleDefaults.pingIntervalMs
    /// A connection silent this long is dropped (others see `timeout`).
    public var deadAfterMs: Int = LifecycleDefaults.deadAfterMs
}

/// What a host name or address may hold, where one comes from the other side
/// (a server's media address, a node in a redirect): letters, digits and
/// `. - _ : %` (IPv6, a zone), at most 255 bytes. Nothing else is ever a
/// host, and such a string ends up in messages a terminal shows.
public enum HostName {
    public static func isPlausible(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255
            && host.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || ".-_:%".unicodeScalars.contains(scalar))
            }
    }
}

/// The server's UDP media address and the ICE-lite style credentials that
/// bind a client's UDP address to its peer with a STUN binding request
/// (RFC 8489 USERNAME and MESSAGE-INTEGRITY).
@PublicMemberwiseInit
public struct MediaEndpoint: Codable, Hashable, Sendable {
    public var host: String
    public var port: Int
    /// The STUN USERNAME (ICE's ufrag) for this peer.
    public var username: String
    /// The STUN short-term credential password for this peer.
    public var password: String

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        host = try container.decode(String.self, forKey: .host, maximumUTF8Bytes: 255)
        guard HostName.isPlausible(host) else {
            throw DecodingError.dataCorruptedError(
                forKey: .host, in: container, debugDescription: "not a host name or IP address")
        }
        port = try container.decode(Int.self, forKey: .port, in: 1...65_535)
        username = try container.decode(String.self, forKey: .username, maximumUTF8Bytes: 513)
        password = try container.decode(String.self, forKey: .password, maximumUTF8Bytes: 256)
    }
}

/// `ok`: success for a request with no reply of its own.
@PublicMemberwiseInit
public struct OkReply: Codable, Hashable, Sendable {
    /// Set when the request put a prompt to another peer (`role.change`
    /// without force, `track.unmute` of another's track): `prompt.answered`
    /// with this id follows when the peer answers.
    public var prompt: PromptID?
}

/// `pong`: the reply to `ping`.
@PublicMemberwiseInit
public struct Pong: Codable, Hashable, Sendable {
    /// The server's clock, to estimate offset and round trip.
    public var serverTime: Timestamp
}

/// `chat.ack`: the message is committed to the log and delivered.
@PublicMemberwiseInit
public struct ChatAck: Codable, Hashable, Sendable {
    public var message: MessageID
    @InRange<JSONCount> public var seq: Int
    public var sentAt: Timestamp
}

// MARK: - Events

/// `peer.joined`: someone entered, or came back within the grace period.
@PublicMemberwiseInit
public struct PeerJoined: Codable, Hashable, Sendable {
    public var peer: PeerInfo
    /// True when the peer resumed after a drop (it left with `timeout` before).
    public var resumed: Bool = false
}

/// `peer.left`.
@PublicMemberwiseInit
public struct PeerLeft: Codable, Hashable, Sendable {
    public var peer: PeerID
    public var reason: LeaveReason
    /// Who removed it, for reason `removed`.
    public var by: PeerID?
}

/// `peer.updated`: the peer's new state and which fields changed.
@PublicMemberwiseInit
public struct PeerUpdated: Codable, Hashable, Sendable {
    public var peer: PeerInfo
    public var changed: [PeerField]
    /// Who made the change when it was not the peer itself (a role change).
    public var by: PeerID?
}

/// `track.added`.
@PublicMemberwiseInit
public struct TrackAdded: Codable, Hashable, Sendable {
    public var peer: PeerID
    public var track: TrackInfo
}

/// `track.removed` and `track.restored`: one peer's track.
@PublicMemberwiseInit
public struct PeerTrack: Codable, Hashable, Sendable {
    public var peer: PeerID
    public var track: TrackID
}

/// `track.muted` and `track.unmuted`.
@PublicMemberwiseInit
public struct TrackMuteChange: Codable, Hashable, Sendable {
    public var peer: PeerID
    public var track: TrackID
    /// Who decided: the owner itself, or the peer that muted it.
    public var by: PeerID
}

/// `track.degraded`.
@PublicMemberwiseInit
public struct TrackDegraded: Codable, Hashable, Sendable {
    public var peer: PeerID
    public var track: TrackID
    public var reason: DegradationReason
}

/// One entry of `speakers`.
@PublicMemberwiseInit
public struct SpeakerLevel: Codable, Hashable, Sendable {
    public var peer: PeerID
    public var track: TrackID
    /// 0 (silence) ... 100 (full scale), from the RFC 6464 levels the track sends.
    @InRange<Percent> public var level: Int
}

/// `role.changeRequested`: another peer asks you to take a role.
@PublicMemberwiseInit
public struct RoleChangePrompt: Codable, Hashable, Sendable {
    /// Answer with `prompt.answer` within the prompt lifetime (60 s).
    public var prompt: PromptID
    public var by: PeerID
    public var role: RoleName
}

/// `track.unmuteRequested`: another peer asks you to unmute a track.
@PublicMemberwiseInit
public struct UnmutePrompt: Codable, Hashable, Sendable {
    public var prompt: PromptID
    public var by: PeerID
    public var track: TrackID
}

/// `prompt.answered`: to the peer that caused a prompt.
@PublicMemberwiseInit
public struct PromptAnswered: Codable, Hashable, Sendable {
    public var prompt: PromptID
    /// The peer that answered (the prompt's target).
    public var peer: PeerID
    public var accepted: Bool
}

/// `removed`: to the peer that was removed.
@PublicMemberwiseInit
public struct Removed: Codable, Hashable, Sendable {
    public var by: PeerID?
    public var reason: String?
}

/// `room.ended`: to everyone in the room.
@PublicMemberwiseInit
public struct RoomEnded: Codable, Hashable, Sendable {
    /// The peer that ended it: `@server` for the management API; absent when the
    /// server did on its own (idle timeout, a call that is over).
    public var by: PeerID?
    public var reason: String?
    /// Whether rejoining is refused (`roomLocked`).
    public var locked: Bool
}

/// `server.goingAway`: the server is shutting down (SIGINT/SIGTERM).
@PublicMemberwiseInit
public struct ServerGoingAway: Codable, Hashable, Sendable {
    public var reason: String?
    /// A hint for when to reconnect, if the server expects to be back.
    public var retryAfterMs: Int?
}

/// `keys`: one sender's media key for one track, sealed to you.
@PublicMemberwiseInit
public struct SealedKeyDelivery: Codable, Hashable, Sendable {
    public var from: PeerID
    public var track: TrackID
    @InRange<JSONCount> public var epoch: Int
    /// HPKE-sealed to your public key; base64 on the wire.
    @SealedBytes public var sealed: Data
    /// The SSRC the sender uses with this key, as it announced it.
    public var ssrc: UInt32?
}
