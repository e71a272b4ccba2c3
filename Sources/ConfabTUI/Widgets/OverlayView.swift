// Dialogs drawn over the meeting: help, confirmations, prompts put to us,
// the action menu, and the end of the session. Each names its keys.
import ConfabClient
import ConfabProtocol

public struct OverlayView: Widget {
    public var overlay: Overlay
    public var model: MeetingModel
    public var state: RoomState

    public func render(in area: Rect, into buffer: inout Buffer) {
        switch overlay {
        case .help:
            renderHelp(in: area, into: &buffer)
        case .confirmLeave:
            dialog("Leave the meeting?", ["y  leave", "n  stay"], in: area, into: &buffer)
        case .confirmEndRoom:
            dialog("End the room for everyone?", ["y  end it", "n  cancel"], in: area, into: &buffer, slot: .error)
        case .confirmRemove(let peer, let reason):
            let why = reason.map { " (\(TextSanitizer.clean($0, lineBreaks: .singleLine)))" } ?? ""
            dialog("Remove \(model.name(peer, in: state)) from the room\(why)?", ["y  remove", "n  cancel"], in: area, into: &buffer, slot: .error)
        case .prompt(let prompt):
            let who = model.name(prompt.by, in: state)
            switch prompt.question {
            case .roleChange(let role):
                dialog("\(who) asks you to become \(role).", ["a  accept", "d  decline", "Esc  later"], in: area, into: &buffer, slot: .warning)
            case .unmute:
                dialog("\(who) asks you to unmute.", ["a  unmute", "d  stay muted", "Esc  later"], in: area, into: &buffer, slot: .warning)
            }
        case .ended(let text):
            dialog(text, ["Enter  close"], in: area, into: &buffer, slot: .error)
        case .actions(let menu):
            renderMenu(menu, in: area, into: &buffer)
        case .audience(let browser):
            renderAudience(browser, in: area, into: &buffer)
        }
    }

    func dialog(_ text: String, _ choices: [String], in area: Rect, into buffer: inout Buffer, slot: Slot = .accent) {
        let width = min(area.width - 4, max(36, TextWidth.width(of: text) + 6))
        let lines = TextWidth.wrap(text, columns: width - 4)
        let height = lines.count + 4
        let box = area.centered(width: width, height: height)
        let block = Block(
            title: "Confab", titleStyle: Style(slot, on: .surface, [.bold]), borderStyle: Style(slot, on: .surface, [.bold]),
            fillStyle: Style(.text, on: .surface), heavy: true)
        block.render(in: box, into: &buffer)
        let inner = block.inner(box).inset(horizontal: 1, vertical: 0)
        for (index, line) in lines.enumerated() {
            buffer.put(line, x: inner.x, y: inner.y + index, style: Style(.text, on: .surface, [.bold]), limit: inner.width)
        }
        var x = inner.x
        for choice in choices {
            x += buffer.put("[" + choice + "]", x: x, y: inner.bottom - 1, style: Style(.accent, on: .surface), limit: inner.right - x)
            x += 2
        }
    }

    func renderMenu(_ menu: ActionMenu, in area: Rect, into buffer: inout Buffer) {
        let title = model.name(menu.peer, in: state)
        let width = min(area.width - 4, max(30, TextWidth.width(of: title) + 8))
        let box = area.centered(width: width, height: menu.items.count + 3)
        let block = Block(
            title: TextWidth.truncate(title, to: width - 6), titleStyle: Style(.accent, on: .surface, [.bold]),
            borderStyle: Style(.accent, on: .surface), fillStyle: Style(.text, on: .surface), footer: "Enter · Esc", heavy: true)
        block.render(in: box, into: &buffer)
        let inner = block.inner(box)
        for (index, item) in menu.items.enumerated() where index < inner.height {
            let style = index == menu.selected ? Style(.accent, on: .surface, [.reverse, .bold]) : Style(.text, on: .surface)
            buffer.putLine(" " + item.label, in: inner.row(index), style: style)
        }
    }

    /// Every entry of the help: keys, then commands, then the whole safety code.
    static func helpRows(_ model: MeetingModel, state: RoomState) -> [(String, String)] {
        var rows: [(String, String)] = []
        let voiceActions = Set(VoiceStage.allCases.map(\.action))
        // The processing's keys only where there is processing to switch.
        for action in KeyAction.allCases where model.voice != nil || !voiceActions.contains(action) {
            let keys = model.keyMap.keys(for: action).joined(separator: " ")
            if !keys.isEmpty { rows.append((keys, action.summary)) }
        }
        rows += [
            ("Tab", "focus: tiles → chat → input (in input: complete)"), ("arrows", "select a participant / scroll"),
            ("Enter", "actions for the selected participant"), ("PgUp PgDn", "scroll the chat"),
            ("End", "the chat's newest line"), (MeetingModel.answerKeyName, "answer a question put to you"),
            ("Esc", "back to the tiles / close"),
        ]
        rows += (MeetingModel.slashCommands + model.extraCommands).map { ($0.usage, $0.summary) }
        // The whole safety code, to compare aloud (the status bar has its first group).
        if let code = state.safetyCode { rows.append(("safety code", code + " (compare aloud)")) }
        return rows
    }

    /// The help box in `area`, and how many entries it shows at once.
    static func helpBox(rowCount: Int, keyWidth: Int, in area: Rect) -> (box: Rect, visible: Int) {
        let width = min(area.width - 2, keyWidth + 54)
        let box = area.centered(width: width, height: min(area.height, rowCount + 2))
        return (box, max(1, box.height - 2))
    }

    func renderHelp(in area: Rect, into buffer: inout Buffer) {
        let rows = Self.helpRows(model, state: state)
        let keyWidth = rows.map { TextWidth.width(of: $0.0) }.max() ?? 10
        let (box, visible) = Self.helpBox(rowCount: rows.count, keyWidth: keyWidth, in: area)
        let first = min(max(0, model.helpScroll), max(0, rows.count - visible))
        let ptt = model.pushToTalk == .hold
            ? model.pushToTalkHint + " (this terminal reports key releases)"
            : model.pushToTalkHint + " (this terminal reports no key releases)"
        // More entries than rows (80×24): the footer says where we are and how to move.
        let footer = rows.count > visible
            ? "\(first + 1)–\(min(rows.count, first + visible)) of \(rows.count) · ↑↓ PgUp PgDn Home End · Esc closes"
            : "Esc or ? to close"
        let block = Block(
            title: "Keys · \(ptt)", titleStyle: Style(.accent, on: .surface, [.bold]), borderStyle: Style(.accent, on: .surface),
            fillStyle: Style(.text, on: .surface), footer: footer, heavy: true)
        block.render(in: box, into: &buffer)
        let inner = block.inner(box).inset(horizontal: 1, vertical: 0)
        for (index, row) in rows.dropFirst(first).prefix(visible).enumerated() where index < inner.height {
            let y = inner.y + index
            buffer.put(row.0, x: inner.x, y: y, style: Style(.accent, on: .surface, [.bold]), limit: keyWidth)
            buffer.put(row.1, x: inner.x + keyWidth + 2, y: y, style: Style(.text, on: .surface), limit: inner.width - keyWidth - 2)
        }
        if first > 0 { buffer.put("↑", x: box.right - 2, y: box.y + 1, style: Style(.accent, on: .surface, [.bold])) }
        if first + visible < rows.count { buffer.put("↓", x: box.right - 2, y: box.bottom - 2, style: Style(.accent, on: .surface, [.bold])) }
    }
}
