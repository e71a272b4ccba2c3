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
    case markRead
    case bell
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
    case actions(ActionMenu)
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
}

public struct MeetingModel: Sendable {
    public var focus: Focus = .tiles
    public var selected: PeerID?
    public var tilePage = 0
    /// Chat lines scrolled up from the bottom (0: following new messages).
    public var chatScroll = 0
    /// The last message seen before scrolling up; newer ones are "new" below a marker.
    public var readMarkerSeq: Int?
    public var editor = LineEditor()
    public var overlay: Overlay?
    public var systemLines: [SystemLine] = []
    /// A short message in the status bar (an error, a confirmation), with when it expires.
    public var notice: (text: String, isError: Bool, until: Date)?
    public var pushToTalk: PushToTalkMode = .toggle
    /// Whether Space is down (hold mode) or toggled on (toggle mode).
    public var talking = false
    public var keyMap = KeyMap.standard
    /// Input-line commands the front adds to the meeting's (the call
    /// screen's /call): listed in the help overlay and completed by Tab.
    public var extraCommands: [(name: String, usage: String, summary: String)] = []
    public var mentionBell = true
    public var screenReader = false
    /// When the next reconnection attempt starts.
    public var reconnectAt: Date?
    /// Names seen, so a line about a peer that has left can still name it.
    public var names: [PeerID: String] = [:]
    /// Plain lines for screen-reader mode, taken by the driver.
    public var announcements: [String] = []
    public var now = Date()
    /// Prompts already answered or dismissed, so the dialog does not come back.
    var dismissedPrompts: Set<PromptID> = []
    /// When the prompt dialog on screen opened (it opens by itself, whenever the question comes).
    var promptOpenedAt: Date?
    /// Keys typed into the input line this soon after a prompt opened were
    /// typing that went on, not answers (the home screen's ringing dialog has the same guard).
    public static let promptGuard: TimeInterval = 0.5
    /// Tiles that fit in the grid at the last render (for paging with arrows).
    public var tilesPerPage = 1
    public var tileColumns = 1
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
        systemLines.append(SystemLine(time: time, text: TextSanitizer.clean(text, lineBreaks: .singleLine), isError: error))
        if systemLines.count > Self.systemLineLimit { systemLines.removeFirst(systemLines.count - Self.systemLineLimit) }
        announcements.append(text)
    }

    mutating func setNotice(_ text: String, error: Bool = false) {
        notice = (text, error, now.addingTimeInterval(error ? 6 : 3))
        if error { announcements.append(text) }
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
        if let notice, notice.until <= now {
            self.notice = nil
            return true
        }
        return reconnectAt != nil
    }

    // MARK: - Room updates

    /// A new state from the store: system lines, dialogs, the mention bell.
    public mutating func apply(_ update: RoomUpdate, previous: RoomState) -> [MeetingCommand] {
        let state = update.state
        var commands: [MeetingCommand] = []
        switch update.event {
        case .joined(let joined, _):
            if joined.resumed { addSystemLine("reconnected") }
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
                if peer.isHandRaised { addSystemLine("\(who) raised \(peer.id == state.you?.id ? "your" : "a") hand") }
                else if screenReader { announcements.append("\(who) lowered the hand") }
            }
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
        case .promptAnswered(let answer):
            let verb = answer.accepted ? "accepted" : "declined"
            addSystemLine("\(name(answer.peer, in: state)) \(verb) your request")
        case .reconnecting(let attempt, let delayMs):
            reconnectAt = now.addingTimeInterval(Double(delayMs) / 1000)
            addSystemLine("connection lost; reconnecting (attempt \(attempt))", error: true)
        case .reconnected:
            reconnectAt = nil
        case .removed(let removed):
            let reason = removed.reason.map { ": \(TextSanitizer.clean($0, lineBreaks: .singleLine))" } ?? ""
            overlay = .ended("You were removed by \(name(removed.by, in: state))\(reason).")
            announcements.append("You were removed by \(name(removed.by, in: state))\(reason).")
        case .roomEnded(let ended):
            let reason = ended.reason.map { ": \(TextSanitizer.clean($0, lineBreaks: .singleLine))" } ?? ""
            overlay = .ended("The room was ended by \(name(ended.by, in: state))\(reason).")
            announcements.append("The room was ended by \(name(ended.by, in: state))\(reason).")
        case .disconnected(let reason):
            reconnectAt = nil
            switch reason {
            case .left: break
            case .removed, .roomEnded:
                if overlay == nil || !isEnded { overlay = .ended(Self.describe(reason)) }
            default:
                overlay = .ended(Self.describe(reason))
                announcements.append(Self.describe(reason))
            }
        case .failure(let error):
            setNotice(error.message, error: true)
        case .serverGoingAway(let notice):
            addSystemLine("the server is going away" + (notice.reason.map { ": \($0)" } ?? ""), error: true)
        case .mediaBound(nil, let problem?):
            // No audio (the server's media address is unusable or silent): say why, where it is seen.
            addSystemLine(problem, error: true)
        case .connectionStateChanged(let to, _):
            if case .connected = to { reconnectAt = nil }
        default:
            break
        }
        for peer in tilePeers(state) { names[peer.id] = peer.displayName }
        if let selected, state.peer(selected) == nil { self.selected = nil }
        showNextPrompt(state)
        if chatScroll == 0, overlay == nil, focus != .tiles || chatRows > 0, state.totalUnread > 0, readMarkerSeq == nil {
            commands.append(.markRead)
        }
        return commands
    }

    var isEnded: Bool {
        if case .ended = overlay { return true }
        return false
    }

    static func describe(_ reason: DisconnectReason) -> String {
        switch reason {
        case .left: "You left the room."
        case .removed(_, let reason): "You were removed" + (reason.map { ": \($0)" } ?? ".")
        case .roomEnded(_, let reason, _): "The room ended" + (reason.map { ": \($0)" } ?? ".")
        case .replaced: "Another connection joined with your identity; this one was closed."
        case .gaveUp: "The connection was lost and could not be restored."
        case .failed(let error): "The session failed: \(error.message)"
        }
    }

    /// Pending questions to us become a dialog, one at a time, when nothing else is open.
    mutating func showNextPrompt(_ state: RoomState) {
        if case .prompt(let shown) = overlay, !state.pendingPrompts.contains(where: { $0.id == shown.id }) {
            overlay = nil
        }
        guard overlay == nil, let next = state.pendingPrompts.first(where: { !dismissedPrompts.contains($0.id) }) else { return }
        overlay = .prompt(next)
        promptOpenedAt = now
        let question: String
        switch next.question {
        case .roleChange(let role): question = "asks you to become \(role)"
        case .unmute: question = "asks you to unmute"
        }
        announcements.append("\(name(next.by, in: state)) \(question). Answer with a (accept) or d (decline).")
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
