import ConfabProtocol

// Messages up, state down:
//
//   server message ─▶ sanitise ─▶ SessionEvent ─▶ reduce(&RoomState, event) ─▶ RoomStore observers
//   local action (volume, mark read) ──────────┘                          └─▶ listeners, AsyncStream
//
// A SessionEvent is everything that can change what a client shows. Server
// events keep the protocol's own payload types; the session adds the events
// only a client knows about (connection changes, prompts that lapsed, local
// volume). Every text inside an event has already been sanitised.

/// Something that happened to a session: the input of the pure reducer.
public enum SessionEvent: Hashable, Sendable {
    // Connection.
    /// The connection state moved from `from` to `to`.
    case connectionStateChanged(to: ConnectionState, from: ConnectionState)
    /// The server admitted us (a join, or a resume when `joined.resumed`).
    /// `roundTripMs` is the whole join time seen by the client.
    case joined(Joined, roundTripMs: Int)
    /// The connection dropped and attempt `attempt` starts after `delayMs`.
    case reconnecting(attempt: Int, delayMs: Int)
    /// We are back: `resumed` when the server kept our session, false when
    /// it had to be joined afresh (after the grace or a server restart).
    case reconnected(resumed: Bool)
    /// The session is over: we left, were removed, the room ended, or
    /// reconnection gave up.
    case disconnected(DisconnectReason)
    /// A problem that is not the answer to one request (a connection-level
    /// error from the server, a message we could not read, a failed rejoin).
    case failure(SessionError)
    /// On a cluster, the live nodes changed since `joined` (`cluster.nodes`,
    /// each `wss://HOST:PORT`): the session reconnects through them from now on
    /// when the room's node cannot be reached.
    case clusterNodesChanged([String])

    // Peers.
    case peerJoined(PeerInfo, resumed: Bool)
    case peerLeft(PeerID, reason: LeaveReason, by: PeerID?)
    case peerUpdated(PeerInfo, changed: [PeerField], by: PeerID?)
    /// How many peers hold each role (`room.counts`, rooms with an audience).
    case countsUpdated(RoomCounts)
    /// A page of the roster we asked for (`roster.list`); the store keeps
    /// only the announced peers, so the page is not merged into it.
    case rosterPage(RosterPage, request: RosterRequest)

    // Tracks.
    case trackAdded(peer: PeerID, track: TrackInfo)
    case trackRemoved(peer: PeerID, track: TrackID)
    case trackMuted(peer: PeerID, track: TrackID, by: PeerID)
    case trackUnmuted(peer: PeerID, track: TrackID, by: PeerID)
    case trackDegraded(peer: PeerID, track: TrackID, reason: DegradationReason)
    case trackRestored(peer: PeerID, track: TrackID)
    /// Who is speaking, loudest first (empty: everyone fell silent).
    case speakers([SpeakerLevel])

    // Chat.
    case chatMessage(ChatMessage)
    /// A page of the log merged into ours: `.older` when paging back
    /// through history, `.newer` when catching up after a rejoin (those
    /// count as unread).
    case chatHistory(ChatPage, direction: ChatHistoryDirection)

    // Prompts.
    /// Someone asks us to take a role.
    case roleChangeRequested(RoleChangePrompt)
    /// Someone asks us to unmute a track (100ms's track-change request).
    case unmuteRequested(UnmutePrompt)
    /// We put a question to another peer; the answer comes as `promptAnswered`.
    case promptSent(PromptID, to: PeerID, question: PromptQuestion)
    /// A peer answered a question we put to it.
    case promptAnswered(PromptAnswered)
    /// A prompt put to us is gone: we answered it, it expired, or it lapsed.
    case promptClosed(PromptID)

    // The room's shared state.
    /// A key was set (with a value) or deleted (without).
    case stateChanged(StateChanged)

    // The session.
    case removed(Removed)
    case roomEnded(RoomEnded)
    case serverGoingAway(ServerGoingAway)

    // Local, never from the server.
    /// The local playback volume of a peer changed (0 mutes, 1 is unchanged, up to 2).
    case peerVolumeChanged(PeerID, volume: Double)
    /// The user read a conversation: its unread count drops to zero.
    case conversationRead(Conversation)

    // Media (the SDK's MediaController).
    /// A sender's media key, sealed to us, arrived (`keys`); the media
    /// controller opens it. The sealed bytes are not printed anywhere.
    case mediaKeyReceived(SealedKeyDelivery)
    /// To a publisher: quiet peers that hear it (`hearers`); the media
    /// controller seals its key to them. Not room state: the store and the
    /// screen never list the audience because of it.
    case hearersChanged(HearersUpdate)
    /// The media controller opened that key: the sender's SSRC is heard with it.
    case mediaKeyAccepted(SealedKeyDelivery)
    /// The media controller could not use a key (it did not open, was sealed
    /// for someone else, or names no SSRC or an unknown sender): that sender
    /// is not heard until a good key comes.
    case mediaKeyRefused(from: PeerID, track: TrackID, epoch: Int, reason: String)
    /// The decoded audio level of every peer we hear, 0 … 100 (about twenty times a second).
    case mediaLevels([PeerID: Int])
    /// Per-peer receive figures (about once a second), and the sound cards'
    /// recovered xruns and failures (empty without a sound card).
    case mediaStats([PeerID: PeerMediaState], devices: [AudioDeviceStats] = [])
    /// Our UDP address is bound at the server (`mapped` is what it saw), or
    /// binding failed (`mapped` nil, `problem` says why).
    case mediaBound(mapped: String?, problem: String? = nil)
    /// What our listeners lose of our microphone (`media.feedback`); the
    /// MediaController adapts the encoder to it.
    case mediaFeedback(MediaFeedback)
    /// The microphone hears someone talking while we are muted: nobody hears
    /// them. Once per stretch of talking (again after 10 s of quiet or an unmute).
    case talkingWhileMuted
    /// A sound card went away during the call (silence is sent, or what
    /// plays goes nowhere, and it is tried again every second), came back,
    /// or was switched to (`MediaController.switchDevice`).
    case audioDevice(AudioDeviceChange)
    /// A sound card was plugged in or pulled out (looked for every 2 s while the media runs).
    case soundCard(SoundCardChange)
    /// A keepalive ping came back: the round trip to the server and back [ms].
    case roundTrip(ms: Int)
}

/// Where a session's connection stands.
public enum ConnectionState: Hashable, Sendable, CustomStringConvertible {
    /// Not started yet.
    case idle
    /// Opening the connection and joining.
    case connecting
    /// Joined; requests flow.
    case connected
    /// The connection dropped; attempt `attempt` (from 1) is under way.
    case reconnecting(attempt: Int)
    /// Over for good; see the reason.
    case disconnected(DisconnectReason)

    public var description: String {
        switch self {
        case .idle: "idle"
        case .connecting: "connecting"
        case .connected: "connected"
        case .reconnecting: "reconnecting"
        case .disconnected: "disconnected"
        }
    }
}

/// Why a session ended.
public enum DisconnectReason: Hashable, Sendable {
    /// We sent `leave`.
    case left
    /// A peer removed us.
    case removed(by: PeerID?, reason: String?)
    /// The room ended.
    case roomEnded(by: PeerID?, reason: String?, locked: Bool)
    /// Another connection joined with our identity (`4009 sessionReplaced`).
    case replaced
    /// Reconnecting did not succeed within the configured time.
    case gaveUp
    /// A failure that retrying cannot fix (token refused, certificate changed, …).
    case failed(SessionError)

    /// A short stable name, as the headless client prints it.
    public var name: String {
        switch self {
        case .left: "left"
        case .removed: "removed"
        case .roomEnded: "roomEnded"
        case .replaced: "replaced"
        case .gaveUp: "gaveUp"
        case .failed: "failed"
        }
    }
}

/// Which way a history page extends the chat log.
public enum ChatHistoryDirection: String, Hashable, Sendable {
    /// Messages before the oldest we hold (paging back; read already, in effect).
    case older
    /// Messages after the newest we hold (missed while away: unread).
    case newer
}

/// What a prompt asks.
public enum PromptQuestion: Hashable, Sendable {
    /// Take this role.
    case roleChange(RoleName)
    /// Unmute this track.
    case unmute(TrackID)
}

/// A chat conversation, for unread counts: the whole room, a set of roles,
/// or a private conversation with a set of peers (excluding yourself).
public enum Conversation: Hashable, Sendable, Comparable {
    case room
    case roles([RoleName])
    case direct([PeerID])

    /// The conversation a message belongs to, seen by `me`. Role and peer
    /// lists are sorted so the same group always names the same conversation;
    /// for a direct message the other party is the sender when it was not me.
    public static func of(_ message: ChatMessage, me: PeerID?) -> Conversation {
        switch message.target {
        case .broadcast:
            return .room
        case .roles(let roles):
            return .roles(Array(Set(roles)).sorted())
        case .peers(let peers):
            var others = Set(peers)
            others.insert(message.from)
            if let me { others.remove(me) }
            return .direct(others.sorted())
        }
    }

    public static func < (lhs: Conversation, rhs: Conversation) -> Bool {
        lhs.sortKey < rhs.sortKey
    }

    private var sortKey: String {
        switch self {
        case .room: "0"
        case .roles(let roles): "1" + roles.map(\.rawValue).joined(separator: ",")
        case .direct(let peers): "2" + peers.map(\.rawValue).joined(separator: ",")
        }
    }
}
