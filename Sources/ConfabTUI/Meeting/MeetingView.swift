// The whole meeting screen: reads RoomState and the model, writes a frame.
//
//   ┌ Speaking  Alice ████▌   Bob ██                                  ┐ row 0
//   │ tiles (grid, pages)                     │ chat pane             │
//   │                                         │                       │
//   │ › input line                                                    │ row h-2
//   └ status: room · you · connection · mic · PTT · RTT · safety · ?   ┘ row h-1
import ConfabClient
import ConfabProtocol
import Foundation

public struct MeetingView {
    public static let minimumSize = Size(columns: 80, rows: 24)

    public var timeZone: TimeZone = .current

    public init(timeZone: TimeZone = .current) {
        self.timeZone = timeZone
    }

    /// Draws the screen; updates the model's layout figures (tiles per page, chat rows).
    public func render(_ model: inout MeetingModel, state: RoomState, into frame: inout Frame) {
        let area = frame.area
        frame.buffer.fill(area, style: Style(.text, on: .background))
        guard area.width >= Self.minimumSize.columns, area.height >= Self.minimumSize.rows else {
            renderTooSmall(area, into: &frame.buffer)
            return
        }
        let (top, rest) = area.splitTop(1)
        let (middle, bottom) = rest.splitBottom(2)
        let (inputRow, statusRow) = bottom.splitTop(1)
        SpeakerStrip(state: state, animated: !model.screenReader).render(in: top, into: &frame.buffer)

        let chatWidth = min(max(32, area.width * 2 / 5), 64)
        let (tilesArea, chatArea) = middle.splitRight(chatWidth)
        let peers = model.tilePeers(state)
        let fit = TileGrid.fit(tilesArea.inset(horizontal: 1, vertical: 0), count: peers.count)
        model.tilesPerPage = fit.columns * fit.rows
        model.tileColumns = fit.columns
        model.chatRows = max(1, chatArea.height - 2)
        if let selected = model.selected, let index = peers.firstIndex(where: { $0.id == selected }) {
            model.tilePage = index / max(1, model.tilesPerPage)
        }
        TileGrid(
            state: state, peers: peers, selected: model.selected, page: model.tilePage, focused: model.focus == .tiles,
            animated: !model.screenReader
        ).render(in: tilesArea.inset(horizontal: 1, vertical: 0), into: &frame.buffer)
        if model.focus == .tiles, model.selected == nil, !peers.isEmpty, peers.count <= model.tilesPerPage,
            fit.rows * TileWidget.height < tilesArea.height
        {
            frame.buffer.put(
                "←→↑↓ select · Enter actions · Tab focus", x: tilesArea.x + 1, y: tilesArea.bottom - 1,
                style: Style(.dim, on: .background), limit: max(0, tilesArea.width - 2))
        }
        let model2 = model
        ChatView(
            state: state, systemLines: model.systemLines, scroll: model.chatScroll, readMarkerSeq: model.readMarkerSeq,
            focused: model.focus == .chat, timeZone: timeZone, mentions: { model2.mentions($0, of: state) }
        ).render(in: chatArea, into: &frame.buffer)

        renderInput(model, state: state, in: inputRow, into: &frame)
        renderStatus(model, state: state, in: statusRow, into: &frame.buffer)
        if let overlay = model.overlay {
            OverlayView(overlay: overlay, model: model, state: state).render(in: middle, into: &frame.buffer)
            frame.cursor = nil
        }
    }

    func renderTooSmall(_ area: Rect, into buffer: inout Buffer) {
        let lines = [
            "The window is too small",
            "\(area.width)×\(area.height); Confab needs \(Self.minimumSize.columns)×\(Self.minimumSize.rows)",
            "Make it larger, or press q to leave",
        ]
        let top = max(0, area.height / 2 - 1)
        for (offset, text) in lines.enumerated() where top + offset < area.height {
            let shown = TextWidth.truncate(text, to: area.width)
            let x = max(0, (area.width - TextWidth.width(of: shown)) / 2)
            buffer.put(shown, x: x, y: top + offset, style: Style(offset == 0 ? .warning : .text, on: .background, offset == 0 ? [.bold] : []))
        }
    }

    func renderInput(_ model: MeetingModel, state: RoomState, in row: Rect, into frame: inout Frame) {
        let focused = model.focus == .input
        let promptStyle = Style(focused ? .accent : .dim, on: .surface, [.bold])
        frame.buffer.fill(row, style: Style(.text, on: .surface))
        let prompt = focused ? " › " : "   "
        frame.buffer.put(prompt, x: row.x, y: row.y, style: promptStyle)
        let field = Rect(x: row.x + 3, y: row.y, width: row.width - 4, height: 1)
        if model.editor.isEmpty, !focused {
            let canChat = state.yourRole?.chat.broadcast ?? true
            let hint = canChat ? "Tab or i to write · / for commands · ? for help" : "? for help"
            frame.buffer.put(hint, x: field.x, y: field.y, style: Style(.dim, on: .surface), limit: field.width)
            return
        }
        let (text, cursorColumn) = model.editor.visible(columns: field.width)
        frame.buffer.put(text, x: field.x, y: field.y, style: Style(.text, on: .surface), limit: field.width)
        if focused { frame.cursor = CursorPosition(x: field.x + cursorColumn, y: field.y) }
    }

    func renderStatus(_ model: MeetingModel, state: RoomState, in row: Rect, into buffer: inout Buffer) {
        let base = Style(.text, on: .surface)
        var line = Line([], fill: base)
        let room = state.room?.name.rawValue ?? "—"
        line.append(" \(room) ", Style(.accent, on: .surface, [.reverse, .bold]))
        if let you = state.you {
            line.append(" \(TextWidth.truncate(you.displayName, to: 16)) ", Style(.text, on: .surface, [.bold]))
            line.append(you.role.rawValue, Style(Slot.role(named: you.role.rawValue), on: .surface, [.bold]))
            line.append(" │ ", Style(.dim, on: .surface))
        }
        switch state.connection {
        case .connected:
            line.append("● connected", Style(.ok, on: .surface))
        case .connecting, .idle:
            line.append("◌ connecting", Style(.warning, on: .surface))
        case .reconnecting(let attempt):
            let seconds = model.reconnectAt.map { max(0, Int($0.timeIntervalSince(model.now).rounded(.up))) }
            let when = seconds.map { $0 > 0 ? " in \($0) s" : " now" } ?? ""
            line.append("◌ reconnecting\(when) (try \(attempt))", Style(.warning, on: .surface, [.bold]))
        case .disconnected:
            line.append("✕ disconnected", Style(.error, on: .surface, [.bold]))
        }
        line.append(" │ ", Style(.dim, on: .surface))
        if state.yourMicrophone == nil {
            line.append("no mic", Style(.dim, on: .surface))
        } else if state.isMuted {
            let byHost = state.yourMicrophone?.mutedBy.map { $0 != state.you?.id } ?? false
            line.append(byHost ? "mic muted by host" : "mic muted", Style(.warning, on: .surface, [.bold]))
        } else {
            line.append("mic on ", Style(.ok, on: .surface, [.bold]))
            if !model.screenReader {
                line.append(String(repeating: "▮", count: (state.yourLevel + 19) / 20), Style(.speaking, on: .surface))
                line.append(String(repeating: "▯", count: 5 - (state.yourLevel + 19) / 20), Style(.dim, on: .surface))
            }
        }
        line.append(" │ ", Style(.dim, on: .surface))
        line.append(model.pushToTalk == .hold ? "PTT hold Space" : "PTT toggle Space", Style(.dim, on: .surface))
        if let rtt = state.roundTripMs {
            line.append(" │ ", Style(.dim, on: .surface))
            line.append("RTT \(rtt) ms", Style(.text, on: .surface))
        }
        if let code = state.safetyCode {
            line.append(" │ ", Style(.dim, on: .surface))
            line.append("safety \(code)", Style(.ok, on: .surface))
        }
        line.render(in: row, into: &buffer)
        // The right end: a notice, else the help hint.
        let right: (String, Style)
        if let notice = model.notice {
            right = (" " + notice.text + " ", Style(notice.isError ? .error : .accent, on: .surface, [.bold]))
        } else {
            right = (" ? help ", Style(.dim, on: .surface))
        }
        let text = TextWidth.truncate(right.0, to: max(0, row.width / 2))
        let width = TextWidth.width(of: text)
        buffer.put(text, x: row.right - width, y: row.y, style: right.1, limit: width)
    }
}
