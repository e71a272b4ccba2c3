// The call screen: the meeting screen of the call's room, compact for the
// 2–4 people of a call: the speaker strip (the tiles already show who speaks)
// gives its row to a call bar with the time in the call and every invitee's
// state, which updates when someone in the call invites more.
//
//   ┌ ☎ Call 1:23 │ Bob ✓ in call · Carol ringing… │ q hang up · /call NAME invites ┐ row 0
//   │ the meeting screen (tiles, chat, input, status)                                │
import ConfabClient
import ConfabProtocol
import Foundation

public struct CallScreenView {
    public var meeting: MeetingView

    public init(timeZone: TimeZone = .current) {
        meeting = MeetingView(timeZone: timeZone)
    }

    public func render(_ model: inout MeetingModel, room: RoomState, calls: CallState, now: Date, into frame: inout Frame) {
        meeting.render(&model, state: room, into: &frame)
        let area = frame.area
        guard area.width >= MeetingView.minimumSize.columns, area.height >= MeetingView.minimumSize.rows else { return }
        CallBar(state: calls, now: now).render(in: area.row(0), into: &frame.buffer)
        if model.overlay == .confirmLeave {
            // Leaving the call's room is hanging up: the dialog says so (drawn over the meeting's own).
            let middle = area.splitTop(1).1.splitBottom(2).0
            CallDialog(title: "Confab", lines: ["Hang up?"], choices: ["y  hang up", "n  stay"])
                .render(in: middle, into: &frame.buffer)
        }
    }
}

/// One row: time in the call, and each other participant's state.
public struct CallBar: Widget {
    public var state: CallState
    public var now: Date

    public init(state: CallState, now: Date) {
        self.state = state
        self.now = now
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        var line = Line([], fill: Style(.text, on: .surface))
        line.append(" ☎ Call ", Style(.accent, on: .surface, [.reverse, .bold]))
        if let call = state.call {
            if let answered = call.answeredAt {
                let ms = Int(now.timeIntervalSince1970 * 1000) - Int(answered.millisecondsSince1970)
                line.append(" " + HomeModel.duration(ms: ms), Style(.text, on: .surface, [.bold]))
            }
            line.append(" │ ", Style(.dim, on: .surface))
            let others = call.participants.filter { $0.user != state.you?.user }
            for (index, entry) in others.enumerated() {
                if index > 0 { line.append(" · ", Style(.dim, on: .surface)) }
                line.append(TextWidth.truncate(entry.name, to: 20) + " ", Style(.text, on: .surface, [.bold]))
                let mark = entry.state == .accepted
                    ? (state.inRoom.contains(entry.user) ? "✓ in call" : "✓ joining")
                    : HomeView.mark(entry.state)
                line.append(mark, Style(HomeView.slot(entry.state), on: .surface))
            }
        }
        line.render(in: area, into: &buffer)
        let hint = " q hang up · /call NAME invites "
        let width = TextWidth.width(of: hint)
        if area.width > width * 2 {
            buffer.put(hint, x: area.right - width, y: area.y, style: Style(.dim, on: .surface), limit: width)
        }
    }
}

extension MeetingModel {
    /// Enter on `/call NAME…` in the call's input line: invite more people
    /// into the call (the meeting's own commands do not know calls); Tab
    /// after `/call ` completes online names. Returns nil for every other
    /// key and line, which the meeting handles.
    public mutating func callCommand(_ key: Key, calls: CallState) -> [HomeCommand]? {
        guard key == .enter || key == .tab, focus == .input, overlay == nil else { return nil }
        let text = editor.text.trimmingCharacters(in: .whitespaces)
        if key == .tab {
            // Tab after `/call `: online names, as on the home screen.
            guard editor.text.lowercased().hasPrefix("/call ") else { return nil }
            var home = HomeModel()
            home.editor = editor
            home.complete(state: calls)
            editor = home.editor
            if let notice = home.notice { setNotice(notice.text) }
            return []
        }
        guard text.lowercased() == "/call" || text.lowercased().hasPrefix("/call ") else { return nil }
        let line = editor.submit() ?? text
        var home = HomeModel()
        let commands = home.runLine(line, state: calls)
        if let notice = home.notice { setNotice(notice.text, error: notice.isError) }
        for case .call(let users) in commands {
            setNotice("inviting " + users.map { home.name($0, in: calls) }.joined(separator: ", "))
        }
        return commands.filter { if case .call = $0 { true } else { false } }
    }
}
