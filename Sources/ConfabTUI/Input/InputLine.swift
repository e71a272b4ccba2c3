// The input line the meeting, call and home screens share: the readline
// keys (LineEditor.edit), Enter and Esc, Tab completion over slash commands
// and names, and the notice beside it. One component, so a binding added
// here works in every input line.
//
//   key ─▶ InputLine.handle ─▶ .edited | .submitted(line) | .left | .complete | .unhandled ─▶ the screen's model
//   Tab ─▶ the model's candidates ─▶ InputLine.complete ─▶ the word, their common prefix, or a list as a notice
import ConfabProtocol
import Foundation

/// A slash command of an input line: completed by Tab, listed in the help.
public typealias SlashCommand = (name: String, usage: String, summary: String)

/// A short message for the user, with when it goes away (errors stay longer).
public struct Notice: Hashable, Sendable {
    public var text: String
    public var isError: Bool
    public var until: Date

    public init(_ text: String, isError: Bool = false, now: Date) {
        self.text = text
        self.isError = isError
        until = now.addingTimeInterval(isError ? 6 : 3)
    }
}

public struct InputLine: Hashable, Sendable {
    public var editor = LineEditor()
    public var notice: Notice?

    /// What a key did to the line.
    public enum KeyResult: Hashable, Sendable {
        /// Typed, moved, deleted, yanked, stepped through the history.
        case edited
        /// Enter on a line that is not blank: the line (the editor is cleared).
        case submitted(String)
        /// Enter on a blank line: nothing to run.
        case blank
        /// Esc: leave the line.
        case left
        /// Tab: the screen completes the word before the cursor.
        case complete
        /// Any other key, for the screen.
        case unhandled
    }

    public init() {}

    public mutating func handle(_ key: Key) -> KeyResult {
        if editor.edit(key) { return .edited }
        switch key {
        case .enter: return editor.submit().map { .submitted($0) } ?? .blank
        case .escape: return .left
        case .tab: return .complete
        default: return .unhandled
        }
    }

    /// What every input line says of a slash command it does not know.
    static func unknownCommand(_ word: String) -> String {
        "unknown command \(TextSanitizer.clean(word, lineBreaks: .singleLine)) (try /help)"
    }

    public mutating func setNotice(_ text: String, error: Bool = false, now: Date) {
        notice = Notice(text, isError: error, now: now)
    }

    /// Drops an expired notice; returns whether one went.
    public mutating func expireNotice(now: Date) -> Bool {
        guard let notice, notice.until <= now else { return false }
        self.notice = nil
        return true
    }

    /// Completes the word before the cursor (from `start`) with `candidates`:
    /// one is inserted whole with `suffix`; several are completed to their
    /// common prefix (any case) and returned, sorted, for the notice. Nil
    /// when there is nothing to list.
    public mutating func complete(from start: Int, word: String, candidates: [String], suffix: String = " ") -> [String]? {
        let sorted = candidates.sorted()
        guard let first = sorted.first else { return nil }
        if sorted.count == 1 {
            editor.replace(from: start, with: first + suffix)
            return nil
        }
        var common = first
        for candidate in sorted.dropFirst() {
            while !candidate.lowercased().hasPrefix(common.lowercased()) { common.removeLast() }
        }
        if common.count > word.count { editor.replace(from: start, with: common) }
        return sorted
    }
}

/// A screen model with an input line: its notices, shared.
protocol InputLineModel {
    var input: InputLine { get set }
    var now: Date { get }
    /// Plain lines for screen-reader mode, taken by the driver.
    var announcements: [String] { get set }
}

extension InputLineModel {
    var editor: LineEditor {
        get { input.editor }
        set { input.editor = newValue }
    }

    /// A short message beside the input line (an error, a confirmation), with when it expires.
    var notice: Notice? {
        get { input.notice }
        set { input.notice = newValue }
    }

    /// A notice beside the input line; an error is also a plain line for screen readers.
    mutating func setNotice(_ text: String, error: Bool = false) {
        input.setNotice(text, error: error, now: now)
        if error { announcements.append(text) }
    }
}
