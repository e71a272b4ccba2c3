import ConfabMacros
import ConfabProtocol

/// A message for some peers of the room, produced by a change to the room.
@PublicMemberwiseInit
public struct RoomEvent: Hashable, Sendable {
    /// Who should receive it. For chat this may include suspended peers
    /// (they read it back from the log when they resume); the server
    /// delivers to those with a live connection and skips the rest.
    public var audience: Set<PeerID>
    public var body: ServerBody

    /// The event as an envelope, ready to encode (events carry no request id).
    public var message: ServerMessage { ServerMessage(body) }
}

/// A chat message and everyone it is for: what the server commits to the log.
public struct ChatDelivery: Hashable, Sendable {
    public var message: ChatMessage
    /// Connected and suspended recipients, the sender included. History
    /// shows a non-broadcast message only to these peers.
    public var recipients: Set<PeerID>
    /// `peer.joined` of quiet peers to the others of a direct message who
    /// did not know them (Room+Audience.swift), sent before the message.
    public var introductions: [RoomEvent] = []

    /// What to send once the store has committed the message as `message`
    /// (numbered): `chat.message` to its recipients, `chat.ack` to the sender.
    public func outcome(committed message: ChatMessage) -> RoomOutcome {
        RoomOutcome(
            events: introductions + [RoomEvent(audience: recipients, body: .chatMessage(message))],
            reply: .chatAck(ChatAck(message: message.id, seq: message.seq, sentAt: message.sentAt)),
            chat: ChatDelivery(message: message, recipients: recipients, introductions: introductions))
    }
}

/// What a successful action did.
@PublicMemberwiseInit
public struct RoomOutcome: Hashable, Sendable {
    /// Send these first, in order.
    public var events: [RoomEvent]
    /// Then this to the actor, with its request id: `ok` (carrying a prompt
    /// id when the action put a prompt to someone) or, for chat, `chat.ack`.
    public var reply: ServerBody = .ok(OkReply())
    /// For chat: commit this draft to the log (which numbers it) before
    /// sending anything; `events` and `reply` are then those of `ChatDelivery.outcome(committed:)`.
    public var chat: ChatDelivery?
}

/// What a successful join or resume did.
public struct JoinOutcome: Hashable, Sendable {
    /// For the other peers (the joiner's own reply is `Room.joined(for:...)`).
    public var events: [RoomEvent]
    /// The identity already had a live connection: the server closes that
    /// older connection with `sessionReplaced` (4009).
    public var replacedConnection: Bool
}

/// Something a joined peer asks of the room. Joining, resuming, keepalive and
/// history reads are handled by the server around the room.
public enum PeerAction: Hashable, Sendable {
    case leave
    case sendChat(target: ChatTarget, text: String)
    case changeRole(peer: PeerID, role: RoleName, force: Bool)
    case answerPrompt(PromptID, accept: Bool)
    case muteTrack(TrackID)
    case unmuteTrack(TrackID)
    case removePeer(PeerID, reason: String?)
    case endRoom(lock: Bool, reason: String?)
    case raiseHand
    case lowerHand
    case updatePeer(name: String?, metadata: String?)
    case publishKeys(PublishKeysRequest)
    /// Set (a value) or delete (nil) a key of the room's shared state.
    case setState(key: String, value: String?)

    /// The action a client message asks for; nil for `join`, `resume`,
    /// `ping`, `chat.history`, `roster.list` and the presence and call messages, which are
    /// not room actions.
    public init?(_ body: ClientBody) {
        switch body {
        case .join, .resume, .ping, .fetchHistory, .listRoster, .reportLoss: return nil
        case .connect, .inviteToCall, .acceptCall, .rejectCall, .cancelCall, .hangUp, .fetchCallHistory: return nil
        case .leave: self = .leave
        case .sendChat(let request): self = .sendChat(target: request.target, text: request.text)
        case .changeRole(let request): self = .changeRole(peer: request.peer, role: request.role, force: request.force)
        case .answerPrompt(let answer): self = .answerPrompt(answer.prompt, accept: answer.accept)
        case .muteTrack(let track): self = .muteTrack(track)
        case .unmuteTrack(let track): self = .unmuteTrack(track)
        case .removePeer(let request): self = .removePeer(request.peer, reason: request.reason)
        case .endRoom(let request): self = .endRoom(lock: request.lock, reason: request.reason)
        case .raiseHand: self = .raiseHand
        case .lowerHand: self = .lowerHand
        case .updatePeer(let request): self = .updatePeer(name: request.name, metadata: request.metadata)
        case .publishKeys(let request): self = .publishKeys(request)
        case .setState(let request): self = .setState(key: request.key, value: request.value)
        }
    }
}
