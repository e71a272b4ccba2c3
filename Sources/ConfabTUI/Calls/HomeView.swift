// The home screen of `confab connect`: reads CallState and the model, writes a frame.
//
//   ┌ title: Confab · you · server                                        ┐ row 0
//   │ ╭ Online ───────────╮ ╭ Recent calls ──────────────────────────────╮ │
//   │ │ › Bob (bob)       │ │ ↗ out  Bob        answered   1:23  09:12   │ │
//   │ │   Carol   ● busy  │ │ ↙ in   Carol      missed           08:40   │ │
//   │ ╰───────────────────╯ ╰────────────────────────────────────────────╯ │
//   │ › input line                                                         │ row h-2
//   └ status: online · keys                                       notice   ┘ row h-1
//   dialogs over it: ringing (incoming), calling (outgoing), outcome, help, quit
import ConfabClient
import ConfabProtocol
import Foundation

public struct HomeView {
    public var server: String
    public var timeZone: TimeZone

    public init(server: String, timeZone: TimeZone = .current) {
        self.server = server
        self.timeZone = timeZone
    }

    public func render(_ model: HomeModel, state: CallState, into frame: inout Frame) {
        let area = frame.area
        frame.buffer.fill(area, style: Style(.text, on: .background))
        guard area.width >= MeetingView.minimumSize.columns, area.height >= MeetingView.minimumSize.rows else {
            MeetingView().renderTooSmall(area, into: &frame.buffer)
            return
        }
        let (top, rest) = area.splitTop(1)
        let (middle, bottom) = rest.splitBottom(2)
        let (inputRow, statusRow) = bottom.splitTop(1)
        renderTitle(state, in: top, into: &frame.buffer)
        let listWidth = min(max(26, middle.width / 3), 48)
        let (onlineArea, historyArea) = middle.splitLeft(listWidth)
        renderOnline(model, state: state, in: onlineArea, into: &frame.buffer)
        renderHistory(model, state: state, in: historyArea, into: &frame.buffer)
        renderInput(model, in: inputRow, into: &frame)
        renderStatus(model, state: state, in: statusRow, into: &frame.buffer)
        if let dialog = dialog(model, state: state) {
            dialog.render(in: middle, into: &frame.buffer)
            frame.cursor = nil
        }
    }

    func renderTitle(_ state: CallState, in row: Rect, into buffer: inout Buffer) {
        var line = Line([], fill: Style(.text, on: .surface))
        line.append(" Confab ", Style(.accent, on: .surface, [.reverse, .bold]))
        if let you = state.you {
            line.append(" \(TextWidth.truncate(you.name, to: 24)) ", Style(.text, on: .surface, [.bold]))
            line.append("(\(you.user.rawValue))", Style(.dim, on: .surface))
        }
        line.append(" │ ", Style(.dim, on: .surface))
        line.append(server, Style(.dim, on: .surface))
        line.render(in: row, into: &buffer)
    }

    func renderOnline(_ model: HomeModel, state: CallState, in area: Rect, into buffer: inout Buffer) {
        let people = model.people(state)
        let focused = !model.inputFocused
        let block = Block(
            title: "Online (\(people.count))", titleStyle: Style(.accent, on: .background, [.bold]),
            borderStyle: Style(focused ? .accent : .dim, on: .background), fillStyle: Style(.text, on: .background))
        block.render(in: area, into: &buffer)
        let inner = block.inner(area)
        guard !people.isEmpty else {
            buffer.put(" Nobody else is online", x: inner.x, y: inner.y, style: Style(.dim, on: .background), limit: inner.width)
            buffer.put(" Waiting for calls…", x: inner.x, y: inner.y + 1, style: Style(.dim, on: .background), limit: inner.width)
            return
        }
        let selectedIndex = model.selected.flatMap { user in people.firstIndex { $0.user == user } } ?? 0
        let first = max(0, selectedIndex - inner.height + 1)
        for (row, person) in people.dropFirst(first).prefix(inner.height).enumerated() {
            let selected = person.user == model.selected
            let base = selected ? Style(.accent, on: .surface, focused ? [.reverse, .bold] : [.bold]) : Style(.text, on: .background)
            let rect = inner.row(row)
            buffer.fill(rect, style: base)
            let busy = person.busy ? " ● busy" : ""
            let id = person.name == person.user.rawValue ? "" : " (\(person.user.rawValue))"
            let nameWidth = max(1, rect.width - 2 - TextWidth.width(of: busy))
            let used = buffer.put((selected ? "›" : " ") + " " + TextWidth.truncate(person.name + id, to: nameWidth),
                                  x: rect.x, y: rect.y, style: base, limit: rect.width)
            if person.busy {
                let x = max(rect.x + used, rect.right - TextWidth.width(of: busy))
                buffer.put(busy, x: x, y: rect.y, style: selected ? base : Style(.warning, on: .background, [.bold]),
                           limit: rect.right - x)
            }
        }
    }

    func renderHistory(_ model: HomeModel, state: CallState, in area: Rect, into buffer: inout Buffer) {
        let block = Block(
            title: "Recent calls", titleStyle: Style(.accent, on: .background, [.bold]),
            borderStyle: Style(.dim, on: .background), fillStyle: Style(.text, on: .background))
        block.render(in: area, into: &buffer)
        let inner = block.inner(area).inset(horizontal: 1, vertical: 0)
        guard !state.recentCalls.isEmpty else {
            buffer.put("No calls yet. Select someone and press c, or type /call NAME.",
                       x: inner.x, y: inner.y, style: Style(.dim, on: .background), limit: inner.width)
            return
        }
        // ↗ out  PEERS…  outcome    duration  when
        let directionWidth = 6, outcomeWidth = 10, durationWidth = 7, whenWidth = 12
        let peersWidth = max(4, inner.width - directionWidth - outcomeWidth - durationWidth - whenWidth - 3)
        for (row, record) in state.recentCalls.prefix(inner.height).enumerated() {
            let y = inner.y + row
            var x = inner.x
            let incoming = record.direction == .incoming
            buffer.put(incoming ? "↙ in" : "↗ out", x: x, y: y, style: Style(.dim, on: .background), limit: directionWidth)
            x += directionWidth
            let peers = record.peers.map { model.name($0, in: state) }.joined(separator: ", ")
            buffer.put(TextWidth.truncate(peers, to: peersWidth), x: x, y: y, style: Style(.text, on: .background, [.bold]), limit: peersWidth)
            x += peersWidth + 1
            let (outcome, slot) = Self.outcome(record)
            buffer.put(outcome, x: x, y: y, style: Style(slot, on: .background), limit: outcomeWidth)
            x += outcomeWidth + 1
            if record.outcome == .answered {
                let text = HomeModel.duration(ms: record.durationMs)
                buffer.put(text, x: x + durationWidth - TextWidth.width(of: text), y: y, style: Style(.text, on: .background), limit: durationWidth)
            }
            x += durationWidth + 1
            buffer.put(when(record.startedAt, now: model.now), x: x, y: y, style: Style(.dim, on: .background), limit: whenWidth)
        }
    }

    /// A history entry's outcome, in words, and its colour.
    public static func outcome(_ record: CallRecord) -> (String, Slot) {
        switch record.outcome {
        case .answered: ("answered", .ok)
        case .cancelled: ("cancelled", .dim)
        case .rejected: ("declined", .error)
        case .noResponse: (record.direction == .incoming ? "missed" : "no answer", record.direction == .incoming ? .error : .warning)
        case .busy: ("busy", .warning)
        case .offline: ("offline", .dim)
        case .unanswered: ("unanswered", .warning)
        }
    }

    /// Today: HH:mm; before: MMM d HH:mm.
    func when(_ time: Timestamp, now: Date) -> String {
        let date = Date(timeIntervalSince1970: Double(time.millisecondsSince1970) / 1000)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = calendar.isDate(date, inSameDayAs: now) ? "HH:mm" : "MMM d HH:mm"
        return formatter.string(from: date)
    }

    func renderInput(_ model: HomeModel, in row: Rect, into frame: inout Frame) {
        frame.buffer.fill(row, style: Style(.text, on: .surface))
        frame.buffer.put(model.inputFocused ? " › " : "   ", x: row.x, y: row.y, style: Style(.accent, on: .surface, [.bold]))
        let field = Rect(x: row.x + 3, y: row.y, width: row.width - 4, height: 1)
        if model.editor.isEmpty, !model.inputFocused {
            frame.buffer.put("/call NAME [NAME…] to ring people · Tab completes names · /help",
                             x: field.x, y: field.y, style: Style(.dim, on: .surface), limit: field.width)
            return
        }
        let (text, cursorColumn) = model.editor.visible(columns: field.width)
        frame.buffer.put(text, x: field.x, y: field.y, style: Style(.text, on: .surface), limit: field.width)
        if model.inputFocused { frame.cursor = CursorPosition(x: field.x + cursorColumn, y: field.y) }
    }

    func renderStatus(_ model: HomeModel, state: CallState, in row: Rect, into buffer: inout Buffer) {
        var line = Line([], fill: Style(.text, on: .surface))
        switch state.connection {
        case .online: line.append(" ● online", Style(.ok, on: .surface, [.bold]))
        case .idle, .connecting: line.append(" ◌ connecting", Style(.warning, on: .surface))
        case .reconnecting(let attempt): line.append(" ◌ reconnecting (try \(attempt))", Style(.warning, on: .surface, [.bold]))
        case .disconnected: line.append(" ✕ offline", Style(.error, on: .surface, [.bold]))
        }
        if state.inCallElsewhere {
            line.append(" · ☎ in a call on another device", Style(.warning, on: .surface, [.bold]))
        }
        line.append(" │ ", Style(.dim, on: .surface))
        line.append("↑↓ select · c call · / command · r refresh · ? help · q quit", Style(.dim, on: .surface))
        line.render(in: row, into: &buffer)
        if let notice = model.notice {
            let text = TextWidth.truncate(" " + notice.text + " ", to: max(0, row.width / 2))
            let width = TextWidth.width(of: text)
            buffer.put(text, x: row.right - width, y: row.y,
                       style: Style(notice.isError ? .error : .accent, on: .surface, [.bold]), limit: width)
        }
    }

    // MARK: - Dialogs

    func dialog(_ model: HomeModel, state: CallState) -> CallDialog? {
        if let overlay = model.overlay {
            switch overlay {
            case .help: return .help
            case .confirmQuit: return CallDialog(title: "Confab", lines: ["Go offline and quit?"], choices: ["y  quit", "n  stay"])
            case .outcome(let text): return CallDialog(title: "Call", lines: [text], choices: ["any key  close"], slot: .warning)
            }
        }
        if state.call == nil, let invitation = state.invitations.first {
            return Self.ringing(invitation, model: model, state: state)
        }
        if let call = model.calling(state) {
            return Self.calling(call, model: model, state: state)
        }
        return nil
    }

    /// The ringing dialog: who calls, who else is invited, 1:1 or group.
    static func ringing(_ invitation: CallInvitation, model: HomeModel, state: CallState) -> CallDialog {
        let you = state.you?.user
        let caller = model.name(invitation.from, in: state)
        let others = invitation.call.participants.filter { $0.user != invitation.from && $0.user != you }
        var lines = ["\(TextWidth.truncate(caller, to: 40)) is calling you"]
        if invitation.call.group || !others.isEmpty {
            lines.append("Group call" + (others.isEmpty ? "" : " with " + model.names(others.map(\.user), in: state)))
        } else {
            lines.append("1:1 call")
        }
        if state.invitations.count > 1 { lines.append("(\(state.invitations.count - 1) more ringing)") }
        // Come while you typed: it says how to turn to it, and takes no keys till then.
        let choices = model.ringingTakesKeys ? ["a  accept", "r  reject"] : ["F2 or Esc  answer"]
        return CallDialog(title: "☎ Incoming call", lines: lines, choices: choices, slot: .warning)
    }

    /// The calling panel: each invitee's state.
    static func calling(_ call: CallInfo, model: HomeModel, state: CallState) -> CallDialog {
        let invitees = call.participants.filter { $0.user != state.you?.user }
        let nameWidth = min(28, invitees.map { TextWidth.width(of: $0.name) }.max() ?? 8)
        let rows = invitees.map { entry -> (String, Slot) in
            let text = TextWidth.pad(TextWidth.truncate(entry.name, to: nameWidth), to: nameWidth) + "  " + mark(entry.state)
            return (text, slot(entry.state))
        }
        return CallDialog(
            title: call.group ? "Calling (group)" : "Calling", lines: [], rows: rows, choices: ["x  cancel"], slot: .accent)
    }

    static func mark(_ state: CallParticipantState) -> String {
        switch state {
        case .ringing: "ringing…"
        case .accepted: "✓ accepted"
        case .rejected: "✕ rejected"
        case .noResponse: "no response"
        case .busy: "busy"
        case .offline: "offline"
        case .cancelled: "cancelled"
        case .left: "left"
        }
    }

    static func slot(_ state: CallParticipantState) -> Slot {
        switch state {
        case .ringing: .accent
        case .accepted: .ok
        case .rejected: .error
        case .noResponse, .busy: .warning
        case .offline, .cancelled, .left: .dim
        }
    }
}
