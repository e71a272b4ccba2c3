// The small widgets the screens are built from. Each draws only inside the
// area it is given (the tests fill a buffer with "x" around it to prove it).

/// Something that draws itself into a buffer (ratatui's `Widget::render`).
public protocol Widget {
    func render(in area: Rect, into buffer: inout Buffer)
}

/// A box: a border with a title on its top edge and, optionally, a note on
/// the bottom edge. `inner(area)` is where the contents go.
public struct Block: Widget {
    public var title: String
    public var titleStyle: Style
    public var borderStyle: Style
    public var fillStyle: Style
    public var footer: String
    public var heavy: Bool
    /// Double lines: the selected tile, told apart from the speaking one
    /// (heavy) by shape, which survives NO_COLOR and the mono theme.
    public var double: Bool

    public init(title: String = "", titleStyle: Style = .plain, borderStyle: Style = Style(.dim), fillStyle: Style = .plain,
                footer: String = "", heavy: Bool = false, double: Bool = false) {
        self.double = double
        self.title = title
        self.titleStyle = titleStyle
        self.borderStyle = borderStyle
        self.fillStyle = fillStyle
        self.footer = footer
        self.heavy = heavy
    }

    public func inner(_ area: Rect) -> Rect { area.inset(by: 1) }

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard area.width >= 2, area.height >= 2 else { return }
        buffer.fill(area, style: fillStyle)
        let (h, v, tl, tr, bl, br) =
            double ? ("═", "║", "╔", "╗", "╚", "╝") : heavy ? ("━", "┃", "┏", "┓", "┗", "┛") : ("─", "│", "╭", "╮", "╰", "╯")
        let top = area.y
        let bottom = area.bottom - 1
        // Edges as fills: one cell value per edge, no text to measure.
        let horizontal = Cell(h, style: borderStyle)
        let vertical = Cell(v, style: borderStyle)
        buffer.fill(Rect(x: area.x + 1, y: top, width: area.width - 2, height: 1), with: horizontal)
        buffer.fill(Rect(x: area.x + 1, y: bottom, width: area.width - 2, height: 1), with: horizontal)
        buffer.fill(Rect(x: area.x, y: top + 1, width: 1, height: area.height - 2), with: vertical)
        buffer.fill(Rect(x: area.right - 1, y: top + 1, width: 1, height: area.height - 2), with: vertical)
        buffer.fill(Rect(x: area.x, y: top, width: 1, height: 1), with: Cell(tl, style: borderStyle))
        buffer.fill(Rect(x: area.right - 1, y: top, width: 1, height: 1), with: Cell(tr, style: borderStyle))
        buffer.fill(Rect(x: area.x, y: bottom, width: 1, height: 1), with: Cell(bl, style: borderStyle))
        buffer.fill(Rect(x: area.right - 1, y: bottom, width: 1, height: 1), with: Cell(br, style: borderStyle))
        if !title.isEmpty, area.width > 4 {
            let text = TextWidth.truncate(" " + title + " ", to: area.width - 2)
            buffer.put(text, x: area.x + 1, y: top, style: titleStyle, limit: area.width - 2)
        }
        if !footer.isEmpty, area.width > 4 {
            let text = TextWidth.truncate(" " + footer + " ", to: area.width - 2)
            let width = TextWidth.width(of: text)
            buffer.put(text, x: area.right - 1 - width, y: bottom, style: borderStyle, limit: width)
        }
    }
}

/// Styled pieces of one line.
public struct Line: Widget, Hashable, Sendable {
    public struct Span: Hashable, Sendable {
        public var text: String
        public var style: Style
        public init(_ text: String, _ style: Style) {
            self.text = text
            self.style = style
        }
    }

    public var spans: [Span]
    /// The style of the rest of the row.
    public var fill: Style

    public init(_ spans: [Span] = [], fill: Style = .plain) {
        self.spans = spans
        self.fill = fill
    }

    public init(_ text: String, _ style: Style) {
        self.init([Span(text, style)], fill: style)
    }

    public var width: Int { spans.reduce(0) { $0 + TextWidth.width(of: $1.text) } }

    public mutating func append(_ text: String, _ style: Style) {
        spans.append(Span(text, style))
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        var x = area.x
        for span in spans {
            let remaining = area.right - x
            guard remaining > 0 else { break }
            x += buffer.put(span.text, x: x, y: area.y, style: span.style, limit: remaining)
        }
        if x < area.right {
            buffer.fill(Rect(x: x, y: area.y, width: area.right - x, height: 1), style: fill)
        }
    }
}

/// A horizontal level bar, 0 … 100, in eighths of a cell so quiet speech
/// still moves it. With `animated` false (screen-reader mode) it shows the
/// level as a number instead.
public struct LevelBar: Widget {
    public var level: Int
    public var style: Style
    public var emptyStyle: Style
    public var animated: Bool

    static let eighths = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]

    public init(level: Int, style: Style, emptyStyle: Style, animated: Bool = true) {
        self.level = min(max(level, 0), 100)
        self.style = style
        self.emptyStyle = emptyStyle
        self.animated = animated
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        guard animated else {
            buffer.putLine(level > 0 ? "level \(level)" : "silent", in: area.row(0), style: emptyStyle)
            return
        }
        let totalEighths = area.width * 8 * level / 100
        let full = totalEighths / 8
        let partial = totalEighths % 8
        buffer.fill(Rect(x: area.x, y: area.y, width: full, height: 1), with: Cell("█", style: style))
        var x = area.x + full
        if partial > 0, x < area.right {
            buffer.fill(Rect(x: x, y: area.y, width: 1, height: 1), with: Cell(Self.eighths[partial], style: style))
            x += 1
        }
        buffer.fill(Rect(x: x, y: area.y, width: area.right - x, height: 1), with: Cell("·", style: emptyStyle))
    }
}
