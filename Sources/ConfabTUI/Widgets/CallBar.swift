// The call screen's top row: the time in the call and each other
// participant's state (✓ in call, ringing…, ✕ rejected), with the hint
// for hanging up and inviting more.
//
//   CallState + now ─▶ CallBar ─▶ one row of the Buffer
import ConfabClient
import ConfabProtocol
import Foundation

/// One row: time in the call, and each other participant's state.
public struct CallBar: Widget {
    public var state: CallState
    public var now: Date
    /// When we joined the call's room: the clock's start when the call we
    /// hold carries no `answeredAt` (the callee's copy, taken as it rang).
    public var joinedAt: Timestamp?

    /// "☎ Bob", "☎ Bob, Carol": who the call is with, for the status bar.
    public static func withWhom(_ state: CallState) -> String? {
        guard let call = state.call else { return nil }
        let others = call.participants.filter { $0.user != state.you?.user }.map(\.name)
        return "☎ " + (others.isEmpty ? "call" : others.joined(separator: ", "))
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        var line = Line([], fill: Style(.text, on: .surface))
        line.append(" ☎ Call ", Style(.accent, on: .surface, [.reverse, .bold]))
        if let call = state.call {
            if let answered = call.answeredAt ?? joinedAt {
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
