// The whole meeting screen: reads RoomState and the model, writes a frame.
//
//   ┌ Speaking  Alice ████▌   Bob ██                                  ┐ row 0
//   │ ◆ agenda: … · pinned: …   (the room's shared state, while any key is set) │
//   │ tiles (grid, pages)                     │ chat pane             │
//   │                                         │                       │
//   │ ⚑ a question waiting (F2) · a notice · a request of ours waiting  │ row h-3 (message row)
//   │ › input line                                                    │ row h-2
//   └ status: room · you · connection · mic · Space · RTT · safety · ?   ┘ row h-1
import ConfabClient
import ConfabProtocol
import Foundation

public struct MeetingView {
    public static let minimumSize = Size(columns: 80, rows: 24)

    public var timeZone: TimeZone = .current
    /// Chat lines laid out in earlier frames (the view is kept for the whole meeting).
    let chatCache = ChatLineCache()

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
        let (top, belowTop) = area.splitTop(1)
        var rest = belowTop
        if !state.sharedState.isEmpty {
            let (stateRow, below) = belowTop.splitTop(1)
            SharedStateLine(state: state).render(in: stateRow, into: &frame.buffer)
            rest = below
        }
        let (middle, bottom) = rest.splitBottom(3)
        let (messageRow, inputAndStatus) = bottom.splitTop(1)
        let (inputRow, statusRow) = inputAndStatus.splitTop(1)
        SpeakerStrip(state: state, animated: !model.screenReader).render(in: top, into: &frame.buffer)

        let chatWidth = Self.chatWidth(for: area)
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
        let rowsUsed = (peers.count + max(1, fit.columns) - 1) / max(1, fit.columns)
        if model.focus == .tiles, model.selected == nil, !peers.isEmpty, peers.count <= model.tilesPerPage,
            rowsUsed * TileWidget.height < tilesArea.height
        {
            frame.buffer.put(
                "←→↑↓ select · Enter actions · Tab focus", x: tilesArea.x + 1, y: tilesArea.bottom - 1,
                style: Style(.dim, on: .background), limit: max(0, tilesArea.width - 2))
        }
        let model2 = model
        let shownScroll = ChatView(
            state: state, systemLines: model.systemLines, scroll: model.chatScroll, readMarkerSeq: model.readMarkerSeq,
            focused: model.focus == .chat, timeZone: timeZone, mentions: { model2.mentions($0, of: state) }, cache: chatCache
        ).renderClamped(in: chatArea, into: &frame.buffer)
        // Paging up past the first line stops there; the next PgDn moves at once.
        if shownScroll < model.chatScroll {
            model.chatScroll = shownScroll
            if shownScroll == 0 { model.readMarkerSeq = nil }
        }

        renderMessage(model, state: state, in: messageRow, into: &frame.buffer)
        renderInput(model, state: state, in: inputRow, into: &frame)
        renderStatus(model, state: state, in: statusRow, into: &frame.buffer)
        if model.overlay == .help {
            let rows = OverlayView.helpRows(model, state: state)
            let keyWidth = rows.map { TextWidth.width(of: $0.0) }.max() ?? 10
            model.helpVisibleRows = OverlayView.helpBox(rowCount: rows.count, keyWidth: keyWidth, in: middle).visible
            model.helpRowCount = rows.count
            model.helpScroll = min(model.helpScroll, max(0, rows.count - model.helpVisibleRows))
        }
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

    /// The message row: its own line, so no notice ever covers a field of the
    /// status bar. A question put to us stays here until answered (it is the
    /// most important); else the latest notice until it expires; else what
    /// we asked of others and still wait for.
    func renderMessage(_ model: MeetingModel, state: RoomState, in row: Rect, into buffer: inout Buffer) {
        buffer.fill(row, style: Style(.text, on: .background))
        let waiting = model.waitingPrompts(state)
        var line = Line([], fill: Style(.text, on: .background))
        if let first = waiting.first, !model.screenReader {
            let more = waiting.count > 1 ? " (+\(waiting.count - 1) more)" : ""
            let left = model.promptDeadlines[first.id].map { " (\(model.secondsLeft(until: $0)) s)" } ?? ""
            line.append(" ⚑ ", Style(.warning, on: .background, [.bold, .reverse]))
            line.append(" " + model.describe(first, in: state) + left + more, Style(.warning, on: .background, [.bold]))
            line.append("  \(MeetingModel.answerKeyName) to answer", Style(.text, on: .background))
        } else if let notice = model.notice {
            line.append(" " + notice.text, Style(notice.isError ? .error : .accent, on: .background, [.bold]))
        } else if let pending = model.pendingRequestsText(state) {
            line.append(" " + pending, Style(.dim, on: .background))
        } else {
            return
        }
        line.render(in: row, into: &buffer)
    }

    /// The status bar: room, you, connection (with the reconnect countdown),
    /// mic, how Space talks, round-trip time, the safety code in short form,
    /// and a notice or the help hint at the right. When the row is too narrow,
    /// short forms first, then the least needed parts go.
    func renderStatus(_ model: MeetingModel, state: RoomState, in row: Rect, into buffer: inout Buffer) {
        let separator = Line.Span(" │ ", Style(.dim, on: .surface))
        let room = Line.Span(" \(TextWidth.truncate(model.roomLabel ?? state.room?.name.rawValue ?? "—", to: 24)) ", Style(.accent, on: .surface, [.reverse, .bold]))

        // Each part: its long and short form (nil: left out when short).
        struct Part {
            var long: [Line.Span]
            var short: [Line.Span]?
        }
        var you: Part?
        if let person = state.you {
            // In a call the role of its room says nothing (everyone is a member).
            let role = model.roomLabel == nil
                ? [Line.Span(person.role.rawValue, Style(Slot.role(named: person.role.rawValue), on: .surface, [.bold]))] : []
            let name = " " + TextWidth.truncate(person.displayName, to: 16)
            you = role.isEmpty
                ? Part(long: [Line.Span(name, Style(.text, on: .surface, [.bold]))],
                       short: [Line.Span(" " + TextWidth.truncate(person.displayName, to: 10), Style(.text, on: .surface, [.bold]))])
                : Part(long: [Line.Span(name + " ", Style(.text, on: .surface, [.bold]))] + role,
                       short: [Line.Span(" ", Style(.text, on: .surface))] + role)
        }
        let connection = Part(long: [connectionSpan(model, state: state)], short: [connectionSpan(model, state: state, short: true)])
        let mic = Part(long: micSpans(model, state: state), short: micSpans(model, state: state, short: true))
        let shortHint = model.pushToTalk == .hold ? "hold \(model.pushToTalkKeyName)" : "\(model.pushToTalkKeyName) on/off"
        let talk = Part(long: [Line.Span(model.pushToTalkHint, Style(.dim, on: .surface))], short: [Line.Span(shortHint, Style(.dim, on: .surface))])
        let rtt = state.roundTripMs.map { ms in
            Part(long: [Line.Span("RTT \(ms) ms", Style(.text, on: .surface))], short: [Line.Span("\(ms)ms", Style(.text, on: .surface))])
        }
        let safety = state.shortSafetyCode.map { code in
            Part(long: [Line.Span("safety \(code)", Style(.ok, on: .surface))], short: [Line.Span("safety \(code)", Style(.ok, on: .surface))])
        }
        let audience = state.listeningCount.map { count in
            Part(
                long: [Line.Span("\(Self.grouped(count)) listening", Style(.text, on: .surface))],
                short: [Line.Span("\(Self.abbreviated(count)) aud.", Style(.text, on: .surface))])
        }
        // Left out first when the row is narrow (no short form).
        let voice = model.voice.map { chain in
            Part(long: [Line.Span(chain.statusText, Style(chain.on.count == VoiceStage.allCases.count ? .text : .warning, on: .surface))],
                 short: nil)
        }
        let help = Line.Span(" ? help ", Style(.dim, on: .surface))

        // Left to right as shown; the drop order when even the short forms do not fit.
        // Without a microphone (a listener) there is no talking to explain.
        let shown: [(part: Part?, dropRank: Int)] = [
            (connection, 99), (mic, 98), (audience, 97), (state.yourMicrophone == nil ? nil : talk, 3), (rtt, 1),
            (safety, 2), (voice, 0),
        ]
        func line(short: Bool, dropBelow rank: Int) -> Line {
            var line = Line([room], fill: Style(.text, on: .surface))
            if let you { line.spans += short ? (you.short ?? []) : you.long }
            for (part, dropRank) in shown {
                guard let part, dropRank >= rank, let spans = short ? part.short : part.long else { continue }
                line.spans.append(separator)
                line.spans += spans
            }
            return line
        }
        var status = line(short: false, dropBelow: 0)
        var showHelp = status.width + TextWidth.width(of: help.text) <= row.width
        if !showHelp, status.width > row.width {
            status = line(short: true, dropBelow: 0)
            for rank in 1...3 where status.width > row.width {
                status = line(short: true, dropBelow: rank + 1)
            }
            showHelp = false
        }
        status.render(in: row, into: &buffer)
        guard showHelp else { return }
        let width = TextWidth.width(of: help.text)
        buffer.put(help.text, x: row.right - width, y: row.y, style: help.style, limit: width)
    }

    func connectionSpan(_ model: MeetingModel, state: RoomState, short: Bool = false) -> Line.Span {
        switch state.connection {
        case .connected:
            return Line.Span("● connected", Style(.ok, on: .surface))
        case .connecting, .idle:
            return Line.Span("◌ connecting", Style(.warning, on: .surface))
        case .reconnecting(let attempt):
            let seconds = model.reconnectAt.map { max(0, Int($0.timeIntervalSince(model.now).rounded(.up))) }
            let when = seconds.map { $0 > 0 ? " in \($0) s" : " now" } ?? ""
            let text = short ? "◌ retry\(when)" : "◌ reconnecting\(when) (try \(attempt))"
            return Line.Span(text, Style(.warning, on: .surface, [.bold]))
        case .disconnected:
            return Line.Span("✕ disconnected", Style(.error, on: .surface, [.bold]))
        }
    }

    /// The mic's state; short: the lit bar alone says "on".
    func micSpans(_ model: MeetingModel, state: RoomState, short: Bool = false) -> [Line.Span] {
        if state.yourMicrophone == nil {
            return [Line.Span("no mic", Style(.dim, on: .surface))]
        }
        if state.isMuted {
            let byHost = state.yourMicrophone?.mutedBy.map { $0 != state.you?.id } ?? false
            return [Line.Span(byHost ? "mic muted by host" : "mic muted", Style(.warning, on: .surface, [.bold]))]
        }
        let bars = !model.screenReader
        var spans = [Line.Span(short && bars ? "mic " : "mic on ", Style(.ok, on: .surface, [.bold]))]
        if bars {
            let lit = (state.yourLevel + 19) / 20
            spans.append(Line.Span(String(repeating: "▮", count: lit), Style(.speaking, on: .surface)))
            spans.append(Line.Span(String(repeating: "▯", count: 5 - lit), Style(.dim, on: .surface)))
        }
        return spans
    }
}
