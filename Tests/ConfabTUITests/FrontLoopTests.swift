// The front loop in memory: keys in, whole screens out, for the meeting,
// the home screen and the call screen; what reaches the session is checked
// as commands.
import ConfabClient
import ConfabProtocol
import Foundation
import Testing
@testable import ConfabTUI

@Suite("the front loop: meeting")
struct MeetingFrontTests {
    @Test("typing in the input line and Enter sends the line; the screen shows it as it is typed")
    func typeAndSend() {
        let front = MeetingFront()
        front.press(.character("i"))
        front.type("hello")
        #expect(front.inputLine() == "hello")
        #expect(front.inputCursor == 5)
        front.press(.enter)
        #expect(front.commands.all == [.send("hello", .broadcast)])
        #expect(front.inputLine() == "")
    }

    @Test("an idle tick writes nothing; the same levels again are not worth a frame; new ones are")
    func idleCostsNothing() {
        let front = MeetingFront()
        let flushes = front.terminal.flushCount
        front.step(.tick)
        front.step(.tick)
        #expect(front.terminal.flushCount == flushes)
        // Levels come 20 times a second, changed or not.
        front.event(.mediaLevels(["p0": 40]))
        #expect(front.terminal.flushCount == flushes + 1)
        front.event(.mediaLevels(["p0": 40]))
        #expect(front.terminal.flushCount == flushes + 1, "the same level drew a frame")
        front.event(.mediaLevels(["p0": 12]))
        #expect(front.terminal.flushCount == flushes + 2)
    }

    @Test("a resize draws the whole screen at the new size")
    func resize() {
        let front = MeetingFront()
        front.terminal.resize(to: Size(columns: 100, rows: 30))
        front.press(.resize)
        #expect(front.terminal.screen.lines.count == 30)
        #expect(front.terminal.screen.lines.allSatisfy { TextWidth.width(of: $0) == 100 })
        #expect(front.terminal.screen.lines[29].hasPrefix(" standup  Me Myself host │ ● connected"))
    }

    @Test("q then y leaves; Ctrl-C and a signal leave at once; an ended session exits with Enter",
          arguments: ["q y", "ctrl-c", "signal", "ended"])
    func leaving(way: String) {
        let front = MeetingFront()
        switch way {
        case "q y":
            front.press(.character("q"))
            #expect(front.terminal.text.contains("Leave the meeting?"))
            #expect(front.outcome == nil)
            front.press(.character("y"))
        case "ctrl-c": front.press(.control("c"))
        case "signal": front.step(.signal(SIGTERM))
        default:
            front.event(.roomEnded(RoomEnded(by: "p0", reason: "Thanks, all!", locked: false)))
            #expect(front.terminal.text.contains("Ada ended the room: Thanks, all!"))
            front.press(.enter)
            #expect(front.outcome == .exit)
            return
        }
        #expect(front.outcome == .leave)
    }

    @Test("the kitty keyboard protocol's answer turns Space into hold-to-talk: press talks, release mutes")
    func kittyAnswer() {
        var state = Fixtures.room(others: 2)
        state.you?.tracks[0].muted = true
        state.you?.tracks[0].mutedBy = Fixtures.youID
        let front = MeetingFront(state)
        #expect(front.terminal.controlsSent == [KittyKeyboard.query])
        #expect(front.terminal.screen.lines[23].contains("Space on/off"))
        front.send("\u{1B}[?0u")
        #expect(front.terminal.controlsSent.count == 2)
        #expect(front.terminal.screen.lines[23].contains("hold Space"))
        front.send("\u{1B}[32;;32u")
        front.send("\u{1B}[32;1:3u")
        #expect(front.commands.all == [.setMuted(false), .setMuted(true)])
    }

    @Test("a message naming us rings the bell; a command's refusal shows in the message row")
    func bellAndRefusal() {
        let front = MeetingFront()
        front.event(.chatMessage(Fixtures.message(9, from: 1, text: "Me Myself, are you there?")))
        #expect(front.terminal.bellCount == 1)
        front.step(.message(.commandFailed("you may not do that")))
        #expect(front.terminal.screen.lines[21] == " you may not do that" + String(repeating: " ", count: 60))
        // Six seconds on, the notice expires at a tick.
        front.now += 6
        front.step(.tick)
        #expect(!front.terminal.text.contains("you may not do that"))
    }
}

@Suite("the front loop: home and call screens")
struct ConnectFrontTests {
    @Test("the call's room joined: the call screen; its updates reach it; leaving it hangs up and goes home")
    func intoACallAndBack() {
        let front = ConnectFront(CallFixtures.inCall())
        #expect(front.homeCommands.take() == [.loadHistory])
        let roomCommands = Recorded<MeetingCommand>()
        let store = front.join(Fixtures.room(others: 1), commands: roomCommands)
        #expect(front.terminal.screen.lines[0].hasPrefix(" ☎ Call  1:05 │ Bob ✓ in call · Carol ringing…"))
        store.apply(.chatMessage(Fixtures.message(7, from: 0, text: "can you hear me?")))
        front.deliverPosted()
        #expect(front.terminal.text.contains("can you hear me?"))
        #expect(roomCommands.take() == [.markRead], "a message read as it shows")
        front.press(.character("m"))
        #expect(roomCommands.take() == [.setMuted(true)])
        front.press(.character("q"))
        #expect(front.terminal.text.contains("Hang up?"))
        front.press(.character("y"))
        #expect(front.homeCommands.take() == [.hangup])
        #expect(front.screen.call == nil)
        #expect(front.terminal.screen.lines[0].hasPrefix(" Confab  Me Myself (me)"))
        // A late update of the old room changes nothing.
        store.apply(.chatMessage(Fixtures.message(8, from: 0, text: "still there?")))
        front.deliverPosted()
        #expect(!front.terminal.text.contains("still there?"))
        #expect(front.outcome == nil)
    }

    @Test("the call screen has the meeting's voice keys and /device when the call's room has audio; their answers show there")
    func voiceInACall() {
        let front = ConnectFront(CallFixtures.inCall())
        let roomCommands = Recorded<MeetingCommand>()
        front.join(Fixtures.room(others: 1), commands: roomCommands, voice: .all, hasDevices: true)
        front.press(.character("e"))
        #expect(roomCommands.take() == [.setVoice(VoiceChain(on: [.noise, .gain, .keys]))])
        front.press(.character("i"))
        front.type("/device output USB Headset")
        front.press(.enter)
        #expect(roomCommands.take() == [.switchDevice(input: false, "USB Headset")])
        front.step(.message(.voice(.notice("speaker: alsa:USB Headset (remembered in config.toml)"))))
        #expect(front.terminal.text.contains("speaker: alsa:USB Headset"))

        // Without audio in the call's room: no voice keys, and /device says why.
        let plain = ConnectFront(CallFixtures.inCall())
        let plainCommands = Recorded<MeetingCommand>()
        plain.join(Fixtures.room(others: 1), commands: plainCommands)
        plain.press(.character("i"))
        plain.type("/device")
        plain.press(.enter)
        #expect(plainCommands.take().isEmpty)
        #expect(plain.terminal.text.contains("no sound devices in this meeting"))
    }

    @Test("the call bar's clock moves each second on a call without answeredAt (the callee's copy), from the room join")
    func calleeClock() {
        var calls = CallFixtures.state(online: [CallFixtures.bob])
        calls.apply(.placed(CallFixtures.call(caller: CallFixtures.bob, invitees: [(CallFixtures.me, .accepted)])))
        calls.apply(.roomReady(CallRoom(call: "k1", room: "call-k1", token: "t")))
        let front = ConnectFront(calls)
        front.join(Fixtures.room(others: 1))
        #expect(front.terminal.screen.lines[0].hasPrefix(" ☎ Call  1:00 │ "), "\(front.terminal.screen.lines[0])")
        front.now += 1
        front.step(.tick)
        #expect(front.terminal.screen.lines[0].hasPrefix(" ☎ Call  1:01 │ "), "\(front.terminal.screen.lines[0])")
    }

    @Test("/call NAME in the call's input line invites; Ctrl-C in a call hangs up, at home it quits")
    func inviteAndControlC() {
        let front = ConnectFront(CallFixtures.inCall())
        front.join(Fixtures.room(others: 1))
        _ = front.homeCommands.take()
        front.press(.character("i"))
        front.type("/call dave")
        front.press(.enter)
        #expect(front.terminal.text.contains("dave is not online"))
        front.type("/call car")
        front.press(.tab)
        #expect(front.inputLine() == "/call carol")
        front.press(.enter)
        #expect(front.homeCommands.take() == [.call(["carol"])])
        front.press(.control("c"))
        #expect(front.homeCommands.take() == [.hangup])
        #expect(front.outcome == nil)
        front.press(.control("c"))
        #expect(front.outcome == .quit)
    }

    @Test("an invitation rings the bell and opens the ringing dialog; a accepts after the guard")
    func ringing() {
        let front = ConnectFront(CallFixtures.state(online: [CallFixtures.bob]))
        _ = front.homeCommands.take()
        front.event(.invited(CallInvitation(
            call: CallFixtures.call(caller: CallFixtures.bob, invitees: [(CallFixtures.me, .ringing)]), from: "bob",
            ringTimeoutMs: 30_000)))
        #expect(front.terminal.bellCount == 1)
        #expect(front.terminal.text.contains("Bob is calling you"))
        front.press(.character("a"))
        #expect(front.homeCommands.take() == [], "a key in the dialog's first half second")
        front.now += HomeModel.answerGuard
        front.press(.character("a"))
        #expect(front.homeCommands.take() == [.accept("k1")])
    }

    @Test("a signal quits from the home screen and from a call")
    func signal() {
        let front = ConnectFront(CallFixtures.inCall())
        front.join(Fixtures.room(others: 1))
        front.step(.signal(SIGINT))
        #expect(front.outcome == .quit)
    }
}
