// The boxed dialogs of the home and call screens (ringing, calling,
// outcomes, help, quit and hang-up questions): lines, coloured rows and the
// keys that answer, centred over the screen.
import ConfabClient
import ConfabProtocol

/// A boxed dialog: lines of text, coloured rows, and the keys that answer it.
struct CallDialog: Widget {
    var title: String
    var lines: [String]
    var rows: [(String, Slot)] = []
    var choices: [String]
    var slot: Slot = .accent
    var isHelp = false

    static let help = CallDialog(
        title: "Keys", lines: [], rows: [
            ("↑ ↓        select someone online", .text), ("c  Enter   call the selected person", .text),
            ("/ i Tab    write a command", .text), ("r          refresh recent calls", .text),
            ("q          quit (asks first)", .text), ("Ringing:   a accept · r reject", .text),
            ("Calling:   x cancel", .text), ("In a call: q hang up · /call NAME invites", .text),
        ] + HomeModel.slashCommands.map { (TextWidth.pad($0.usage, to: 20) + " " + $0.summary, Slot.text) },
        choices: ["any key  close"])

    func render(in area: Rect, into buffer: inout Buffer) {
        let widest = (lines + rows.map(\.0) + [choices.map { "[\($0)]" }.joined(separator: "  "), title])
            .map { TextWidth.width(of: $0) }.max() ?? 20
        let width = min(area.width - 4, max(36, widest + 6))
        let wrapped = lines.flatMap { TextWidth.wrap($0, columns: width - 4) }
        let height = min(area.height, wrapped.count + rows.count + 4)
        let box = area.centered(width: width, height: height)
        let block = Block(
            title: title, titleStyle: Style(slot, on: .surface, [.bold]), borderStyle: Style(slot, on: .surface, [.bold]),
            fillStyle: Style(.text, on: .surface), heavy: true)
        block.render(in: box, into: &buffer)
        let inner = block.inner(box).inset(horizontal: 1, vertical: 0)
        var y = inner.y
        for line in wrapped where y < inner.bottom - 1 {
            buffer.put(line, x: inner.x, y: y, style: Style(.text, on: .surface, [.bold]), limit: inner.width)
            y += 1
        }
        for (text, slot) in rows where y < inner.bottom - 1 {
            buffer.put(text, x: inner.x, y: y, style: Style(slot, on: .surface), limit: inner.width)
            y += 1
        }
        var x = inner.x
        for choice in choices {
            x += buffer.put("[" + choice + "]", x: x, y: inner.bottom - 1, style: Style(.accent, on: .surface), limit: inner.right - x)
            x += 2
        }
    }
}
