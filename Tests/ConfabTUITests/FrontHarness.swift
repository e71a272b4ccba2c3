// The front loop driven in memory: keys in, whole screens out. Each front
// is the real FrontLoop over a MemoryBackend with a fixed clock, hosting the
// real screen; what the screen asks the session or the call client to do is
// recorded instead of sent.
import ConfabClient
import ConfabProtocol
import Foundation
import Synchronization
import Testing
@testable import ConfabTUI

/// Compares the whole screen with `expected`, row for row (ratatui's
/// `Buffer::with_lines`): every row, trailing spaces trimmed on both sides.
/// On a mismatch the report names each differing row and gives the screen
/// as a Swift literal.
func expectScreen(
    _ backend: MemoryBackend, _ expected: [String], sourceLocation: SourceLocation = #_sourceLocation
) {
    let actual = backend.screen.lines.map { String($0.reversed().drop { $0 == " " }.reversed()) }
    let wanted = expected.map { String($0.reversed().drop { $0 == " " }.reversed()) }
    guard actual != wanted else { return }
    var report = "the screen differs (\(actual.count) rows, \(wanted.count) expected):\n"
    for row in 0..<max(actual.count, wanted.count) {
        let have = row < actual.count ? actual[row] : "<none>"
        let want = row < wanted.count ? wanted[row] : "<none>"
        if have != want { report += "row \(row):\n  got  \(have.debugDescription)\n  want \(want.debugDescription)\n" }
    }
    report += "the screen as a literal:\n[\n" + actual.map { "    \($0.debugDescription)," }.joined(separator: "\n") + "\n]"
    Issue.record(Comment(rawValue: report), sourceLocation: sourceLocation)
}

/// What a screen's commands were, in order (the host runs them in tasks; here they are kept).
final class Recorded<Command: Sendable>: Sendable {
    private let items = Mutex<[Command]>([])
    func append(_ item: Command) { items.withLock { $0.append(item) } }
    var all: [Command] { items.withLock { $0 } }
    func take() -> [Command] { items.withLock { items in defer { items = [] }; return items } }
}

enum FrontClock {
    /// 2023-11-14 22:13:20 UTC, a minute after the fixtures' room started.
    static let now = Date(timeIntervalSince1970: 1_700_000_060)
    static let utc = TimeZone(identifier: "UTC") ?? .current
}

/// A terminal front in memory: the loop, its terminal and its screen.
class MemoryFront<Screen: FrontScreen> {
    let terminal: MemoryBackend
    let loop: FrontLoop<MemoryBackend, Screen>
    var now = FrontClock.now
    private(set) var outcome: Screen.Outcome?

    init(_ screen: Screen, size: Size) {
        terminal = MemoryBackend(size: size)
        loop = FrontLoop(terminal: terminal, screen: screen)
        loop.clock = { [unowned self] in now }
        loop.start()
    }

    var screen: Screen { loop.screen }

    /// Keys as curses hands them over, read in one go.
    func press(_ keys: Key...) {
        for key in keys { terminal.press(key) }
        step(.inputReady)
    }

    /// Characters typed, each a key.
    func type(_ text: String) {
        for character in text { terminal.press(.character(character)) }
        step(.inputReady)
    }

    /// Bytes as the terminal sends them (escape sequences).
    func send(_ text: String) {
        terminal.send(text)
        step(.inputReady)
    }

    func step(_ input: FrontInput<Screen.Message>) {
        if let done = loop.step(input) { outcome = done }
    }

    /// The input line's text (after the " › " prompt), trimmed at the end.
    func inputLine() -> String {
        let row = terminal.screen.lines[terminal.size.rows - 2]
        return String(row.dropFirst(3).reversed().drop { $0 == " " }.reversed())
    }

    /// The cursor's column within the input line's field.
    var inputCursor: Int? { terminal.cursor.map { $0.x - 3 } }
}

/// The meeting: `confab join`'s front.
final class MeetingFront: MemoryFront<MeetingScreen> {
    let store: RoomStore
    let commands: Recorded<MeetingCommand>

    init(_ state: RoomState = Fixtures.room(others: 5, chat: MeetingFront.chat), size: Size = Size(columns: 80, rows: 24),
         notices: [String] = []) {
        store = RoomStore(state: state)
        let commands = Recorded<MeetingCommand>()
        self.commands = commands
        let screen = MeetingScreen(
            model: MeetingModel(), state: state, notices: notices, now: FrontClock.now,
            view: MeetingView(timeZone: FrontClock.utc)
        ) { command, _ in commands.append(command) }
        super.init(screen, size: size)
    }

    /// An event through the real reducer, as the session's store would deliver it.
    func event(_ event: SessionEvent) {
        step(.message(.update(RoomUpdate(event: event, state: store.apply(event)))))
    }

    static let chat = [
        Fixtures.message(1, from: 0, text: "Good morning!"),
        Fixtures.message(2, from: 3, text: "こんにちは、みなさん"),
        Fixtures.message(3, from: 2, text: "psst", target: .peers([Fixtures.youID])),
        Fixtures.message(4, from: 4, text: "/me waves"),
    ]
}

/// `confab connect`'s front: the home screen, and the call screen in a call.
final class ConnectFront: MemoryFront<ConnectScreen> {
    let calls: CallStore
    let homeCommands: Recorded<HomeCommand>
    let posted: Recorded<ConnectMessage>

    init(_ state: CallState, size: Size = Size(columns: 80, rows: 24)) {
        calls = CallStore(state: state) { state, event in state.apply(event) }
        let homeCommands = Recorded<HomeCommand>()
        let posted = Recorded<ConnectMessage>()
        (self.homeCommands, self.posted) = (homeCommands, posted)
        let screen = ConnectScreen(
            calls: state, server: "127.0.0.1:7443", config: ClientConfig(), now: FrontClock.now, timeZone: FrontClock.utc,
            post: { posted.append($0) }, perform: { homeCommands.append($0) })
        super.init(screen, size: size)
    }

    /// A call event through the real reducer, as the call client's store would deliver it.
    func event(_ event: CallEvent) {
        step(.message(.calls(CallUpdate(event: event, state: calls.apply(event)))))
    }

    /// The call's room joined (as the call client reports it), with `room` as its state.
    @discardableResult
    func join(
        _ room: RoomState, commands: Recorded<MeetingCommand> = Recorded(), voice: VoiceChain? = nil, hasDevices: Bool = false
    ) -> RoomStore {
        let store = RoomStore(state: room)
        step(.message(.joined(JoinedRoom(store: store, voiceChain: voice, hasDevices: hasDevices) { command, _ in
            commands.append(command)
        })))
        return store
    }

    /// Hands the loop what the screen posted meanwhile (the call room's updates).
    func deliverPosted() {
        for message in posted.take() { step(.message(message)) }
    }
}

extension CallFixtures {
    /// Online with Bob (busy: no), Carol (busy) and Dave, and three recent calls.
    static func homeState() -> CallState {
        state(online: [bob, carol, dave], history: history)
    }

    /// In an answered call with Bob (in the room) while Carol still rings.
    static func inCall() -> CallState {
        var calls = state(online: [bob, carol])
        let answered = Timestamp(millisecondsSince1970: Int64(FrontClock.now.timeIntervalSince1970 * 1000) - 65_000)
        calls.apply(.placed(call(caller: me, invitees: [(bob, .accepted), (carol, .ringing)], answeredAt: answered)))
        calls.apply(.roomReady(CallRoom(call: "k1", room: "call-k1", token: "t")))
        calls.apply(.userEntered("bob"))
        return calls
    }
}
