// Untrusted text (display names, chat, reasons) must never reach a terminal
// raw: a peer could otherwise write the clipboard (OSC 52), plant links
// (OSC 8), retitle the window, move the cursor and clear the screen, end a
// bracketed paste early, or reorder what others read with bidi controls
// (Trojan Source, CVE-2021-42574). The server sanitises what it accepts and
// clients sanitise again before showing anything.
//
//   text ─▶ scalars: escape sequences, C0/C1 controls, bidi and invisible
//           format characters out; CR LF → LF; tab → space
//        ─▶ graphemes: at most 8 combining marks each (no "Zalgo" towers)
//        ─▶ whitespace: single line (names) or bounded lines (chat); trimmed
//        ─▶ length in grapheme clusters: cut (names) or refused (chat)
//
// Escape sequences are recognised as ECMA-48 §5.4 (CSI) and §8.3.2 (control
// strings: OSC, DCS, SOS, PM, APC, ended by ST or, for OSC, BEL as xterm
// allows) describe them, in both the 7-bit (ESC [) and 8-bit (U+009B) forms,
// and removed whole, parameters and payload included. An unterminated
// control string removes everything after it, as a terminal would swallow it.

import ConfabMacros

/// How a piece of untrusted text is cleaned and bounded.
@PublicMemberwiseInit
public struct TextPolicy: Hashable, Sendable {
    public enum LineBreaks: Hashable, Sendable {
        /// Line breaks become spaces and runs of spaces one space: names, reasons.
        case singleLine
        /// Line breaks stay as "\n"; runs of blank lines shrink to one, and
        /// line breaks past `maximumLines` lines become "⏎".
        case multiline(maximumLines: Int)
    }

    /// What to do with text longer than `maximumCharacters`.
    public enum Overflow: Hashable, Sendable {
        /// Keep the first `maximumCharacters` grapheme clusters.
        case truncate
        /// Refuse with `TextRejection.tooLong`, so the sender can shorten it.
        case reject
    }

    public var lineBreaks: LineBreaks
    /// Limit in grapheme clusters (user-perceived characters).
    public var maximumCharacters: Int
    public var overflow: Overflow
    /// Whether text that is empty after cleaning is acceptable.
    public var allowsEmpty: Bool

    /// Display names: one line, cut at 64 characters, never empty.
    public static let displayName = TextPolicy(
        lineBreaks: .singleLine, maximumCharacters: ProtocolLimits.maximumNameCharacters,
        overflow: .truncate, allowsEmpty: false)
    /// Reasons for removal or ending a room: one line, cut at 200, may be empty.
    public static let reason = TextPolicy(
        lineBreaks: .singleLine, maximumCharacters: ProtocolLimits.maximumReasonCharacters,
        overflow: .truncate, allowsEmpty: true)
    /// Chat: keeps line breaks (at most 40 lines), refused past 4,000
    /// characters or when empty.
    public static let chat = TextPolicy(
        lineBreaks: .multiline(maximumLines: ProtocolLimits.maximumChatLines),
        maximumCharacters: ProtocolLimits.maximumChatCharacters, overflow: .reject, allowsEmpty: false)
}

/// Why sanitised text was refused.
public enum TextRejection: Error, Hashable, Sendable {
    /// Nothing visible is left (the text was empty, blank, or only controls).
    case empty
    /// Longer than the policy allows, counted after cleaning.
    case tooLong(characters: Int, limit: Int)
}

/// Cleans untrusted text for display in a terminal.
public enum TextSanitizer {
    /// Marks a line break in places that show one line: chat past its line
    /// limit, and previews made with `singleLineDisplay`.
    public static let lineBreakSymbol: Character = "⏎"
    /// The most combining marks one grapheme cluster keeps. Real scripts
    /// stack a few (Vietnamese two, pointed Hebrew up to four, Indic
    /// conjuncts a few viramas); "Zalgo" text stacks dozens to draw over
    /// the lines above and below.
    public static let maximumCombiningMarks = 8

    /// Cleans `text` and applies the policy's length and emptiness rules.
    public static func sanitize(_ text: String, policy: TextPolicy) throws(TextRejection) -> String {
        var cleaned = clean(text, lineBreaks: policy.lineBreaks)
        let characters = cleaned.count
        if characters > policy.maximumCharacters {
            switch policy.overflow {
            case .reject:
                throw .tooLong(characters: characters, limit: policy.maximumCharacters)
            case .truncate:
                cleaned = trimmed(String(cleaned.prefix(policy.maximumCharacters)))
            }
        }
        if cleaned.isEmpty, !policy.allowsEmpty { throw .empty }
        return cleaned
    }

    /// Removes escape sequences, controls and invisible format characters,
    /// bounds combining marks, normalises whitespace and trims. No length limit.
    public static func clean(_ text: String, lineBreaks: TextPolicy.LineBreaks) -> String {
        var filter = ScalarFilter(singleLine: lineBreaks == .singleLine)
        for scalar in text.unicodeScalars {
            filter.feed(scalar)
        }
        let bounded = boundCombiningMarks(String(filter.output))
        let shaped: String
        switch lineBreaks {
        case .singleLine: shaped = collapsingSpaces(bounded)
        case .multiline(let maximumLines): shaped = boundingLines(bounded, maximumLines: maximumLines)
        }
        return trimmed(droppingLeadingMarksAndSpaces(shaped))
    }

    /// Sanitised text on one line, each line break shown as "⏎": for chat
    /// previews, notifications and other one-line views.
    public static func singleLineDisplay(_ text: String) -> String {
        String(text.map { $0 == "\n" ? lineBreakSymbol : $0 })
    }

    // MARK: - Steps

    private static func trimmed(_ text: String) -> String {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
            let last = text.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(text[first...last])
    }

    private static func boundCombiningMarks(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for character in text {
            var marks = 0
            for scalar in character.unicodeScalars {
                if isCombiningMark(scalar) {
                    marks += 1
                    if marks > maximumCombiningMarks { continue }
                }
                result.append(scalar)
            }
        }
        return String(result)
    }

    /// A combining mark at the very start would draw onto whatever the
    /// screen shows just before the text (a border, a name's colon). Marks
    /// and spaces go together: dropping a mark can uncover a space, and
    /// trimming a space (or a line break) another mark.
    private static func droppingLeadingMarksAndSpaces(_ text: String) -> String {
        guard
            let start = text.firstIndex(where: { character in
                guard let first = character.unicodeScalars.first else { return false }
                return !character.isWhitespace && !isCombiningMark(first)
            })
        else { return "" }
        return String(text[start...])
    }

    private static func collapsingSpaces(_ text: String) -> String {
        var result = ""
        var previousWasSpace = false
        for character in text {
            let isSpace = character == " "
            if !(isSpace && previousWasSpace) { result.append(character) }
            previousWasSpace = isSpace
        }
        return result
    }

    /// At most one blank line in a row; line breaks past `maximumLines`
    /// lines become "⏎" so a message cannot push the whole chat off screen.
    private static func boundingLines(_ text: String, maximumLines: Int) -> String {
        var result = ""
        var consecutiveBreaks = 0
        var lines = 1
        for character in text {
            guard character == "\n" else {
                consecutiveBreaks = 0
                result.append(character)
                continue
            }
            consecutiveBreaks += 1
            if consecutiveBreaks > 2 { continue }
            if lines < maximumLines {
                lines += 1
                result.append("\n")
            } else {
                result.append(lineBreakSymbol)
            }
        }
        return result
    }

    static func isCombiningMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
        }
    }

    /// Characters that draw nothing yet change what text means or how it is
    /// ordered: bidi embeddings, overrides, isolates and marks (U+202A-202E,
    /// U+2066-2069, U+200E, U+200F, U+061C), and all other format characters
    /// (general category Cf: zero-width space, word joiner, soft hyphen, BOM,
    /// interlinear annotations, tags...), plus letters that render as
    /// nothing (Hangul fillers, Khmer inherent vowels) and noncharacters.
    ///
    /// Kept although Cf: ZWJ and ZWNJ, which build emoji sequences and
    /// shape Arabic and Indic scripts, and the visible Arabic number signs.
    /// Tag characters are decided by the caller (kept only in flag sequences).
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x200C, 0x200D: return false
        case 0x0600...0x0605, 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD: return false
        case 0x115F, 0x1160, 0x3164, 0xFFA0: return true
        case 0x17B4, 0x17B5: return true
        case 0xFDD0...0xFDEF: return true
        default:
            if scalar.value & 0xFFFE == 0xFFFE { return true }
            return scalar.properties.generalCategory == .format
        }
    }
}

/// The scalar-level pass: a small state machine over ECMA-48 sequences that
/// keeps only printable text.
private struct ScalarFilter {
    private enum State {
        case text
        /// After ESC.
        case escape
        /// After ESC and intermediate bytes (ESC ( B, ESC # 8...).
        case escapeIntermediate
        /// Inside CSI: parameter and intermediate bytes until a final byte.
        case controlSequence
        /// Inside OSC, DCS, SOS, PM or APC until ST (or BEL for OSC).
        case controlString(endsOnBell: Bool)
        /// ESC inside a control string: `\` makes ST, anything else aborts the string.
        case controlStringEscape(endsOnBell: Bool)
    }

    let singleLine: Bool
    private(set) var output = String.UnicodeScalarView()
    private var state = State.text
    /// Whether the last kept scalar began or continued an emoji tag sequence
    /// (a flag such as England's: U+1F3F4, tags, U+E007F).
    private var inTagSequence = false

    init(singleLine: Bool) {
        self.singleLine = singleLine
    }

    mutating func feed(_ scalar: Unicode.Scalar) {
        let value = scalar.value
        switch state {
        case .text:
            acceptText(scalar)
        case .escape:
            switch value {
            case 0x5B: state = .controlSequence  // [  CSI
            case 0x5D: state = .controlString(endsOnBell: true)  // ]  OSC
            case 0x50, 0x58, 0x5E, 0x5F: state = .controlString(endsOnBell: false)  // P X ^ _  DCS SOS PM APC
            case 0x20...0x2F: state = .escapeIntermediate
            case 0x30...0x7E: state = .text  // a two-character sequence (ESC c, ESC 7...), dropped
            default:
                // A lone ESC: drop it and read this scalar as text.
                state = .text
                acceptText(scalar)
            }
        case .escapeIntermediate:
            switch value {
            case 0x20...0x2F: break
            case 0x30...0x7E: state = .text
            default:
                state = .text
                acceptText(scalar)
            }
        case .controlSequence:
            switch value {
            case 0x20...0x3F: break  // parameters and intermediates
            case 0x40...0x7E: state = .text  // the final byte ends it
            default:
                // Malformed: the sequence is abandoned, the scalar read as text.
                state = .text
                acceptText(scalar)
            }
        case .controlString(let endsOnBell):
            switch value {
            case 0x1B: state = .controlStringEscape(endsOnBell: endsOnBell)
            case 0x9C: state = .text  // 8-bit ST
            case 0x07 where endsOnBell: state = .text
            case 0x18, 0x1A: state = .text  // CAN and SUB cancel a sequence
            default: break  // payload: a title, a clipboard, a URL; all dropped
            }
        case .controlStringEscape:
            if value == 0x5C {  // ESC \  is ST
                state = .text
            } else {
                state = .escape
                feed(scalar)
            }
        }
    }

    private mutating func acceptText(_ scalar: Unicode.Scalar) {
        switch scalar.value {
        case 0x1B: state = .escape
        case 0x9B: state = .controlSequence
        case 0x9D: state = .controlString(endsOnBell: true)
        case 0x90, 0x98, 0x9E, 0x9F: state = .controlString(endsOnBell: false)
        case 0x0A, 0x2028, 0x2029: emit(singleLine ? " " : "\n")
        case 0x09: emit(" ")
        // Everything else in C0, DEL and C1, including a bare CR (which would
        // return the cursor and let the text overwrite itself); in CR LF the
        // LF still makes the line break.
        case 0x00...0x1F, 0x7F...0x9F: break
        case 0xE0020...0xE007F:
            let isFlagTag = (0xE0030...0xE0039).contains(scalar.value) || (0xE0061...0xE007A).contains(scalar.value)
            let isCancelTag = scalar.value == 0xE007F
            if inTagSequence, isFlagTag || isCancelTag {
                emit(scalar)
            } else {
                inTagSequence = false
            }
        default:
            if TextSanitizer.isInvisible(scalar) { return }
            if singleLine, scalar.properties.isWhitespace || scalar.value == 0x2800 {
                // Any space (and the blank braille pattern, a favourite for
                // "invisible" names) is a plain space on one line.
                emit(" ")
            } else {
                emit(scalar)
            }
        }
    }

    private mutating func emit(_ scalar: Unicode.Scalar) {
        output.append(scalar)
        // UTS #51 §2.8: a flag's tag spec is lowercase letters and digits;
        // other tags (ASCII smuggling) end the sequence and are dropped.
        let continuesFlag = (0xE0030...0xE0039).contains(scalar.value) || (0xE0061...0xE007A).contains(scalar.value)
        inTagSequence = scalar.value == 0x1F3F4 || (inTagSequence && continuesFlag)
    }
}
