// How many terminal columns text takes. Terminals place characters by
// wcwidth (POSIX), so measuring with anything else lets a CJK name or an
// emoji push a border out of line. A grapheme cluster takes the width of its
// first scalar; the marks and joiners that follow draw onto it.
//
//   "名前 🎤" ─▶ graphemes ─▶ wcwidth(first scalar) ─▶ 2 2 1 2 = 7 columns
import Curses
import Glibc

public enum TextWidth {
    /// wcwidth answers by LC_CTYPE; in the "C" locale every non-ASCII
    /// character is -1. Done once, before the first measurement.
    private static let localeReady: Bool = {
        if setlocale(LC_CTYPE, nil).map({ String(cString: $0) }) == "C" {
            if setlocale(LC_CTYPE, "C.UTF-8") == nil { _ = setlocale(LC_CTYPE, "en_US.UTF-8") }
        }
        return true
    }()

    /// Columns of one grapheme cluster: 0 (combining, invisible), 1 or 2.
    /// Unprintable clusters (controls that got past the sanitiser) count 1:
    /// they are drawn as a visible replacement, never sent raw.
    public static func width(of character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        if let escaped = escapedControl(character) { return escaped.count }
        if first.value < 0x7F { return 1 }
        _ = localeReady
        let measured = Curses.width(of: first)
        if measured < 0 { return 1 }
        // An emoji presentation selector makes a text-default symbol (☎, ❤)
        // an emoji, which terminals draw two columns wide.
        if measured == 1, character.unicodeScalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        return min(measured, 2)
    }

    /// How a control character that got this far is shown: C0 and DEL in
    /// caret notation (^[, ^M, ^?), C1 as its 7-bit ESC form (U+009B as ^[[,
    /// ECMA-48 §5.3). Nil for everything printable. A control is never sent
    /// to the terminal raw.
    public static func escapedControl(_ character: Character) -> String? {
        guard let first = character.unicodeScalars.first else { return nil }
        switch first.value {
        case 0x00...0x1F: return "^" + String(Character(Unicode.Scalar(UInt8(first.value + 0x40))))
        case 0x7F: return "^?"
        case 0x80...0x9F: return "^[" + String(Character(Unicode.Scalar(UInt8(first.value - 0x40))))
        default: return nil
        }
    }

    /// Columns of a whole string.
    public static func width(of text: some StringProtocol) -> Int {
        // Printable ASCII is a column a byte, with no grapheme breaking needed.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text.utf8.count }
        var total = 0
        for character in text { total += width(of: character) }
        return total
    }

    /// The longest prefix of `text` that fits in `columns`, with its width.
    public static func prefix(of text: some StringProtocol, fitting columns: Int) -> (text: Substring, width: Int) {
        let string = Substring(text)
        var used = 0
        var end = string.startIndex
        for index in string.indices {
            let w = width(of: string[index])
            if used + w > columns { break }
            used += w
            end = string.index(after: index)
        }
        return (string[string.startIndex..<end], used)
    }

    /// `text` cut to `columns`, ending in "…" when it was cut.
    public static func truncate(_ text: some StringProtocol, to columns: Int) -> String {
        guard columns > 0 else { return "" }
        if width(of: text) <= columns { return String(text) }
        let cut = prefix(of: text, fitting: columns - 1)
        return String(cut.text) + "…"
    }

    /// `text` padded with spaces (or cut) to exactly `columns`.
    public static func pad(_ text: some StringProtocol, to columns: Int) -> String {
        let cut = truncate(text, to: columns)
        return cut + String(repeating: " ", count: max(0, columns - width(of: cut)))
    }

    /// Breaks `text` into lines of at most `columns`: at spaces where it
    /// can, inside a word where a word is longer than a line. "\n" starts a
    /// new line. `firstColumns` is the room on the first line when something
    /// (a timestamp, a name) already stands before the text there.
    public static func wrap(_ text: String, columns: Int, firstColumns: Int? = nil) -> [String] {
        guard columns > 0 else { return [] }
        var lines: [String] = []
        var limit: Int { lines.isEmpty ? max(1, firstColumns ?? columns) : columns }
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var lineWidth = 0
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: false) {
                var rest = Substring(word)
                var restWidth = width(of: rest)
                let gap = line.isEmpty ? 0 : 1
                if lineWidth + gap + restWidth <= limit {
                    if gap == 1 { line += " " }
                    line += rest
                    lineWidth += gap + restWidth
                    continue
                }
                if !line.isEmpty {
                    lines.append(line)
                    line = ""
                    lineWidth = 0
                }
                // A word longer than a line is cut where the line ends.
                while restWidth > limit {
                    let piece = prefix(of: rest, fitting: limit)
                    if piece.text.isEmpty {
                        // A two-column character on a one-column line cannot fit at all.
                        rest = rest.dropFirst()
                        restWidth = width(of: rest)
                        continue
                    }
                    lines.append(String(piece.text))
                    rest = rest[piece.text.endIndex...]
                    restWidth -= piece.width
                }
                line = String(rest)
                lineWidth = restWidth
            }
            lines.append(line)
        }
        return lines
    }
}
