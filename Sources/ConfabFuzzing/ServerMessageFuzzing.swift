// What a hostile or broken server can put in front of a person. Clients
// sanitise what people wrote again (PROTOCOL.md, "Untrusted text"): a server
// message goes through the SDK's one mapping to session events, where that
// happens, and into the store that the screen and the bot lines read.
//
//   bytes ─▶ ServerMessage ─▶ RoomEvents.sessionEvent, or a reply's cleaning
//                             (joined, a chat page, a roster page), or the
//                             presence connection's (users, calls)
//                          ─▶ every name, chat text, reason, error message and
//                             shared-state value in it is safe for a terminal,
//                             within its limits, and every state key well formed
//                          ─▶ reduced into a joined room's state: no trap, and
//                             the same holds for everything the state holds
import ConfabClient
import ConfabProtocol
import Foundation

enum ServerMessageFuzzing {
    static func run(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        guard let message = try? ProtocolCodec().decode(Data(input), as: ServerMessage.self) else { return }
        var state = joinedState
        switch message.body {
        case .joined(let joined):
            let clean = IncomingText.joined(joined)
            try check(clean)
            if let lifetime = clean.room.promptLifetimeMs, !(1_000...3_600_000).contains(lifetime) {
                throw FuzzViolation("a prompt lifetime of \(lifetime) ms reached the store")
            }
            reduce(&state, .joined(clean, roundTripMs: 0))
        case .chatPage(let page):
            for message in IncomingText.page(page).messages { try check(message) }
        case .rosterPage(let page):
            for peer in IncomingText.roster(page).peers { try checkName(peer.name) }
        // The presence connection's (CallClient).
        case .connected(let connected):
            let clean = IncomingCall.connected(connected)
            for user in [clean.you] + clean.online { try checkName(user.name) }
            for call in clean.calls + (clean.elsewhere ?? []) { try check(call) }
        case .presenceOnline(let user), .presenceUpdated(let user):
            try checkName(IncomingCall.user(user).name)
        case .callState(let call):
            try check(IncomingCall.call(call))
        case .callInvitation(let invitation):
            try check(IncomingCall.call(invitation.call))
        case .callUpdated(let update):
            try check(IncomingCall.call(update.call))
        default:
            guard let event = RoomEvents.sessionEvent(for: message.body) else { return }
            try check(event)
            reduce(&state, event)
        }
        try check(state)
    }

    /// A room as a client has it right after joining, from the PROTOCOL.md example.
    static let joinedState: RoomState = {
        let example = #"""
            {"v": 1, "type": "joined", "id": "c1", "room": {"name": "standup", "startedAt": 1763000000000,
             "speakersIntervalMs": 500, "roles": [
              {"name": "host", "priority": 100, "publishAudio": true, "subscribesTo": ["host", "speaker"],
               "chat": {"broadcast": true, "toRoles": true, "direct": true},
               "permissions": {"muteOthers": true, "askToUnmute": true, "changeRoles": true, "removePeers": true,
                               "endRoom": true, "raiseHand": true}},
              {"name": "listener", "priority": 10, "publishAudio": false, "subscribesTo": ["host", "speaker"],
               "chat": {"broadcast": true, "toRoles": true, "direct": false}, "permissions": {"raiseHand": true}}]},
             "you": {"id": "alice", "name": "Alice", "role": "host", "metadata": "", "joinedAt": 1763000005000,
                     "tracks": [{"id": "alice:mic", "kind": "audio", "source": "microphone", "muted": true}]},
             "peers": [{"id": "lee", "name": "Lee", "role": "listener", "metadata": "", "joinedAt": 1763000001000,
                        "handRaisedAt": 1763000003000, "tracks": []}],
             "history": {"messages": [{"id": "m41", "seq": 41, "sentAt": 1763000002000, "from": "lee", "fromName": "Lee",
                                       "fromRole": "listener", "target": {"kind": "broadcast"}, "text": "hello?"}],
                         "hasMore": true},
             "state": [{"key": "agenda", "value": "Q3 review", "by": "alice", "at": 1763000004000}],
             "joinedAt": 1763000005000, "joinTimeMs": 3, "resumed": false,
             "reconnect": {"resumeToken": "rt_5kQ2xw", "resumeGraceMs": 20000},
             "keepalive": {"pingIntervalMs": 5000, "deadAfterMs": 15000},
             "media": {"host": "203.0.113.5", "port": 7443, "username": "a1b2c3", "password": "9f8e7d6c5b4a"}}
            """#
        guard let message = try? ProtocolCodec().decode(Data(example.utf8), as: ServerMessage.self),
            case .joined(let joined) = message.body
        else { preconditionFailure("the joined example does not decode") }
        var state = RoomState()
        reduce(&state, .joined(IncomingText.joined(joined), roundTripMs: 0))
        return state
    }()

    // MARK: - What people read

    private static func check(_ event: SessionEvent) throws(FuzzViolation) {
        switch event {
        case .peerJoined(let peer, _), .peerUpdated(let peer, _, _):
            try checkName(peer.name)
        case .chatMessage(let message):
            try check(message)
        case .removed(let notice):
            try checkReason(notice.reason)
        case .roomEnded(let notice):
            try checkReason(notice.reason)
        case .serverGoingAway(let notice):
            try checkReason(notice.reason)
        case .failure(let error):
            try checkReason(error.message, label: "error message")
        case .stateChanged(let change):
            try checkState(key: change.key, value: change.value)
        default:
            break
        }
    }

    private static func check(_ joined: Joined) throws(FuzzViolation) {
        try checkName(joined.you.name)
        for peer in joined.peers { try checkName(peer.name) }
        for message in joined.history.messages { try check(message) }
        for entry in joined.state ?? [] { try checkState(key: entry.key, value: entry.value) }
    }

    private static func check(_ state: RoomState) throws(FuzzViolation) {
        if let you = state.you { try checkName(you.name) }
        for peer in state.peers.values { try checkName(peer.name) }
        for message in state.chat { try check(message) }
        if let failure = state.lastFailure { try checkReason(failure.message, label: "error message") }
        try checkReason(state.serverGoingAway?.reason)
        for (key, entry) in state.sharedState {
            guard key == entry.key else { throw FuzzViolation("shared state \(key.debugDescription) holds \(entry.key.debugDescription)") }
            try checkState(key: entry.key, value: entry.value)
        }
    }

    private static func check(_ message: ChatMessage) throws(FuzzViolation) {
        try checkName(message.fromName)
        // Cleaned, never refused: a message the server accepted may come out empty.
        var policy = TextPolicy.chat
        policy.allowsEmpty = true
        try TextFuzzing.check(message.text, policy: policy, label: "chat text")
    }

    private static func check(_ call: CallInfo) throws(FuzzViolation) {
        for participant in call.participants { try checkName(participant.name) }
    }

    private static func checkName(_ name: String) throws(FuzzViolation) {
        guard !name.isEmpty else { throw FuzzViolation("an empty display name (the peer id stands in)") }
        try TextFuzzing.check(name, policy: .displayName, label: "name")
    }

    private static func checkReason(_ reason: String?, label: String = "reason") throws(FuzzViolation) {
        guard let reason else { return }
        try TextFuzzing.check(reason, policy: .reason, label: label)
    }

    private static func checkState(key: String, value: String?) throws(FuzzViolation) {
        guard StateEntry.isValidKey(key) else {
            throw FuzzViolation("a shared-state key the protocol does not allow: \(key.debugDescription)")
        }
        guard let value else { return }
        try TextFuzzing.check(value, policy: .stateValue, label: "state value")
    }
}
