// The real terminal, through ncursesw. Runs of changed cells become
// wattr_set + mvwaddnwstr calls; curses itself then sends the terminal the
// shortest sequence it knows. Theme slots become colour pairs here, degraded
// to the terminal's depth, so no widget ever sees a colour number.
//
//   [CellRun] ─▶ split by style ─▶ (slot, slot) ─▶ Theme ─▶ ColorDepth.resolve ─▶ alloc_pair ─▶ curses
import ConfabProtocol
import Curses
import Foundation
import Glibc

/// Why the full-screen front cannot run on this terminal, in words that say what to do.
public enum TerminalProblem: Error, Hashable, Sendable, CustomStringConvertible {
    /// No terminfo entry for $TERM (ncurses' initscr would print "Error opening terminal" and exit).
    case unknownTerminal(String)
    /// `dumb` and printing terminals: no cursor addressing, so no screen.
    case cannotDrawScreens(String)

    public var description: String {
        switch self {
        case .unknownTerminal(let term):
            let shown = term.isEmpty ? "TERM is not set" : "the terminal type \"\(TextSanitizer.clean(term, lineBreaks: .singleLine))\" is unknown here (no terminfo entry)"
            return "\(shown); run with TERM=xterm-256color (or the name of your terminal), or use --screen-reader for plain lines"
        case .cannotDrawScreens(let term):
            return "the terminal type \"\(TextSanitizer.clean(term, lineBreaks: .singleLine))\" cannot draw screens; plain lines instead"
        }
    }
}

public final class NcursesBackend: TerminalBackend {
    static var term: String { ProcessInfo.processInfo.environment["TERM"] ?? "" }

    private let screen: Curses.Screen
    public let theme: Theme
    public let depth: ColorDepth
    private var pairs: [UInt16: Int32] = [:]
    private let ansiCount: Int

    /// Enters curses mode. `noColor` is the NO_COLOR convention.
    public init(theme: Theme, noColor: Bool) throws {
        do {
            let environment = ProcessInfo.processInfo.environment
            screen = try Curses.Screen(
                preferredType: Self.directColourType(term: Self.term, colorTerm: environment["COLORTERM"]))
        } catch let error as Curses.Error where error.kind == .unknownTerminal {
            throw TerminalProblem.unknownTerminal(Self.term)
        } catch let error as Curses.Error where error.kind == .cannotAddressCursor {
            throw TerminalProblem.cannotDrawScreens(Self.term)
        }
        self.theme = theme
        let colors = screen.hasColors ? screen.colorCount : 0
        let monoTheme = Slot.allCases.allSatisfy { theme[$0] == .terminalDefault }
        depth = monoTheme ? .none : ColorDepth.detect(colors: colors, noColor: noColor)
        ansiCount = colors >= 16 ? 16 : 8
    }

    /// Gives the terminal back: leaves curses mode, shows the cursor.
    /// The direct-colour terminfo entry for `term` when the terminal says
    /// it takes 24-bit colour (`COLORTERM=truecolor`): curses can send exact
    /// colours only through such an entry (`xterm-direct`, `tmux-direct`);
    /// where there is none, the 256-colour entry stays.
    static func directColourType(term: String, colorTerm: String?) -> String? {
        guard let colorTerm, ["truecolor", "24bit"].contains(colorTerm.lowercased()), !term.isEmpty, !term.hasSuffix("-direct")
        else { return nil }
        let base = term.hasSuffix("-256color") ? String(term.dropLast("-256color".count)) : term
        return base + "-direct"
    }

    public func end() {
        screen.end()
    }

    public var size: Size {
        let size = screen.size
        return Size(columns: size.columns, rows: size.rows)
    }

    public func draw(_ runs: [CellRun]) {
        for run in runs {
            var x = run.x
            var start = 0
            // One curses call per stretch of equal style.
            while start < run.cells.count {
                let style = run.cells[start].style
                var end = start
                var text: [wchar_t] = []
                var columns = 0
                while end < run.cells.count, run.cells[end].style == style {
                    let symbol = run.cells[end].symbol
                    for scalar in symbol.unicodeScalars { text.append(wchar_t(bitPattern: scalar.value)) }
                    columns += max(1, symbol.first.map { TextWidth.width(of: $0) } ?? 1)
                    end += 1
                }
                screen.write(row: run.y, column: x, text: text, attributes: attributes(style), pair: pair(style))
                x += columns
                start = end
            }
        }
    }

    public func setCursor(_ position: CursorPosition?) {
        screen.cursor(row: position?.y, column: position?.x ?? 0)
    }

    public func flush() { screen.refresh() }
    public func bell() { screen.bell() }
    public func invalidate() { screen.clearAll() }

    /// Asks the terminal whether it speaks the kitty keyboard protocol; the
    /// answer arrives as input (`TerminalInput.keyboardFlags`).
    public func queryKeyboardProtocol() {
        screen.sendControl(KittyKeyboard.query)
    }

    /// Switches on the flags hold-to-talk needs, and focus reporting (a key
    /// held while the window loses focus is never reported released); both
    /// are switched off again when the screen ends, on every path (a crash included).
    public func enableKeyReleases() {
        screen.sendControl(
            KittyKeyboard.push(.holdToTalk) + KittyKeyboard.focusReportingOn,
            undo: KittyKeyboard.focusReportingOff + KittyKeyboard.pop)
    }

    /// The next key waiting, if any (never blocks).
    public func readKey() -> Curses.Key? { screen.readKey() }

    private func attributes(_ style: Style) -> Curses.Attributes { theme.attributes(for: style, depth: depth) }

    private func pair(_ style: Style) -> Int32 {
        guard depth != .none else { return 0 }
        let key = UInt16(style.foreground.rawValue) << 8 | UInt16(style.background.rawValue)
        if let pair = pairs[key] { return pair }
        let foreground = theme.resolved(style.foreground, depth: depth, ansiCount: ansiCount)
        let background = theme.resolved(style.background, depth: depth, ansiCount: ansiCount)
        let pair = screen.pair(foreground: foreground, background: background)
        pairs[key] = pair
        return pair
    }
}

extension NcursesBackend: FrontTerminal {
    /// Everything the terminal sent since the last read, decoded: characters
    /// through the escape-sequence decoder, curses' own keys as they are.
    public func readInput(_ decoder: inout TerminalInputDecoder) -> [TerminalInput] {
        var inputs: [TerminalInput] = []
        while let raw = readKey() {
            if case .character(let scalar) = raw {
                inputs += decoder.feed(scalar)
            } else {
                inputs += decoder.endOfInput()
                if let key = Self.key(from: raw) { inputs.append(.key(key)) }
            }
        }
        return inputs + decoder.endOfInput()
    }

    /// The key curses decoded; nil for keys we do not use (F-keys, Ctrl with
    /// arrows…), which must not type anything.
    static func key(from raw: Curses.Key) -> Key? {
        switch raw {
        case .character(let scalar): return Key.from(scalar: scalar)
        case .resize: return .resize
        case .up: return .up
        case .down: return .down
        case .left: return .left
        case .right: return .right
        case .home: return .home
        case .end: return .end
        case .pageUp: return .pageUp
        case .pageDown: return .pageDown
        case .backspace: return .backspace
        case .delete: return .delete
        case .enter: return .enter
        case .backTab: return .backTab
        default: return raw.functionNumber.map { .function($0) }
        }
    }
}
