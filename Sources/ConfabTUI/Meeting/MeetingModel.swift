// The meeting screen's own state and its update function (Bubble Tea's
// Model/Update): keys and room updates come in as messages; the model
// changes and returns commands; the view only reads.
//
//   key ───────────┐
//   RoomUpdate ────┼─▶ MeetingModel.update ─▶ [MeetingCommand] ─▶ driver ─▶ ConfabSession
//   tick(now) ─────┘         │
//                            └─▶ MeetingView.render(model, RoomState) ─▶ Buffer
//
// RoomState stays the store's: the model holds only what the screen adds
// (focus, selection, scroll, the input line, dialogs, system lines).
import ConfabClient
import ConfabProtocol
import Foundation

/// What the screen asks the session (or the program) to do.
public enum MeetingCommand: Hashable, Sendable {
    case setMuted(Bool)
    case setHand(raised: Bool)
    case send(String, ChatTarget)
    case mute(PeerID)
    case muteEveryoneElse
    case askToUnmute(PeerID)
    case changeRole(PeerID, RoleName)
    case remove(PeerID, reason: String?)
    case endRoom
    case answer(PromptID, accept: Bool)
    case setVolume(PeerID, Double)
    case loadOlderChat
    /// A page of the audience (the audience dialog's lists).
    case listRoster(RosterRequest)
    /// Set (a value) or clear (nil) a key of the room's shared state.
    case setState(key: String, value: String?)
    case markRead
    case bell
    /// Run the microphone's processing with these parts (VoiceKeys.swift).
    case setVoice(VoiceChain)
    /// Show what the processing has done (`/audio`).
    case reportVoice
    /// List the sound devices (`/device`).
    case listDevices
    /// Switch the microphone (input) or the speaker to a device (`/device input NAME`).
    case switchDevice(input: Bool, String)
    /// Leave the room and end the program.
    case leave
    /// End the program (the session is already over).
    case exit
}

/// Where keys go.
public enum Focus: String, Hashable, Sendable, CaseIterable {
    case tiles, chat, input
}

/// A line the screen adds to the chat: joins, leaves, role changes, notices.
public struct SystemLine: Hashable, Sendable {
    public var time: Timestamp
    public var text: String
    public var isError: Bool
}

/// How Space talks.
public enum PushToTalkMode: Hashable, Sendable {
    /// The terminal reports releases (kitty keyboard protocol): hold Space to talk.
    case hold
    /// Press Space to start talking, again to stop.
    case toggle
}

/// Something drawn over the meeting.
public enum Overlay: Hashable, Sendable {
    case help
    case confirmLeave
    case confirmEndRoom
    /// Removing someone asks first, as leaving does.
    case confirmRemove(PeerID, reason: String?)
    case actions(ActionMenu)
    /// The audience of a large room (roles with `seeAudience`).
    case audience(AudienceBrowser)
    case prompt(PendingPrompt)
    /// The session is over (removed, room ended, replaced, gave up): Enter closes.
    case ended(String)
}

/// The action menu for one participant: only what our role may do.
public struct ActionMenu: Hashable, Sendable {
    public enum Item: Hashable, Sendable {
        case mute, askToUnmute, changeRole(RoleName), remove, directMessage, volumeUp, volumeDown

        public var label: String {
            switch self {
            case .mute: "Mute"
            case .askToUnmute: "Ask to unmute"
            case .changeRole(let role): "Ask to become \(role)"
            case .remove: "Remove from the room"
            case .directMessage: "Direct message"
            case .volumeUp: "Volume up"
            case .volumeDown: "Volume down"
            }
        }
    }

    public var peer: PeerID
    public var items: [Item]
    public var selected = 0
    /// Opened from the audience: Esc and the action go back there.
    public var returnsTo: AudienceBrowser?
}

/// A question we put to someone (a role offer, an unmute request).
public struct SentRequest: Hashable, Sendable {
    public var to: PeerID
    public var name: String
    public var question: PromptQuestion
    public var sentAt: Date
    /// The room's prompt lifetime when it was sent: the server forgets it then.
    public var lifetime: TimeInterval = TimeInterval(LifecycleDefaults.promptLifetimeMs) / 1000

    /// "to become speaker", "to unmute".
    var what: String {
        switch question {
        case .roleChange(let role): "to become \(role)"
        case .unmute: "to unmute"
        }
    }
}

public struct MeetingModel: InputLineModel, Sendable {
    public var focus: Focus = .tiles
    public var selected: PeerID?
    public var tilePage = 0
    /// Chat lines scrolled up from the bottom (0: following new messages).
    public var chatScroll = 0
    /// The last message seen before scrolling up; newer ones are "new" below a marker.
    public var readMarkerSeq: Int?
    /// The input line (its editor, and the notice shown in the message row).
    public var input = InputLine()
    public var overlay: Overlay?
    public var systemLines: [SystemLine] = []
    public var pushToTalk: PushToTalkMode = .toggle
    /// Whether Space is down (hold mode) or toggled on (toggle mode).
    public var talking = false
    public var keyMap = KeyMap.standard
    /// Input-line commands the front adds to the meeting's (the call
    /// screen's /call): listed in the help overlay and completed by Tab.
    public var extraCommands: [SlashCommand] = []
    /// The microphone's processing as last switched (nil: nothing to switch).
    public var voice: VoiceChain?
    /// Whether the meeting plays and records through devices `/device` can switch.
    public var hasAudioDevices = false
    public var mentionBell = true
    public var screenReader = false
    /// What the status bar calls the room (a call: who it is with); nil:
    /// the room's name and your role in it.
    public var roomLabel: String?
    /// When the next reconnection attempt starts.
    public var reconnectAt: Date?
    /// When the connection was lost, and the last chat message seen then:
    /// one line when it is lost, one when it is back (with what was missed).
    var connectionLost: (at: Date, lastSeen: Int)?
    /// Names seen, so a line about a peer that has left can still name it.
    public var names: [PeerID: String] = [:]
    /// Plain lines for screen-reader mode, taken by the driver.
    public var announcements: [String] = []
    public var now = Date()
    /// Prompts already answered, so the dialog does not come back.
    var dismissedPrompts: Set<PromptID> = []
    /// Questions we put to others, until answered or lapsed: shown in the
    /// message row while they wait, their outcome as a chat line.
    public var sentRequests: [PromptID: SentRequest] = [:]
    /// Prompts already announced (a line and the bell), each once.
    var announcedPrompts: Set<PromptID> = []
    /// When each question put to us lapses: the room's prompt lifetime from
    /// when it came. The message row counts down to it.
    public var promptDeadlines: [PromptID: Date] = [:]
    /// The seconds left that the screen shows (ours and the questions to
    /// us), so a tick redraws when one of them changes and not otherwise.
    var shownCountdowns: [Int] = []
    /// The key that turns to a question put to us. A question never opens a
    /// dialog by itself: keys typed for the input line (a sentence with an
    /// `a` in it) must never answer it, least of all by opening the mic.
    public static let answerKey = Key.function(2)
    public static let answerKeyName = "F2"
    /// Tiles that fit in the grid at the last render (for paging with arrows).
    public var tilesPerPage = 1
    public var tileColumns = 1
    /// The first help entry shown, and how many fit (at the last render).
    public var helpScroll = 0
    public var helpVisibleRows = 10
    public var helpRowCount = 0
    /// Chat lines visible at the last render (for PgUp/PgDn).
    public var chatRows = 10

    public static let systemLineLimit = 500

    public init(keyMap: KeyMap = .standard, mentionBell: Bool = true, screenReader: Bool = false, pushToTalk: PushToTalkMode = .toggle) {
        self.keyMap = keyMap
        self.mentionBell = mentionBell
        self.screenReader = screenReader
        self.pushToTalk = pushToTalk
    }

    // MARK: - Helpers

    func name(_ peer: PeerID?, in state: RoomState) -> String {
        guard let peer else { return "the server" }
        if peer == state.you?.id { return "you" }
        return state.peer(peer)?.displayName ?? names[peer] ?? peer.rawValue
    }

    mutating func addSystemLine(_ text: String, error: Bool = false) {
        let time = Timestamp(millisecondsSince1970: Int64(now.timeIntervalSince1970 * 1000))
        // Cleaned once for both: a system line may quote what a server said
        // (a host name in an error), and announcements go to a plain terminal.
        let cleaned = TextSanitizer.clean(text, lineBreaks: .singleLine)
        systemLines.append(SystemLine(time: time, text: cleaned, isError: error))
        if systemLines.count > Self.systemLineLimit { systemLines.removeFirst(systemLines.count - Self.systemLineLimit) }
        announcements.append(cleaned)
    }

    /// Everyone in tile order: you first, then the room's order.
    public func tilePeers(_ state: RoomState) -> [PeerInfo] {
        (state.you.map { [$0] } ?? []) + state.orderedPeers
    }

    /// How Space talks here, for the status bar: which mode, with the key the map binds.
    public var pushToTalkHint: String {
        pushToTalk == .hold ? "hold \(pushToTalkKeyName) to talk" : "\(pushToTalkKeyName): talk on/off"
    }

    /// The push-to-talk key as the screen names it.
    public var pushToTalkKeyName: String { keyMap.keys(for: .pushToTalk).first ?? "Space" }

    // MARK: - Ticks

    /// Time passed: notices expire. Returns whether anything visible changed.
    public mutating func tick(now: Date) -> Bool {
        self.now = now
        var changed = reconnectAt != nil
        // The server forgets a question after its lifetime and tells nobody.
        for (id, request) in sentRequests.sorted(by: { $0.value.sentAt < $1.value.sentAt })
        where now.timeIntervalSince(request.sentAt) >= request.lifetime {
            sentRequests[id] = nil
            addSystemLine("\(request.name) did not answer your request \(request.what); it lapsed")
            changed = true
        }
        let countdowns =
            sentRequests.values.map { secondsLeft(until: $0.sentAt.addingTimeInterval($0.lifetime)) }.sorted()
            + promptDeadlines.values.map(secondsLeft(until:)).sorted()
        if countdowns != shownCountdowns {
            shownCountdowns = countdowns
            changed = true
        }
        return input.expireNotice(now: now) || changed
    }

    /// Whole seconds from now to `deadline`, rounded up; 0 once it passed.
    public func secondsLeft(until deadline: Date) -> Int {
        max(0, Int(deadline.timeIntervalSince(now).rounded(.up)))
    }

    /// What we asked of others and still wait for, for the message row.
    public func pendingRequestsText(_ state: RoomState) -> String? {
        guard !sentRequests.isEmpty else { return nil }
        let items = sentRequests.values.sorted { $0.sentAt < $1.sentAt }.map { request in
            let left = secondsLeft(until: request.sentAt.addingTimeInterval(request.lifetime))
            return "\(request.name) \(request.what) (\(left) s)"
        }
        return "waiting for an answer: " + items.joined(separator: " · ")
    }

    // MARK: - Room updates

    /// A new state from the store: system lines, dialogs, the mention bell.
    public mutating func apply(_ update: RoomUpdate, previous: RoomState) -> [MeetingCommand] {
        let state = update.state
        var commands: [MeetingCommand] = []
        if case .rosterPage(let page, let request) = update.event { applyRosterPage(page, for: request) }
        if !applyPeerEvent(update.event, state: state, previous: previous),
            !applyConnectionEvent(update.event, state: state, previous: previous)
        {
            commands += applyActivity(update.event, state: state)
        }
        for peer in tilePeers(state) { names[peer.id] = peer.displayName }
        if let selected, state.peer(selected) == nil { self.selected = nil }
        commands += showNextPrompt(state)
        // Questions of ours the store dropped: their target left, or our role or connection changed.
        for (id, request) in sentRequests.sorted(by: { $0.value.sentAt < $1.value.sentAt }) where state.outgoingPrompts[id] == nil {
            sentRequests[id] = nil
            let why = state.peer(request.to) == nil ? "\(request.name) left" : "it was withdrawn"
            addSystemLine("your request to \(request.name) \(request.what) lapsed: \(why)")
        }
        if chatScroll == 0, overlay == nil, focus != .tiles || chatRows > 0, state.totalUnread > 0, readMarkerSeq == nil {
            commands.append(.markRead)
        }
        return commands
    }

    /// Joins, leaves and changes of a participant (role, name, hand); false for other events.
    private mutating func applyPeerEvent(_ event: SessionEvent, state: RoomState, previous: RoomState) -> Bool {
        switch event {
        case .peerJoined(let peer, let resumed):
            addSystemLine(resumed ? "\(peer.displayName) is back" : "\(peer.displayName) joined as \(peer.role)")
        case .peerLeft(let peer, let reason, let by):
            let who = names[peer] ?? previous.peer(peer)?.displayName ?? peer.rawValue
            switch reason {
            case .left: addSystemLine("\(who) left")
            case .timeout: addSystemLine("\(who) lost the connection")
            case .removed: addSystemLine("\(who) was removed by \(name(by, in: previous))")
            case .roomEnded: addSystemLine("\(who) left: the room ended")
            case .replaced: addSystemLine("\(who) reconnected from elsewhere")
            case .outOfView: break
            }
            if selected == peer { selected = nil }
            if case .actions(let menu) = overlay, menu.peer == peer { overlay = nil }
        case .peerUpdated(let peer, let changed, let by):
            let who = peer.id == state.you?.id ? "You" : peer.displayName
            if changed.contains(.role) {
                let actor = by.map { " (by \(name($0, in: state)))" } ?? ""
                addSystemLine("\(who) \(peer.id == state.you?.id ? "are" : "is") now \(peer.role)\(actor)")
            }
            if changed.contains(.name), let old = names[peer.id], old != peer.displayName {
                addSystemLine("\(old) is now known as \(peer.displayName)")
            }
            if changed.contains(.hand) {
                let isYou = peer.id == state.you?.id
                if peer.isHandRaised { addSystemLine("\(who) raised \(isYou ? "your" : "a") hand") }
                else if isYou { addSystemLine("You lowered your hand") }
                else if screenReader { announcements.append("\(who) lowered the hand") }
            }
        default:
            return false
        }
        return true
    }

    /// Mutes, chat, questions and the media's problems: the commands they call for (the mention bell).
    private mutating func applyActivity(_ event: SessionEvent, state: RoomState) -> [MeetingCommand] {
        var commands: [MeetingCommand] = []
        switch event {
        case .trackMuted(let peer, _, let by) where by == peer && peer == state.you?.id:
            if screenReader { announcements.append("You are muted") }
        case .trackUnmuted(let peer, _, _) where peer == state.you?.id:
            if screenReader { announcements.append("Your microphone is on: others hear you") }
        case .trackMuted(let peer, _, let by) where by != peer:
            if peer == state.you?.id {
                addSystemLine("\(name(by, in: state)) muted you")
            } else {
                addSystemLine("\(name(peer, in: state)) was muted by \(name(by, in: state))")
            }
            if peer == state.you?.id { talking = false }
        case .chatMessage(let message):
            if message.from != state.you?.id, mentions(message.text, of: state), mentionBell {
                commands.append(.bell)
            }
            if screenReader { announcements.append(ChatView.plainLine(message, state: state)) }
        case .promptSent(let id, let to, let question):
            var request = SentRequest(to: to, name: name(to, in: state), question: question, sentAt: now)
            if let lifetimeMs = state.room?.promptLifetimeMs { request.lifetime = TimeInterval(lifetimeMs) / 1000 }
            sentRequests[id] = request
            addSystemLine("you asked \(request.name) \(request.what); waiting for an answer")
        case .promptAnswered(let answer):
            let verb = answer.accepted ? "accepted" : "declined"
            let what = sentRequests[answer.prompt].map { " \($0.what)" } ?? ""
            sentRequests[answer.prompt] = nil
            addSystemLine("\(name(answer.peer, in: state)) \(verb) your request\(what)")
        case .failure(let error):
            setNotice(error.messageWithWait, error: true)
        case .stateChanged(let change):
            let who = change.by == .server ? "the server" : name(change.by, in: state)
            addSystemLine(change.value.map { "\(who) set \(change.key): \($0)" } ?? "\(who) cleared \(change.key)")
        case .serverGoingAway(let notice):
            addSystemLine("the server is going away" + (notice.reason.map { ": \($0)" } ?? ""), error: true)
        case .audioDevice(let change) where change.kind != .switched:
            // A switch is the front's own doing, and its notice says so already.
            // A fallback keeps the sound going, but the card the user chose failed.
            addSystemLine(change.text, error: !change.available || change.kind == .fellBack)
        case .soundCard(let change):
            addSystemLine(change.text)
        case .talkingWhileMuted:
            let unmute = keyMap.keys(for: .mute).first.map { " (\($0) unmutes)" } ?? ""
            setNotice("You are muted: nobody hears you\(unmute)")
        case .mediaBound(nil, let problem?):
            // No audio (the server's media address is unusable or silent): say why, where it is seen.
            addSystemLine(problem, error: true)
        case .connectionStateChanged(let to, _):
            if case .connected = to { reconnectAt = nil }
        default:
            break
        }
        return commands
    }

    /// The connection: lost, back, over (removed, ended, disconnected); false for other events.
    private mutating func applyConnectionEvent(_ event: SessionEvent, state: RoomState, previous: RoomState) -> Bool {
        switch event {
        case .reconnecting(_, let delayMs):
            // Each attempt shows in the status bar's countdown, not as a line.
            reconnectAt = now.addingTimeInterval(Double(delayMs) / 1000)
            if connectionLost == nil {
                connectionLost = (now, previous.lastSeenSequence)
                addSystemLine("connection lost; reconnecting", error: true)
            }
        case .reconnected:
            reconnectAt = nil
            if let lost = connectionLost {
                connectionLost = nil
                let seconds = max(0, Int(now.timeIntervalSince(lost.at).rounded()))
                let missed = state.chat.filter { $0.seq > lost.lastSeen && $0.from != state.you?.id }.count
                let what = switch missed {
                case 0: "nothing missed"
                case 1: "1 message came meanwhile (above)"
                default: "\(missed) messages came meanwhile (above)"
                }
                addSystemLine("connection back after \(seconds) s; \(what)")
            }
        case .removed(let removed):
            let text = Self.removedText(by: removed.by.map { name($0, in: state) }, reason: removed.reason)
            overlay = .ended(text)
            announcements.append(text)
        case .roomEnded(let ended):
            let text = Self.roomEndedText(by: ended.by.map { name($0, in: state) }, reason: ended.reason, locked: ended.locked)
            overlay = .ended(text)
            announcements.append(text)
        case .disconnected(let reason):
            reconnectAt = nil
            connectionLost = nil
            switch reason {
            case .left: break
            case .removed, .roomEnded:
                if overlay == nil || !isEnded { overlay = .ended(Self.describe(reason)) }
            default:
                overlay = .ended(Self.describe(reason))
                announcements.append(Self.describe(reason))
            }
        default:
            return false
        }
        return true
    }

    var isEnded: Bool {
        if case .ended = overlay { return true }
        return false
    }

    /// `text` as a sentence: a full stop unless it already ends in one (or ! ?).
    static func sentence(_ text: String) -> String {
        guard let last = text.last, !".!?…".contains(last) else { return text }
        return text + "."
    }

    /// "Alice ended the room: Thanks, all! It is locked: nobody can join again."
    static func roomEndedText(by: String?, reason: String?, locked: Bool) -> String {
        let who = switch by {
        case "you": "You ended the room"
        case let name?: "\(name) ended the room"
        case nil: "The server ended the room"
        }
        let reason = reason.map { TextSanitizer.clean($0, lineBreaks: .singleLine) }.flatMap { $0.isEmpty ? nil : $0 }
        let first = sentence(who + (reason.map { ": \($0)" } ?? ""))
        return locked ? first + " It is locked: nobody can join again." : first
    }

    static func removedText(by: String?, reason: String?) -> String {
        let who = by.map { "\($0) removed you from the room" } ?? "You were removed from the room"
        let reason = reason.map { TextSanitizer.clean($0, lineBreaks: .singleLine) }.flatMap { $0.isEmpty ? nil : $0 }
        return sentence(who + (reason.map { ": \($0)" } ?? ""))
    }

    static func describe(_ reason: DisconnectReason) -> String {
        switch reason {
        case .left: "You left the room."
        case .removed(_, let reason): removedText(by: nil, reason: reason)
        case .roomEnded(_, let reason, let locked): roomEndedText(by: nil, reason: reason, locked: locked)
        case .replaced: "Another connection joined with your identity; this one was closed."
        case .gaveUp: "The connection was lost and could not be restored."
        case .failed(let error): "The session failed: \(error.message)"
        }
    }

    /// The questions put to us and not yet answered, oldest first.
    public func waitingPrompts(_ state: RoomState) -> [PendingPrompt] {
        state.pendingPrompts.filter { !dismissedPrompts.contains($0.id) }
    }

    func describe(_ prompt: PendingPrompt, in state: RoomState) -> String {
        switch prompt.question {
        case .roleChange(let role): "\(name(prompt.by, in: state)) asks you to become \(role)"
        case .unmute: "\(name(prompt.by, in: state)) asks you to unmute"
        }
    }

    /// A new question put to us is announced (a chat line, the bell, the
    /// message row while it waits); it takes keys only once the user turns
    /// to it with F2 or /answer. In screen-reader mode, where input is whole
    /// lines, the question is the open dialog and a line `a` or `d` answers it.
    @discardableResult
    mutating func showNextPrompt(_ state: RoomState) -> [MeetingCommand] {
        if case .prompt(let shown) = overlay, !state.pendingPrompts.contains(where: { $0.id == shown.id }) {
            overlay = nil
        }
        var commands: [MeetingCommand] = []
        promptDeadlines = promptDeadlines.filter { id, _ in state.pendingPrompts.contains { $0.id == id } }
        let lifetimeMs = state.room?.promptLifetimeMs ?? LifecycleDefaults.promptLifetimeMs
        for prompt in state.pendingPrompts where !announcedPrompts.contains(prompt.id) {
            announcedPrompts.insert(prompt.id)
            promptDeadlines[prompt.id] = now.addingTimeInterval(TimeInterval(lifetimeMs) / 1000)
            if screenReader {
                addSystemLine(describe(prompt, in: state) + ". Answer with a line a (accept) or d (decline).")
            } else {
                addSystemLine(describe(prompt, in: state) + " · \(Self.answerKeyName) or /answer to answer")
                commands.append(.bell)
            }
        }
        if screenReader, overlay == nil, let next = waitingPrompts(state).first {
            overlay = .prompt(next)
        }
        return commands
    }

    /// The user turned to the waiting question: its dialog opens.
    mutating func openPrompt(_ state: RoomState) {
        guard let next = waitingPrompts(state).first else {
            setNotice("no question is waiting for an answer")
            return
        }
        overlay = .prompt(next)
    }

    /// Whether `text` mentions our display name or id (as a whole word, any case).
    public func mentions(_ text: String, of state: RoomState) -> Bool {
        guard let you = state.you else { return false }
        let lowered = text.lowercased()
        for needle in Set([you.displayName.lowercased(), you.id.rawValue.lowercased()]) where needle.count >= 2 {
            var searchRange = lowered.startIndex..<lowered.endIndex
            while let found = lowered.range(of: needle, range: searchRange) {
                let before = found.lowerBound == lowered.startIndex ? nil : lowered[lowered.index(before: found.lowerBound)]
                let after = found.upperBound == lowered.endIndex ? nil : lowered[found.upperBound]
                let isBoundary = { (c: Character?) in c.map { !$0.isLetter && !$0.isNumber } ?? true }
                if isBoundary(before), isBoundary(after) { return true }
                searchRange = found.upperBound..<lowered.endIndex
            }
        }
        return false
    }
}
