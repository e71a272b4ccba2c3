// The home screen of `confab connect` (who is online, recent calls) and the
// call dialogs over it: the model and its update function, as MeetingModel
// is for the meeting screen.
//
//   key ─────────┐
//   CallUpdate ──┼─▶ HomeModel ─▶ [HomeCommand] ─▶ CallApp ─▶ CallClient
//   tick(now) ───┘       │
//                        └─▶ HomeView.render(model, CallState) ─▶ Buffer
//
// CallState stays the store's: the ringing dialog shows while an invitation
// rings, the calling panel while your call has no room yet. The model holds
// only what the screen adds (selection, input line, notices, dialogs).
import ConfabClient
import ConfabProtocol
import Foundation

/// What the home screen asks the call client (or the program) to do.
public enum HomeCommand: Hashable, Sendable {
    case call([PeerID])
    case accept(CallID)
    case reject(CallID)
    case cancel
    case hangup
    case loadHistory
    case bell
    /// Go offline and end the program.
    case quit
}

/// Something drawn over the home screen that the store does not imply.
public enum HomeOverlay: Hashable, Sendable {
    case help
    case confirmQuit
    /// How a call or an invitation ended: any key closes.
    case outcome(String)
}

public struct HomeModel: InputLineModel, Sendable {
    public var selected: PeerID?
    public var inputFocused = false
    /// The input line (its editor, and the notice shown in the status bar).
    public var input = InputLine()
    public var overlay: HomeOverlay?
    /// Ring the terminal's bell while an invitation rings (`[calls] ringBell` in config.toml).
    public var ringBell = true
    /// Plain lines for screen-reader mode, taken by the driver.
    public var announcements: [String] = []
    public var now = Date()
    /// Names seen, so a line about someone who went offline can still name them.
    public var names: [PeerID: String] = [:]
    var lastRing: Date?
    /// When the ringing dialog appeared: keys typed just before it (into the
    /// input line) must not answer it.
    var ringingSince: Date?

    public static let ringInterval: TimeInterval = 3
    /// Keys this soon after an invitation appears are ignored.
    public static let answerGuard: TimeInterval = 0.5
    /// Whether the ringing dialog takes keys. A call that comes while you
    /// type in the input line leaves your keys to the line (an `a` in a word
    /// would accept, and open your mic in the call) until you turn to it
    /// with F2 or leave the line with Esc.
    public var ringingTakesKeys = true

    public static let slashCommands: [SlashCommand] = [
        ("/call", "/call NAME [NAME…]", "ring people (several: a group call)"),
        ("/help", "/help", "every key and command"),
        ("/quit", "/quit", "go offline and quit"),
    ]

    /// Why calling from this device does nothing while you are in a call on another.
    public static let elsewhereRefusal = "you are in a call on another device: hang up there first"

    public init(ringBell: Bool = true) {
        self.ringBell = ringBell
    }

    // MARK: - Names

    /// A user's display name: online, in a call, or seen before; else the id.
    public func name(_ user: PeerID, in state: CallState) -> String {
        Self.knownName(user, in: state) ?? names[user] ?? user.rawValue
    }

    /// The name `state` knows for `user` ("you" for yourself), if any.
    static func knownName(_ user: PeerID, in state: CallState) -> String? {
        if user == state.you?.user { return "you" }
        if let online = state.online[user] { return online.name }
        if let entry = state.call?.participant(user) { return entry.name }
        for invitation in state.invitations {
            if let entry = invitation.call.participant(user) { return entry.name }
        }
        return nil
    }

    func names(_ users: [PeerID], in state: CallState) -> String {
        let all = users.map { name($0, in: state) }
        guard all.count > 1, let last = all.last else { return all.first ?? "nobody" }
        return all.dropLast().joined(separator: ", ") + " and " + last
    }

    mutating func remember(_ state: CallState) {
        for user in state.online.values { names[user.user] = user.name }
        for entry in state.call?.participants ?? [] { names[entry.user] = entry.name }
        for invitation in state.invitations {
            for entry in invitation.call.participants { names[entry.user] = entry.name }
        }
    }

    /// Who is selectable, in the order the list shows them.
    public func people(_ state: CallState) -> [OnlineUser] { state.onlineUsers }

    /// The call you placed that has no room yet (nobody accepted): the calling panel.
    public func calling(_ state: CallState) -> CallInfo? {
        guard let call = state.call, state.room == nil, call.caller == state.you?.user else { return nil }
        return call
    }

    // MARK: - Ticks

    /// Time passed: notices expire, a ringing invitation rings again.
    /// Returns whether anything visible changed, and any bell.
    public mutating func tick(now: Date, state: CallState) -> (changed: Bool, commands: [HomeCommand]) {
        self.now = now
        let changed = input.expireNotice(now: now)
        var commands: [HomeCommand] = []
        if ringBell, !state.invitations.isEmpty, state.call == nil,
            lastRing.map({ now.timeIntervalSince($0) >= Self.ringInterval }) ?? true
        {
            lastRing = now
            commands.append(.bell)
        }
        return (changed, commands)
    }

    // MARK: - Call updates

    /// A new state from the call store: dialogs, outcomes, bells, plain lines.
    public mutating func apply(_ update: CallUpdate, previous: CallState) -> [HomeCommand] {
        apply(update.event, state: update.state, previous: previous)
    }

    /// `event` turned `previous` into `state`.
    public mutating func apply(_ event: CallEvent, state: CallState, previous: CallState) -> [HomeCommand] {
        var commands: [HomeCommand] = []
        remember(previous)
        switch event {
        case .connected(let connected):
            announcements.append("online as \(connected.you.name); \(connected.online.count) other(s) online")
            commands.append(.loadHistory)
        case .userOnline(let user):
            announcements.append("\(user.name) is online")
        case .userOffline(let user):
            announcements.append("\(name(user, in: previous)) went offline")
        case .userUpdated(let user) where user.user != state.you?.user:
            if previous.online[user.user]?.busy != user.busy {
                announcements.append("\(user.name) is \(user.busy ? "in a call" : "free")")
            }
        case .invited(let invitation):
            commands += ring(invitation, state: state, previous: previous)
        case .invitationEnded(let call, let reason):
            let from = previous.invitations.first { $0.call.id == call }.map { name($0.from, in: previous) } ?? "the caller"
            commands += showOutcome(Self.invitationEndedText(reason, from: from))
        case .declined:
            // The call you just rejected belongs in recent calls at once, not after `r`.
            commands.append(.loadHistory)
        case .placed(let info):
            let invitees = info.participants.filter { $0.user != state.you?.user && $0.state == .ringing }.map(\.user)
            if !invitees.isEmpty { announcements.append("calling \(names(invitees, in: state))") }
        case .participantChanged(let info, let user, let participantState):
            guard info.id == state.call?.id, user != state.you?.user else { break }
            announcements.append("\(name(user, in: state)): \(Self.describe(participantState))")
        case .answered:
            announcements.append("you answered")
        case .hungUp(let call) where previous.call?.id == call:
            // The server had not confirmed it yet; the call is over here all the same.
            commands += showOutcome("You hung up")
        case .ended(let ended) where previous.call?.id == ended.call:
            commands += showOutcome(Self.endedText(ended, previous: previous))
        case .reconnecting(let attempt):
            setNotice("connection lost; reconnecting (attempt \(attempt))", error: true)
        case .disconnected(let reason):
            _ = showOutcome("Disconnected from the server" + (reason.map { ": \($0)" } ?? ""))
        case .failure(let error):
            setNotice(error.messageWithWait, error: true)
        default:
            break
        }
        remember(state)
        if let selected, state.online[selected] == nil { self.selected = nil }
        if selected == nil { selected = state.onlineUsers.first?.user }
        return commands
    }

    /// An invitation: a plain line, the ringing dialog (taking keys unless
    /// you were typing), the bell.
    private mutating func ring(_ invitation: CallInvitation, state: CallState, previous: CallState) -> [HomeCommand] {
        let others = invitation.call.participants.map(\.user).filter {
            $0 != invitation.from && $0 != state.you?.user
        }
        var text = "\(name(invitation.from, in: state)) is calling you"
        if !others.isEmpty { text += " (group call with \(names(others, in: state)))" }
        announcements.append(text + ". Answer with /accept or /reject.")
        if overlay == .confirmQuit || overlay == .help { overlay = nil }
        if previous.invitations.isEmpty {
            ringingSince = now
            ringingTakesKeys = !inputFocused
        }
        guard ringBell, state.call == nil else { return [] }
        lastRing = now
        return [.bell]
    }

    /// How a call or an invitation ended, as a dialog and a plain line; the history then changed.
    private mutating func showOutcome(_ text: String) -> [HomeCommand] {
        overlay = .outcome(text)
        announcements.append(text)
        return [.loadHistory]
    }

    static func invitationEndedText(_ reason: InvitationEndReason, from: String) -> String {
        switch reason {
        case .cancelled: "\(from) cancelled the call"
        case .answeredElsewhere: "Answered on another device"
        case .rejectedElsewhere: "Rejected on another device"
        case .noResponse: "Missed call from \(from)"
        case .callEnded: "The call from \(from) ended before you answered"
        }
    }

    /// "Call ended · 1:23", "Bob declined", "No answer (Bob declined, Carol did not answer)".
    static func endedText(_ ended: CallEnded, previous: CallState) -> String {
        switch ended.reason {
        case .hangup: return "Call ended · \(duration(ms: ended.durationMs))"
        case .cancelled: return "Call cancelled"
        case .shutdown: return "Call ended: the server is shutting down · \(duration(ms: ended.durationMs))"
        case .unanswered:
            let tried = previous.call?.participants.filter { $0.user != previous.you?.user } ?? []
            if !tried.isEmpty, tried.allSatisfy({ $0.state == .rejected }) {
                return tried.map(\.name).joined(separator: ", ") + " declined"
            }
            let why = tried.map { "\($0.name) \(outcome(of: $0.state))" }.joined(separator: ", ")
            return "No answer" + (why.isEmpty ? "" : " (\(why))")
        }
    }

    /// An invitee's state, in words.
    /// What an invitee did, as the end of a sentence: "Bob declined".
    static func outcome(of state: CallParticipantState) -> String {
        switch state {
        case .ringing, .noResponse: "did not answer"
        case .accepted: "answered"
        case .rejected: "declined"
        case .busy: "was busy"
        case .offline: "was offline"
        case .cancelled: "was not called after all"
        case .left: "left"
        }
    }

    public static func describe(_ state: CallParticipantState) -> String {
        switch state {
        case .ringing: "ringing"
        case .accepted: "accepted"
        case .rejected: "rejected"
        case .noResponse: "no response"
        case .busy: "busy"
        case .offline: "offline"
        case .cancelled: "cancelled"
        case .left: "left"
        }
    }

    /// A duration as m:ss, or h:mm:ss from an hour.
    public static func duration(ms: Int) -> String {
        let seconds = max(0, ms) / 1000
        if seconds >= 3600 {
            return String(format: "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        }
        return String(format: "%d:%02d", seconds / 60, seconds % 60)
    }

    // MARK: - Keys

    /// A key read at `time` (now, as the front reads it). The ringing
    /// dialog's answer guard measures from the dialog's opening to the key,
    /// so the key's own time counts, never the time of the last frame or tick
    /// (on a loaded machine those lag by far more than the guard).
    public mutating func handle(_ key: Key, state: CallState, at time: Date) -> [HomeCommand] {
        now = time
        return handle(key, state: state)
    }

    /// A key on the home screen (or its dialogs), at the model's `now`.
    public mutating func handle(_ key: Key, state: CallState) -> [HomeCommand] {
        if key == .resize || key == .control("l") { return [] }
        if let overlay {
            switch overlay {
            case .help, .outcome:
                self.overlay = nil
                // Offline for good: closing the notice ends the program.
                if case .disconnected = state.connection, case .outcome = overlay { return [.quit] }
                return []
            case .confirmQuit:
                self.overlay = nil
                switch key {
                case .character("y"), .character("Y"), .enter, .character("q"): return [.quit]
                default: return []
                }
            }
        }
        // The ringing dialog takes its keys first, unless it came while you typed.
        if state.call == nil, !state.invitations.isEmpty, !ringingTakesKeys {
            if key == MeetingModel.answerKey || (key == .escape && inputFocused) {
                ringingTakesKeys = true
                if key == .escape { inputFocused = false }
                return []
            }
            return inputFocused ? handleInput(key, state: state) : []
        }
        if state.call == nil, let invitation = state.invitations.first {
            if let ringingSince, now.timeIntervalSince(ringingSince) < Self.answerGuard { return [] }
            switch key {
            case .character("a"), .character("y"), .enter: return [.accept(invitation.call.id)]
            case .character("r"), .character("d"), .character("n"), .escape: return [.reject(invitation.call.id)]
            default: return []
            }
        }
        if calling(state) != nil {
            switch key {
            case .character("x"), .escape, .character("c"):
                announcements.append("cancelling the call")
                return [.cancel]
            default:
                if !inputFocused { return [] }
            }
        }
        if inputFocused { return handleInput(key, state: state) }
        let people = people(state)
        let index = selected.flatMap { user in people.firstIndex { $0.user == user } }
        switch key {
        case .up, .character("k"):
            if let index, index > 0 { selected = people[index - 1].user } else { selected = people.first?.user }
        case .down, .character("j"):
            if let index { selected = people[min(people.count - 1, index + 1)].user } else { selected = people.first?.user }
        case .home: selected = people.first?.user
        case .end: selected = people.last?.user
        case .character("c"), .enter:
            if state.inCallElsewhere {
                setNotice(Self.elsewhereRefusal, error: true)
                return []
            }
            guard let selected, let user = state.online[selected] else {
                setNotice("nobody is selected: nobody else is online", error: true)
                return []
            }
            if user.busy { setNotice("\(user.name) is in a call; ringing anyway") }
            return [.call([selected])]
        case .character("/"):
            inputFocused = true
            editor.insert("/")
        case .character("i"), .tab:
            inputFocused = true
        case .character("?"): overlay = .help
        case .character("q"): overlay = .confirmQuit
        case .character("r"): return [.loadHistory]
        default: break
        }
        return []
    }

    mutating func handleInput(_ key: Key, state: CallState) -> [HomeCommand] {
        switch input.handle(key) {
        case .complete: complete(state: state)
        case .left: inputFocused = false
        case .submitted(let line):
            inputFocused = false
            return runLine(line, state: state)
        case .edited, .blank, .unhandled: break
        }
        return []
    }

    /// Runs a submitted input line: `/call NAME…`, `/help`, `/quit`.
    public mutating func runLine(_ line: String, state: CallState) -> [HomeCommand] {
        var words = line.split(separator: " ").map(String.init)
        let command = words.isEmpty ? "" : words.removeFirst().lowercased()
        switch command {
        case "/call":
            switch Self.callees(words, state: state) {
            case .success(let users): return [.call(users)]
            case .failure(let refusal): setNotice(refusal.text, error: true)
            }
        case "/help":
            overlay = .help
        case "/quit":
            return [.quit]
        case "":
            break
        default:
            setNotice(InputLine.unknownCommand(command), error: true)
        }
        return []
    }

    /// An online user by id or display name (any case), or a unique prefix of either.
    public static func resolve(_ word: String, in state: CallState) -> PeerID? {
        let lowered = word.lowercased()
        let users = state.onlineUsers
        if let exact = users.first(where: { $0.user.rawValue.lowercased() == lowered || $0.name.lowercased() == lowered }) {
            return exact.user
        }
        let prefixed = users.filter { $0.user.rawValue.lowercased().hasPrefix(lowered) || $0.name.lowercased().hasPrefix(lowered) }
        return prefixed.count == 1 ? prefixed[0].user : nil
    }

    /// Tab: a command at the start of the line, else an online user's id.
    mutating func complete(state: CallState) {
        if let candidates = Self.complete(&input, state: state) { setNotice(candidates) }
    }

    /// A line's refusal, in words for the notice.
    struct Refusal: Error, Hashable {
        var text: String
    }

    /// Whom `/call WORD…` rings: ids or names of people online, each once;
    /// or why not (nobody named, someone not online, yourself, a call elsewhere).
    static func callees(_ words: [String], state: CallState) -> Result<[PeerID], Refusal> {
        guard !words.isEmpty else { return .failure(Refusal(text: "usage: /call NAME [NAME…]")) }
        if state.inCallElsewhere { return .failure(Refusal(text: elsewhereRefusal)) }
        var users: [PeerID] = []
        for word in words {
            guard let user = resolve(word, in: state) else {
                return .failure(Refusal(text: "\(TextSanitizer.clean(word, lineBreaks: .singleLine)) is not online"))
            }
            if user == state.you?.user { return .failure(Refusal(text: "you cannot call yourself")) }
            if !users.contains(user) { users.append(user) }
        }
        return .success(users)
    }

    /// Tab: completes the word before the cursor (a slash command at the
    /// start, else an online person's id). Returns the candidates, as a
    /// notice, when more than one remains.
    static func complete(_ input: inout InputLine, state: CallState) -> String? {
        let (word, start) = input.editor.wordBeforeCursor
        let lowered = word.lowercased()
        let candidates: [String]
        if start == 0, word.hasPrefix("/") {
            candidates = slashCommands.map(\.name).filter { $0.hasPrefix(lowered) }
        } else {
            candidates = state.onlineUsers.filter {
                $0.user.rawValue.lowercased().hasPrefix(lowered) || $0.name.lowercased().hasPrefix(lowered)
            }.map(\.user.rawValue)
        }
        return input.complete(from: start, word: word, candidates: candidates)?.joined(separator: "  ")
    }
}
