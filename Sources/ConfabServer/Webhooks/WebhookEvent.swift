// What a webhook delivery carries (docs/ADMIN.md, "Webhooks"): one event,
// as JSON, made from what the room already sends its peers, so that the
// webhook and the peers never tell two stories.
//
//   RoomHost.deliver(events) ─▶ WebhookEvent.from(room event) ─▶ WebhookDispatcher.publish
//   room opened / ended empty ─▶ WebhookEvent.roomStarted / roomEnded ─┘
//   prompt unanswered in its lifetime (sweep) ─▶ WebhookEvent.promptExpired ─┘
//   CallManager (first accept / call over) ─▶ callStarted / callEnded ─┘

import ConfabProtocol
import ConfabRooms

/// One event, as the receiver gets it. Members that do not apply are absent.
public struct WebhookEvent: Codable, Hashable, Sendable {
    /// Unique per event (`evt_…`): the same on every retry, for the receiver to drop repeats.
    public var id: String
    public var type: WebhookEventKind
    /// When it happened on the server, milliseconds since 1970.
    public var createdAt: Timestamp
    /// Per endpoint, from 1, in the order the events were queued for it. A
    /// gap means events were dropped (queue overflow, or given up on).
    public var sequence: Int = 0
    public var room: RoomName?
    /// The peer joined, left, given a role, or asked (`prompt.answered`, `prompt.expired`).
    public var peer: PeerID?
    public var name: String?
    public var role: RoleName?
    /// `peer.left`: left, timeout, removed, replaced. `room.ended`: the reason given, or `empty`.
    public var reason: String?
    /// Who removed the peer, changed its role, asked what was answered or ended the room (`@server` for the management API).
    public var by: PeerID?
    /// `peer.joined`: it came back within its resume grace after a `peer.left` with reason `timeout`.
    public var resumed: Bool?
    /// `room.ended`: joins are refused from now on.
    public var locked: Bool?
    public var call: CallID?
    public var caller: PeerID?
    /// `chat.message`: the message as the room's peers got it.
    public var message: ChatMessage?
    /// `prompt.answered` and `prompt.expired`: the request (its id as the API's 202 or the asker's `ok` gave it).
    /// `prompt.answered`: the answer.
    public var prompt: PromptID?
    public var accepted: Bool?

    init(type: WebhookEventKind, room: RoomName?, at time: Timestamp = .now()) {
        id = "evt_" + RandomToken.make(bytes: 15)
        self.type = type
        createdAt = time
        self.room = room
    }

    static func roomStarted(_ room: RoomName, at time: Timestamp) -> WebhookEvent {
        WebhookEvent(type: .roomStarted, room: room, at: time)
    }

    static func roomEnded(_ room: RoomName, reason: String?, by: PeerID?, locked: Bool) -> WebhookEvent {
        var event = WebhookEvent(type: .roomEnded, room: room)
        event.reason = reason
        event.by = by
        event.locked = locked
        return event
    }

    /// A prompt nobody answered within its lifetime: `peer` was asked, `by` asked.
    static func promptExpired(_ room: RoomName, _ prompt: Prompt) -> WebhookEvent {
        var event = WebhookEvent(type: .promptExpired, room: room)
        event.peer = prompt.to
        event.prompt = prompt.id
        event.by = prompt.from
        return event
    }

    static func call(_ kind: WebhookEventKind, _ call: CallID, room: RoomName, caller: PeerID?) -> WebhookEvent {
        var event = WebhookEvent(type: kind, room: room)
        event.call = call
        event.caller = caller
        return event
    }

    /// The webhook event for a message the room sends its peers; nil for the
    /// many that are no webhook event (speakers, mutes, hands, questions…).
    static func from(_ roomEvent: RoomEvent, room: RoomName) -> WebhookEvent? {
        switch roomEvent.body {
        case .peerJoined(let joined):
            var event = WebhookEvent(type: .peerJoined, room: room)
            event.peer = joined.peer.id
            event.name = joined.peer.name
            event.role = joined.peer.role
            event.resumed = joined.resumed ? true : nil
            return event
        case .peerLeft(let left):
            var event = WebhookEvent(type: .peerLeft, room: room)
            event.peer = left.peer
            event.reason = left.reason.rawValue
            event.by = left.by
            return event
        case .peerUpdated(let updated) where updated.changed.contains(.role):
            var event = WebhookEvent(type: .roleChanged, room: room)
            event.peer = updated.peer.id
            event.name = updated.peer.name
            event.role = updated.peer.role
            event.by = updated.by
            return event
        case .roomEnded(let ended):
            return .roomEnded(room, reason: ended.reason, by: ended.by, locked: ended.locked)
        case .chatMessage(let message):
            var event = WebhookEvent(type: .chatMessage, room: room)
            event.message = message
            return event
        case .promptAnswered(let answer):
            // It goes to the asker alone; to nobody when the asker was the API.
            var event = WebhookEvent(type: .promptAnswered, room: room)
            event.peer = answer.peer
            event.prompt = answer.prompt
            event.accepted = answer.accepted
            event.by = roomEvent.audience.first ?? .server
            return event
        default:
            return nil
        }
    }
}
