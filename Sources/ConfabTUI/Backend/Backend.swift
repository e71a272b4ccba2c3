// Where frames go. A screen renders a whole frame into a Buffer; the
// Renderer compares it with the last one and hands the backend only the
// changed cells, so an idle meeting costs no terminal output at all.
//
//   draw(&frame) ─▶ Buffer ─▶ changes(since: last) ─▶ [] ? nothing : backend.draw(runs) + flush
//
// Two backends: ncurses for real terminals, memory for tests and benchmarks.

import ConfabMacros

/// A cursor position, or none (hidden).
@PublicMemberwiseInit
public struct CursorPosition: Hashable, Sendable {
    public var x: Int
    public var y: Int
}

/// What a frame is drawn into: the cells and where the cursor should be.
public struct Frame {
    public var buffer: Buffer
    public var cursor: CursorPosition?

    public init(size: Size) {
        buffer = Buffer(size: size)
    }

    /// A frame drawn into an existing buffer.
    init(buffer: Buffer) {
        self.buffer = buffer
    }

    public var area: Rect { buffer.area }
}

/// A terminal that shows cells.
public protocol TerminalBackend: AnyObject {
    /// The terminal's size now.
    var size: Size { get }
    /// Writes runs of changed cells (not shown until `flush`).
    func draw(_ runs: [CellRun])
    /// Shows the cursor at a position, or hides it.
    func setCursor(_ position: CursorPosition?)
    /// Sends everything drawn to the terminal.
    func flush()
    /// Rings the bell.
    func bell()
    /// Forgets what the terminal shows, so the next frame is written whole.
    func invalidate()
}

/// Renders frames through a backend, writing only what changed.
public final class Renderer<Backend: TerminalBackend> {
    public let backend: Backend
    private var previous: Buffer?
    /// The frame before `previous`, whose cells are reused for the next frame
    /// (a 160×50 buffer is too big to allocate and free on every frame).
    private var spare: Buffer?
    private var previousCursor: CursorPosition?
    /// Frames that produced terminal output, and cells written in total (for tests and `confab bench tui`).
    public private(set) var framesWritten = 0
    public private(set) var cellsWritten = 0

    public init(backend: Backend) {
        self.backend = backend
    }

    /// Draws one frame. Returns how many cells were sent to the terminal (0 when nothing changed).
    @discardableResult
    public func render(_ draw: (inout Frame) -> Void) -> Int {
        var frame: Frame
        if var reused = spare, reused.area == Rect(size: backend.size) {
            spare = nil  // `reused` is the only reference now: cleared in place, not copied
            reused.fill(reused.area, with: .blank)
            frame = Frame(buffer: reused)
        } else {
            frame = Frame(size: backend.size)
        }
        draw(&frame)
        let runs = frame.buffer.changes(since: previous)
        let cells = runs.reduce(0) { $0 + $1.cells.count }
        let cursorMoved = frame.cursor != previousCursor
        if !runs.isEmpty { backend.draw(runs) }
        if cursorMoved || !runs.isEmpty { backend.setCursor(frame.cursor) }
        if !runs.isEmpty || cursorMoved {
            backend.flush()
            framesWritten += 1
        }
        cellsWritten += cells
        spare = previous
        previous = frame.buffer
        previousCursor = frame.cursor
        return cells
    }

    /// The last frame drawn.
    public var lastFrame: Buffer? { previous }

    /// Forces the next frame to be written whole (after a resize or a redraw request).
    public func invalidate() {
        previous = nil
        spare = nil
        previousCursor = nil
        backend.invalidate()
    }
}

/// A terminal in memory: what tests and benchmarks render into, and type into.
public final class MemoryBackend: FrontTerminal {
    public private(set) var screen: Buffer
    public private(set) var cursor: CursorPosition?
    public private(set) var flushCount = 0
    public private(set) var bellCount = 0
    public private(set) var cellWrites = 0
    /// Control sequences the front sent (the kitty keyboard query, the flags).
    public private(set) var controlsSent: [String] = []

    /// Waiting input: keys as curses decodes them, or text as the terminal sends it.
    private enum Typed {
        case key(Key)
        case text(String)
    }
    private var typed: [Typed] = []

    public init(size: Size) {
        screen = Buffer(size: size)
    }

    public var size: Size { Size(columns: screen.area.width, rows: screen.area.height) }

    /// Changes the size, as a window resize would.
    public func resize(to size: Size) {
        screen.resize(to: size)
    }

    public func draw(_ runs: [CellRun]) {
        for run in runs {
            var x = run.x
            for cell in run.cells {
                screen.put(cell.symbol, x: x, y: run.y, style: cell.style, limit: 2)
                x += max(1, cell.symbol.first.map { TextWidth.width(of: $0) } ?? 1)
                cellWrites += 1
            }
        }
    }

    public func setCursor(_ position: CursorPosition?) { cursor = position }
    public func flush() { flushCount += 1 }
    public func bell() { bellCount += 1 }
    public func invalidate() {}

    /// The screen as text lines, as `tmux capture-pane -p` would show it.
    public var text: String { screen.text }

    /// Keys for the front to read, as curses would hand them over.
    public func press(_ keys: Key...) {
        typed += keys.map { .key($0) }
    }

    /// Text (escape sequences too) for the front to read, as the terminal would send it.
    public func send(_ text: String) {
        typed.append(.text(text))
    }

    public func readInput(_ decoder: inout TerminalInputDecoder) -> [TerminalInput] {
        var inputs: [TerminalInput] = []
        for item in typed {
            switch item {
            case .key(let key): inputs += decoder.endOfInput() + [.key(key)]
            case .text(let text): inputs += decoder.feed(text.unicodeScalars)
            }
        }
        typed = []
        return inputs + decoder.endOfInput()
    }

    public func queryKeyboardProtocol() { controlsSent.append(KittyKeyboard.query) }
    public func enableKeyReleases() { controlsSent.append(KittyKeyboard.push(.holdToTalk) + KittyKeyboard.focusReportingOn) }
}
