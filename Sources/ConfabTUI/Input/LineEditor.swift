// The chat input line, readline-style. The text is a list of grapheme
// clusters, so the cursor never lands inside an emoji or a combining
// sequence, and deleting removes what the eye sees as one character.
//
//   key ─▶ LineEditor.handle ─▶ edited text / submitted line / history step

/// A one-line editor with readline's keys and a history.
public struct LineEditor: Hashable, Sendable {
    public private(set) var characters: [Character] = []
    /// The cursor, as an index into `characters` (0 … count).
    public private(set) var cursor = 0
    public private(set) var history: [String] = []
    /// Where ↑/↓ stand in the history; nil while editing a new line.
    private var historyIndex: Int?
    /// The line being written before ↑ was pressed, given back by ↓.
    private var draft: [Character] = []
    /// What Ctrl-K, Ctrl-U and Ctrl-W cut last (readline's kill buffer; Ctrl-Y yanks it).
    private var killed: [Character] = []
    public static let historyLimit = 200

    public init() {}

    public var text: String { String(characters) }
    public var isEmpty: Bool { characters.isEmpty }

    public mutating func setText(_ text: String) {
        characters = Array(text)
        cursor = characters.count
    }

    public mutating func insert(_ text: String) {
        let new = Array(text)
        characters.insert(contentsOf: new, at: cursor)
        cursor += new.count
        // Inserting may merge clusters (a combining mark after a letter): re-split.
        let joined = String(characters)
        if joined.count != characters.count {
            let before = String(characters[..<cursor]).count
            characters = Array(joined)
            cursor = min(before, characters.count)
        }
    }

    public mutating func moveLeft() { cursor = max(0, cursor - 1) }
    public mutating func moveRight() { cursor = min(characters.count, cursor + 1) }
    public mutating func moveHome() { cursor = 0 }
    public mutating func moveEnd() { cursor = characters.count }

    public mutating func backspace() {
        guard cursor > 0 else { return }
        characters.remove(at: cursor - 1)
        cursor -= 1
    }

    public mutating func deleteForward() {
        guard cursor < characters.count else { return }
        characters.remove(at: cursor)
    }

    /// Ctrl-K: cut from the cursor to the end.
    public mutating func killToEnd() {
        killed = Array(characters[cursor...])
        characters.removeSubrange(cursor...)
    }

    /// Ctrl-U: cut from the start to the cursor.
    public mutating func killToStart() {
        killed = Array(characters[..<cursor])
        characters.removeSubrange(..<cursor)
        cursor = 0
    }

    /// Ctrl-W: cut the word before the cursor (and the spaces after it).
    public mutating func killWordBackward() {
        var start = cursor
        while start > 0, characters[start - 1] == " " { start -= 1 }
        while start > 0, characters[start - 1] != " " { start -= 1 }
        killed = Array(characters[start..<cursor])
        characters.removeSubrange(start..<cursor)
        cursor = start
    }

    /// Ctrl-Y: paste what was cut last.
    public mutating func yank() {
        insert(String(killed))
    }

    /// ↑: the previous line of the history (the draft is kept for ↓).
    public mutating func historyPrevious() {
        guard !history.isEmpty else { return }
        if let index = historyIndex {
            guard index > 0 else { return }
            historyIndex = index - 1
        } else {
            draft = characters
            historyIndex = history.count - 1
        }
        characters = Array(history[historyIndex ?? 0])
        cursor = characters.count
    }

    /// ↓: the next line of the history, then the draft.
    public mutating func historyNext() {
        guard let index = historyIndex else { return }
        if index + 1 < history.count {
            historyIndex = index + 1
            characters = Array(history[index + 1])
        } else {
            historyIndex = nil
            characters = draft
        }
        cursor = characters.count
    }

    /// Enter: returns the line (nil when blank), records it in the history, and clears.
    /// The readline keys every input line shares (typing, moving, deleting,
    /// killing and yanking, history). Returns false for any other key (Tab,
    /// Escape, Enter…), which the screen handles itself.
    public mutating func edit(_ key: Key) -> Bool {
        switch key {
        case .character(let character): insert(String(character))
        case .left, .control("b"): moveLeft()
        case .right, .control("f"): moveRight()
        case .home, .control("a"): moveHome()
        case .end, .control("e"): moveEnd()
        case .backspace, .control("h"): backspace()
        case .delete, .control("d"): deleteForward()
        case .control("k"): killToEnd()
        case .control("u"): killToStart()
        case .control("w"): killWordBackward()
        case .control("y"): yank()
        case .up, .control("p"): historyPrevious()
        case .down, .control("n"): historyNext()
        default: return false
        }
        return true
    }

    public mutating func submit() -> String? {
        let line = text
        characters = []
        cursor = 0
        historyIndex = nil
        draft = []
        guard !line.allSatisfy(\.isWhitespace) else { return nil }
        if history.last != line { history.append(line) }
        if history.count > Self.historyLimit { history.removeFirst(history.count - Self.historyLimit) }
        return line
    }

    /// The word under construction before the cursor (for Tab completion), and where it starts.
    public var wordBeforeCursor: (word: String, start: Int) {
        var start = cursor
        while start > 0, characters[start - 1] != " " { start -= 1 }
        return (String(characters[start..<cursor]), start)
    }

    /// Replaces the characters from `start` to the cursor with `replacement`.
    public mutating func replace(from start: Int, with replacement: String) {
        characters.removeSubrange(start..<cursor)
        cursor = start
        insert(replacement)
    }

    /// The part of the line to show in `columns`, scrolled so the cursor is
    /// visible, and the cursor's column within it.
    public func visible(columns: Int) -> (text: String, cursorColumn: Int) {
        guard columns > 1 else { return ("", 0) }
        var start = 0
        var widthToCursor = TextWidth.width(of: String(characters[..<cursor]))
        // Keep one column free for the cursor itself.
        while widthToCursor > columns - 1, start < cursor {
            widthToCursor -= TextWidth.width(of: characters[start])
            start += 1
        }
        let shown = TextWidth.prefix(of: String(characters[start...]), fitting: columns)
        return (String(shown.text), widthToCursor)
    }
}
