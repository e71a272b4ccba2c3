// The audience of a large room, for a host: raised hands first, then
// everyone else in join order, searched by the start of a name, with the same
// action menu a tile has (ask to become a speaker, remove, write to). The
// list is the server's paged roster; nothing here holds the whole audience.
//
//   A or /audience ─▶ listRoster(hands up) + listRoster(hands down)
//   roster.page ─▶ RoomUpdate(.rosterPage) ─▶ AudienceBrowser.receive ─▶ OverlayView
//   typing ─▶ query ─▶ both lists again · ↓ at the end ─▶ the next page
//   Enter ─▶ ActionMenu (back here with Esc, or after the action)
import ConfabClient
import ConfabProtocol

/// What the audience dialog shows: the lists as far as they were read.
public struct AudienceBrowser: Hashable, Sendable {
    /// The name prefix typed so far ("" lists everyone).
    public var query = ""
    /// Raised hands matching the query (the first page: a hundred hands is plenty to answer).
    public var hands: [PeerInfo] = []
    /// Everyone else matching the query, page after page.
    public var others: [PeerInfo] = []
    /// The cursor of the next page of `others`; nil when it was the last.
    public var next: String?
    /// How many match (hands + others), by the server's last pages.
    public var handsTotal = 0
    public var othersTotal = 0
    /// A page asked for and not arrived yet.
    public var loading = false
    public var selected = 0

    /// The entries in the order shown.
    public var entries: [PeerInfo] { hands + others }

    public var selectedPeer: PeerInfo? { entries.indices.contains(selected) ? entries[selected] : nil }

    /// The requests for the first pages of both lists under the current query.
    func firstPages() -> [RosterRequest] {
        let prefix = query.isEmpty ? nil : query
        return [
            RosterRequest(limit: ProtocolLimits.maximumRosterPageSize, handRaised: true, namePrefix: prefix),
            RosterRequest(limit: ProtocolLimits.defaultRosterPageSize, handRaised: false, namePrefix: prefix),
        ]
    }

    /// The request for the page after the last one read, if there is one and none is on its way.
    func nextPage() -> RosterRequest? {
        guard let next, !loading else { return nil }
        return RosterRequest(
            cursor: next, limit: ProtocolLimits.defaultRosterPageSize, handRaised: false,
            namePrefix: query.isEmpty ? nil : query)
    }

    /// Takes a page in; pages asked for under another query (typed since) are dropped.
    mutating func receive(_ page: RosterPage, for request: RosterRequest) {
        guard (request.namePrefix ?? "") == query, let handRaised = request.handRaised else { return }
        let keep = selectedPeer?.id
        if handRaised {
            hands = page.peers
            handsTotal = page.total
        } else {
            if request.cursor == nil { others = page.peers } else { others += page.peers }
            next = page.next
            othersTotal = page.total
            loading = false
        }
        // The selection stays on the same person when the lists move under it.
        if let keep, let index = entries.firstIndex(where: { $0.id == keep }) { selected = index }
        selected = min(selected, max(0, entries.count - 1))
    }

    /// A new query: the lists start again.
    mutating func restart(query: String) {
        self.query = query
        hands = []
        others = []
        next = nil
        handsTotal = 0
        othersTotal = 0
        selected = 0
        loading = true
    }
}

extension MeetingModel {
    /// Opens the audience (roles with `seeAudience`), or says why not.
    mutating func openAudience(query: String = "", state: RoomState) -> [MeetingCommand] {
        guard state.yourRole?.permissions.seeAudience ?? false else {
            setNotice("only a host may browse the audience", error: true)
            return []
        }
        var browser = AudienceBrowser()
        browser.restart(query: String(query.prefix(ProtocolLimits.maximumNameCharacters)))
        overlay = .audience(browser)
        return browser.firstPages().map { .listRoster($0) }
    }

    /// Keys while the audience is open: arrows move, letters search, Enter acts.
    mutating func handleAudience(_ browser: AudienceBrowser, key: Key, state: RoomState) -> [MeetingCommand] {
        var browser = browser
        var commands: [MeetingCommand] = []
        let last = max(0, browser.entries.count - 1)
        switch key {
        case .escape:
            overlay = nil
            return []
        case .up: browser.selected = max(0, browser.selected - 1)
        case .down, .pageDown:
            let step = key == .down ? 1 : 10
            browser.selected = min(last, browser.selected + step)
            // Reading near the end of what arrived: the next page.
            if browser.selected + 5 >= browser.entries.count, let request = browser.nextPage() {
                browser.loading = true
                commands.append(.listRoster(request))
            }
        case .pageUp: browser.selected = max(0, browser.selected - 10)
        case .home: browser.selected = 0
        case .end: browser.selected = last
        case .enter:
            guard let peer = browser.selectedPeer else { break }
            names[peer.id] = peer.displayName
            guard var menu = actionMenu(for: peer, state: state) else { break }
            menu.returnsTo = browser
            overlay = .actions(menu)
            return []
        case .backspace:
            guard !browser.query.isEmpty else { break }
            browser.restart(query: String(browser.query.dropLast()))
            commands = browser.firstPages().map { .listRoster($0) }
        case .character(let character) where !character.isControlCharacter:
            guard browser.query.count < ProtocolLimits.maximumNameCharacters else { break }
            browser.restart(query: browser.query + String(character))
            commands = browser.firstPages().map { .listRoster($0) }
        default:
            break
        }
        overlay = .audience(browser)
        return commands
    }

    /// A roster page arrived: into the open audience dialog (and its names into the book).
    mutating func applyRosterPage(_ page: RosterPage, for request: RosterRequest) {
        for peer in page.peers { names[peer.id] = peer.displayName }
        switch overlay {
        case .audience(var browser):
            browser.receive(page, for: request)
            overlay = .audience(browser)
        case .actions(var menu):
            // The page asked for before the menu opened: the dialog it returns to is current.
            guard var browser = menu.returnsTo else { return }
            browser.receive(page, for: request)
            menu.returnsTo = browser
            overlay = .actions(menu)
        default:
            break
        }
    }

    /// Back to the audience after its action menu, read again (the person may have changed role or left).
    mutating func returnToAudience(_ browser: AudienceBrowser?) -> [MeetingCommand] {
        guard var browser, overlay == nil else { return [] }
        let selected = browser.selected
        browser.restart(query: browser.query)
        browser.selected = selected
        overlay = .audience(browser)
        return browser.firstPages().map { .listRoster($0) }
    }
}

extension Character {
    /// C0, DEL and C1 controls: never typed into a search.
    var isControlCharacter: Bool {
        unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }
}

extension OverlayView {
    /// The audience dialog: search line, raised hands, everyone else, and the keys.
    func renderAudience(_ browser: AudienceBrowser, in area: Rect, into buffer: inout Buffer) {
        let width = min(area.width - 2, 64)
        let box = area.centered(width: width, height: max(8, min(area.height - 2, 24)))
        let found = MeetingView.grouped(browser.handsTotal + browser.othersTotal)
        let more = browser.next != nil ? "↓ more · " : ""
        let block = Block(
            title: "Audience · \(found) \(browser.query.isEmpty ? "in the room" : "found")",
            titleStyle: Style(.accent, on: .surface, [.bold]), borderStyle: Style(.accent, on: .surface),
            fillStyle: Style(.text, on: .surface), footer: more + "type to search · Enter actions · Esc closes", heavy: true)
        block.render(in: box, into: &buffer)
        let inner = block.inner(box).inset(horizontal: 1, vertical: 0)
        let search = "Search: " + TextSanitizer.clean(browser.query, lineBreaks: .singleLine) + "▏"
        buffer.put(search, x: inner.x, y: inner.y, style: Style(.accent, on: .surface, [.bold]), limit: inner.width)
        let entries = browser.entries
        guard !entries.isEmpty else {
            let status = browser.loading ? "reading the audience…"
                : browser.query.isEmpty ? "nobody here yet" : "nobody whose name starts with that"
            buffer.put(status, x: inner.x + 3, y: inner.y + 2, style: Style(.dim, on: .surface), limit: inner.width - 3)
            return
        }
        let rows = max(0, inner.height - 1)
        let first = min(max(0, browser.selected - rows + 1), max(0, entries.count - rows))
        for (offset, peer) in entries.dropFirst(first).prefix(rows).enumerated() {
            let isSelected = first + offset == browser.selected
            let style = isSelected
                ? Style(.accent, on: .surface, [.reverse, .bold]) : Style(peer.isHandRaised ? .warning : .text, on: .surface)
            let role = peer.role.rawValue
            let name = TextWidth.truncate(
                TextSanitizer.clean(peer.displayName, lineBreaks: .singleLine), to: max(4, inner.width - TextWidth.width(of: role) - 5))
            let row = Rect(x: inner.x, y: inner.y + 1 + offset, width: inner.width, height: 1)
            buffer.putLine((peer.isHandRaised ? "✋ " : "   ") + name, in: row, style: style)
            buffer.put(role, x: inner.right - TextWidth.width(of: role), y: row.y, style: style)
        }
    }
}
