// The home screen and the call screen as screens of the front loop.
//
//   key ─────────┐
//   CallUpdate ──┼─▶ HomeScreen ─▶ HomeModel ─▶ [HomeCommand] ─▶ bell, quit, or perform ─▶ host (CallClient)
//   tick ────────┘         └─▶ HomeView ─▶ Frame
//
//   key ─▶ CallScreen ─▶ /call NAME… ─▶ invite ─▶ host (CallClient)
//                    └─▶ the call room's MeetingScreen (leaving it is hanging up)
//                    └─▶ CallScreenView (MeetingView + call bar) ─▶ Frame
import ConfabClient
import ConfabProtocol
import Foundation

public final class HomeScreen: FrontScreen {
    public typealias Message = CallUpdate

    public enum Outcome: Hashable, Sendable {
        /// Go offline and end the program.
        case quit
    }

    public var model: HomeModel
    public private(set) var state: CallState
    let view: HomeView
    public private(set) var outcome: Outcome?
    /// Runs a command against the call client (in a task of its own).
    private let perform: (HomeCommand) -> Void
    private var requests = FrontRequests()

    public init(model: HomeModel, state: CallState, view: HomeView, now: Date, perform: @escaping (HomeCommand) -> Void) {
        self.model = model
        self.state = state
        self.view = view
        self.perform = perform
        self.model.now = now
        self.model.selected = state.onlineUsers.first?.user
        self.model.remember(state)
    }

    public func handle(_ input: TerminalInput, at time: Date) {
        guard case .key(let key) = input else { return }
        switch key {
        case .released: break
        case .control("c"): outcome = .quit
        default: run(model.handle(key, state: state, at: time))
        }
    }

    public func handle(_ update: CallUpdate, at time: Date) -> Bool {
        let previous = state
        state = update.state
        model.now = time
        run(model.apply(update, previous: previous))
        return true
    }

    public func tick(at time: Date) -> Bool {
        let (changed, commands) = model.tick(now: time, state: state)
        run(commands)
        return changed || !commands.isEmpty
    }

    public func render(into frame: inout Frame, at time: Date) {
        model.now = time
        view.render(model, state: state, into: &frame)
    }

    public func interrupted() { outcome = .quit }
    public func keyReleasesReported() {}

    public func takeRequests() -> FrontRequests { requests.take() }

    private func run(_ commands: [HomeCommand]) {
        for command in commands {
            switch command {
            case .bell: requests.bells += 1
            case .quit: outcome = .quit
            default: perform(command)
            }
        }
    }
}

/// The meeting screen of a call's room, with the call bar; `/call NAME…`
/// invites more people; leaving the room is hanging up.
public final class CallScreen: FrontScreen {
    public typealias Message = MeetingMessage

    public enum Outcome: Hashable, Sendable {
        case hangUp
    }

    public let room: MeetingScreen
    /// The call client's state, for the call bar and `/call`.
    public var calls: CallState
    let view: CallScreenView
    /// The second the call bar's clock showed last.
    private var shownSecond = -1
    private let invite: ([HomeCommand]) -> Void

    public init(room: MeetingScreen, calls: CallState, view: CallScreenView, invite: @escaping ([HomeCommand]) -> Void) {
        self.room = room
        self.calls = calls
        self.view = view
        self.invite = invite
    }

    public var outcome: Outcome? { room.outcome.map { _ in .hangUp } }

    public func handle(_ input: TerminalInput, at time: Date) {
        if case .key(let key) = input, key != .control("c"), let commands = room.model.callCommand(key, calls: calls) {
            invite(commands)
        } else {
            room.handle(input, at: time)
        }
    }

    public func handle(_ message: MeetingMessage, at time: Date) -> Bool { room.handle(message, at: time) }

    public func tick(at time: Date) -> Bool {
        var changed = room.tick(at: time)
        let second = Int(time.timeIntervalSince1970)
        // The call bar's clock runs from the answer, or, on a copy of the call
        // that carries none (the callee's, taken as it rang), from our join.
        if let call = calls.call, (call.answeredAt ?? room.state.you?.joinedAt) != nil, second != shownSecond {
            shownSecond = second
            changed = true
        }
        return changed
    }

    public func render(into frame: inout Frame, at time: Date) {
        room.model.now = time
        view.render(&room.model, room: room.state, calls: calls, now: time, into: &frame)
    }

    public func interrupted() { room.interrupted() }
    public func keyReleasesReported() { room.keyReleasesReported() }
    public func takeRequests() -> FrontRequests { room.takeRequests() }
}
