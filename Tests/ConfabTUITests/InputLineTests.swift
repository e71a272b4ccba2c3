// Every binding of the input line works in every input line: the meeting's,
// the call screen's and the home screen's, driven through the front loop
// and read back from the screen (the line's text and the cursor).
import ConfabClient
import ConfabProtocol
import Foundation
import Testing
@testable import ConfabTUI

/// One of the screens with an input line, driven through its front.
enum LineScreen: String, CaseIterable, Sendable {
    case meeting, call, home
}

/// A front with an input line, whatever its screen.
struct LineDriver {
    let press: (Key) -> Void
    let type: (String) -> Void
    /// Puts the focus in the input line if it is not there.
    let focus: () -> Void
    let line: () -> String
    let cursor: () -> Int?
    let text: () -> String

    init(_ screen: LineScreen) {
        switch screen {
        case .meeting:
            let front = MeetingFront()
            self.init(front) { if front.screen.model.focus != .input { front.press(.character("i")) } }
        case .call:
            let front = ConnectFront(CallFixtures.inCall())
            front.join(Fixtures.room(others: 1))
            self.init(front) { if front.screen.call?.room.model.focus != .input { front.press(.character("i")) } }
        case .home:
            let front = ConnectFront(CallFixtures.homeState())
            self.init(front) { if !front.screen.home.model.inputFocused { front.press(.character("i")) } }
        }
    }

    /// Focuses the line, types `text`, presses `key`.
    func write(_ text: String, then key: Key) {
        focus()
        type(text)
        press(key)
    }

    init<Screen>(_ front: MemoryFront<Screen>, focus: @escaping () -> Void) {
        press = { front.press($0) }
        type = { front.type($0) }
        self.focus = focus
        line = { front.inputLine() }
        cursor = { front.inputCursor }
        text = { front.terminal.text }
    }
}

/// A binding: lines submitted first (the history), the text typed, the keys, and what the line shows after.
struct LineCase: Sendable, CustomTestStringConvertible {
    var name: String
    var history: [String] = []
    var typed = "hello big world"
    var keys: [Key]
    var line: String
    /// nil: the line has no cursor (it was left).
    var cursor: Int?

    var testDescription: String { name }

    static let all: [LineCase] = [
        LineCase(name: "Ctrl-A", keys: [.control("a")], line: "hello big world", cursor: 0),
        LineCase(name: "Home", keys: [.home], line: "hello big world", cursor: 0),
        LineCase(name: "Ctrl-E", keys: [.control("a"), .control("e")], line: "hello big world", cursor: 15),
        LineCase(name: "End", keys: [.home, .end], line: "hello big world", cursor: 15),
        LineCase(name: "Ctrl-B", keys: [.control("b")], line: "hello big world", cursor: 14),
        LineCase(name: "Left", keys: [.left], line: "hello big world", cursor: 14),
        LineCase(name: "Ctrl-F", keys: [.control("a"), .control("f")], line: "hello big world", cursor: 1),
        LineCase(name: "Right", keys: [.home, .right], line: "hello big world", cursor: 1),
        LineCase(name: "Ctrl-H", keys: [.control("h")], line: "hello big worl", cursor: 14),
        LineCase(name: "Backspace", keys: [.backspace], line: "hello big worl", cursor: 14),
        LineCase(name: "Ctrl-D", keys: [.control("a"), .control("d")], line: "ello big world", cursor: 0),
        LineCase(name: "Delete", keys: [.home, .delete], line: "ello big world", cursor: 0),
        LineCase(name: "Ctrl-K", keys: [.home] + Array(repeating: .right, count: 5) + [.control("k")], line: "hello", cursor: 5),
        LineCase(name: "Ctrl-U", keys: Array(repeating: .left, count: 5) + [.control("u")], line: "world", cursor: 0),
        LineCase(name: "Ctrl-W", keys: [.control("w")], line: "hello big", cursor: 10),
        LineCase(name: "Ctrl-Y", keys: [.control("w"), .control("a"), .control("y")], line: "worldhello big", cursor: 5),
        LineCase(name: "Up", history: ["/nosuch"], keys: [.up], line: "/nosuch", cursor: 7),
        LineCase(name: "Ctrl-P", history: ["/nosuch"], keys: [.control("p")], line: "/nosuch", cursor: 7),
        LineCase(name: "Down", history: ["/nosuch"], keys: [.up, .down], line: "hello big world", cursor: 15),
        LineCase(name: "Ctrl-N", history: ["/nosuch"], keys: [.control("p"), .control("n")], line: "hello big world", cursor: 15),
        LineCase(name: "Tab", typed: "/he", keys: [.tab], line: "/help", cursor: 6),
        LineCase(name: "Esc", keys: [.escape], line: "hello big world", cursor: nil),
    ]
}

@Suite("the input line, on every screen")
struct InputLineTests {
    @Test("every binding works in every input line", arguments: LineScreen.allCases, LineCase.all)
    func binding(screen: LineScreen, binding: LineCase) {
        let front = LineDriver(screen)
        for line in binding.history { front.write(line, then: .enter) }
        front.focus()
        front.type(binding.typed)
        for key in binding.keys { front.press(key) }
        #expect(front.line() == binding.line)
        #expect(front.cursor() == binding.cursor)
    }

    @Test("Enter runs the line; an unknown command says so the same way everywhere", arguments: LineScreen.allCases)
    func enterRunsTheLine(screen: LineScreen) {
        let front = LineDriver(screen)
        front.write("/nosuch", then: .enter)
        #expect(front.text().contains("unknown command /nosuch (try /help)"))
        #expect(!front.line().contains("/nosuch"))
    }

    @Test("Tab with several candidates completes their common part and lists them", arguments: LineScreen.allCases)
    func severalCandidates(screen: LineScreen) {
        let front = LineDriver(screen)
        front.write("/h", then: .tab)
        // The meeting's and the call's /hand and /help; the home screen has /help alone.
        if screen == .home {
            #expect(front.line() == "/help")
        } else {
            #expect(front.line() == "/h")
            #expect(front.text().contains("/hand  /help"))
        }
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
