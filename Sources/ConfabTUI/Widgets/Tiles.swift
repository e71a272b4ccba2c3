// Participant tiles in a grid that adapts to the window, and the strip of
// active speakers.
//
//   ╭ Alice (you) ────── host ╮   name · you · role badge
//   │ ● on   ✋        ▂▄▆   │   mic state · hand · connection quality
//   │ ████████▍··········· 41 │   live level
//   ╰─────────────────────────╯
import ConfabClient
import ConfabProtocol

/// One participant's tile.
public struct TileWidget: Widget {
    public var peer: PeerInfo
    public var isYou: Bool
    public var level: Int
    public var speaking: Bool
    public var selected: Bool
    public var quality: ConnectionQuality?
    public var mutedByName: String?
    public var animated: Bool

    public static let height = 4
    public static let minimumWidth = 22

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard area.width >= 8, area.height >= 3 else { return }
        let roleSlot = Slot.role(named: peer.role.rawValue)
        let border: Style =
            selected ? Style(.accent, on: .surface, [.bold]) : speaking ? Style(.speaking, on: .surface, [.bold]) : Style(.dim, on: .surface)
        let block = Block(
            title: "", borderStyle: border, fillStyle: Style(.text, on: .surface), heavy: speaking, double: selected)
        block.render(in: area, into: &buffer)
        let inner = block.inner(area)
        // Title: the name (and "you") on the left, the role badge on the right;
        // when the name would be cut to make room for the badge, the badge
        // goes to the row below (right end) and the name takes the title.
        let badge = " \(peer.role) "
        let suffix = isYou ? " (you)" : ""
        // A raised hand goes in the title, where it cannot be cut off.
        let hand = peer.isHandRaised ? "✋" : ""
        let fullBadgeWidth = TextWidth.width(of: badge)
        let wanted = TextWidth.width(of: peer.displayName) + TextWidth.width(of: suffix) + TextWidth.width(of: hand) + 3
        let badgeInTitle = wanted + fullBadgeWidth <= area.width - 2 || inner.height < 1
        let badgeWidth = min(fullBadgeWidth, max(0, area.width - 8))
        let nameRoom = badgeInTitle ? max(0, area.width - 4 - badgeWidth) : max(0, area.width - 2)
        let name = TextWidth.truncate(
            peer.displayName, to: max(1, nameRoom - 2 - TextWidth.width(of: suffix) - TextWidth.width(of: hand)))
        var title = Line([], fill: border)
        if peer.isHandRaised { title.append(" " + hand, Style(.warning, on: .surface, [.bold])) }
        title.append(" " + name, Style(speaking ? .speaking : .text, on: .surface, [.bold]))
        if isYou { title.append(suffix, Style(.accent, on: .surface)) }
        title.append(" ", Style(.text, on: .surface))
        title.render(in: Rect(x: area.x + 1, y: area.y, width: min(nameRoom, title.width), height: 1), into: &buffer)
        if badgeInTitle, badgeWidth > 2 {
            buffer.put(
                TextWidth.truncate(badge, to: badgeWidth), x: area.right - 1 - badgeWidth, y: area.y,
                style: Style(roleSlot, on: .surface, [.reverse, .bold]), limit: badgeWidth)
        }
        // The badge's place on row 1 when it left the title.
        let rowBadgeWidth = badgeInTitle ? 0 : min(fullBadgeWidth, max(0, inner.width / 2))
        // Row 1: microphone, hand, quality.
        var status = Line([], fill: Style(.text, on: .surface))
        switch MicState(peer) {
        case .none: status.append("no mic", Style(.dim, on: .surface))
        case .on: status.append(speaking ? "● speaking" : "● on", Style(.ok, on: .surface, speaking ? [.bold] : []))
        case .mutedBySelf: status.append("○ muted", Style(.dim, on: .surface))
        case .mutedByHost: status.append("⊘ muted by \(mutedByName ?? "host")", Style(.warning, on: .surface))
        }
        if peer.isHandRaised, TextWidth.width(of: status.spans.map(\.text).joined()) + 9 < inner.width {
            status.append("  hand up", Style(.warning, on: .surface, [.bold]))
        }
        status.render(in: Rect(x: inner.x, y: inner.y, width: inner.width - rowBadgeWidth, height: 1), into: &buffer)
        if rowBadgeWidth > 2 {
            buffer.put(
                TextWidth.truncate(badge, to: rowBadgeWidth), x: inner.right - rowBadgeWidth, y: inner.y,
                style: Style(roleSlot, on: .surface, [.reverse, .bold]), limit: rowBadgeWidth)
        }
        if let quality {
            let text = quality.bars
            let slot: Slot = quality == .good ? .ok : quality == .fair ? .warning : .error
            let width = TextWidth.width(of: text)
            let right = inner.right - rowBadgeWidth - (rowBadgeWidth > 0 ? 1 : 0)
            if right - inner.x > width + 12 {
                buffer.put(text, x: right - width, y: inner.y, style: Style(slot, on: .surface), limit: width)
            }
        }
        // Row 2: the level bar and its figure.
        if inner.height >= 2 {
            let row = inner.row(1)
            let figure = animated ? String(level).leftPadded(to: 3) : ""
            let barArea = Rect(x: row.x, y: row.y, width: max(0, row.width - (animated ? 4 : 0)), height: 1)
            LevelBar(
                level: level, style: Style(speaking ? .speaking : .ok, on: .surface),
                emptyStyle: Style(.dim, on: .surface), animated: animated
            ).render(in: barArea, into: &buffer)
            if animated {
                buffer.put(" " + figure, x: barArea.right, y: row.y, style: Style(.dim, on: .surface), limit: 4)
            }
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        String(repeating: " ", count: max(0, width - count)) + self
    }
}

/// The grid of tiles with paging.
public struct TileGrid: Widget {
    public var state: RoomState
    public var peers: [PeerInfo]
    public var selected: PeerID?
    public var page: Int
    public var focused: Bool
    public var animated: Bool

    /// Columns and rows of tiles that fit in `area` (one row kept for the page line when needed).
    /// Few people get a balanced grid of wide tiles, many get as many
    /// columns as fit, so a page holds everyone when it can.
    public static func fit(_ area: Rect, count: Int) -> (columns: Int, rows: Int) {
        let maximumColumns = max(1, area.width / TileWidget.minimumWidth)
        let rows = max(1, area.height / TileWidget.height)
        let neededColumns = (max(count, 1) + rows - 1) / rows
        // Few people: a balanced grid (2×2 for four) of tiles as wide as the
        // side allows, so level bars are long, instead of narrow tiles in one row.
        let balancedColumns = Int(Double(max(count, 1)).squareRoot().rounded(.up))
        let columns = min(maximumColumns, max(neededColumns, balancedColumns))
        if columns * rows >= count { return (columns, rows) }
        // Paging: keep the bottom row for the page line.
        return (columns, max(1, (area.height - 1) / TileWidget.height))
    }


    public func render(in area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        buffer.fill(area, style: Style(.text, on: .background))
        let (columns, rows) = Self.fit(area, count: peers.count)
        let perPage = columns * rows
        let pages = max(1, (peers.count + perPage - 1) / perPage)
        let page = min(max(page, 0), pages - 1)
        let shown = peers.dropFirst(page * perPage).prefix(perPage)
        let tileWidth = area.width / columns
        // One page with room to spare: a row of space between tile rows and
        // the grid centred in the height (the bottom row stays for hints).
        let usedRows = (shown.count + columns - 1) / columns
        let spaced = pages == 1 && usedRows * (TileWidget.height + 1) - 1 <= area.height - 1
        let pitch = spaced ? TileWidget.height + 1 : TileWidget.height
        let top = spaced ? area.y + max(0, (area.height - 1 - (usedRows * pitch - 1)) / 2) : area.y
        for (offset, peer) in shown.enumerated() {
            let column = offset % columns
            let row = offset / columns
            let rect = Rect(x: area.x + column * tileWidth, y: top + row * pitch, width: tileWidth, height: TileWidget.height)
            let mutedBy: String? = {
                if case .mutedByHost(let by) = MicState(peer) { return state.peer(by)?.displayName ?? by.rawValue }
                return nil
            }()
            TileWidget(
                peer: peer, isYou: peer.id == state.you?.id, level: state.displayLevel(of: peer.id),
                speaking: state.isSpeaking(peer.id), selected: focused && peer.id == selected,
                quality: state.quality(of: peer.id), mutedByName: mutedBy, animated: animated
            ).render(in: rect.intersection(area), into: &buffer)
        }
        if pages > 1 {
            let text = "page \(page + 1)/\(pages) · \(peers.count) here · ↑↓←→ select"
            buffer.putLine(TextWidth.truncate(text, to: area.width), in: area.row(area.height - 1), style: Style(.dim, on: .background))
        }
    }
}

/// The strip at the top: who is speaking now, loudest first, with bars.
public struct SpeakerStrip: Widget {
    public var state: RoomState
    public var animated: Bool

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        let base = Style(.text, on: .surface)
        var line = Line([], fill: base)
        line.append(" Speaking ", Style(.speaking, on: .surface, [.bold, .reverse]))
        line.append(" ", base)
        let loudest = state.loudest.prefix(4)
        if loudest.isEmpty {
            line.append("nobody", Style(.dim, on: .surface))
            line.render(in: area, into: &buffer)
            return
        }
        line.render(in: area, into: &buffer)
        var x = area.x + line.width
        for (peer, level) in loudest {
            let name = TextWidth.truncate(peer == state.you?.id ? "you" : state.peer(peer)?.displayName ?? peer.rawValue, to: 16)
            guard x + TextWidth.width(of: name) + 10 <= area.right else { break }
            x += buffer.put(name + " ", x: x, y: area.y, style: Style(.speaking, on: .surface, [.bold]))
            LevelBar(level: level, style: Style(.speaking, on: .surface), emptyStyle: Style(.dim, on: .surface), animated: animated)
                .render(in: Rect(x: x, y: area.y, width: animated ? 8 : 9, height: 1), into: &buffer)
            x += animated ? 10 : 11
        }
    }
}
