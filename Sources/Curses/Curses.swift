// A thin typed wrapper over ncursesw (wide-character curses), in the shape of
// swift-system: small value types over C integers, one class that owns the
// C state (created in init, ended in deinit), every C return code checked
// where failure means something. The only importer of CNcursesW.
//
//   ConfabTUI's ncurses backend ─▶ Curses.Screen.write(runs of cells) ─▶ wattr_set + mvwaddnwstr
//                                                         refresh() ─▶ doupdate (ncurses sends only what changed)
//   stdin ─▶ readKey() (wget_wch, never blocks) ─▶ Curses.Key
import CNcursesW
import Glibc
import Synchronization

/// Bytes to send the terminal when curses mode ends, also from the crash
/// restorer (a signal handler: so a fixed buffer, no Swift objects).
nonisolated(unsafe) private let restoreBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: restoreCapacity)
private let restoreCapacity = 32
private let restoreLength = Atomic<Int>(0)

/// Writes all of `count` bytes to the terminal, retrying EINTR and short
/// writes. Async-signal-safe (only write(2)).
private func writeToTerminal(_ bytes: UnsafePointer<UInt8>, count: Int) {
    var written = 0
    while written < count {
        let result = Glibc.write(STDOUT_FILENO, bytes + written, count - written)
        if result > 0 {
            written += result
        } else if result < 0, errno == EINTR {
            continue
        } else {
            return
        }
    }
}

private func sendRestoreBytes() {
    let count = restoreLength.exchange(0, ordering: .acquiringAndReleasing)
    if count > 0 { writeToTerminal(restoreBytes, count: count) }
}

public enum Curses {
    /// A curses call failed. The corresponding C function is named.
    public struct Error: Swift.Error, Hashable, Sendable, CustomStringConvertible {
        public enum Kind: Hashable, Sendable {
            case failed
            /// No terminfo entry for $TERM.
            case unknownTerminal
            /// The terminal cannot move its cursor (`dumb`, a printing terminal): no screen can be drawn.
            case cannotAddressCursor
        }
        public var function: String
        public var kind: Kind
        public init(_ function: String, kind: Kind = .failed) {
            self.function = function
            self.kind = kind
        }
        public var description: String {
            switch kind {
            case .failed: "\(function) failed"
            case .unknownTerminal: "unknown terminal type"
            case .cannotAddressCursor: "the terminal cannot move its cursor"
            }
        }
    }

    /// Video attributes (the corresponding C macros are `A_BOLD`, `A_DIM`…).
    public struct Attributes: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let bold = Attributes(rawValue: 1 << 0)
        public static let dim = Attributes(rawValue: 1 << 1)
        public static let reverse = Attributes(rawValue: 1 << 2)
        public static let underline = Attributes(rawValue: 1 << 3)
        public static let italic = Attributes(rawValue: 1 << 4)

        var cValue: attr_t {
            var value = confab_a_normal()
            if contains(.bold) { value |= confab_a_bold() }
            if contains(.dim) { value |= confab_a_dim() }
            if contains(.reverse) { value |= confab_a_reverse() }
            if contains(.underline) { value |= confab_a_underline() }
            if contains(.italic) { value |= confab_a_italic() }
            return value
        }
    }

    /// One key as `wget_wch` reports it: a character, or a function-key code.
    public enum Key: Hashable, Sendable {
        case character(Unicode.Scalar)
        case code(Int32)

        public static let resize = Key.code(Int32(KEY_RESIZE))
        public static let up = Key.code(Int32(KEY_UP))
        public static let down = Key.code(Int32(KEY_DOWN))
        public static let left = Key.code(Int32(KEY_LEFT))
        public static let right = Key.code(Int32(KEY_RIGHT))
        public static let home = Key.code(Int32(KEY_HOME))
        public static let end = Key.code(Int32(KEY_END))
        public static let pageUp = Key.code(Int32(KEY_PPAGE))
        public static let pageDown = Key.code(Int32(KEY_NPAGE))
        public static let backspace = Key.code(Int32(KEY_BACKSPACE))
        public static let delete = Key.code(Int32(KEY_DC))
        public static let enter = Key.code(Int32(KEY_ENTER))
        public static let backTab = Key.code(Int32(KEY_BTAB))
        /// F1 … F63. The corresponding C macro is `KEY_F(n)`.
        public static func function(_ number: Int) -> Key { .code(Int32(KEY_F0) + Int32(number)) }

        /// n for F1 … F63, nil for every other key.
        public var functionNumber: Int? {
            guard case .code(let code) = self, code > Int32(KEY_F0), code < Int32(KEY_F0) + 64 else { return nil }
            return Int(code - Int32(KEY_F0))
        }
    }

    /// The terminal in curses mode. One per process; call `end()` (or let
    /// deinit do it) to give the terminal back as it was.
    public final class Screen {
        private let window: UnsafeMutablePointer<WINDOW>
        private var ended = false
        /// Whether the terminal keeps the shell's screen aside while we draw
        /// (smcup/rmcup); without it (linux, vt100) we clear on the way out.
        private let hasAlternateScreen: Bool

        /// Enters curses mode: no echo, keys unbuffered and decoded (keypad),
        /// no newline translation, hidden cursor, colours with the terminal's
        /// own default colours available as -1. The corresponding C function is `initscr`.
        /// `preferredType`, when given and known here, is used instead of $TERM
        /// (a direct-colour variant of it); when unknown, $TERM is.
        public init(escapeDelayMs: Int32 = 25, preferredType: String? = nil) throws {
            // wcwidth and wide-character output follow LC_CTYPE.
            setlocale(LC_ALL, "")
            // Wide characters need a UTF-8 LC_CTYPE; a bare "C" locale (LANG
            // unset, as under some service managers) would print "?" for every
            // name in CJK or emoji.
            if let codeset = nl_langinfo(nl_item(CODESET)), String(cString: codeset) != "UTF-8" {
                setlocale(LC_CTYPE, "C.UTF-8")
            }
            let preferred = preferredType.flatMap { type in type.withCString { confab_newterm($0) } }
            guard preferred != nil || confab_newterm(nil) != nil else { throw Error("newterm", kind: .unknownTerminal) }
            guard confab_has_string_capability("cup") != 0 else {
                endwin()
                throw Error("newterm", kind: .cannotAddressCursor)
            }
            guard let window = confab_stdscr() else { throw Error("newterm") }
            self.window = window
            hasAlternateScreen = confab_has_string_capability("smcup") != 0
            cbreak()
            noecho()
            nonl()
            keypad(window, true)
            nodelay(window, true)
            scrollok(window, false)
            leaveok(window, false)
            _ = set_escdelay(escapeDelayMs)
            if has_colors() {
                start_color()
                use_default_colors()
            }
            curs_set(0)
            // Globals are made on first use: make these now, never first inside a signal handler.
            restoreLength.store(0, ordering: .releasing)
            restoreBytes.initialize(repeating: 0, count: restoreCapacity)
            Self.installCrashRestorer()
        }

        deinit { end() }

        /// Leaves curses mode and restores the terminal; safe to call twice.
        /// The corresponding C function is `endwin`.
        public func end() {
            guard !ended else { return }
            ended = true
            // Before endwin: a mode we switched on belongs to the screen it
            // was switched on for (the alternate screen, which endwin leaves).
            sendRestoreBytes()
            if !hasAlternateScreen {
                // The last frame would stay on the shell's screen.
                werase(window)
                wrefresh(window)
            }
            curs_set(1)
            endwin()
        }

        /// Rows and columns of the terminal now.
        public var size: (rows: Int, columns: Int) {
            var rows: Int32 = 0
            var columns: Int32 = 0
            confab_getmaxyx(window, &rows, &columns)
            return (Int(rows), Int(columns))
        }

        /// Whether the terminal has colours at all (terminfo `colors`).
        public var hasColors: Bool { has_colors() }
        /// How many colours: 8, 16, 256, or 2^24 on a direct-colour terminal.
        public var colorCount: Int { Int(confab_colors()) }
        /// How many colour pairs may exist.
        public var pairCount: Int { Int(confab_color_pairs()) }

        /// A colour pair for foreground and background (-1: the terminal's
        /// default), allocated once and reused. The corresponding C function is `alloc_pair`.
        public func pair(foreground: Int32, background: Int32) -> Int32 {
            let pair = alloc_pair(foreground, background)
            return pair < 0 ? 0 : pair
        }

        /// Writes `text` (wide characters, already measured to fit) at a position.
        /// The corresponding C functions are `wattr_set` and `mvwaddnwstr`.
        public func write(row: Int, column: Int, text: [wchar_t], attributes: Attributes, pair: Int32) {
            _ = confab_attr_set(window, attributes.cValue, pair)
            text.withUnsafeBufferPointer { buffer in
                // ERR at the bottom-right cell is expected (the cursor cannot
                // advance past it) and the character is drawn anyway.
                _ = mvwaddnwstr(window, Int32(row), Int32(column), buffer.baseAddress, Int32(buffer.count))
            }
        }

        /// Places the visible cursor, or hides it when `row` is nil.
        public func cursor(row: Int?, column: Int) {
            if let row {
                wmove(window, Int32(row), Int32(column))
                curs_set(1)
            } else {
                curs_set(0)
            }
        }

        /// Sends what changed to the terminal. The corresponding C function is `wrefresh`.
        public func refresh() {
            wrefresh(window)
        }

        /// Forgets what the terminal shows, so the next refresh repaints all
        /// (after a resize, or when the terminal was written behind our back).
        public func clearAll() {
            clearok(window, true)
            werase(window)
        }

        /// Sends a control sequence straight to the terminal, after what curses
        /// has drawn (curses does not know sequences such as keyboard modes).
        /// `undo`, when given, is sent when curses mode ends, on every path
        /// including a crash; it replaces any earlier one (at most 32 bytes).
        public func sendControl(_ sequence: String, undo: String? = nil) {
            var bytes = Array(sequence.utf8)
            bytes.withUnsafeMutableBufferPointer { buffer in
                if let base = buffer.baseAddress { writeToTerminal(base, count: buffer.count) }
            }
            if let undo {
                bytes = Array(undo.utf8.prefix(restoreCapacity))
                restoreLength.store(0, ordering: .releasing)
                for (index, byte) in bytes.enumerated() { restoreBytes[index] = byte }
                restoreLength.store(bytes.count, ordering: .releasing)
            }
        }

        /// Rings the terminal bell. The corresponding C function is `beep`.
        public func bell() {
            beep()
        }

        /// The next key if one is waiting, never blocking. The corresponding C function is `wget_wch`.
        public func readKey() -> Key? {
            var character: wint_t = 0
            let status = wget_wch(window, &character)
            switch status {
            case OK:
                guard let scalar = Unicode.Scalar(UInt32(character)) else { return nil }
                return .character(scalar)
            case KEY_CODE_YES:
                return .code(Int32(character))
            default:
                return nil
            }
        }

        /// Restores the terminal if the process dies of a fatal signal while
        /// in curses mode, so a crash never leaves the user's shell unusable.
        private static func installCrashRestorer() {
            for signalNumber in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] {
                signal(signalNumber) { number in
                    sendRestoreBytes()
                    endwin()
                    signal(number, SIG_DFL)
                    raise(number)
                }
            }
        }
    }

    /// Columns a character takes on the terminal (-1: not printable), by
    /// LC_CTYPE. The corresponding C function is `wcwidth`.
    public static func width(of scalar: Unicode.Scalar) -> Int {
        Int(confab_wcwidth(wchar_t(bitPattern: scalar.value)))
    }
}
