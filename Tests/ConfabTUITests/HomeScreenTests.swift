// The home screen of `confab connect`, its call dialogs and the call screen,
// rendered into memory; and the keys that place, answer and refuse calls.
import ConfabClient
import ConfabProtocol
import Foundation
import Testing
@testable import ConfabTUI

enum CallFixtures {
    static let now = Date(timeIntervalSince1970: 1_700_000_000)
    static let nowMs = Int64(1_700_000_000_000)
    static let me = OnlineUser(user: "me", name: "Me Myself")
    static let bob = OnlineUser(user: "bob", name: "Bob")
    static let carol = OnlineUser(user: "carol", name: "Carol", busy: true)
    static let dave = OnlineUser(user: "dave", name: "Dave")

    /// Online as `me` with `online` others, through the real reducer.
    static func state(online: [OnlineUser] = [], history: [CallRecord] = []) -> CallState {
        var state = CallState()
        state.apply(.connected(Connected(you: me, online: online)))
        if !history.isEmpty { state.apply(.historyLoaded(history)) }
        return state
    }

    static let history: [CallRecord] = [
        CallRecord(call: "c3", direction: .outgoing, peers: ["bob"], outcome: .answered,
                   startedAt: Timestamp(millisecondsSince1970: nowMs - 600_000), durationMs: 83_000),
        CallRecord(call: "c2", direction: .incoming, peers: ["carol", "dave"], outcome: .noResponse,
                   startedAt: Timestamp(millisecondsSince1970: nowMs - 3_600_000), durationMs: 0),
        CallRecord(call: "c1", direction: .outgoing, peers: ["dave"], outcome: .rejected,
                   startedAt: Timestamp(millisecondsSince1970: nowMs - 90_000_000), durationMs: 0),
    ]

    static func call(_ id: CallID = "k1", caller: OnlineUser, invitees: [(OnlineUser, CallParticipantState)],
                     answeredAt: Timestamp? = nil) -> CallInfo {
        CallInfo(
            id: id, caller: caller.user, group: invitees.count > 1, createdAt: Timestamp(millisecondsSince1970: nowMs),
            answeredAt: answeredAt,
            participants: [CallParticipant(user: caller.user, name: caller.name, state: .accepted)]
                + invitees.map { CallParticipant(user: $0.0.user, name: $0.0.name, state: $0.1, invitedBy: caller.user) })
    }
}

/// Renders the home screen into memory.
func homeScreen(_ state: CallState, model: HomeModel = HomeModel(), size: Size = Size(columns: 80, rows: 24)) -> MemoryBackend {
    let backend = MemoryBackend(size: size)
    var model = model
    model.now = CallFixtures.now
    let view = HomeView(server: "127.0.0.1:7443", timeZone: TimeZone(identifier: "UTC") ?? .current)
    Renderer(backend: backend).render { frame in view.render(model, state: state, into: &frame) }
    return backend
}

@Suite("home screen and call dialogs")
struct HomeScreenTests {
    @Test("empty: nobody online, no calls yet, online in the status bar", arguments: ScreenTests.sizes)
    func empty(size: Size) {
        let backend = homeScreen(CallFixtures.state(), size: size)
        let text = backend.text
        #expect(rowsAreAligned(backend.screen))
        #expect(text.contains("Online (0)"))
        #expect(text.contains("Nobody else is online"))
        #expect(text.contains("No calls yet"))
        #expect(text.contains("Me Myself (me)"))
        #expect(backend.screen.lines.last?.hasPrefix(" ● online │ ↑↓ select · c call") == true)
    }

    @Test("online people with busy marks and recent calls with direction, peers, outcome, duration and when",
          arguments: ScreenTests.sizes)
    func onlineAndHistory(size: Size) {
        let state = CallFixtures.state(online: [CallFixtures.bob, CallFixtures.carol, CallFixtures.dave], history: CallFixtures.history)
        var model = HomeModel()
        model.selected = "carol"
        let backend = homeScreen(state, model: model, size: size)
        let lines = backend.screen.lines
        #expect(rowsAreAligned(backend.screen))
        #expect(lines.contains { $0.contains("  Bob (bob)") }, "\(backend.text)")
        #expect(lines.contains { $0.contains("› Carol (carol)") && $0.contains("● busy") })
        #expect(lines.contains { $0.contains("↗ out") && $0.contains("Bob") && $0.contains("answered") && $0.contains("1:23") && $0.contains("22:03") })
        #expect(lines.contains { $0.contains("↙ in") && $0.contains("Carol, Dave") && $0.contains("missed") && $0.contains("21:13") })
        #expect(lines.contains { $0.contains("↗ out") && $0.contains("Dave") && $0.contains("declined") && $0.contains("Nov 13 21:13") }, "\(backend.text)")
    }

    @Test("a hostile display name never reaches the terminal raw: list, ringing dialog, calling panel, call bar", arguments: Fixtures.hostile)
    func hostileName(name: String) {
        let hostile = OnlineUser(user: "mallory", name: name)
        var state = CallFixtures.state(online: [hostile])
        state.apply(.invited(CallInvitation(call: CallFixtures.call(caller: hostile, invitees: [(CallFixtures.me, .ringing)]),
                                            from: "mallory", ringTimeoutMs: 30_000)))
        for size in ScreenTests.sizes {
            let backend = homeScreen(state, size: size)
            #expect(rowsAreAligned(backend.screen))
            for cell in backend.screen.cells {
                #expect(!cell.symbol.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || (0x202A...0x202E).contains($0.value) },
                        "a control character in a cell: \(cell.symbol.unicodeScalars.map { String($0.value, radix: 16) })")
            }
            #expect(backend.text.contains("is calling you"))
        }
        // The calling panel and the call bar too.
        var calling = CallFixtures.state(online: [hostile])
        calling.apply(.placed(CallFixtures.call(caller: CallFixtures.me, invitees: [(hostile, .ringing)])))
        let panel = homeScreen(calling)
        let room = Fixtures.room(others: 1)
        let screen = MemoryBackend(size: Size(columns: 80, rows: 24))
        var model = MeetingModel()
        Renderer(backend: screen).render { frame in
            CallScreenView().render(&model, room: room, calls: calling, now: CallFixtures.now, into: &frame)
        }
        for backend in [panel, screen] {
            #expect(rowsAreAligned(backend.screen))
            #expect(!backend.screen.cells.contains { cell in
                cell.symbol.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || (0x202A...0x202E).contains($0.value) }
            })
        }
    }

    @Test("the ringing dialog: who calls, 1:1 or group with who else is invited, accept and reject")
    func ringing() {
        var state = CallFixtures.state(online: [CallFixtures.bob, CallFixtures.dave])
        state.apply(.invited(CallInvitation(call: CallFixtures.call(caller: CallFixtures.bob, invitees: [(CallFixtures.me, .ringing)]),
                                            from: "bob", ringTimeoutMs: 30_000)))
        let one = homeScreen(state).text
        #expect(one.contains("☎ Incoming call"))
        #expect(one.contains("Bob is calling you"))
        #expect(one.contains("1:1 call"))
        #expect(one.contains("[a  accept]  [r  reject]"))

        var group = CallFixtures.state(online: [CallFixtures.bob, CallFixtures.dave])
        group.apply(.invited(CallInvitation(
            call: CallFixtures.call(caller: CallFixtures.bob, invitees: [(CallFixtures.me, .ringing), (CallFixtures.dave, .ringing)]),
            from: "bob", ringTimeoutMs: 30_000)))
        let text = homeScreen(group, size: Size(columns: 160, rows: 50)).text
        #expect(text.contains("Bob is calling you"))
        #expect(text.contains("Group call with Dave"))
        #expect(!text.contains("1:1 call"))
    }

    @Test("the calling panel shows each invitee's state and how to cancel")
    func callingPanel() {
        var state = CallFixtures.state(online: [CallFixtures.bob, CallFixtures.carol, CallFixtures.dave])
        let ella = OnlineUser(user: "ella", name: "Ella")
        let finn = OnlineUser(user: "finn", name: "Finn")
        let gus = OnlineUser(user: "gus", name: "Gus")
        state.apply(.placed(CallFixtures.call(caller: CallFixtures.me, invitees: [
            (CallFixtures.bob, .ringing), (CallFixtures.carol, .busy), (CallFixtures.dave, .rejected),
            (ella, .noResponse), (finn, .offline), (gus, .accepted),
        ])))
        let backend = homeScreen(state)
        let lines = backend.screen.lines
        #expect(rowsAreAligned(backend.screen))
        #expect(backend.text.contains("Calling (group)"))
        #expect(lines.contains { $0.contains("Bob    ringing…") })
        #expect(lines.contains { $0.contains("Carol  busy") })
        #expect(lines.contains { $0.contains("Dave   ✕ rejected") })
        #expect(lines.contains { $0.contains("Ella   no response") })
        #expect(lines.contains { $0.contains("Finn   offline") })
        #expect(lines.contains { $0.contains("Gus    ✓ accepted") })
        #expect(backend.text.contains("[x  cancel]"))
    }

    @Test("the compact call screen: the call bar with the time in the call and each invitee, over the call's room",
          arguments: ScreenTests.sizes)
    func callScreen(size: Size) {
        var calls = CallFixtures.state(online: [CallFixtures.bob, CallFixtures.carol])
        let answered = Timestamp(millisecondsSince1970: CallFixtures.nowMs - 65_000)
        calls.apply(.placed(CallFixtures.call(caller: CallFixtures.me, invitees: [(CallFixtures.bob, .accepted), (CallFixtures.carol, .ringing)], answeredAt: answered)))
        calls.apply(.roomReady(CallRoom(call: "k1", room: "call-k1", token: "t")))
        calls.apply(.userEntered("bob"))
        let room = Fixtures.room(others: 1)
        let backend = MemoryBackend(size: size)
        var model = MeetingModel()
        let view = CallScreenView(timeZone: TimeZone(identifier: "UTC") ?? .current)
        Renderer(backend: backend).render { frame in view.render(&model, room: room, calls: calls, now: CallFixtures.now, into: &frame) }
        let lines = backend.screen.lines
        #expect(rowsAreAligned(backend.screen))
        #expect(lines[0].hasPrefix(" ☎ Call  1:05 │ Bob ✓ in call · Carol ringing…"))
        #expect(lines[0].hasSuffix(" q hang up · /call NAME invites "))
        // Compact: the two tiles one above the other, as wide as the tiles' side, centred in its height.
        let youRow = lines.firstIndex { $0.contains("(you)") } ?? -1
        let otherRow = lines.firstIndex { $0.contains(Fixtures.names[0]) && !$0.contains("(you)") } ?? -1
        #expect(youRow > 1 && otherRow == youRow + TileWidget.height + 1, "\(backend.text)")
        let tilesWidth = size.columns - MeetingView.chatWidth(for: Rect(size: size)) - 2
        #expect(lines[youRow].hasPrefix(" ╭") && TextWidth.width(of: lines[youRow].prefix { $0 != "╮" }) == tilesWidth)
        // Rows 1 to h-3 are the tiles' side: as many empty rows above as below.
        let bottom = otherRow + TileWidget.height - 1
        #expect(abs((youRow - 1) - (size.rows - 4 - bottom)) <= 1, "centred:\n\(backend.text)")
        #expect(model.tileColumns == 1)
        #expect(lines.last?.contains("● connected") == true)
        // The status bar says who the call is with, not the room's internal name.
        #expect(lines.last?.hasPrefix(" ☎ Bob, Carol  Me Myself │") == true, "\(lines.last ?? "")")
        #expect(lines.last?.contains("standup") == false)
    }

    @Test("a call you reject shows in recent calls at once: the rejection reloads the history")
    func rejectReloadsHistory() {
        var ringing = CallFixtures.state(online: [CallFixtures.bob])
        ringing.apply(.invited(CallInvitation(call: CallFixtures.call(caller: CallFixtures.bob, invitees: [(CallFixtures.me, .ringing)]), from: "bob", ringTimeoutMs: 30_000)))
        var model = HomeModel()
        var after = ringing
        after.apply(.declined("k1"))
        #expect(model.apply(.declined("k1"), state: after, previous: ringing).contains(.loadHistory))
    }

    @Test("the callee's call bar counts the time too (its copy of the call has no answeredAt): from joining the room")
    func calleeTimer() {
        var calls = CallFixtures.state(online: [CallFixtures.bob])
        calls.apply(.answered(CallFixtures.call(caller: CallFixtures.bob, invitees: [(CallFixtures.me, .accepted)])))
        calls.apply(.roomReady(CallRoom(call: "k1", room: "call-k1", token: "t")))
        let room = Fixtures.room(others: 1)
        let backend = MemoryBackend(size: Size(columns: 80, rows: 24))
        var model = MeetingModel()
        let view = CallScreenView(timeZone: TimeZone(identifier: "UTC") ?? .current)
        Renderer(backend: backend).render { frame in
            view.render(&model, room: room, calls: calls, now: CallFixtures.now.addingTimeInterval(5), into: &frame)
        }
        let lines = backend.screen.lines
        #expect(lines[0].hasPrefix(" ☎ Call  0:05 │ Bob "), "\(lines[0])")
        #expect(lines.last?.hasPrefix(" ☎ Bob  Me Myself │") == true, "\(lines.last ?? "")")
    }
}

@Suite("home screen keys")
struct HomeModelTests {
    let state = CallFixtures.state(online: [CallFixtures.bob, CallFixtures.carol, CallFixtures.dave])

    @Test("c calls the selected person; arrows move the selection")
    func callSelected() {
        var model = HomeModel()
        model.selected = state.onlineUsers.first?.user
        #expect(model.handle(.character("c"), state: state) == [.call(["bob"])])
        _ = model.handle(.down, state: state)
        _ = model.handle(.down, state: state)
        #expect(model.selected == "dave")
        #expect(model.handle(.character("c"), state: state) == [.call(["dave"])])
        _ = model.handle(.up, state: state)
        #expect(model.handle(.enter, state: state) == [.call(["carol"])])
        // Nobody online: c says so instead of calling.
        var alone = HomeModel()
        #expect(alone.handle(.character("c"), state: CallFixtures.state()) == [])
        #expect(alone.notice?.isError == true)
    }

    @Test("/call with Tab completion rings by id or name; unknown names and yourself are refused")
    func callCommand() {
        var model = HomeModel()
        for key in "/call b" { _ = model.handle(.character(key), state: state) }
        #expect(model.inputFocused)
        _ = model.handle(.tab, state: state)
        #expect(model.editor.text == "/call bob ")
        for key in "Dave" { _ = model.handle(.character(key), state: state) }
        #expect(model.handle(.enter, state: state) == [.call(["bob", "dave"])])
        #expect(!model.inputFocused)
        #expect(model.runLine("/call zed", state: state) == [])
        #expect(model.notice?.text == "zed is not online")
        #expect(model.runLine("/call me", state: state) == [])
        #expect(model.runLine("/quit", state: state) == [.quit])
    }

    @Test("the home screen's input line has the meeting's readline keys: Ctrl-W kills a word, Ctrl-Y yanks it back")
    func readlineKeys() {
        var model = HomeModel()
        for key in "/call bob" { _ = model.handle(.character(key), state: state) }
        _ = model.handle(.control("w"), state: state)
        #expect(model.editor.text == "/call ")
        _ = model.handle(.control("y"), state: state)
        #expect(model.editor.text == "/call bob")
        _ = model.handle(.control("a"), state: state)
        _ = model.handle(.control("k"), state: state)
        #expect(model.editor.text == "")
    }

    @Test("the ringing dialog: a accepts, r rejects, other keys and keys in its first half second do nothing; it rings the bell")
    func ringingKeys() {
        var ringing = state
        var model = HomeModel()
        let invitation = CallInvitation(call: CallFixtures.call(caller: CallFixtures.bob, invitees: [(CallFixtures.me, .ringing)]), from: "bob", ringTimeoutMs: 30_000)
        let previous = ringing
        ringing.apply(.invited(invitation))
        #expect(model.apply(.invited(invitation), state: ringing, previous: previous).contains(.bell))
        #expect(model.announcements.last == "Bob is calling you. Answer with /accept or /reject.")
        // Keys typed as it appears (into the input line) do not answer it.
        #expect(model.handle(.character("a"), state: ringing) == [])
        model.now = model.now.addingTimeInterval(HomeModel.answerGuard)
        #expect(model.handle(.character("c"), state: ringing) == [])
        #expect(model.handle(.character("a"), state: ringing) == [.accept("k1")])
        #expect(model.handle(.character("r"), state: ringing) == [.reject("k1")])
        // It rings again while it rings, unless the bell is off.
        #expect(model.tick(now: model.now.addingTimeInterval(4), state: ringing).commands == [.bell])
        var quiet = HomeModel(ringBell: false)
        #expect(!quiet.apply(.invited(invitation), state: ringing, previous: previous).contains(.bell))
        #expect(quiet.tick(now: Date(), state: ringing).commands.isEmpty)
    }

    @Test("a call that rings while you type in the input line takes no keys: the line keeps them, whole, until F2")
    func ringingWhileTyping() {
        var ringing = state
        var model = HomeModel()
        for key in "/call a" { _ = model.handle(.character(key), state: state) }
        #expect(model.inputFocused)
        let invitation = CallInvitation(call: CallFixtures.call(caller: CallFixtures.bob, invitees: [(CallFixtures.me, .ringing)]), from: "bob", ringTimeoutMs: 30_000)
        let previous = ringing
        ringing.apply(.invited(invitation))
        _ = model.apply(.invited(invitation), state: ringing, previous: previous)
        #expect(homeScreen(ringing, model: model).text.contains("[F2 or Esc  answer]"))
        // Long after it appeared, typing goes on: no a, y or Enter answers it.
        model.now = model.now.addingTimeInterval(5)
        var commands: [HomeCommand] = []
        for key in "nd a day" { commands += model.handle(.character(key), state: ringing) }
        #expect(commands.isEmpty)
        #expect(model.editor.text == "/call and a day")
        // F2 turns to it; then a accepts.
        #expect(model.handle(.function(2), state: ringing).isEmpty)
        #expect(homeScreen(ringing, model: model).text.contains("[a  accept]"))
        #expect(model.handle(.character("a"), state: ringing) == [.accept("k1")])
    }

    @Test("the ringing dialog's answer guard counts to the key's own time, not to a stale frame's")
    func ringingGuardUsesTheKeysTime() {
        var ringing = state
        var model = HomeModel()
        let opened = Date()
        model.now = opened
        let invitation = CallInvitation(call: CallFixtures.call(caller: CallFixtures.bob, invitees: [(CallFixtures.me, .ringing)]), from: "bob", ringTimeoutMs: 30_000)
        let previous = ringing
        ringing.apply(.invited(invitation))
        _ = model.apply(.invited(invitation), state: ringing, previous: previous)
        // The front drew the dialog a moment later and then heard nothing (a
        // loaded machine: no tick came). A key typed as it appeared is still
        // not an answer…
        model.now = opened.addingTimeInterval(0.1)
        #expect(model.handle(.character("a"), state: ringing, at: opened.addingTimeInterval(0.2)) == [])
        // …but one read well after the guard is, though `now` was last set by the frame.
        model.now = opened.addingTimeInterval(0.1)
        #expect(model.handle(.character("a"), state: ringing, at: opened.addingTimeInterval(HomeModel.answerGuard + 0.3)) == [.accept("k1")])
    }

    @Test("x cancels a call that rings; cancelled, answered elsewhere and the end with its duration are shown")
    func outcomes() {
        var calling = state
        calling.apply(.placed(CallFixtures.call(caller: CallFixtures.me, invitees: [(CallFixtures.bob, .ringing)])))
        var model = HomeModel()
        #expect(model.handle(.character("x"), state: calling) == [.cancel])

        var ringing = state
        ringing.apply(.invited(CallInvitation(call: CallFixtures.call(caller: CallFixtures.bob, invitees: [(CallFixtures.me, .ringing)]), from: "bob", ringTimeoutMs: 30_000)))
        for (reason, text) in [(InvitationEndReason.cancelled, "Bob cancelled the call"), (.answeredElsewhere, "Answered on another device")] {
            var after = ringing
            after.apply(.invitationEnded(call: "k1", reason: reason))
            model.overlay = nil
            _ = model.apply(.invitationEnded(call: "k1", reason: reason), state: after, previous: ringing)
            #expect(model.overlay == .outcome(text))
            #expect(homeScreen(after, model: model).text.contains(text))
        }

        var inCall = state
        inCall.apply(.placed(CallFixtures.call(caller: CallFixtures.me, invitees: [(CallFixtures.bob, .accepted)])))
        let ended = CallEnded(call: "k1", reason: .hangup, durationMs: 83_400)
        var after = inCall
        after.apply(.ended(ended))
        #expect(model.apply(.ended(ended), state: after, previous: inCall).contains(.loadHistory))
        #expect(model.overlay == .outcome("Call ended · 1:23"))
        // Any key closes it.
        _ = model.handle(.character(" "), state: after)
        #expect(model.overlay == nil)

        // Unanswered: "Bob declined" when he did, and plain words for a mix.
        for (invitees, text) in [
            ([(CallFixtures.bob, CallParticipantState.rejected)], "Bob declined"),
            ([(CallFixtures.bob, .rejected), (CallFixtures.dave, .noResponse)], "No answer (Bob declined, Dave did not answer)"),
        ] {
            var ringingOut = state
            ringingOut.apply(.placed(CallFixtures.call(caller: CallFixtures.me, invitees: invitees)))
            let unanswered = CallEnded(call: "k1", reason: .unanswered, durationMs: 0)
            var over = ringingOut
            over.apply(.ended(unanswered))
            model.overlay = nil
            _ = model.apply(.ended(unanswered), state: over, previous: ringingOut)
            #expect(model.overlay == .outcome(text))
        }
    }
}

@Suite("call screen keys")
struct CallScreenKeyTests {
    @Test("q in a call asks to hang up; y leaves the room (which the app turns into a hang-up)")
    func hangUp() {
        let room = Fixtures.room(others: 1)
        var model = MeetingModel()
        #expect(model.handle(.character("q"), state: room) == [])
        var calls = CallFixtures.state(online: [CallFixtures.bob])
        calls.apply(.placed(CallFixtures.call(caller: CallFixtures.me, invitees: [(CallFixtures.bob, .accepted)])))
        let backend = MemoryBackend(size: Size(columns: 80, rows: 24))
        Renderer(backend: backend).render { frame in
            CallScreenView().render(&model, room: room, calls: calls, now: CallFixtures.now, into: &frame)
        }
        #expect(backend.text.contains("Hang up?"))
        #expect(backend.text.contains("[y  hang up]  [n  stay]"))
        #expect(!backend.text.contains("Leave the meeting?"))
        #expect(model.handle(.character("y"), state: room) == [.leave])
    }
}

@Suite("call settings")
struct CallSettingsTests {
    @Test("[calls] ringBell in config.toml turns the ringing bell off; it is on by default")
    func ringBell() throws {
        #expect(ClientConfig().ringBell)
        #expect(try ClientConfig.parse("[calls]\nringBell = false\n", path: "config.toml").ringBell == false)
        #expect(try ClientConfig.parse("[chat]\nmentionBell = false\n", path: "config.toml").ringBell)
    }
}

extension CallScreenKeyTests {
    @Test("/call NAME in the call's input line (Tab completes online names) invites more people; other lines stay the meeting's")
    func inviteMore() {
        let calls = CallFixtures.state(online: [CallFixtures.bob, CallFixtures.dave])
        var model = MeetingModel()
        model.focus = .input
        model.editor.setText("/call da")
        #expect(model.callCommand(.tab, calls: calls) == [])
        #expect(model.editor.text == "/call dave ")
        #expect(model.callCommand(.enter, calls: calls) == [.call(["dave"])])
        #expect(model.editor.isEmpty)
        #expect(model.notice?.text == "inviting Dave")
        model.editor.setText("/call nobody")
        #expect(model.callCommand(.enter, calls: calls) == [])
        #expect(model.notice?.text == "nobody is not online")
        model.editor.setText("/callout is not a command of ours")
        #expect(model.callCommand(.enter, calls: calls) == nil)
        model.editor.setText("hello")
        #expect(model.callCommand(.enter, calls: calls) == nil)
        #expect(model.callCommand(.tab, calls: calls) == nil)
        #expect(model.editor.text == "hello")
    }
}

extension HomeModelTests {
    @Test("disconnected for good: the reason is shown, and closing it quits")
    func disconnected() {
        var after = state
        after.apply(.disconnected(reason: "the server is shutting down"))
        var model = HomeModel()
        _ = model.apply(.disconnected(reason: "the server is shutting down"), state: after, previous: state)
        #expect(model.overlay == .outcome("Disconnected from the server: the server is shutting down"))
        #expect(homeScreen(after, model: model).text.contains("✕ offline"))
        #expect(model.handle(.enter, state: after) == [.quit])
    }
}

extension CallScreenKeyTests {
    @Test("the call screen's help lists /call and Tab completes /ca to /call; a meeting's does neither")
    func callInHelpAndCompletion() {
        let room = Fixtures.room(others: 1)
        var calls = CallFixtures.state(online: [CallFixtures.bob])
        calls.apply(.placed(CallFixtures.call(caller: CallFixtures.me, invitees: [(CallFixtures.bob, .accepted)])))
        func helpText(_ model: MeetingModel) -> String {
            var model = model
            model.overlay = .help
            let backend = MemoryBackend(size: Size(columns: 140, rows: 60))
            Renderer(backend: backend).render { frame in
                CallScreenView().render(&model, room: room, calls: calls, now: CallFixtures.now, into: &frame)
            }
            return backend.text
        }
        let callModel = MeetingModel.callScreen()
        #expect(helpText(callModel).contains("/call NAME [NAME…]"))
        #expect(helpText(callModel).contains("invite more people into the call"))
        #expect(!helpText(MeetingModel()).contains("invite more people into the call"))

        var model = MeetingModel.callScreen()
        model.focus = .input
        model.editor.setText("/ca")
        #expect(model.callCommand(.tab, calls: calls) == nil, "not after /call yet: the meeting completes it")
        #expect(model.handle(.tab, state: room) == [])
        #expect(model.editor.text == "/call ")
        var meeting = MeetingModel()
        meeting.focus = .input
        meeting.editor.setText("/ca")
        _ = meeting.handle(.tab, state: room)
        #expect(meeting.editor.text == "/ca")
    }
}

extension HomeModelTests {
    @Test("in a call on another device: the status bar says so, it is not this device's call, and calling is refused here")
    func inCallElsewhere() {
        var state = CallState()
        let call = CallFixtures.call(caller: CallFixtures.me, invitees: [(CallFixtures.bob, .accepted)])
        var me = CallFixtures.me
        me.busy = true
        state.apply(.connected(Connected(you: me, online: [CallFixtures.bob, CallFixtures.dave], elsewhere: [call])))
        #expect(state.call == nil && state.inCallElsewhere)
        #expect(state.elsewhere.map(\.id) == ["k1"])
        var model = HomeModel()
        model.now = CallFixtures.now
        _ = model.apply(.connected(Connected(you: me, online: [])), state: state, previous: CallState())
        let text = homeScreen(state, model: model, size: Size(columns: 120, rows: 30)).text
        #expect(text.contains("in a call on another device"))
        #expect(!text.contains("Calling"), "no calling panel for a call this device is not in")
        model.selected = "dave"
        #expect(model.handle(.character("c"), state: state) == [])
        #expect(model.notice?.text == HomeModel.elsewhereRefusal)
        #expect(model.runLine("/call dave", state: state) == [])
        // The call is over on the other device: free here too.
        var after = state
        me.busy = false
        after.apply(.userUpdated(me))
        #expect(!after.inCallElsewhere && after.elsewhere.isEmpty)
        model.notice = nil
        #expect(!homeScreen(after, model: model, size: Size(columns: 120, rows: 30)).text.contains("another device"))
        #expect(model.runLine("/call dave", state: after) == [.call(["dave"])])
    }

    @Test("answered on another device while this one rang: in a call elsewhere until that call is over")
    func answeredElsewhereMarks() {
        var state = CallFixtures.state(online: [CallFixtures.bob])
        let ringing = CallFixtures.call(caller: CallFixtures.bob, invitees: [(CallFixtures.me, .ringing)])
        state.apply(.invited(CallInvitation(call: ringing, from: "bob", ringTimeoutMs: 30_000)))
        state.apply(.invitationEnded(call: "k1", reason: .answeredElsewhere))
        #expect(state.invitations.isEmpty && state.call == nil)
        #expect(state.inCallElsewhere)
        state.apply(.userUpdated(CallFixtures.me))
        #expect(!state.inCallElsewhere)
    }

    @Test("a hang-up the server did not confirm still ends the call here, with an outcome")
    func hungUpLocally() {
        var inCall = CallFixtures.state(online: [CallFixtures.bob])
        inCall.apply(.placed(CallFixtures.call(caller: CallFixtures.me, invitees: [(CallFixtures.bob, .accepted)])))
        inCall.apply(.roomReady(CallRoom(call: "k1", room: "call-k1", token: "t")))
        var after = inCall
        after.apply(.hungUp("k1"))
        #expect(after.call == nil && after.room == nil && !after.inCallElsewhere)
        var model = HomeModel()
        #expect(model.apply(.hungUp("k1"), state: after, previous: inCall).contains(.loadHistory))
        #expect(model.overlay == .outcome("You hung up"))
    }
}
