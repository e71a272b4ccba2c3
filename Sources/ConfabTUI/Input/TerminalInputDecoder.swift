// Keys from the terminal's input stream, including what curses does not know:
// the kitty keyboard protocol's CSI-u key events (press, repeat, release)
// and its answer to our query. Pure: scalars in, events out, so every
// sequence (and every broken one) is tested without a terminal.
//
//   curses (wget_wch) ─▶ scalar ─▶ TerminalInputDecoder ─▶ .key(Key) ─▶ MeetingModel.handle
//                                   (ESC [ … final byte)  └▶ .keyboardFlags ─▶ push flags, hold-to-talk
//
// The protocol: https://sw.kovidgoyal.net/kitty/keyboard-protocol/
//   key event:  CSI code[:shifted[:base]] ; modifiers[:event] ; text[:text…] u
//   functional: CSI 1 ; modifiers[:event] {A B C D H F P Q S}   CSI number ; modifiers[:event] ~
//   answer:     CSI ? flags u   (to the query CSI ? u)

/// What the terminal said: a key, or an answer to one of our queries.
public enum TerminalInput: Hashable, Sendable {
    case key(Key)
    /// The terminal speaks the kitty keyboard protocol; these flags are on now.
    case keyboardFlags(Int)
    /// The window lost the keyboard focus (focus reporting, DECSET 1004):
    /// a key held now will never be reported released.
    case focusLost
}

/// The kitty keyboard protocol's control sequences and flags.
public enum KittyKeyboard {
    /// Progressive enhancement flags (the protocol's table of flags).
    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let disambiguate = Flags(rawValue: 1)
        public static let reportEventTypes = Flags(rawValue: 2)
        public static let reportAlternateKeys = Flags(rawValue: 4)
        public static let reportAllKeysAsEscapeCodes = Flags(rawValue: 8)
        public static let reportAssociatedText = Flags(rawValue: 16)

        /// What hold-to-talk needs: releases are reported only for keys sent as
        /// escape codes, and a text key is an escape code only with flag 8; the
        /// text it types comes along (flag 16) so typing still works, and the
        /// shifted key (flag 4) for a terminal that sends no text.
        public static let holdToTalk: Flags = [
            .disambiguate, .reportEventTypes, .reportAlternateKeys, .reportAllKeysAsEscapeCodes, .reportAssociatedText,
        ]
    }

    /// Asks which flags are on; a terminal without the protocol ignores it.
    public static let query = "\u{1B}[?u"
    /// Pushes flags on the terminal's stack (for the current screen).
    public static func push(_ flags: Flags) -> String { "\u{1B}[>\(flags.rawValue)u" }
    /// Pops what we pushed, back to the terminal's previous mode.
    public static let pop = "\u{1B}[<u"
    /// Focus reporting on (CSI I / CSI O as the window gains or loses focus), and off.
    public static let focusReportingOn = "\u{1B}[?1004h"
    public static let focusReportingOff = "\u{1B}[?1004l"
}

/// Turns the terminal's input, one scalar at a time, into keys and answers.
/// Sequences may arrive split across reads: an unfinished one waits for the
/// next scalars, and is dropped by `expireStale()` if they never come.
public struct TerminalInputDecoder: Sendable {
    private enum State: Sendable {
        case ground
        /// ESC seen.
        case escape
        /// ESC O seen (SS3: keypad and cursor keys in application mode).
        case singleShift
        /// ESC [ and the bytes after it, up to the final byte.
        case controlSequence([UInt8])
        /// A sequence too long to be a key: skipped up to its final byte.
        case discarding
    }

    private var state = State.ground
    /// Whether an unfinished sequence was already waiting at the last `expireStale()`.
    private var pendingSinceLastCheck = false

    /// A sequence longer than this is garbage, not a key.
    static let maximumSequenceLength = 64

    public init() {}

    /// Whether a sequence has begun and not finished.
    public var isPending: Bool {
        if case .ground = state { return false }
        return true
    }

    /// Feeds one scalar; returns what it completed.
    public mutating func feed(_ scalar: Unicode.Scalar) -> [TerminalInput] {
        switch state {
        case .ground:
            if scalar == "\u{1B}" {
                state = .escape
                return []
            }
            return [.key(Key.from(scalar: scalar))]
        case .escape:
            switch scalar {
            case "[":
                state = .controlSequence([])
                return []
            case "O":
                state = .singleShift
                return []
            case "\u{1B}":
                // Escape pressed twice: the first one is a key.
                return [.key(.escape)]
            default:
                // Alt with a key in the legacy encoding: Escape, then the key.
                state = .ground
                return [.key(.escape), .key(Key.from(scalar: scalar))]
            }
        case .singleShift:
            state = .ground
            return Self.functionalKey(final: scalar, number: 1).map { [.key($0)] } ?? []
        case .controlSequence(var bytes):
            guard scalar.value < 0x80 else {
                // Not part of any control sequence: drop the sequence, keep the key.
                state = .ground
                return feed(scalar)
            }
            let byte = UInt8(scalar.value)
            if (0x40...0x7E).contains(byte) {
                state = .ground
                return Self.decodeControlSequence(parameters: bytes, final: byte)
            }
            guard (0x20...0x3F).contains(byte) else {
                // A control byte (ESC included) breaks the sequence and counts on its own.
                state = .ground
                return feed(scalar)
            }
            guard bytes.count < Self.maximumSequenceLength else {
                // Runaway length: garbage, not a key.
                state = .discarding
                return []
            }
            bytes.append(byte)
            state = .controlSequence(bytes)
            return []
        case .discarding:
            if scalar.value < 0x20 || scalar.value >= 0x80 {
                state = .ground
                return feed(scalar)
            }
            if (0x40...0x7E).contains(scalar.value) { state = .ground }
            return []
        }
    }

    /// Feeds many scalars.
    public mutating func feed<S: Sequence>(_ scalars: S) -> [TerminalInput] where S.Element == Unicode.Scalar {
        scalars.flatMap { feed($0) }
    }

    /// Everything available has been read. A lone ESC is the Escape key
    /// (curses already waited its escape delay before handing it over); an
    /// unfinished CSI keeps waiting for the rest.
    public mutating func endOfInput() -> [TerminalInput] {
        switch state {
        case .escape:
            state = .ground
            return [.key(.escape)]
        case .singleShift:
            state = .ground
            return [.key(.escape), .key(.character("O"))]
        default:
            return []
        }
    }

    /// Called now and then (the screen's tick): a sequence that was already
    /// unfinished at the previous call will not be finished; drop it so it
    /// does not swallow the next keys.
    public mutating func expireStale() {
        if isPending, pendingSinceLastCheck {
            state = .ground
            pendingSinceLastCheck = false
        } else {
            pendingSinceLastCheck = isPending
        }
    }

    // MARK: - Control sequences

    static func decodeControlSequence(parameters bytes: [UInt8], final: UInt8) -> [TerminalInput] {
        var text = String(decoding: bytes, as: UTF8.self)
        var marker: Character?
        if let first = text.first, "?<>=".contains(first) {
            marker = first
            text.removeFirst()
        }
        // Parameters are ';'-separated fields of ':'-separated numbers; empty
        // means the default. Anything else makes the sequence unreadable.
        var fields: [[Int?]] = []
        for field in text.split(separator: ";", omittingEmptySubsequences: false) {
            var parts: [Int?] = []
            for part in field.split(separator: ":", omittingEmptySubsequences: false) {
                if part.isEmpty {
                    parts.append(nil)
                } else if let number = Int(part), number >= 0 {
                    parts.append(number)
                } else {
                    return []
                }
            }
            fields.append(parts)
        }
        func value(_ field: Int, _ part: Int = 0) -> Int? {
            guard field < fields.count, part < fields[field].count else { return nil }
            return fields[field][part]
        }
        let scalar = Unicode.Scalar(final)
        switch marker {
        case "?":
            // The answer to CSI ? u. (Other private replies, such as device attributes, are not keys.)
            guard scalar == "u" else { return [] }
            return [.keyboardFlags(value(0) ?? 0)]
        case .some:
            return []
        case nil:
            break
        }
        let modifiers = Modifiers(parameter: value(1))
        let event = KeyEvent(rawValue: value(1, 1) ?? 1) ?? .press
        let key: Key?
        switch scalar {
        case "u":
            guard let code = value(0) else { return [] }
            let textCodes = fields.count > 2 ? fields[2].compactMap { $0 } : []
            return textKey(code: code, shifted: value(0, 1), text: textCodes, modifiers: modifiers, event: event)
        case "~":
            key = functionalKey(tilde: value(0) ?? 0)
        case "Z":
            key = .backTab
        case "O" where fields.count <= 1 && value(0) == nil:
            return [.focusLost]
        case "I" where fields.count <= 1 && value(0) == nil:
            return []  // focus back: nothing to do
        default:
            key = functionalKey(final: scalar, number: value(0) ?? 1)
        }
        // Releases of keys other than text keys change nothing on our screen.
        guard let key, event != .release else { return [] }
        if modifiers.contains(.shift), key == .tab { return [.key(.backTab)] }
        return [.key(key)]
    }

    /// CSI 1 ; m X and SS3 X: cursor keys, Home, End, F1–F4.
    static func functionalKey(final: Unicode.Scalar, number: Int) -> Key? {
        guard number == 1 else { return nil }
        switch final {
        case "P": return .function(1)
        case "Q": return .function(2)
        case "R": return .function(3)
        case "S": return .function(4)
        case "A": return .up
        case "B": return .down
        case "C": return .right
        case "D": return .left
        case "H": return .home
        case "F": return .end
        default: return nil
        }
    }

    /// CSI n ~ (VT220 keys).
    static func functionalKey(tilde number: Int) -> Key? {
        switch number {
        case 1, 7: return .home
        case 3: return .delete
        case 4, 8: return .end
        case 5: return .pageUp
        case 6: return .pageDown
        // F1–F5 as rxvt and the Linux console send them, F6–F12 as all do.
        case 11...15: return .function(number - 10)
        case 17...21: return .function(number - 11)
        case 23, 24: return .function(number - 12)
        default: return nil
        }
    }

    /// A CSI … u key event: a text key or one of the protocol's functional key codes.
    static func textKey(code: Int, shifted: Int?, text: [Int], modifiers: Modifiers, event: KeyEvent) -> [TerminalInput] {
        // Named keys with C0 codes (the protocol keeps their legacy numbers).
        let named: [Int: Key] = [13: .enter, 9: .tab, 27: .escape, 127: .backspace, 8: .backspace]
        if let key = named[code] {
            guard event != .release else { return [] }
            if key == .tab, modifiers.contains(.shift) { return [.key(.backTab)] }
            if modifiers.containsAny([.control, .alt, .super]) { return [] }
            return [.key(key)]
        }
        // The private-use area holds keypad, media and modifier keys.
        if (57344...63743).contains(code) {
            guard event != .release, let key = keypadKey(code) else { return [] }
            return [.key(key)]
        }
        guard let base = scalar(code), code >= 0x20 else { return [] }
        if event == .release {
            // Released as it was pressed: shifted when shift is still held.
            if modifiers.contains(.shift), let shifted, let shiftedScalar = scalar(shifted) {
                return [.key(.released(Character(shiftedScalar)))]
            }
            if modifiers.contains(.shift), base.isASCII, base.properties.isLowercase {
                return [.key(.released(Character(String(base).uppercased())))]
            }
            return [.key(.released(Character(base)))]
        }
        if modifiers.contains(.control), !modifiers.containsAny([.alt, .super]) {
            // Ctrl-letter, as the legacy control byte would have said.
            guard ("a"..."z").contains(base) || ("A"..."Z").contains(base) else { return [] }
            return [.key(.control(Character(String(base).lowercased())))]
        }
        if modifiers.containsAny([.control, .alt, .super]) { return [] }
        // What the key types: the terminal's text when it sent some, else the
        // shifted key, else the key itself (shift applied to ASCII letters).
        let typed: [Unicode.Scalar]
        if !text.isEmpty {
            typed = text.compactMap { scalar($0) }.filter { $0.value >= 0x20 && $0.value != 0x7F }
        } else if modifiers.contains(.shift), let shifted, let shiftedScalar = scalar(shifted) {
            typed = [shiftedScalar]
        } else if modifiers.contains(.shift), base.isASCII, base.properties.isLowercase {
            typed = String(base).uppercased().unicodeScalars.map { $0 }
        } else {
            typed = [base]
        }
        return typed.map { .key(.character(Character($0))) }
    }

    /// A code point as a scalar; nil beyond Unicode or for a surrogate.
    static func scalar(_ code: Int) -> Unicode.Scalar? {
        UInt32(exactly: code).flatMap { Unicode.Scalar($0) }
    }

    /// The keypad's keys (the protocol gives them their own codes).
    static func keypadKey(_ code: Int) -> Key? {
        switch code {
        case 57399...57408: return .character(Character(Unicode.Scalar(UInt8(code - 57399) + 0x30)))
        case 57409: return .character(".")
        case 57410: return .character("/")
        case 57411: return .character("*")
        case 57412: return .character("-")
        case 57413: return .character("+")
        case 57414: return .enter
        case 57415: return .character("=")
        case 57417: return .left
        case 57418: return .right
        case 57419: return .up
        case 57420: return .down
        case 57421: return .pageUp
        case 57422: return .pageDown
        case 57423: return .home
        case 57424: return .end
        case 57426: return .delete
        default: return nil
        }
    }

    /// Modifier bits: the parameter is 1 + the bits (1 alone: none).
    struct Modifiers: OptionSet {
        let rawValue: Int
        static let shift = Modifiers(rawValue: 1)
        static let alt = Modifiers(rawValue: 2)
        static let control = Modifiers(rawValue: 4)
        static let `super` = Modifiers(rawValue: 8)
        // hyper 16, meta 32, caps lock 64 and num lock 128 change nothing here.

        init(rawValue: Int) { self.rawValue = rawValue }
        init(parameter: Int?) { self.rawValue = max(0, (parameter ?? 1) - 1) }

        func containsAny(_ other: Modifiers) -> Bool { !isDisjoint(with: other) }
    }

    enum KeyEvent: Int {
        case press = 1, `repeat` = 2, release = 3
    }
}
