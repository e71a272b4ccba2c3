import ConfabClient
import ConfabProtocol
import Foundation
import Testing
@testable import ConfabTUI

@Suite("keys and commands")
struct ModelTests {
    func typing(_ text: String, into model: inout MeetingModel, state: RoomState) -> [MeetingCommand] {
        model.focus = .input
        var commands: [MeetingCommand] = []
        for character in text { commands += model.handle(.character(character), state: state) }
        return commands + model.handle(.enter, state: state)
    }

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
        ("/mute Linus", .mute("p2")),
        ("/role Linus speaker", .changeRole("p2", "speaker")),
        ("/kick Linus too loud", .remove("p2", reason: "too loud")),
        ("/hand", .setHand(raised: true)),
        ("/quit", .leave),
        ("//not a command", .send("/not a command", .broadcast)),
    ])
    func commands(line: String, expected: MeetingCommand) {
        let state = Fixtures.room(others: 3)
        var model = MeetingModel()
        #expect(typing(line, into: &model, state: state) == [expected])
    }

    @Test("an unknown name or command is a notice, not a message")
    func unknown() {
        let state = Fixtures.room(others: 3)
        var model = MeetingModel()
        #expect(typing("/msg nobody hi", into: &model, state: state).isEmpty)
        #expect(model.notice?.isError == true)
        #expect(typing("/frobnicate", into: &model, state: state).isEmpty)
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

    @Test("a prompt put to us becomes a dialog that a and d answer")
    func prompts() {
        let previous = Fixtures.room(others: 1)
        var state = previous
        let prompt = RoleChangePrompt(prompt: "q1", by: "p0", role: "speaker")
        reduce(&state, .roleChangeRequested(prompt))
        var model = MeetingModel()
        _ = model.apply(RoomUpdate(event: .roleChangeRequested(prompt), state: state), previous: previous)
        #expect(model.overlay == .prompt(PendingPrompt(id: "q1", by: "p0", question: .roleChange("speaker"))))
        #expect(model.handle(.character("a"), state: state) == [.answer("q1", accept: true)])
        #expect(model.overlay == nil)
    }

    @Test("a prompt that opens while we type takes no keys in its first half second: they stay typing")
    func promptOpensWhileTyping() {
        let previous = Fixtures.room(others: 1)
        var state = previous
        let prompt = RoleChangePrompt(prompt: "q1", by: "p0", role: "speaker")
        reduce(&state, .roleChangeRequested(prompt))
        var model = MeetingModel()
        let opened = Date()
        model.now = opened
        _ = model.handle(.character("i"), state: previous)
        for key in "ok" { _ = model.handle(.character(key), state: previous) }
        _ = model.apply(RoomUpdate(event: .roleChangeRequested(prompt), state: state), previous: previous)
        #expect(model.overlay == .prompt(PendingPrompt(id: "q1", by: "p0", question: .roleChange("speaker"))))
        // "…ay" and Enter typed as the dialog appears: the line's, not an accept.
        #expect(model.handle(.character("a"), state: state, at: opened.addingTimeInterval(0.1)).isEmpty)
        #expect(model.handle(.character("y"), state: state, at: opened.addingTimeInterval(0.2)) == [])
        #expect(model.handle(.enter, state: state, at: opened.addingTimeInterval(0.3)) == [.send("okay", .broadcast)])
        #expect(model.overlay == .prompt(PendingPrompt(id: "q1", by: "p0", question: .roleChange("speaker"))))
        // Once it could be seen, it takes its keys.
        #expect(model.handle(.character("a"), state: state, at: opened.addingTimeInterval(MeetingModel.promptGuard + 0.1)) == [.answer("q1", accept: true)])
        #expect(model.overlay == nil)
        #expect(model.editor.isEmpty)
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

@Suite("line editor")
struct LineEditorTests {
    @Test("readline keys move and cut by grapheme, UTF-8 safe")
    func editing() {
        var editor = LineEditor()
        editor.insert("héllo wörld 👨‍👩‍👧")
        #expect(editor.characters.count == 13)
        editor.backspace()
        #expect(editor.text == "héllo wörld ")
        editor.killWordBackward()
        #expect(editor.text == "héllo ")
        editor.moveHome()
        editor.moveRight()
        editor.killToEnd()
        #expect(editor.text == "h")
        editor.yank()
        #expect(editor.text == "héllo ")
        editor.moveLeft()
        editor.killToStart()
        #expect(editor.text == " ")
        editor.insert("e\u{301}")
        #expect(editor.characters.count == 2)
    }

    @Test("history goes back and forth and keeps the draft")
    func history() {
        var editor = LineEditor()
        editor.insert("one")
        _ = editor.submit()
        editor.insert("two")
        _ = editor.submit()
        editor.insert("dra")
        editor.historyPrevious()
        #expect(editor.text == "two")
        editor.historyPrevious()
        #expect(editor.text == "one")
        editor.historyNext()
        editor.historyNext()
        #expect(editor.text == "dra")
    }

    @Test("the visible part follows the cursor through wide text")
    func visible() {
        var editor = LineEditor()
        editor.insert(String(repeating: "漢", count: 30))
        let (text, column) = editor.visible(columns: 20)
        #expect(TextWidth.width(of: text) <= 20)
        #expect(column <= 19)
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
