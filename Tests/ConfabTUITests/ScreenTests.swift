import ConfabClient
import ConfabProtocol
import Foundation
import Testing
@testable import ConfabTUI

/// Renders the meeting screen into memory.
func screen(_ state: RoomState, size: Size, model: MeetingModel = MeetingModel(), theme: String = "default") -> (MemoryBackend, MeetingModel) {
    let backend = MemoryBackend(size: size)
    let renderer = Renderer(backend: backend)
    var model = model
    let view = MeetingView(timeZone: TimeZone(identifier: "UTC") ?? .current)
    renderer.render { frame in view.render(&model, state: state, into: &frame) }
    return (backend, model)
}

/// Every row adds up to the screen's width in columns: nothing wide or
/// unmeasured pushed the layout out of line.
func rowsAreAligned(_ buffer: Buffer) -> Bool {
    buffer.lines.allSatisfy { TextWidth.width(of: $0) == buffer.area.width }
}

@Suite("meeting screen")
struct ScreenTests {
    static let sizes = [Size(columns: 80, rows: 24), Size(columns: 160, rows: 50)]

    @Test("1, 6 and 40 participants at 80×24 and 160×50 stay aligned and show names, badges and the status",
          arguments: [1, 6, 40], sizes)
    func grid(count: Int, size: Size) {
        let state = Fixtures.room(others: count - 1, chat: (1...30).map { Fixtures.message($0, from: $0 % 3, text: "message number \($0)") })
        let (backend, model) = screen(state, size: size)
        let text = backend.text
        #expect(rowsAreAligned(backend.screen))
        #expect(text.contains(size.columns >= 160 && count <= 6 ? "Me Myself (you)" : "(you)"))
        #expect(text.contains(" host "))
        #expect(text.contains("standup"))
        #expect(text.contains("● connected"))
        #expect(text.contains("message number 30"))
        if count > model.tilesPerPage {
            #expect(text.contains("page 1/"))
        } else {
            #expect(!text.contains("page 1/"))
        }
        if count >= 6 {
            #expect(text.contains("Speaking"))
            #expect(text.contains("⊘ muted by"))
            #expect(text.contains("✋"))
        }
    }

    @Test("every theme renders the same text (themes change colours, never layout)", arguments: BuiltInThemes.order)
    func everyTheme(name: String) throws {
        let theme = try ThemeLoader.load(name, userDirectory: "/nonexistent")
        let state = Fixtures.room(others: 5)
        let (backend, _) = screen(state, size: Size(columns: 80, rows: 24), theme: theme.name)
        let (reference, _) = screen(state, size: Size(columns: 80, rows: 24))
        #expect(backend.text == reference.text)
        // And every slot a cell uses resolves in every depth.
        for cell in backend.screen.cells {
            for depth in [ColorDepth.none, .ansi, .palette256, .trueColor] {
                _ = depth.resolve(theme[cell.style.foreground])
                _ = theme.attributes(for: cell.style, depth: depth)
            }
        }
    }

    @Test("the 80×24 screen with six participants", .tags(.snapshot))
    func snapshot() {
        let chat = [
            Fixtures.message(1, from: 0, text: "Good morning!"),
            Fixtures.message(2, from: 3, text: "こんにちは、みなさん"),
            Fixtures.message(3, from: 0, text: "only for hosts", target: .roles(["host"])),
            Fixtures.message(4, from: 2, text: "psst", target: .peers([Fixtures.youID])),
            Fixtures.message(5, from: 4, text: "/me waves"),
            Fixtures.message(6, from: 5, text: "Hey Me Myself, look at this"),
        ]
        let state = Fixtures.room(others: 5, chat: chat)
        let (small, _) = screen(state, size: Size(columns: 80, rows: 24))
        expectScreen(small, Self.sixParticipants80x24)
        // The wide screen has room for whole chat lines.
        let (backend, _) = screen(state, size: Size(columns: 160, rows: 50))
        #expect(backend.text.contains("Ada → @host: only for hosts"))
        #expect(backend.text.contains("Linus → you [dm]: psst"))
        #expect(backend.text.contains("* Zoë waves"))
        #expect(backend.text.contains("山田太郎: こんにちは、みなさん"))
        // Mentions of our name are highlighted.
        let mentionRow = backend.screen.lines.firstIndex { $0.contains("look at this") } ?? 0
        let mentionCell = (0..<159).first { backend.screen[$0, mentionRow].symbol == "l" && backend.screen[$0 + 1, mentionRow].symbol == "o" } ?? 0
        #expect(backend.screen[mentionCell, mentionRow].style.foreground == .warning)
    }

    /// The golden meeting's tiles, status and input line (the same room), with this chat.
    static let sixParticipants80x24: [String] = Array(GoldenScreenTests.meeting80x24.prefix(11)) + [
        " ╰─────────────────────╯╰─────────────────────╯ │22:14 Ada: Good morning!      │",
        "                                                │22:15 山田太郎: こんにちは、み│",
        " ╭ Grace Hopper ───────╮┏ Zoë ━━━━━━ listener ┓ │      なさん                  │",
        " │no mic      listener │┃no mic               ┃ │22:16 Ada → @host: only for   │",
        " │·················   0│┃█████▎···········  31┃ │      hosts                   │",
        " ╰─────────────────────╯┗━━━━━━━━━━━━━━━━━━━━━┛ │22:17 Linus → you [dm]: psst  │",
        "                                                │22:18 * Zoë waves             │",
        "                                                │22:19 🎧 DJ Emoji 🎶: Hey Me  │",
        "                                                │      Myself, look at this    │",
    ] + GoldenScreenTests.meeting80x24.suffix(4)

    /// The fixture room where everyone has a public key, so there is a safety code.
    func keyedRoom(others: Int = 3) -> RoomState {
        var state = Fixtures.room(others: others)
        state.you?.publicKey = X25519PublicKey(rawRepresentation: Data(repeating: 7, count: 32))
        for id in state.peers.keys {
            state.peers[id]?.publicKey = X25519PublicKey(rawRepresentation: Data(repeating: UInt8(id.rawValue.count + 1), count: 32))
        }
        return state
    }

    func statusLine(_ state: RoomState, columns: Int, model: MeetingModel = MeetingModel()) -> String {
        let (backend, _) = screen(state, size: Size(columns: columns, rows: 24 + (columns > 100 ? 10 : 0)), model: model)
        return backend.screen.lines.last ?? ""
    }

    @Test("the status bar shows room, you, connection, mic, how Space talks, RTT and the short safety code")
    func statusWide() throws {
        let state = keyedRoom()
        let code = try #require(state.safetyCode)
        let short = String(code.prefix(5))
        #expect(state.shortSafetyCode == short)
        #expect(state.roundTripMs == 3)  // the join's round trip, until a ping measures one
        let line = statusLine(state, columns: 160)
        #expect(line.hasPrefix(" standup  Me Myself host │ ● connected │ mic on "))
        #expect(line.contains("│ Space: talk on/off │ RTT 3 ms │ safety \(short)"))
        #expect(!line.contains(code), "the short form, not all five groups")
        #expect(line.hasSuffix(" ? help "))
        #expect(TextWidth.width(of: line) == 160)
    }

    @Test("at 80 columns the status bar keeps every part in short form")
    func statusNarrow() throws {
        var state = keyedRoom()
        reduce(&state, .roundTrip(ms: 41))
        let short = try #require(state.shortSafetyCode)
        let line = statusLine(state, columns: 80)
        #expect(line.hasPrefix(" standup  host │ ● connected │ mic ▯▯▯▯▯ │ "))
        #expect(line.contains("│ Space on/off │ 41ms │ safety \(short)"))
        #expect(TextWidth.width(of: line) == 80)
    }

    @Test("the help overlay shows the whole safety code, to compare aloud")
    func helpSafetyCode() throws {
        let state = keyedRoom()
        let code = try #require(state.safetyCode)
        var model = MeetingModel()
        model.overlay = .help
        let (backend, _) = screen(state, size: Size(columns: 160, rows: 50), model: model)
        #expect(backend.text.contains("safety code"))
        #expect(backend.text.contains(code))
        #expect(backend.text.contains("Space: talk on/off (this terminal reports no key releases)"))
    }

    @Test("chat lines kept from earlier frames come out exactly as fresh ones: same state, new width, renamed you")
    func chatLineCache() {
        let chat = (1...40).map { Fixtures.message($0, from: $0 % 3, text: $0 % 4 == 0 ? "Hey Somebody Else, \($0)" : "message \($0) with some words to wrap") }
        var state = Fixtures.room(others: 3, chat: chat)
        let kept = MeetingView(timeZone: TimeZone(identifier: "UTC") ?? .current)
        func render(_ view: MeetingView, _ size: Size) -> Buffer {
            let backend = MemoryBackend(size: size)
            var model = MeetingModel()
            Renderer(backend: backend).render { view.render(&model, state: state, into: &$0) }
            return backend.screen
        }
        let fresh = { (size: Size) in render(MeetingView(timeZone: TimeZone(identifier: "UTC") ?? .current), size) }
        let small = Size(columns: 80, rows: 24)
        let large = Size(columns: 160, rows: 50)
        #expect(render(kept, small) == fresh(small))
        #expect(render(kept, small) == fresh(small))
        #expect(render(kept, large) == fresh(large))
        // Renamed: "Somebody Else" is now our name, so those lines become mentions.
        func mentionStyle(_ buffer: Buffer) -> Slot {
            let row = buffer.lines.firstIndex { $0.contains("Hey Somebody Else, 40") } ?? 0
            let column = (0..<159).first { buffer[$0, row].symbol == "H" && buffer[$0 + 1, row].symbol == "e" } ?? 0
            return buffer[column, row].style.foreground
        }
        #expect(mentionStyle(render(kept, large)) != .warning)
        state.you?.name = "Somebody Else"
        let renamed = render(kept, large)
        #expect(renamed == fresh(large))
        #expect(mentionStyle(renamed) == .warning)
    }

    @Test("connection quality comes from loss, jitter and delay", arguments: [
        (received: 1_000, lost: 0, jitterMs: 5, delayMs: 60, expected: ConnectionQuality.good),
        (received: 1_000, lost: 40, jitterMs: 5, delayMs: 60, expected: .fair),
        (received: 1_000, lost: 200, jitterMs: 5, delayMs: 60, expected: .poor),
        (received: 1_000, lost: 0, jitterMs: 45, delayMs: 60, expected: .fair),
        (received: 1_000, lost: 0, jitterMs: 90, delayMs: 60, expected: .poor),
        (received: 1_000, lost: 0, jitterMs: 5, delayMs: 300, expected: .fair),
        (received: 1_000, lost: 0, jitterMs: 5, delayMs: 600, expected: .poor),
        // A long call's few losses are not a bad line.
        (received: 100_000, lost: 60, jitterMs: 5, delayMs: 60, expected: .good),
    ])
    func quality(received: Int, lost: Int, jitterMs: Int, delayMs: Int, expected: ConnectionQuality) {
        var state = Fixtures.room(others: 2)
        var figures = PeerMediaState()
        figures.packetsReceived = received
        figures.packetsLost = lost
        figures.jitterMs = jitterMs
        figures.playoutDelayMs = delayMs
        reduce(&state, .mediaStats(["p1": figures]))
        #expect(state.quality(of: "p1") == expected)
        #expect(state.quality(of: "p0") == nil, "no figures, no bars")
        let (backend, _) = screen(state, size: Size(columns: 160, rows: 50))
        #expect(backend.text.contains(expected.bars))
    }

    @Test("a ping's round trip replaces the figure in the status bar")
    func statusRoundTrip() {
        var state = keyedRoom()
        reduce(&state, .roundTrip(ms: 17))
        #expect(statusLine(state, columns: 160).contains("RTT 17 ms"))
    }

    @Test("with key releases the status bar says hold Space to talk")
    func statusHold() {
        let line = statusLine(keyedRoom(), columns: 160, model: MeetingModel(pushToTalk: .hold))
        #expect(line.contains("│ hold Space to talk │"))
        let narrow = statusLine(keyedRoom(), columns: 80, model: MeetingModel(pushToTalk: .hold))
        #expect(narrow.contains("│ hold Space │"))
    }

    @Test("while reconnecting the status bar counts down to the next try", arguments: [160, 80])
    func statusReconnecting(columns: Int) {
        var state = keyedRoom()
        reduce(&state, .connectionStateChanged(to: .reconnecting(attempt: 2), from: .connected))
        var model = MeetingModel()
        model.now = Date(timeIntervalSince1970: 1_000_000)
        _ = model.apply(RoomUpdate(event: .reconnecting(attempt: 2, delayMs: 3_500), state: state), previous: state)
        let line = statusLine(state, columns: columns, model: model)
        #expect(line.contains(columns > 100 ? "◌ reconnecting in 4 s (try 2)" : "◌ retry in 4 s"))
        model.now = model.now.addingTimeInterval(2)
        #expect(statusLine(state, columns: columns, model: model).contains(columns > 100 ? "reconnecting in 2 s" : "retry in 2 s"))
        let later = model.now.addingTimeInterval(0.25)
        let worthAFrame = model.tick(now: later)
        #expect(worthAFrame, "a countdown makes every tick worth a frame")
    }

    @Test("below 80×24 the screen says it is too small", arguments: [Size(columns: 79, rows: 24), Size(columns: 80, rows: 23), Size(columns: 20, rows: 5)])
    func tooSmall(size: Size) {
        let (backend, _) = screen(Fixtures.room(others: 3), size: size)
        #expect(backend.text.contains("too small") || backend.text.contains("The window"))
        #expect(rowsAreAligned(backend.screen))
    }

    @Test("hostile names and chat reach the screen without one escape or control character")
    func hostileText() {
        var state = Fixtures.room(
            others: 0, chat: Fixtures.hostile.enumerated().map { Fixtures.message($0.offset + 1, from: $0.offset % 3, text: $0.element) })
        for (index, name) in Fixtures.hostile.enumerated() {
            var peer = Fixtures.peer(index + 20)
            peer.name = name
            reduce(&state, .peerJoined(peer, resumed: false))
        }
        for size in ScreenTests.sizes {
            let (backend, _) = screen(state, size: size)
            #expect(rowsAreAligned(backend.screen))
            for cell in backend.screen.cells {
                for scalar in cell.symbol.unicodeScalars {
                    #expect(!(scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)), "raw control U+\(String(scalar.value, radix: 16))")
                    #expect(!(0x202A...0x202E).contains(scalar.value) && !(0x2066...0x2069).contains(scalar.value))
                }
            }
            #expect(!backend.text.contains("52;c"))
            #expect(!backend.text.contains("evil.example"))
        }
    }

    @Test("a screen that did not change sends nothing to the terminal")
    func idleCostsNothing() {
        let state = Fixtures.room(others: 10)
        let backend = MemoryBackend(size: Size(columns: 120, rows: 40))
        let renderer = Renderer(backend: backend)
        var model = MeetingModel()
        let view = MeetingView(timeZone: TimeZone(identifier: "UTC") ?? .current)
        #expect(renderer.render { view.render(&model, state: state, into: &$0) } > 0)
        let flushes = backend.flushCount
        for _ in 0..<5 { #expect(renderer.render { view.render(&model, state: state, into: &$0) } == 0) }
        #expect(backend.flushCount == flushes)
        // A level change rewrites only a few cells.
        var louder = state
        reduce(&louder, .speakers([SpeakerLevel(peer: "p0", track: .microphone(of: "p0"), level: 20)]))
        let changed = renderer.render { view.render(&model, state: louder, into: &$0) }
        #expect(changed > 0 && changed < 200)
    }

    @Test("screen-reader mode draws no bars")
    func screenReaderBars() {
        let state = Fixtures.room(others: 3)
        let (backend, _) = screen(state, size: Size(columns: 80, rows: 24), model: MeetingModel(screenReader: true))
        #expect(!backend.text.contains("█"))
        #expect(backend.text.contains("level 73"))
    }

    @Test("dialogs draw over the meeting", arguments: [
        Overlay.help, .confirmLeave, .confirmEndRoom, .ended("The room was ended by Ada."),
        .prompt(PendingPrompt(id: "q1", by: "p0", question: .roleChange("speaker"))), .confirmRemove("p0", reason: nil),
        .audience(AudienceBrowser()),
    ])
    func overlays(overlay: Overlay) {
        var model = MeetingModel()
        model.overlay = overlay
        let (backend, _) = screen(Fixtures.room(others: 3), size: Size(columns: 80, rows: 24), model: model)
        #expect(rowsAreAligned(backend.screen))
        switch overlay {
        case .help: #expect(backend.text.contains("mute / unmute yourself"))
        case .confirmLeave: #expect(backend.text.contains("Leave the meeting?"))
        case .confirmEndRoom: #expect(backend.text.contains("End the room for everyone?"))
        case .ended: #expect(backend.text.contains("ended by Ada"))
        case .prompt: #expect(backend.text.contains("Ada asks you to become speaker."))
        case .confirmRemove: #expect(backend.text.contains("Remove Ada from the room?"))
        case .audience: #expect(backend.text.contains("nobody here yet"))
        case .actions: break
        }
    }

    @Test("the chat scrolls back and shows what is new below")
    func scrollback() {
        let state = Fixtures.room(others: 2, chat: (1...100).map { Fixtures.message($0, from: 1, text: "line \($0)") })
        var start = MeetingModel()
        start.focus = .chat
        var (_, model) = screen(state, size: Size(columns: 80, rows: 24), model: start)
        _ = model.handle(.pageUp, state: state)
        let (backend, _) = screen(state, size: Size(columns: 80, rows: 24), model: model)
        #expect(!backend.text.contains("line 100"))
        #expect(backend.text.contains("End to follow"))
    }

    @Test("help scrolls at every allowed size until its last entry (the whole safety code) shows",
          arguments: [Size(columns: 80, rows: 24), Size(columns: 120, rows: 40), Size(columns: 160, rows: 50)])
    func helpReachesEveryEntry(size: Size) throws {
        let state = keyedRoom()
        let code = try #require(state.safetyCode)
        var model = MeetingModel()
        _ = model.handle(.character("?"), state: state)
        var seen = ""
        var (backend, rendered) = screen(state, size: size, model: model)
        seen += backend.text
        for _ in 0..<10 where !backend.text.contains(code) {
            model = rendered
            _ = model.handle(.pageDown, state: state)
            (backend, rendered) = screen(state, size: size, model: model)
            seen += backend.text
        }
        for entry in ["/role NAME ROLE", "/kick NAME [reason]", "/hand", "/mic", "/who", "/quit", "/answer", "F2"] {
            #expect(seen.contains(entry), "help never showed \(entry) at \(size.columns)×\(size.rows)")
        }
        #expect(backend.text.contains(code), "the last entry is reachable at \(size.columns)×\(size.rows)")
        #expect(rowsAreAligned(backend.screen))
        // Home goes back to the first entry; End to the last at once.
        model = rendered
        _ = model.handle(.home, state: state)
        (backend, rendered) = screen(state, size: size, model: model)
        #expect(backend.text.contains("mute / unmute yourself"))
        model = rendered
        _ = model.handle(.end, state: state)
        (backend, _) = screen(state, size: size, model: model)
        #expect(backend.text.contains(code))
    }

    @Test("paging the chat stops at its first line, and End returns to the newest from any focus", arguments: Focus.allCases)
    func chatPagingStops(focus: Focus) {
        let state = Fixtures.room(others: 2, chat: (1...30).map { Fixtures.message($0, from: 1, text: "line \($0)") })
        let size = Size(columns: 80, rows: 24)
        var start = MeetingModel()
        start.focus = focus
        var (backend, model) = screen(state, size: size, model: start)
        for _ in 0..<12 {
            _ = model.handle(.pageUp, state: state)
            (backend, model) = screen(state, size: size, model: model)
        }
        // The first line is at the top of the pane, not scrolled out of it; the pane is full.
        let chatLines = backend.screen.lines.filter { $0.contains("Grace Hopper: line") }
        #expect(chatLines.first?.contains("Grace Hopper: line 1 ") ?? false, "\(backend.text)")
        #expect(chatLines.count >= 15)
        // One PgDn moves at once (no invisible overshoot to scroll back through).
        var after = model
        _ = after.handle(.pageDown, state: state)
        let (paged, _) = screen(state, size: size, model: after)
        #expect(!paged.text.contains("line 1 "))
        // End, whatever has the focus.
        _ = model.handle(.end, state: state)
        (backend, model) = screen(state, size: size, model: model)
        #expect(backend.text.contains("line 30"))
        #expect(model.chatScroll == 0)
        #expect(model.focus == focus)
    }

    @Test("a listener's status bar offers no talking", arguments: [160, 80])
    func listenerStatus(columns: Int) {
        let line = statusLine(Fixtures.room(others: 2, role: "listener"), columns: columns)
        #expect(line.contains("no mic"))
        #expect(!line.contains("talk") && !line.contains("on/off"), "\(line)")
    }

    @Test("notices have their own row: the status bar's fields stay whole")
    func noticeRow() {
        let state = keyedRoom()
        var model = MeetingModel()
        model.setNotice("your role has no microphone", error: true)
        let (backend, _) = screen(state, size: Size(columns: 80, rows: 24), model: model)
        let (plain, _) = screen(state, size: Size(columns: 80, rows: 24))
        let lines = backend.screen.lines
        #expect(lines[23] == plain.screen.lines[23], "the status bar changed under a notice")
        #expect(lines[21].contains("your role has no microphone"))
    }

    @Test("a question put to us waits in the message row until answered, counting down the room's prompt lifetime")
    func promptWaitsInMessageRow() {
        let start = Date(timeIntervalSince1970: 1_700_000_100)
        let previous = Fixtures.room(others: 3)
        var state = previous
        state.room?.promptLifetimeMs = 30_000
        let prompt = RoleChangePrompt(prompt: "q1", by: "p0", role: "speaker")
        reduce(&state, .roleChangeRequested(prompt))
        var model = MeetingModel()
        model.now = start
        _ = model.apply(RoomUpdate(event: .roleChangeRequested(prompt), state: state), previous: previous)
        model.notice = nil
        let first = model.tick(now: start)
        #expect(first, "the countdown's first second shows")
        var (backend, _) = screen(state, size: Size(columns: 80, rows: 24), model: model)
        #expect(backend.screen.lines[21].contains("Ada asks you to become speaker (30 s)  F2 to answer"))
        #expect(!backend.text.contains("[a  accept]"))
        // Ticks redraw when a second of it passes, and not in between.
        let between = model.tick(now: start.addingTimeInterval(0.25))
        let secondsLater = model.tick(now: start.addingTimeInterval(12.5))
        #expect(!between && secondsLater)
        (backend, _) = screen(state, size: Size(columns: 80, rows: 24), model: model)
        #expect(backend.screen.lines[21].contains("Ada asks you to become speaker (18 s)  F2 to answer"))
    }
}

extension Tag {
    @Tag static var snapshot: Self
}
