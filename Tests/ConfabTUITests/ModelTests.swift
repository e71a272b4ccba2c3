import ConfabClient
import ConfabProtocol
import Foundation
import Testing
@testable import ConfabTUI

@Suite("keys and commands")
struct ModelTests {
    @Test("m mutes and unmutes yourself")
    func mute() {
        let state = Fixtures.room(others: 2)
        var model = MeetingModel()
        #expect(model.handle(.character("m"), state: state) == [.setMuted(true)])
    }

    @Test("Space toggles talking when the terminal reports no releases")
    func pushToTalkToggle() {
        let state = Fixtures.room(others: 1)
        var model = MeetingModel()
        #expect(model.handle(.character(" "), state: state) == [.setMuted(false)])
        #expect(model.handle(.character(" "), state: state) == [.setMuted(true)])
    }

    /// The fixture room with our own microphone muted.
    func mutedRoom() -> RoomState {
        var state = Fixtures.room(others: 1)
        state.you?.tracks[0].muted = true
        state.you?.tracks[0].mutedBy = Fixtures.youID
        return state
    }

    @Test("with key releases, Space talks while held: press → talking, release → muted again")
    func pushToTalkHold() {
        let state = mutedRoom()
        var model = MeetingModel(pushToTalk: .hold)
        #expect(model.handle(.character(" "), state: state) == [.setMuted(false)])
        #expect(model.talking)
        #expect(model.handle(.character(" "), state: state).isEmpty)  // key repeat
        #expect(model.handle(.released(" "), state: state) == [.setMuted(true)])
        #expect(!model.talking)
        // A second release (or one without a press) changes nothing.
        #expect(model.handle(.released(" "), state: state).isEmpty)
    }

    @Test("hold-to-talk: the release mutes even when a dialog opened or the focus moved meanwhile")
    func holdReleaseAnywhere() {
        let state = mutedRoom()
        var model = MeetingModel(pushToTalk: .hold)
        #expect(model.handle(.character(" "), state: state) == [.setMuted(false)])
        _ = model.handle(.character("?"), state: state)
        #expect(model.overlay == .help)
        #expect(model.handle(.released(" "), state: state) == [.setMuted(true)])
        #expect(model.overlay == .help)

        model.overlay = nil
        #expect(model.handle(.character(" "), state: state) == [.setMuted(false)])
        _ = model.handle(.tab, state: state)
        _ = model.handle(.tab, state: state)
        #expect(model.focus == .input)
        #expect(model.handle(.released(" "), state: state) == [.setMuted(true)])
        #expect(model.editor.isEmpty)
    }

    @Test("hold-to-talk: Space in the input line types a space and its release mutes nothing")
    func holdWhileTyping() {
        let state = mutedRoom()
        var model = MeetingModel(pushToTalk: .hold)
        model.focus = .input
        #expect(model.handle(.character(" "), state: state).isEmpty)
        #expect(model.handle(.released(" "), state: state).isEmpty)
        #expect(model.editor.text == " ")
    }

    @Test("hold-to-talk: with the mic already on (by m), holding Space does not mute on release")
    func holdWhenUnmuted() {
        let state = Fixtures.room(others: 1)
        #expect(!state.isMuted)
        var model = MeetingModel(pushToTalk: .hold)
        #expect(model.handle(.character(" "), state: state).isEmpty)
        #expect(model.handle(.released(" "), state: state).isEmpty)
    }

    @Test("releases of other keys, and releases in toggle mode, do nothing")
    func otherReleases() {
        let state = mutedRoom()
        var hold = MeetingModel(pushToTalk: .hold)
        _ = hold.handle(.character(" "), state: state)
        #expect(hold.handle(.released("m"), state: state).isEmpty)
        #expect(hold.talking)
        var toggle = MeetingModel(pushToTalk: .toggle)
        #expect(toggle.handle(.character(" "), state: state) == [.setMuted(false)])
        #expect(toggle.handle(.released(" "), state: state).isEmpty)
        #expect(toggle.talking)
    }

    @Test("hold-to-talk follows the key map: a rebound push-to-talk key talks while held")
    func holdReboundKey() {
        let state = mutedRoom()
        var keyMap = KeyMap.standard
        keyMap.bindings = keyMap.bindings.filter { $0.value != .pushToTalk }
        keyMap.bindings["t"] = .pushToTalk
        var model = MeetingModel(keyMap: keyMap, pushToTalk: .hold)
        #expect(model.handle(.character(" "), state: state).isEmpty)
        #expect(model.handle(.character("t"), state: state) == [.setMuted(false)])
        #expect(model.handle(.released(" "), state: state).isEmpty)
        #expect(model.handle(.released("t"), state: state) == [.setMuted(true)])
        #expect(model.pushToTalkHint == "hold t to talk")
        // Bound to "T": shift may be let go before the key, which then comes back as "t".
        keyMap.bindings = keyMap.bindings.filter { $0.value != .pushToTalk }
        keyMap.bindings["T"] = .pushToTalk
        var shifted = MeetingModel(keyMap: keyMap, pushToTalk: .hold)
        #expect(shifted.handle(.character("T"), state: state) == [.setMuted(false)])
        #expect(shifted.handle(.released("t"), state: state) == [.setMuted(true)])
    }

    @Test("hold-to-talk: losing the window's focus while Space is held mutes (no release will come)")
    func holdFocusLost() {
        let state = mutedRoom()
        var model = MeetingModel(pushToTalk: .hold)
        #expect(model.focusLost().isEmpty)
        #expect(model.handle(.character(" "), state: state) == [.setMuted(false)])
        #expect(model.focusLost() == [.setMuted(true)])
        #expect(!model.talking)
        #expect(model.handle(.released(" "), state: state).isEmpty)
        var toggle = MeetingModel(pushToTalk: .toggle)
        _ = toggle.handle(.character(" "), state: state)
        #expect(toggle.focusLost().isEmpty, "a toggle stays on: the user switched it on")
    }

    @Test("the status bar hint names the mode")
    func pushToTalkHint() {
        #expect(MeetingModel(pushToTalk: .hold).pushToTalkHint == "hold Space to talk")
        #expect(MeetingModel(pushToTalk: .toggle).pushToTalkHint == "Space: talk on/off")
    }

    @Test("a chat line is a broadcast; commands address peers and roles", arguments: [
        ("hello all", MeetingCommand.send("hello all", .broadcast)),
        ("/msg Linus hi there", .send("hi there", .peers(["p2"]))),
        ("/msg \"Grace Hopper\" hi", .send("hi", .peers(["p1"]))),
        ("/msg grace hi", .send("hi", .peers(["p1"]))),
        ("/to speaker all speakers", .send("all speakers", .roles(["speaker"]))),
        ("/me waves", .send("/me waves", .broadcast)),
        ("/mute Ada", .mute("p0")),
        ("/role Linus speaker", .changeRole("p2", "speaker")),
        ("/role Grace Hopper speaker", .changeRole("p1", "speaker")),
        ("/hand", .setHand(raised: true)),
        ("/quit", .leave),
        ("//not a command", .send("/not a command", .broadcast)),
    ])
    func commands(line: String, expected: MeetingCommand) {
        let state = Fixtures.room(others: 3)
        var model = MeetingModel()
        #expect(model.typing(line, state: state) == [expected])
    }

    @Test("an unknown name or command is a notice, not a message")
    func unknown() {
        let state = Fixtures.room(others: 3)
        var model = MeetingModel()
        #expect(model.typing("/msg nobody hi", state: state).isEmpty)
        #expect(model.notice?.isError == true)
        #expect(model.typing("/frobnicate", state: state).isEmpty)
        #expect(model.notice?.text.contains("unknown command") == true)
    }

    @Test("Tab completes commands and names")
    func completion() {
        let state = Fixtures.room(others: 3)
        var model = MeetingModel()
        model.focus = .input
        for character in "/ms" { _ = model.handle(.character(character), state: state) }
        _ = model.handle(.tab, state: state)
        #expect(model.editor.text == "/msg ")
        for character in "Li" { _ = model.handle(.character(character), state: state) }
        _ = model.handle(.tab, state: state)
        #expect(model.editor.text == "/msg Linus ")
        // A name with a space completes to the id, which /msg understands.
        model.editor = LineEditor()
        for character in "/msg Gr" { _ = model.handle(.character(character), state: state) }
        _ = model.handle(.tab, state: state)
        #expect(model.editor.text == "/msg p1 ")
        // Tab on an empty line moves the focus.
        model.editor = LineEditor()
        _ = model.handle(.tab, state: state)
        #expect(model.focus == .tiles)
    }

    @Test("the action menu lists only what our role may do", arguments: ["host", "speaker", "listener"])
    func actionMenu(role: String) {
        let state = Fixtures.room(others: 3, role: role)
        let model = MeetingModel()
        let menu = model.actionMenu(for: "p2", state: state)
        let items = menu?.items ?? []
        #expect(items.contains(.volumeUp))
        if role == "host" {
            #expect(items.contains(.askToUnmute) || items.contains(.mute))
            #expect(items.contains(.remove))
            #expect(items.contains(.changeRole("listener")))
        } else {
            #expect(!items.contains(.remove))
            #expect(!items.contains(.mute))
            #expect(!items.contains { if case .changeRole = $0 { true } else { false } })
        }
        #expect(model.actionMenu(for: Fixtures.youID, state: state) == nil)
    }

    @Test("arrows select participants and Enter opens their menu")
    func selection() {
        let state = Fixtures.room(others: 3)
        var model = MeetingModel()
        _ = model.handle(.right, state: state)
        #expect(model.selected == Fixtures.youID)
        _ = model.handle(.right, state: state)
        let second = model.tilePeers(state)[1].id
        #expect(model.selected == second)
        _ = model.handle(.enter, state: state)
        guard case .actions(let menu) = model.overlay else {
            Issue.record("no menu")
            return
        }
        #expect(menu.peer == second)
        _ = model.handle(.escape, state: state)
        #expect(model.overlay == nil)
    }

    @Test("q asks first; y leaves; n stays")
    func leaveConfirm() {
        let state = Fixtures.room(others: 1)
        var model = MeetingModel()
        #expect(model.handle(.character("q"), state: state).isEmpty)
        #expect(model.overlay == .confirmLeave)
        #expect(model.handle(.character("n"), state: state).isEmpty)
        #expect(model.overlay == nil)
        _ = model.handle(.character("q"), state: state)
        #expect(model.handle(.character("y"), state: state) == [.leave])
    }

    @Test("E (host) ends the room only after confirmation; others are told no")
    func endRoom() {
        var model = MeetingModel()
        let host = Fixtures.room(others: 1)
        #expect(model.handle(.character("E"), state: host).isEmpty)
        #expect(model.handle(.character("y"), state: host) == [.endRoom])
        let speaker = Fixtures.room(others: 1, role: "speaker")
        #expect(model.handle(.character("E"), state: speaker).isEmpty)
        #expect(model.overlay == nil)
        #expect(model.notice?.isError == true)
        #expect(model.handle(.character("M"), state: speaker).isEmpty)
        #expect(model.handle(.character("M"), state: host) == [.muteEveryoneElse])
    }

    /// The fixture room (our mic muted) with an unmute request from Ada (p0) put to us.
    func roomWithUnmuteRequest() -> (previous: RoomState, state: RoomState, prompt: UnmutePrompt) {
        let previous = mutedRoom()
        var state = previous
        let prompt = UnmutePrompt(prompt: "q1", by: "p0", track: .microphone(of: Fixtures.youID))
        reduce(&state, .unmuteRequested(prompt))
        return (previous, state, prompt)
    }

    @Test("a question put to us is announced (a line, the bell) and opens no dialog by itself")
    func promptAnnounced() {
        let (previous, state, prompt) = roomWithUnmuteRequest()
        var model = MeetingModel()
        let commands = model.apply(RoomUpdate(event: .unmuteRequested(prompt), state: state), previous: previous)
        #expect(commands.contains(.bell))
        #expect(model.overlay == nil)
        #expect(model.systemLines.last?.text == "Ada asks you to unmute · F2 or /answer to answer")
        // The same question again (another update) is not announced twice.
        let again = model.apply(RoomUpdate(event: .speakers([]), state: state), previous: state)
        #expect(!again.contains(.bell))
    }

    @Test("talking while muted shows \"You are muted\" in the message row, with the key that unmutes")
    func talkingWhileMutedNotice() {
        let (_, state, _) = roomWithUnmuteRequest()
        var model = MeetingModel()
        _ = model.apply(RoomUpdate(event: .talkingWhileMuted, state: state), previous: state)
        #expect(model.notice?.text == "You are muted: nobody hears you (m unmutes)")
        #expect(model.notice?.isError == false)
        var remapped = KeyMap.standard
        remapped.bindings = ["u": .mute]
        var other = MeetingModel(keyMap: remapped)
        _ = other.apply(RoomUpdate(event: .talkingWhileMuted, state: state), previous: state)
        #expect(other.notice?.text == "You are muted: nobody hears you (u unmutes)")
    }

    @Test("a sentence full of a's typed while an unmute request arrives stays whole, and answers nothing")
    func promptWhileTyping() {
        let (previous, state, prompt) = roomWithUnmuteRequest()
        var model = MeetingModel()
        _ = model.handle(.character("i"), state: previous)
        for key in "a banana at " { #expect(model.handle(.character(key), state: previous).isEmpty) }
        _ = model.apply(RoomUpdate(event: .unmuteRequested(prompt), state: state), previous: previous)
        var commands: [MeetingCommand] = []
        for key in "a paradise, and yes" { commands += model.handle(.character(key), state: state, at: Date().addingTimeInterval(5)) }
        commands += model.handle(.enter, state: state)
        #expect(commands == [.send("a banana at a paradise, and yes", .broadcast)])
        #expect(model.overlay == nil)
    }

    @Test("F2 turns to the question; a accepts, d declines, Esc puts it off, Enter answers nothing")
    func promptAnsweredOnPurpose() {
        let (previous, state, prompt) = roomWithUnmuteRequest()
        var model = MeetingModel()
        _ = model.apply(RoomUpdate(event: .unmuteRequested(prompt), state: state), previous: previous)
        model.focus = .input
        #expect(model.handle(.function(2), state: state).isEmpty)
        #expect(model.overlay == .prompt(PendingPrompt(id: "q1", by: "p0", question: .unmute(.microphone(of: Fixtures.youID)))))
        #expect(model.handle(.enter, state: state).isEmpty)
        #expect(model.handle(.escape, state: state).isEmpty)
        #expect(model.overlay == nil)
        // /answer opens it too; ? shows the help over it.
        #expect(model.runLine("/answer", state: state).isEmpty)
        #expect(model.overlay != nil)
        _ = model.handle(.character("?"), state: state)
        #expect(model.overlay == .help)
        _ = model.handle(.escape, state: state)
        _ = model.handle(.function(2), state: state)
        #expect(model.handle(.character("d"), state: state) == [.answer("q1", accept: false)])
        #expect(model.overlay == nil)
        // Nothing waits any more: F2 says so.
        #expect(model.handle(.function(2), state: state).isEmpty)
        #expect(model.overlay == nil)
        #expect(model.notice?.text == "no question is waiting for an answer")
    }

    @Test("screen-reader mode: the question is the open dialog, answered by a line a")
    func promptScreenReader() {
        let (previous, state, prompt) = roomWithUnmuteRequest()
        var model = MeetingModel(screenReader: true)
        _ = model.apply(RoomUpdate(event: .unmuteRequested(prompt), state: state), previous: previous)
        #expect(model.announcements.contains("Ada asks you to unmute. Answer with a line a (accept) or d (decline)."))
        #expect(model.handle(.character("a"), state: state) == [.answer("q1", accept: true)])
    }

    @Test("a request of ours waits visibly, and its outcome becomes a line: accepted, declined, lapsed, target left")
    func requestsOfOurs() {
        let start = Date(timeIntervalSince1970: 1_700_000_100)
        var state = Fixtures.room(others: 3)
        var model = MeetingModel()
        model.now = start
        func send(_ id: PromptID, to peer: String, _ question: PromptQuestion) {
            let previous = state
            let event = SessionEvent.promptSent(id, to: PeerID(uncheckedRawValue: peer), question: question)
            reduce(&state, event)
            _ = model.apply(RoomUpdate(event: event, state: state), previous: previous)
        }
        send("r1", to: "p2", .roleChange("speaker"))
        #expect(model.systemLines.last?.text == "you asked Linus to become speaker; waiting for an answer")
        #expect(model.pendingRequestsText(state) == "waiting for an answer: Linus to become speaker (60 s)")
        let (backend, _) = screen(state, size: Size(columns: 80, rows: 24), model: model)
        #expect(backend.screen.lines[21].contains("waiting for an answer: Linus to become speaker"))

        // Declined.
        var previous = state
        let answer = PromptAnswered(prompt: "r1", peer: "p2", accepted: false)
        reduce(&state, .promptAnswered(answer))
        _ = model.apply(RoomUpdate(event: .promptAnswered(answer), state: state), previous: previous)
        #expect(model.systemLines.last?.text == "Linus declined your request to become speaker")
        #expect(model.pendingRequestsText(state) == nil)

        // No answer in the prompt's lifetime: lapsed.
        send("r2", to: "p1", .unmute(.microphone(of: "p1")))
        let changed = model.tick(now: start.addingTimeInterval(61))
        #expect(changed)
        #expect(model.systemLines.last?.text == "Grace Hopper did not answer your request to unmute; it lapsed")
        #expect(model.pendingRequestsText(state) == nil)

        // In a room whose prompts live 30 s: lapsed after 30 s, not 60.
        state.room?.promptLifetimeMs = 30_000
        model.now = start
        send("r4", to: "p2", .roleChange("speaker"))
        #expect(model.pendingRequestsText(state) == "waiting for an answer: Linus to become speaker (30 s)")
        _ = model.tick(now: start.addingTimeInterval(29.9))
        #expect(model.sentRequests["r4"] != nil)
        #expect(model.pendingRequestsText(state) == "waiting for an answer: Linus to become speaker (1 s)")
        let due = model.tick(now: start.addingTimeInterval(30))
        #expect(due)
        #expect(model.systemLines.last?.text == "Linus did not answer your request to become speaker; it lapsed")

        // The one asked leaves.
        send("r3", to: "p2", .roleChange("listener"))
        previous = state
        reduce(&state, .peerLeft("p2", reason: .left, by: nil))
        _ = model.apply(RoomUpdate(event: .peerLeft("p2", reason: .left, by: nil), state: state), previous: previous)
        #expect(model.systemLines.last?.text == "your request to Linus to become listener lapsed: Linus left")
    }

    @Test("reconnecting: one line when the connection is lost, one when it is back, with what was missed")
    func reconnectLines() {
        let start = Date(timeIntervalSince1970: 1_700_000_100)
        var state = Fixtures.room(others: 2, chat: [Fixtures.message(1, from: 1, text: "before")])
        var model = MeetingModel()
        model.now = start
        let before = model.systemLines.count
        for attempt in 1...7 {
            let previous = state
            reduce(&state, .reconnecting(attempt: attempt, delayMs: 1000))
            _ = model.apply(RoomUpdate(event: .reconnecting(attempt: attempt, delayMs: 1000), state: state), previous: previous)
            model.now = model.now.addingTimeInterval(1)
        }
        #expect(model.systemLines.count == before + 1)
        #expect(model.systemLines.last?.text == "connection lost; reconnecting")
        // Two messages came while we were away; they are in the state when `reconnected` comes.
        let previous = state
        reduce(&state, .chatHistory(ChatPage(messages: [Fixtures.message(2, from: 1, text: "one"), Fixtures.message(3, from: 0, text: "two")], hasMore: false), direction: .newer))
        reduce(&state, .reconnected(resumed: true))
        _ = model.apply(RoomUpdate(event: .reconnected(resumed: true), state: state), previous: previous)
        #expect(model.systemLines.count == before + 2)
        #expect(model.systemLines.last?.text == "connection back after 7 s; 2 messages came meanwhile (above)")
    }

    @Test("the end of a room in one sentence each: by you, by someone with a reason, locked, by the server")
    func roomEndedWording() {
        #expect(MeetingModel.roomEndedText(by: "you", reason: nil, locked: false) == "You ended the room.")
        #expect(MeetingModel.roomEndedText(by: "Alice", reason: "Thanks, all!", locked: false) == "Alice ended the room: Thanks, all!")
        #expect(MeetingModel.roomEndedText(by: "Alice", reason: "Thanks, all!", locked: true)
            == "Alice ended the room: Thanks, all! It is locked: nobody can join again.")
        #expect(MeetingModel.roomEndedText(by: nil, reason: "idle", locked: false) == "The server ended the room: idle.")
        #expect(MeetingModel.removedText(by: "Alice", reason: "spam.") == "Alice removed you from the room: spam.")
        // Ending the room from the keyboard sends no made-up reason.
        let state = Fixtures.room(others: 1)
        var model = MeetingModel()
        _ = model.handle(.character("E"), state: state)
        #expect(model.handle(.character("y"), state: state) == [.endRoom])
    }

    @Test("removing someone asks first, from the menu and from /kick")
    func removeAsks() {
        let state = Fixtures.room(others: 3)
        var model = MeetingModel()
        #expect(model.runLine("/kick Linus too loud", state: state).isEmpty)
        #expect(model.overlay == .confirmRemove("p2", reason: "too loud"))
        #expect(model.handle(.character("n"), state: state).isEmpty)
        #expect(model.overlay == nil)
        _ = model.runMenuItem(.remove, peer: "p2", state: state)
        #expect(model.overlay == .confirmRemove("p2", reason: nil))
        #expect(model.handle(.character("y"), state: state) == [.remove("p2", reason: nil)])
    }

    @Test("lowering your own hand is a line, as raising it is")
    func handLowered() throws {
        var state = Fixtures.room(others: 1)
        var model = MeetingModel()
        for raised in [true, false] {
            let previous = state
            state.you?.handRaisedAt = raised ? Fixtures.start : nil
            let you = try #require(state.you)
            _ = model.apply(RoomUpdate(event: .peerUpdated(you, changed: [.hand], by: nil), state: state), previous: previous)
        }
        #expect(model.systemLines.suffix(2).map(\.text) == ["You raised your hand", "You lowered your hand"])
    }

    @Test("Esc that closes a dialog opened from the input line goes back to the tiles: h then raises the hand")
    func escapeThenH() {
        let state = Fixtures.room(others: 1)
        for opener in ["/help", "/kick Ada"] {
            var model = MeetingModel()
            _ = model.typing(opener, state: state)
            #expect(model.overlay != nil)
            _ = model.handle(.escape, state: state)
            #expect(model.overlay == nil)
            #expect(model.handle(.character("h"), state: state) == [.setHand(raised: true)])
            #expect(model.editor.isEmpty)
        }
        // Through the decoder: Escape and h 0.3 s apart, or in one read (Alt-h), are the same two keys.
        var decoder = TerminalInputDecoder()
        var inputs = decoder.feed("\u{1B}".unicodeScalars) + decoder.endOfInput()
        inputs += decoder.feed("h".unicodeScalars) + decoder.endOfInput()
        #expect(inputs == [.key(.escape), .key(.character("h"))])
        #expect(decoder.feed("\u{1B}h".unicodeScalars) + decoder.endOfInput() == [.key(.escape), .key(.character("h"))])
    }

    @Test("screen-reader mode confirms your own mic, refuses what changes nothing, and /who gives the ids")
    func screenReaderConfirms() {
        let state = Fixtures.room(others: 7)
        var model = MeetingModel(screenReader: true)
        // Your own mic, muted by you then on again: a spoken line each.
        var muted = state
        reduce(&muted, .trackMuted(peer: Fixtures.youID, track: .microphone(of: Fixtures.youID), by: Fixtures.youID))
        _ = model.apply(RoomUpdate(event: .trackMuted(peer: Fixtures.youID, track: .microphone(of: Fixtures.youID), by: Fixtures.youID), state: muted), previous: state)
        #expect(model.announcements.last == "You are muted")
        _ = model.apply(RoomUpdate(event: .trackUnmuted(peer: Fixtures.youID, track: .microphone(of: Fixtures.youID), by: Fixtures.youID), state: state), previous: muted)
        #expect(model.announcements.last == "Your microphone is on: others hear you")
        // Muting someone already muted (Margaret Hamilton, p6) is refused aloud, by a name with a space.
        #expect(model.runLine("/mute Margaret Hamilton", state: state).isEmpty)
        #expect(model.notice?.text == "Margaret Hamilton is already muted")
        #expect(model.runLine("/mute Grace Hopper", state: state).isEmpty)
        #expect(model.notice?.text == "Grace Hopper has no microphone")
        // Ada (p0) is not muted: the same form mutes her.
        #expect(model.runLine("/mute Ada", state: state) == [.mute("p0")])
        #expect(model.runLine("/msg Grace Hopper hello there", state: state) == [.send("hello there", .peers(["p1"]))])
        _ = model.runLine("/who", state: state)
        #expect(model.systemLines.last?.text.contains("Grace Hopper [p1] (listener)") ?? false, "\(model.systemLines.last?.text ?? "")")
        #expect(model.systemLines.last?.text.contains("Me Myself [me] (host, you)") ?? false)
    }

    @Test("joins, leaves with reasons, role changes and removals become system lines")
    func systemLines() {
        let previous = Fixtures.room(others: 2)
        var model = MeetingModel()
        var state = previous
        let newcomer = Fixtures.peer(7, role: "listener")
        reduce(&state, .peerJoined(newcomer, resumed: false))
        _ = model.apply(RoomUpdate(event: .peerJoined(newcomer, resumed: false), state: state), previous: previous)
        var promoted = newcomer
        promoted.role = "speaker"
        let before = state
        reduce(&state, .peerUpdated(promoted, changed: [.role], by: "p0"))
        _ = model.apply(RoomUpdate(event: .peerUpdated(promoted, changed: [.role], by: "p0"), state: state), previous: before)
        let beforeLeave = state
        reduce(&state, .peerLeft(newcomer.id, reason: .removed, by: Fixtures.youID))
        _ = model.apply(RoomUpdate(event: .peerLeft(newcomer.id, reason: .removed, by: Fixtures.youID), state: state), previous: beforeLeave)
        let texts = model.systemLines.map(\.text)
        #expect(texts == ["Ken joined as listener", "Ken is now speaker (by Ada)", "Ken was removed by you"])
    }

    @Test("no audio: why the media binding failed becomes an error line; a binding that worked says nothing")
    func mediaBindingFailure() {
        let state = Fixtures.room(others: 1)
        var model = MeetingModel()
        _ = model.apply(RoomUpdate(event: .mediaBound(mapped: "10.0.0.2:40000"), state: state), previous: state)
        #expect(model.systemLines.isEmpty)
        let problem = "the server told us to send audio to 0.0.0.0 port 7443, which is a wildcard address: no audio"
        _ = model.apply(RoomUpdate(event: .mediaBound(mapped: nil, problem: problem), state: state), previous: state)
        #expect(model.systemLines.map(\.text) == [problem])
        #expect(model.systemLines.map(\.isError) == [true])
    }

    @Test("a mention of our name rings the bell (when configured)")
    func mentionBell() {
        let previous = Fixtures.room(others: 2)
        var state = previous
        let message = Fixtures.message(1, from: 1, text: "hey me myself!")
        reduce(&state, .chatMessage(message))
        var model = MeetingModel()
        #expect(model.apply(RoomUpdate(event: .chatMessage(message), state: state), previous: previous).contains(.bell))
        var quiet = MeetingModel(mentionBell: false)
        #expect(!quiet.apply(RoomUpdate(event: .chatMessage(message), state: state), previous: previous).contains(.bell))
        #expect(!model.mentions("memyself", of: state))
    }
}

@Suite("screen-reader speaking lines")
struct SpeakingTrackerTests {
    @Test("a turn is one 'is speaking' and one 'stopped speaking', however many pauses between words")
    func oneLinePerTurn() {
        var tracker = SpeakingTracker(pauseSeconds: 2)
        let start = Date(timeIntervalSince1970: 0)
        let ada: PeerID = "ada"
        #expect(tracker.update(loud: [ada], now: start) == (started: [ada], stopped: []))
        // Pauses between words.
        for tenth in 1...20 {
            let loud: Set<PeerID> = tenth % 3 == 0 ? [] : [ada]
            let turns = tracker.update(loud: loud, now: start.addingTimeInterval(Double(tenth) / 10))
            #expect(turns.started.isEmpty && turns.stopped.isEmpty)
        }
        // Quiet for less than the pause: still her turn; then it ends.
        #expect(tracker.update(loud: [], now: start.addingTimeInterval(3.5)) == (started: [], stopped: []))
        #expect(tracker.update(loud: [], now: start.addingTimeInterval(4.1)) == (started: [], stopped: [ada]))
        #expect(tracker.update(loud: [ada], now: start.addingTimeInterval(5)) == (started: [ada], stopped: []))
    }

    @Test("someone who left gets no 'stopped speaking' line")
    func forget() {
        var tracker = SpeakingTracker(pauseSeconds: 2)
        let start = Date(timeIntervalSince1970: 0)
        _ = tracker.update(loud: ["ada"], now: start)
        tracker.forget("ada")
        #expect(tracker.update(loud: [], now: start.addingTimeInterval(5)).stopped.isEmpty)
    }
}
