import ConfabMacros
import ConfabProtocol

// The one value a client shows. Made only by `reduce` from SessionEvents; the
// terminal front, the headless printer and tests read it and never change it.

/// Everything a client knows about its room, as one value.
public struct RoomState: Hashable, Sendable {
    public var connection: ConnectionState = .idle
    /// The room, its roles and timing; nil before the first `joined`.
    public var room: RoomInfo?
    /// Ourselves as the others see us; nil before the first `joined`.
    public var you: PeerInfo?
    /// Everyone else we know of, by id. `orderedPeers` lists them for
    /// display. In a room with an audience, quiet peers are counted in
    /// `counts` and listed here only once we meet them.
    public var peers: [PeerID: PeerInfo] = [:]
    /// Peers per role, from the server in rooms with an audience (nil elsewhere).
    public var counts: RoomCounts?
    /// The chat log we have seen, ordered by `seq`, each `seq` once.
    public private(set) var chat: [ChatMessage] = []
    /// Whether older messages exist before `chat.first` (from `joined` or a backward page).
    public var hasOlderChat = false
    /// Messages not yet read, per conversation. Our own messages and the
    /// history that came with the first join do not count.
    public var unread: [Conversation: Int] = [:]
    /// Questions put to us that we have not answered, oldest first.
    public var pendingPrompts: [PendingPrompt] = []
    /// Questions we put to others that are not answered yet, by prompt id.
    public var outgoingPrompts: [PromptID: OutgoingPrompt] = [:]
    /// Answers to our questions, most recent last (the last 20).
    public var promptAnswers: [PromptAnswered] = []
    /// Who is speaking, loudest first.
    public var speakers: [SpeakerLevel] = []
    /// Local playback volume per peer (0 … 2, default 1). Kept across drops
    /// and rejoins: it is the listener's preference, not room state.
    public var volumes: [PeerID: Double] = [:]
    /// Per-peer media figures; filled by the media engine.
    public var media: [PeerID: PeerMediaState] = [:]
    /// The server's figure plus our round trip, from the last `joined`.
    public var joinTimeMs: Int?
    /// The round trip to the server [ms]: the join's, then each keepalive ping's.
    public var roundTripMs: Int?
    /// Set while the connection is down and we try again.
    public var reconnectAttempt: Int?
    /// How many times the session came back after a drop.
    public var reconnectCount = 0
    /// The most recent failure that was not the answer to one request.
    public var lastFailure: SessionError?
    /// When the server said it is going away (its reason), until we are back.
    public var serverGoingAway: ServerGoingAway?
    /// The room's shared state by key (an agenda line, a pinned message):
    /// from `joined`, then kept up to date by `state.changed`.
    public var sharedState: [String: StateEntry] = [:]

    /// The most chat messages kept; older ones are dropped from the front.
    public static let chatLogLimit = 10_000

    public init() {}

    // MARK: - Reading

    /// Everyone else for display: highest role priority first, then by join
    /// time, then by id (the server's order in `joined`).
    public var orderedPeers: [PeerInfo] {
        // Each peer's priority looked up once, not twice per comparison (the
        // terminal front sorts on every frame).
        var priorities: [RoleName: Int] = [:]
        for role in room?.roles ?? [] where priorities[role.name] == nil { priorities[role.name] = role.priority }
        let keyed = peers.values.map { (priority: priorities[$0.role] ?? 0, peer: $0) }
        return keyed.sorted { lhs, rhs in
            if lhs.priority != rhs.priority { return lhs.priority > rhs.priority }
            if lhs.peer.joinedAt != rhs.peer.joinedAt { return lhs.peer.joinedAt < rhs.peer.joinedAt }
            return lhs.peer.id < rhs.peer.id
        }.map(\.peer)
    }

    /// Everyone in the room, ourselves included: the server's count in a
    /// room with an audience, else the peers we know.
    public var headCount: Int {
        counts?.total ?? (peers.count + (you == nil ? 0 : 1))
    }

    /// How many hold a role: the server's count, else counted from the peers we know.
    public func count(of role: RoleName) -> Int {
        if let counts { return counts.count(of: role) }
        return (peers.values + (you.map { [$0] } ?? [])).filter { $0.role == role }.count
    }

    /// Peers whose hand is up, first raised first.
    public var raisedHands: [PeerInfo] {
        (peers.values + (you.map { [$0] } ?? [])).filter(\.isHandRaised).sorted {
            ($0.handRaisedAt ?? $0.joinedAt, $0.id) < ($1.handRaisedAt ?? $1.joinedAt, $1.id)
        }
    }

    /// A peer or ourselves by id.
    public func peer(_ id: PeerID) -> PeerInfo? {
        if let you, you.id == id { return you }
        return peers[id]
    }

    /// The safety code of the room's current membership keys (you and every
    /// peer with a public key): five groups of five digits that every member
    /// computes alike; nil with fewer than two keys. See docs/SECURITY.md.
    public var safetyCode: String? { SafetyCode.compute(self) }

    /// Our own role, with its permissions.
    public var yourRole: Role? {
        guard let you, let room else { return nil }
        return room.role(named: you.role)
    }

    /// Our microphone, if our role has one.
    public var yourMicrophone: TrackInfo? {
        you?.tracks.first { $0.source == .microphone }
    }

    /// Whether we are muted (true when we have no microphone).
    public var isMuted: Bool {
        yourMicrophone?.muted ?? true
    }

    /// The local playback volume for a peer.
    public func volume(of peer: PeerID) -> Double {
        volumes[peer] ?? 1
    }

    /// The highest chat sequence number seen, 0 for none: what `resume` sends.
    public var lastSeenSequence: Int {
        chat.last?.seq ?? 0
    }

    /// All unread messages.
    public var totalUnread: Int {
        unread.values.reduce(0, +)
    }

    func priority(of role: RoleName) -> Int {
        room?.role(named: role)?.priority ?? 0
    }

    // MARK: - Chat log (used by the reducer)

    /// Inserts messages in `seq` order, skipping any `seq` already present.
    /// Returns the messages that were new.
    mutating func mergeChat(_ messages: [ChatMessage]) -> [ChatMessage] {
        var added: [ChatMessage] = []
        for message in messages {
            let index = insertionIndex(for: message.seq)
            if index < chat.count, chat[index].seq == message.seq { continue }
            chat.insert(message, at: index)
            added.append(message)
        }
        if chat.count > Self.chatLogLimit {
            chat.removeFirst(chat.count - Self.chatLogLimit)
            hasOlderChat = true
        }
        return added
    }

    /// The first index whose `seq` is not below `seq` (binary search; the
    /// common case, a newer message, lands at the end).
    private func insertionIndex(for seq: Int) -> Int {
        if let last = chat.last, last.seq < seq { return chat.count }
        var low = 0
        var high = chat.count
        while low < high {
            let middle = (low + high) / 2
            if chat[middle].seq < seq { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// A question put to us, waiting for `answerPrompt`.
@PublicMemberwiseInit
public struct PendingPrompt: Hashable, Sendable {
    public var id: PromptID
    public var by: PeerID
    public var question: PromptQuestion
}

/// A question we put to another peer.
@PublicMemberwiseInit
public struct OutgoingPrompt: Hashable, Sendable {
    public var id: PromptID
    public var to: PeerID
    public var question: PromptQuestion
}

/// What the media engine reports about a peer (the
/// level bars come from here, not from the server's `speakers`).
public struct PeerMediaState: Hashable, Sendable {
    /// The decoded audio level, 0 … 100.
    public var level: Int = 0
    /// Packets accepted into the jitter buffer.
    public var packetsReceived: Int = 0
    /// Frames never received in time (recovered by FEC or concealed).
    public var packetsLost: Int = 0
    /// Lost frames rebuilt from the next packet's in-band FEC.
    public var fecRecovered: Int = 0
    /// Frames the path lost that were played from a later packet's RED copy
    /// (not in `packetsLost`: nothing of them was missed).
    public var redRecovered: Int = 0
    /// Frames synthesised by loss concealment (losses and under-runs).
    public var concealed: Int = 0
    /// RFC 3550 interarrival jitter [ms].
    public var jitterMs: Int = 0
    /// Audio buffered ahead of play-out now [ms].
    public var playoutDelayMs: Int = 0

    public init() {}
}
