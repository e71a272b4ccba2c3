// The chat pane: the room's log and the screen's system lines, merged by
// time, newest at the bottom, wrapped to the pane's width. Only as many
// entries as fill the pane (plus the scroll offset) are laid out, so a log of
// 10,000 messages costs no more per frame than a log of 20.
//
//   12:03 Alice: hello everyone
//   12:03 Alice → you: a direct message            (accent)
//   12:04 Bob → @host: a message to a role          (role colour)
//   12:04 * Carol waves                              (/me)
//   12:05 — Dan joined as listener                  (dim)
import ConfabClient
import ConfabProtocol
import Foundation

public struct ChatView: Widget {
    public var state: RoomState
    public var systemLines: [SystemLine]
    public var scroll: Int
    public var readMarkerSeq: Int?
    public var focused: Bool
    public var timeZone: TimeZone
    /// Whether a message's text mentions us (highlighted).
    public var mentions: (String) -> Bool
    /// Laid-out messages from earlier frames, when the caller keeps one.
    var cache: ChatLineCache?

    /// One entry of the merged log.
    enum Entry {
        case message(ChatMessage)
        case system(SystemLine)
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        _ = renderClamped(in: area, into: &buffer)
    }

    /// Draws the pane and returns the scroll offset it used: never past the
    /// first line held (scrolling further shows nothing new).
    func renderClamped(in area: Rect, into buffer: inout Buffer) -> Int {
        let innerArea = Block().inner(area)
        var scroll = scroll
        var lines: [Line] = []
        if !innerArea.isEmpty {
            lines = layout(width: innerArea.width, rowsWanted: innerArea.height + scroll)
            scroll = min(scroll, max(0, lines.count - innerArea.height))
        }
        let unread = state.totalUnread
        var footer = ""
        if scroll > 0 {
            let newer = readMarkerSeq.map { seq in state.chat.reversed().prefix { $0.seq > seq }.count } ?? 0
            footer = newer > 0 ? "\(newer) new ↓ End" : "↑ \(scroll) · End to follow"
        }
        let block = Block(
            title: unread > 0 && scroll > 0 ? "Chat · \(unread) unread" : "Chat",
            titleStyle: Style(focused ? .accent : .text, on: .background, [.bold]),
            borderStyle: Style(focused ? .accent : .dim, on: .background), fillStyle: Style(.text, on: .background),
            footer: footer)
        block.render(in: area, into: &buffer)
        let inner = block.inner(area)
        guard !inner.isEmpty else { return scroll }
        let end = max(0, lines.count - scroll)
        let start = max(0, end - inner.height)
        // Newest at the bottom: short logs sit on the input line, like a terminal.
        var y = inner.bottom - (end - start)
        for line in lines[start..<end] {
            line.render(in: Rect(x: inner.x, y: y, width: inner.width, height: 1), into: &buffer)
            y += 1
        }
        return scroll
    }

    /// Styled lines for the newest entries, enough to fill `rowsWanted` rows.
    func layout(width: Int, rowsWanted: Int) -> [Line] {
        var blocks: [[Line]] = []
        var rows = 0
        var messageIndex = state.chat.count - 1
        var systemIndex = systemLines.count - 1
        var markerPlaced = readMarkerSeq == nil
        while rows < rowsWanted, messageIndex >= 0 || systemIndex >= 0 {
            let takeMessage: Bool
            if messageIndex < 0 {
                takeMessage = false
            } else if systemIndex < 0 {
                takeMessage = true
            } else {
                takeMessage = state.chat[messageIndex].sentAt >= systemLines[systemIndex].time
            }
            let entry: Entry
            if takeMessage {
                let message = state.chat[messageIndex]
                if !markerPlaced, let marker = readMarkerSeq, message.seq <= marker {
                    markerPlaced = true
                    if blocks.count > 0 {
                        let rule = TextWidth.pad("── new ", to: width).replacingOccurrences(of: " ", with: "─")
                        blocks.append([Line(rule, Style(.warning, on: .background))])
                        rows += 1
                    }
                }
                entry = .message(message)
                messageIndex -= 1
            } else {
                entry = .system(systemLines[systemIndex])
                systemIndex -= 1
            }
            let lines = lines(for: entry, width: width)
            blocks.append(lines)
            rows += lines.count
        }
        return blocks.reversed().flatMap { $0 }
    }

    func clock(_ time: Timestamp) -> String {
        let seconds = Int(time.millisecondsSince1970 / 1000)
        let local = seconds + timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
        let minutes = (local / 60) % (24 * 60)
        let text = String(format: "%02d:%02d", (minutes / 60 + 24) % 24, (minutes % 60 + 60) % 60)
        return text
    }

    func lines(for entry: Entry, width: Int) -> [Line] {
        // A message's lines depend on it, the width, who we are (our name in
        // it is highlighted) and the time zone; direct messages also name
        // their recipients, who may be renamed, so they are laid out afresh.
        guard let cache, case .message(let message) = entry else { return layOut(entry, width: width) }
        if case .peers = message.target { return layOut(entry, width: width) }
        let context = ChatLineCache.Context(you: state.you?.id, yourName: state.you?.name, timeZone: timeZone, width: width)
        if let known = cache.lines(for: message, context: context) { return known }
        let lines = layOut(entry, width: width)
        cache.remember(lines, for: message, context: context)
        return lines
    }

    func layOut(_ entry: Entry, width: Int) -> [Line] {
        let base = Style(.text, on: .background)
        let timeStyle = Style(.dim, on: .background)
        var header = Line([], fill: base)
        let text: String
        var textStyle = base
        switch entry {
        case .system(let line):
            header.append(clock(line.time) + " ", timeStyle)
            header.append("— ", timeStyle)
            text = line.text
            textStyle = Style(line.isError ? .error : .dim, on: .background)
        case .message(let message):
            header.append(clock(message.sentAt) + " ", timeStyle)
            let me = state.you?.id
            let fromName = message.from == me ? "you" : ChatView.clean(message.fromName, fallback: message.from.rawValue)
            let nameStyle = Style(Slot.role(named: message.fromRole.rawValue), on: .background, [.bold])
            var body = ChatView.clean(message.text, fallback: "")
            let isAction = body.hasPrefix("/me ")
            if isAction {
                body = String(body.dropFirst(4))
                header.append("* " + fromName + " ", nameStyle)
            } else {
                header.append(fromName, nameStyle)
            }
            switch message.target {
            case .broadcast:
                break
            case .roles(let roles):
                header.append(" → @" + roles.map(\.rawValue).joined(separator: ",@"), Style(.warning, on: .background))
                textStyle = Style(.warning, on: .background)
            case .peers(let peers):
                let others = peers.filter { $0 != message.from }
                let names = others.map { $0 == me ? "you" : state.peer($0)?.displayName ?? $0.rawValue }
                header.append(" → " + names.joined(separator: ", ") + " [dm]", Style(.accent, on: .background))
                textStyle = Style(.accent, on: .background)
            }
            if !isAction { header.append(": ", base) }
            if message.from != me, mentions(body) { textStyle = Style(.warning, on: .background, [.bold, .underline]) }
            text = body
        }
        let indent = 6
        let firstRoom = max(1, width - header.width)
        let wrapped = TextWidth.wrap(text, columns: max(1, width - indent), firstColumns: firstRoom)
        var result: [Line] = []
        if header.width >= width {
            // A very long name: the header gets a line of its own.
            result.append(header)
            for part in TextWidth.wrap(text, columns: max(1, width - indent)) {
                result.append(Line([Line.Span(String(repeating: " ", count: indent), base), Line.Span(part, textStyle)], fill: base))
            }
            return result
        }
        for (index, part) in wrapped.enumerated() {
            if index == 0 {
                var first = header
                first.append(part, textStyle)
                result.append(first)
            } else {
                result.append(Line([Line.Span(String(repeating: " ", count: indent), base), Line.Span(part, textStyle)], fill: base))
            }
        }
        return result
    }

    /// Untrusted text sanitised again before it reaches the terminal (the SDK
    /// already did; a client never trusts the server with its terminal).
    static func clean(_ text: String, fallback: String) -> String {
        let cleaned = ScreenText.clean(text, lineBreaks: .multiline(maximumLines: ProtocolLimits.maximumChatLines))
        return cleaned.isEmpty ? fallback : cleaned
    }

    /// A message as one plain line (screen-reader mode).
    public static func plainLine(_ message: ChatMessage, state: RoomState) -> String {
        let me = state.you?.id
        let from = message.from == me ? "you" : clean(message.fromName, fallback: message.from.rawValue)
        let text = TextSanitizer.singleLineDisplay(clean(message.text, fallback: ""))
        if text.hasPrefix("/me ") { return "* \(from) \(text.dropFirst(4))" }
        switch message.target {
        case .broadcast: return "\(from): \(text)"
        case .roles(let roles): return "\(from) to \(roles.map(\.rawValue).joined(separator: ", ")): \(text)"
        case .peers: return "\(from) (direct): \(text)"
        }
    }
}

/// Chat messages laid out in earlier frames: a frame shows the same twenty
/// messages as the last one, and wrapping them is most of the pane's cost.
/// Owned by one view on one thread (the screen's loop).
final class ChatLineCache {
    struct Context: Hashable {
        var you: PeerID?
        var yourName: String?
        var timeZone: TimeZone
        var width: Int
    }

    private var context: Context?
    private var entries: [Int: (message: ChatMessage, lines: [Line])] = [:]
    /// More than a screen's worth many times over; emptied past this.
    static let limit = 1_000

    func lines(for message: ChatMessage, context: Context) -> [Line]? {
        guard context == self.context, let entry = entries[message.seq], entry.message == message else { return nil }
        return entry.lines
    }

    func remember(_ lines: [Line], for message: ChatMessage, context: Context) {
        if context != self.context || entries.count >= Self.limit {
            entries.removeAll(keepingCapacity: true)
            self.context = context
        }
        entries[message.seq] = (message, lines)
    }
}
