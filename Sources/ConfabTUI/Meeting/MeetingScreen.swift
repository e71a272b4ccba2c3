// The meeting as a screen of the front loop: keys and room updates go to
// MeetingModel, its commands to the host (which runs them against the
// session without waiting), and MeetingView draws it. The call screen is
// this screen in a call's room.
//
//   key / focus lost ─┐
//   RoomUpdate ───────┼─▶ MeetingModel ─▶ [MeetingCommand] ─▶ bell, done (leave, exit), or perform ─▶ host
//   command result ───┘         └─▶ MeetingView / CallScreenView ─▶ Frame
import ConfabClient
import ConfabProtocol
import Foundation

/// What the meeting screen hears besides keys.
public enum MeetingMessage: Sendable {
    case update(RoomUpdate)
    case commandFailed(String)
    /// A command's answer, for the message row (`/audio`'s report).
    case notice(String, error: Bool = false)
    /// A command's answer, as lines in the chat pane (`/device`'s list).
    case lines([String])
    /// The processing now, after something other than a key changed it (a device switched to has settings of its own).
    case voiceChain(VoiceChain?)
}

public final class MeetingScreen: FrontScreen {
    public typealias Message = MeetingMessage

    public enum Outcome: Hashable, Sendable {
        /// Leave the room (the user asked, or a signal came).
        case leave
        /// The session is already over: just end.
        case exit
    }

    public var model: MeetingModel
    public private(set) var state: RoomState
    let view: MeetingView
    public private(set) var outcome: Outcome?
    /// How the session ended, when an update said so.
    public private(set) var disconnectReason: DisconnectReason?
    /// Runs a command against the session (in a task of its own).
    private let perform: (MeetingCommand, RoomState) -> Void
    private var requests = FrontRequests()

    /// `notices` (such as "no sound card") start the chat pane as system lines.
    public init(
        model: MeetingModel, state: RoomState, notices: [String] = [], now: Date, view: MeetingView = MeetingView(),
        perform: @escaping (MeetingCommand, RoomState) -> Void
    ) {
        self.model = model
        self.state = state
        self.view = view
        self.perform = perform
        self.model.now = now
        for notice in notices { self.model.addSystemLine(notice) }
        for peer in self.model.tilePeers(state) { self.model.names[peer.id] = peer.displayName }
        self.model.showNextPrompt(state)
    }

    public func handle(_ input: TerminalInput, at time: Date) {
        switch input {
        case .focusLost: run(model.focusLost())
        // With the kitty protocol on, Ctrl-C arrives as a key, not as SIGINT.
        case .key(.control("c")): outcome = .leave
        case .key(let key): run(model.handle(key, state: state, at: time))
        case .keyboardFlags: break
        }
    }

    public func handle(_ message: MeetingMessage, at time: Date) -> Bool {
        model.now = time
        switch message {
        case .update(let update):
            let previous = state
            state = update.state
            let commands = model.apply(update, previous: previous)
            if case .disconnected(let why) = update.event { disconnectReason = why }
            run(commands)
            // Levels come 20 times a second even in a silent room: the same
            // levels again are not worth a frame.
            if case .mediaLevels = update.event, commands.isEmpty, state == previous { return false }
        case .commandFailed(let text):
            model.setNotice(text, error: true)
        case .notice(let text, let error):
            model.setNotice(text, error: error)
        case .lines(let lines):
            for line in lines { model.addSystemLine(line) }
        case .voiceChain(let chain):
            model.offerVoice(chain)
        }
        return true
    }

    public func tick(at time: Date) -> Bool { model.tick(now: time) }

    public func render(into frame: inout Frame, at time: Date) {
        model.now = time
        view.render(&model, state: state, into: &frame)
    }

    public func interrupted() { outcome = .leave }
    public func keyReleasesReported() { model.pushToTalk = .hold }

    public func takeRequests() -> FrontRequests { requests.take() }

    private func run(_ commands: [MeetingCommand]) {
        for command in commands {
            switch command {
            case .leave: outcome = .leave
            case .exit: outcome = outcome ?? .exit
            case .bell: requests.bells += 1
            default: perform(command, state)
            }
        }
    }
}
