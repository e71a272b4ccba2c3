// Whole screens, row for row, as the front loop draws them into memory:
// the meeting (tiles, level bars, chat, status bar), the home screen and
// the call screen, at 80×24 and at 40×12 (too small: the screens say so).
import ConfabClient
import ConfabProtocol
import Foundation
import Testing
@testable import ConfabTUI

@Suite("golden screens", .tags(.snapshot))
struct GoldenScreenTests {
    static let narrow = Size(columns: 40, rows: 12)

    @Test("the meeting at 80×24: speaker strip, tiles with level bars, chat, message row, input line, status bar")
    func meeting() {
        let front = MeetingFront()
        expectScreen(front.terminal, Self.meeting80x24)
        // Typing shows in the input line, with the cursor after it; nothing else moves.
        front.press(.character("i"))
        front.type("hi all")
        var typed = Self.meeting80x24
        typed[20] = "                                                ╰──────────────────────────────╯"  // the tiles' key hint goes with their focus
        typed[22] = " › hi all"
        expectScreen(front.terminal, typed)
        #expect(front.terminal.cursor == CursorPosition(x: 9, y: 22))
    }

    @Test("the meeting at 40×12 says the window is too small")
    func meetingNarrow() {
        expectScreen(MeetingFront(size: Self.narrow).terminal, Self.tooSmall40x12)
    }

    @Test("the home screen at 80×24: online people, recent calls, input hint, status bar")
    func home() {
        let front = ConnectFront(CallFixtures.homeState())
        expectScreen(front.terminal, Self.home80x24)
    }

    @Test("the home screen at 40×12 says the window is too small")
    func homeNarrow() {
        expectScreen(ConnectFront(CallFixtures.homeState(), size: Self.narrow).terminal, Self.tooSmall40x12)
    }

    @Test("the call screen at 80×24: the call bar, two stacked tiles, chat, status bar naming who the call is with")
    func call() {
        let front = ConnectFront(CallFixtures.inCall())
        front.join(Fixtures.room(others: 1, chat: [Fixtures.message(1, from: 0, text: "Hi, can you hear me?")]))
        expectScreen(front.terminal, Self.call80x24)
    }

    @Test("the call screen at 40×12 says the window is too small")
    func callNarrow() {
        let front = ConnectFront(CallFixtures.inCall(), size: Self.narrow)
        front.join(Fixtures.room(others: 1))
        expectScreen(front.terminal, Self.tooSmall40x12)
    }

    static let meeting80x24: [String] = [
        " Speaking  Ada █████▊··  Zoë ██▍·····",
        "                                                ╭ Chat ────────────────────────╮",
        "                                                │                              │",
        " ╭ Me Myself (you) ────╮┏ Ada ━━━━━━━━━━ host ┓ │                              │",
        " │● on            host │┃● speaking           ┃ │                              │",
        " │·················   0│┃████████████▍····  73┃ │                              │",
        " ╰─────────────────────╯┗━━━━━━━━━━━━━━━━━━━━━┛ │                              │",
        "                                                │                              │",
        " ╭ ✋ Linus ── speaker ╮╭ 山田太郎 ── speaker ╮ │                              │",
        " │⊘ muted by Me Myself ││○ muted              │ │                              │",
        " │·················   0││·················   0│ │                              │",
        " ╰─────────────────────╯╰─────────────────────╯ │                              │",
        "                                                │                              │",
        " ╭ Grace Hopper ───────╮┏ Zoë ━━━━━━ listener ┓ │                              │",
        " │no mic      listener │┃no mic               ┃ │                              │",
        " │·················   0│┃█████▎···········  31┃ │22:14 Ada: Good morning!      │",
        " ╰─────────────────────╯┗━━━━━━━━━━━━━━━━━━━━━┛ │22:15 山田太郎: こんにちは、み│",
        "                                                │      なさん                  │",
        "                                                │22:16 Linus → you [dm]: psst  │",
        "                                                │22:17 * Zoë waves             │",
        " ←→↑↓ select · Enter actions · Tab focus        ╰──────────────────────────────╯",
        "",
        "   Tab or i to write · / for commands · ? for help",
        " standup  host │ ● connected │ mic ▯▯▯▯▯ │ Space on/off │ 3ms",
    ]
    static let home80x24: [String] = [
        " Confab  Me Myself (me) │ 127.0.0.1:7443",
        "╭ Online (3) ────────────╮╭ Recent calls ──────────────────────────────────────╮",
        "│› Bob (bob)             ││ ↗ out Bob          answered      1:23 22:03        │",
        "│  Carol (carol)   ● busy││ ↙ in  Carol, Dave  missed             21:13        │",
        "│  Dave (dave)           ││ ↗ out Dave         declined           Nov 13 21:13 │",
    ] + Array(repeating: "│                        ││                                                    │", count: 16) + [
        "╰────────────────────────╯╰────────────────────────────────────────────────────╯",
        "   /call NAME [NAME…] to ring people · Tab completes names · /help",
        " ● online │ ↑↓ select · c call · / command · r refresh · ? help · q quit",
    ]
    static let call80x24: [String] = [
        " ☎ Call  1:05 │ Bob ✓ in call · Carol ringing…   q hang up · /call NAME invites",
        "                                                ╭ Chat ────────────────────────╮",
    ] + Array(repeating: "                                                │                              │", count: 4) + [
        " ╭ Me Myself (you) ───────────────────── host ╮ │                              │",
        " │● on                                        │ │                              │",
        " │········································   0│ │                              │",
        " ╰────────────────────────────────────────────╯ │                              │",
        "                                                │                              │",
        " ┏ Ada ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ host ┓ │                              │",
        " ┃● speaking                                  ┃ │                              │",
        " ┃█████████████████████████████▏··········  73┃ │                              │",
        " ┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛ │                              │",
    ] + Array(repeating: "                                                │                              │", count: 3) + [
        "                                                │22:14 Ada: Hi, can you hear   │",
        "                                                │      me?                     │",
        "                                                ╰──────────────────────────────╯",
        "",
        "   Tab or i to write · / for commands · ? for help",
        " ☎ Bob, Carol  Me Myself │ ● connected │ mic ▯▯▯▯▯ │ Space on/off │ 3ms",
    ]
    static let tooSmall40x12: [String] = Array(repeating: "", count: 5) + [
        "        The window is too small",
        "       40×12; Confab needs 80×24",
        "  Make it larger, or press q to leave",
    ] + Array(repeating: "", count: 4)
}
