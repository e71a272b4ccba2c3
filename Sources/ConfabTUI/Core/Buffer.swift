// The screen in memory (ratatui's Buffer): a grid of cells that widgets draw
// into; the backend later receives only the cells that differ from the last
// frame.
//
//   widgets ─▶ Buffer (this frame) ─┐
//                                   ├─ diff ─▶ [CellRun] ─▶ backend (nothing when nothing changed)
//              Buffer (last frame) ─┘
//
// A two-column character occupies its cell and marks the next one as its
// continuation (symbol ""), so every row always adds up to its width.

/// One terminal cell: a grapheme cluster and how it looks.
public struct Cell: Hashable, Sendable {
    /// The grapheme cluster drawn here; "" for the right half of a wide character.
    public var symbol: String
    public var style: Style

    public init(_ symbol: String = " ", style: Style = .plain) {
        self.symbol = symbol
        self.style = style
    }

    public static let blank = Cell()

    /// Whether this cell is the right half of a two-column character.
    public var isContinuation: Bool { symbol.isEmpty }
}

/// A rectangle of cells.
public struct Buffer: Hashable, Sendable {
    public private(set) var area: Rect
    public private(set) var cells: [Cell]

    public init(area: Rect, filling cell: Cell = .blank) {
        self.area = area
        cells = Array(repeating: cell, count: area.area)
    }

    public init(size: Size) {
        self.init(area: Rect(size: size))
    }

    private func index(_ x: Int, _ y: Int) -> Int? {
        guard area.contains(x: x, y: y) else { return nil }
        return (y - area.y) * area.width + (x - area.x)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { index(x, y).map { cells[$0] } ?? .blank }
    }

    /// Fills a rectangle (clipped to the buffer) with one cell.
    public mutating func fill(_ rect: Rect, with cell: Cell = .blank) {
        let clipped = rect.intersection(area)
        guard !clipped.isEmpty else { return }
        // Only a wide character cut by the rectangle's left or right edge needs
        // a repair; everything between is overwritten whole. A full frame
        // fills most cells several times, so the row is written directly.
        // Nothing below U+1100 (where wcwidth's first wide range starts) is
        // two columns wide: borders, bars and dots qualify without a lookup.
        let isNarrow = cell.symbol.unicodeScalars.first.map { $0.value >= 0x20 && $0.value < 0x1100 } ?? false
        for y in clipped.y..<clipped.bottom {
            setCell(clipped.x, y, cell)
            if clipped.width > 1 { setCell(clipped.right - 1, y, cell) }
            let rowStart = (y - area.y) * area.width - area.x
            if isNarrow, clipped.width > 2 {
                cells.withUnsafeMutableBufferPointer { row in
                    for i in (rowStart + clipped.x + 1)..<(rowStart + clipped.right - 1) { row[i] = cell }
                }
            } else {
                for x in (clipped.x + 1)..<max(clipped.x + 1, clipped.right - 1) { setCell(x, y, cell) }
            }
        }
    }

    /// Fills with spaces in `style`.
    public mutating func fill(_ rect: Rect, style: Style) {
        fill(rect, with: Cell(" ", style: style))
    }

    /// Changes the style of cells already drawn (keeps their symbols).
    public mutating func restyle(_ rect: Rect, _ change: (inout Style) -> Void) {
        let clipped = rect.intersection(area)
        guard !clipped.isEmpty else { return }
        for y in clipped.y..<clipped.bottom {
            for x in clipped.x..<clipped.right {
                if let i = index(x, y) { change(&cells[i].style) }
            }
        }
    }

    /// Sets one cell, repairing any wide character it cuts in half.
    private mutating func setCell(_ x: Int, _ y: Int, _ cell: Cell) {
        guard let i = index(x, y) else { return }
        // One ASCII byte is one column and no half of anything: the common
        // case skips the repairs below (a full frame sets every cell several times).
        if cells[i].symbol.utf8.count != 1 {
            if cells[i].isContinuation {
                // Overwriting the right half of a wide character: its left half would dangle.
                if x > area.x, let left = index(x - 1, y) { cells[left].symbol = " " }
            } else if x + 1 < area.right, let right = index(x + 1, y), cells[right].isContinuation,
                (cells[i].symbol.first.map { TextWidth.width(of: $0) } ?? 1) == 2
            {
                // Overwriting a wide character's left half: its continuation would dangle.
                cells[right].symbol = " "
            }
        }
        cells[i] = cell
    }

    /// Draws `text` on one row from `x`, clipped to `limit` columns (and to
    /// the buffer). Controls are shown escaped (^X); a wide character that
    /// would stick out of the limit becomes a space. Returns the columns used.
    @discardableResult
    public mutating func put(_ text: some StringProtocol, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        let end = min(area.right, x + (limit ?? Int.max / 2))
        var column = x
        // Printable ASCII (most of a screen) is one cell per byte: no grapheme
        // breaking, no width lookup, no String made per cell.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            for byte in text.utf8 {
                guard column < end else { break }
                setCell(column, y, Cell(Self.asciiSymbols[Int(byte)], style: style))
                column += 1
            }
            return column - x
        }
        for character in text {
            guard column < end else { break }
            if let escaped = TextWidth.escapedControl(character) {
                for part in escaped {
                    guard column < end else { break }
                    setCell(column, y, Cell(String(part), style: style))
                    column += 1
                }
                continue
            }
            let width = TextWidth.width(of: character)
            if width == 0 {
                // A lone zero-width cluster (combining mark with no base):
                // attach it to nothing rather than let it draw on a border.
                continue
            }
            if width == 2 {
                if column + 1 >= end {
                    setCell(column, y, Cell(" ", style: style))
                    column += 1
                    continue
                }
                setCell(column, y, Cell(String(character), style: style))
                setCell(column + 1, y, Cell("", style: style))
                column += 2
            } else {
                setCell(column, y, Cell(String(character), style: style))
                column += 1
            }
        }
        return column - x
    }

    /// One-character strings for every ASCII byte, made once.
    static let asciiSymbols: [String] = (0..<128).map { String(UnicodeScalar(UInt8($0))) }

    /// Draws `text` in `rect`'s first row, padded with spaces to the full width.
    public mutating func putLine(_ text: some StringProtocol, in rect: Rect, style: Style) {
        guard !rect.isEmpty else { return }
        let used = put(text, x: rect.x, y: rect.y, style: style, limit: rect.width)
        if used < rect.width {
            fill(Rect(x: rect.x + used, y: rect.y, width: rect.width - used, height: 1), style: style)
        }
    }

    /// The buffer as text, one string per row (continuations left out), for snapshots.
    public var lines: [String] {
        (0..<area.height).map { row in
            var line = ""
            for column in 0..<area.width {
                let cell = cells[row * area.width + column]
                line += cell.symbol
            }
            return line
        }
    }

    /// The rows as one string with trailing spaces trimmed, for readable snapshots.
    public var text: String {
        lines.map { line in
            var trimmed = Substring(line)
            while trimmed.last == " " { trimmed = trimmed.dropLast() }
            return String(trimmed)
        }.joined(separator: "\n")
    }

    /// Resizes, keeping nothing.
    public mutating func resize(to size: Size) {
        area = Rect(size: size)
        cells = Array(repeating: .blank, count: area.area)
    }
}

/// A run of changed cells on one row, for the backend to write in one go.
public struct CellRun: Hashable, Sendable {
    public var x: Int
    public var y: Int
    /// The cells from `x` on, continuations left out (a wide cell covers two columns).
    public var cells: [Cell]
}

extension Buffer {
    /// The cells of `self` that differ from `previous`, as runs along rows.
    /// Empty when nothing changed; everything when the sizes differ.
    public func changes(since previous: Buffer?) -> [CellRun] {
        let old = previous.flatMap { $0.area == area ? $0.cells : nil }
        var runs: [CellRun] = []
        cells.withUnsafeBufferPointer { cells in
            // No previous frame of this size: everything is a change.
            let empty: [Cell] = []
            (old ?? empty).withUnsafeBufferPointer { old in
                let full = old.count != cells.count
                for row in 0..<area.height {
                    var run: CellRun?
                    let rowStart = row * area.width
                    for column in 0..<area.width {
                        let i = rowStart + column
                        // A continuation is drawn by its left half.
                        if cells[i].isContinuation { continue }
                        var changed = full || old[i] != cells[i]
                        // A wide character is one unit: either half changing rewrites it.
                        if !changed, column + 1 < area.width, cells[i + 1].isContinuation, old[i + 1] != cells[i + 1] {
                            changed = true
                        }
                        if changed {
                            if run == nil { run = CellRun(x: area.x + column, y: area.y + row, cells: []) }
                            run?.cells.append(cells[i])
                        } else if let finished = run {
                            runs.append(finished)
                            run = nil
                        }
                    }
                    if let finished = run { runs.append(finished) }
                }
            }
        }
        return runs
    }
}
