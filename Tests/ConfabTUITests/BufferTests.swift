import Testing
@testable import ConfabTUI

/// A buffer of "x" with `widget` drawn in `area`: any "x" replaced outside
/// the area means the widget drew where it should not (ratatui's test trick).
func rendered(_ widget: some Widget, size: Size, in area: Rect) -> Buffer {
    var buffer = Buffer(area: Rect(size: size), filling: Cell("x"))
    widget.render(in: area, into: &buffer)
    return buffer
}

func outsideIsUntouched(_ buffer: Buffer, _ area: Rect) -> Bool {
    for y in 0..<buffer.area.height {
        for x in 0..<buffer.area.width where !area.contains(x: x, y: y) {
            if buffer[x, y].symbol != "x" { return false }
        }
    }
    return true
}

@Suite("cell buffer")
struct BufferTests {
    @Test("text is placed, clipped to its limit, and padded lines fill the row")
    func putAndClip() {
        var buffer = Buffer(area: Rect(size: Size(columns: 10, rows: 2)), filling: Cell("x"))
        buffer.put("hello world", x: 2, y: 0, style: .plain, limit: 5)
        buffer.putLine("ab", in: Rect(x: 1, y: 1, width: 4, height: 1), style: .plain)
        #expect(buffer.lines == ["xxhelloxxx", "xab  xxxxx"])
    }

    @Test("wide characters take two cells and never stick out of the limit")
    func wideCharacters() {
        var buffer = Buffer(area: Rect(size: Size(columns: 8, rows: 1)), filling: Cell("x"))
        let used = buffer.put("漢字😀", x: 0, y: 0, style: .plain, limit: 5)
        #expect(used == 5)
        // Two wide characters fit (4 columns); the emoji would need columns 4 and 5: a space instead.
        #expect(buffer.lines == ["漢字 xxx"])
        #expect(TextWidth.width(of: "漢字😀") == 6)
    }

    @Test("overwriting half of a wide character blanks the other half")
    func brokenWideCharacter() {
        var buffer = Buffer(area: Rect(size: Size(columns: 4, rows: 1)))
        buffer.put("漢", x: 0, y: 0, style: .plain)
        buffer.put("a", x: 1, y: 0, style: .plain)
        #expect(buffer.lines == [" a  "])
        buffer.put("字", x: 2, y: 0, style: .plain)
        buffer.put("b", x: 2, y: 0, style: .plain)
        #expect(buffer.lines == [" ab "])
    }

    @Test("controls that get this far are shown in caret notation, never raw")
    func controlsEscaped() {
        var buffer = Buffer(area: Rect(size: Size(columns: 12, rows: 1)))
        buffer.put("a\u{1B}b\u{7F}\u{9B}", x: 0, y: 0, style: .plain)
        #expect(buffer.lines == ["a^[b^?^[[   "])
    }

    @Test("no change, no output; one change, one cell")
    func diffIsMinimal() {
        var first = Buffer(size: Size(columns: 20, rows: 5))
        first.put("hello", x: 1, y: 1, style: .plain)
        var second = first
        #expect(second.changes(since: first).isEmpty)
        second.put("j", x: 1, y: 1, style: .plain)
        let runs = second.changes(since: first)
        #expect(runs == [CellRun(x: 1, y: 1, cells: [Cell("j")])])
        #expect(first.changes(since: nil).reduce(0) { $0 + $1.cells.count } == 100)
    }

    @Test("a style change alone is a change")
    func styleChange() {
        let first = Buffer(size: Size(columns: 4, rows: 1))
        var second = first
        second.restyle(Rect(x: 2, y: 0, width: 1, height: 1)) { $0.attributes.insert(.bold) }
        #expect(second.changes(since: first).map(\.x) == [2])
    }

    @Test("a wide character's run covers it once")
    func wideDiff() {
        let first = Buffer(size: Size(columns: 6, rows: 1))
        var second = first
        second.put("漢a", x: 1, y: 0, style: .plain)
        let runs = second.changes(since: first)
        #expect(runs.count == 1)
        #expect(runs[0].x == 1)
        #expect(runs[0].cells.map(\.symbol) == ["漢", "a"])
    }

    @Test("the memory backend shows what the renderer sent, and idle frames send nothing")
    func rendererIdle() {
        let backend = MemoryBackend(size: Size(columns: 10, rows: 2))
        let renderer = Renderer(backend: backend)
        let draw: (inout Frame) -> Void = { frame in frame.buffer.put("hi 漢", x: 0, y: 0, style: .plain) }
        #expect(renderer.render(draw) == 19)
        #expect(backend.text == "hi 漢\n")
        let flushes = backend.flushCount
        #expect(renderer.render(draw) == 0)
        #expect(backend.flushCount == flushes)
    }

    @Test("a block draws its border and title inside its area only")
    func block() {
        let buffer = rendered(
            Block(title: "Chat", footer: "3 new"), size: Size(columns: 14, rows: 5), in: Rect(x: 1, y: 1, width: 12, height: 3))
        #expect(
            buffer.lines == [
                "xxxxxxxxxxxxxx",
                "x╭ Chat ────╮x",
                "x│          │x",
                "x╰─── 3 new ╯x",
                "xxxxxxxxxxxxxx",
            ])
    }

    @Test("level bars fill in eighths and stay in their row", arguments: [0, 1, 50, 99, 100])
    func levelBar(level: Int) {
        let area = Rect(x: 1, y: 1, width: 10, height: 1)
        let buffer = rendered(
            LevelBar(level: level, style: .plain, emptyStyle: .plain), size: Size(columns: 12, rows: 3), in: area)
        #expect(outsideIsUntouched(buffer, area))
        let full = buffer.lines[1].filter { $0 == "█" }.count
        #expect(full == 10 * level / 100)
    }

    @Test("wrapping respects widths, long words and wide text")
    func wrapping() {
        #expect(TextWidth.wrap("the quick brown fox", columns: 9) == ["the quick", "brown fox"])
        #expect(TextWidth.wrap("abcdefghij", columns: 4) == ["abcd", "efgh", "ij"])
        #expect(TextWidth.wrap("漢字漢字漢", columns: 4) == ["漢字", "漢字", "漢"])
        #expect(TextWidth.wrap("a b", columns: 10, firstColumns: 1) == ["a", "b"])
        for line in TextWidth.wrap(Fixtures.hostile.joined(separator: " "), columns: 13) {
            #expect(TextWidth.width(of: line) <= 13)
        }
    }
}
