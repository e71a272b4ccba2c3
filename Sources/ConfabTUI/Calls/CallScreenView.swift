// The call screen: the meeting screen of the call's room, compact for the
// 2–4 people of a call: the speaker strip (the tiles already show who speaks)
// gives its row to a call bar with the time in the call and every invitee's
// state, which updates when someone in the call invites more; the tiles are
// stacked one above the other, as wide as the tiles' side and centred in
// its height, so each level bar is long. More people: the meeting's grid.
//
//   ┌ ☎ Call 1:23 │ Bob ✓ in call · Carol ringing… │ q hang up · /call NAME invites ┐ row 0
//   │ ╭ Alice (you) ─────────────── member ╮                 │ chat pane             │
//   │ │ ● on                               │                 │                       │
//   │ │ ██████████████▌·················· 41│                 │                       │
//   │ ╰────────────────────────────────────╯                 │                       │
//   │ ╭ Bob ─────────────────────── member ╮                 │                       │
//   │ …                                                       │                       │
//   │ the meeting's input line and status bar                                         │
import ConfabClient
import ConfabProtocol
import Foundation

public struct CallScreenView {
    public var meeting: MeetingView

    public init(timeZone: TimeZone = .current) {
        meeting = MeetingView(timeZone: timeZone)
    }

    public func render(_ model: inout MeetingModel, room: RoomState, calls: CallState, now: Date, into frame: inout Frame) {
        // The status bar names who the call is with, not the call room's internal name and role.
        model.roomLabel = CallBar.withWhom(calls)
        meeting.render(&model, state: room, into: &frame)
        let area = frame.area
        guard area.width >= MeetingView.minimumSize.columns, area.height >= MeetingView.minimumSize.rows else { return }
        CallBar(state: calls, now: now, joinedAt: room.you?.joinedAt).render(in: area.row(0), into: &frame.buffer)
        let middle = area.splitTop(1).1.splitBottom(3).0
        let tilesArea = middle.splitRight(MeetingView.chatWidth(for: area)).0.inset(horizontal: 1, vertical: 0)
        let peers = model.tilePeers(room)
        if (2...Self.compactLimit).contains(peers.count), peers.count * (TileWidget.height + 1) - 1 <= tilesArea.height {
            renderStacked(&model, peers: peers, room: room, in: tilesArea, into: &frame.buffer)
            // The meeting's dialogs go over the tiles again.
            if let overlay = model.overlay, overlay != .confirmLeave {
                OverlayView(overlay: overlay, model: model, state: room).render(in: middle, into: &frame.buffer)
            }
        }
        if model.overlay == .confirmLeave {
            let middle = area.splitTop(1).1.splitBottom(3).0
            // Leaving the call's room is hanging up: the dialog says so (drawn over the meeting's own).
            CallDialog(title: "Confab", lines: ["Hang up?"], choices: ["y  hang up", "n  stay"])
                .render(in: middle, into: &frame.buffer)
        }
    }
}

extension CallScreenView {
    /// The most people the stacked layout takes.
    public static let compactLimit = 4

    /// The tiles one above the other, full width, centred in the height;
    /// arrows move the selection up and down (one column).
    func renderStacked(_ model: inout MeetingModel, peers: [PeerInfo], room: RoomState, in area: Rect, into buffer: inout Buffer) {
        buffer.fill(area, style: Style(.text, on: .background))
        model.tileColumns = 1
        model.tilesPerPage = peers.count
        model.tilePage = 0
        let height = peers.count * (TileWidget.height + 1) - 1
        var y = area.y + max(0, (area.height - height) / 2)
        for peer in peers {
            let mutedBy: String? = {
                if case .mutedByHost(let by) = MicState(peer) { return room.peer(by)?.displayName ?? by.rawValue }
                return nil
            }()
            TileWidget(
                peer: peer, isYou: peer.id == room.you?.id, level: room.displayLevel(of: peer.id),
                speaking: room.isSpeaking(peer.id), selected: model.focus == .tiles && peer.id == model.selected,
                quality: room.quality(of: peer.id), mutedByName: mutedBy, animated: !model.screenReader
            ).render(in: Rect(x: area.x, y: y, width: area.width, height: TileWidget.height), into: &buffer)
            y += TileWidget.height + 1
        }
    }
}

extension MeetingView {
    /// The chat pane's width on a screen of `area` (the tiles take the rest).
    static func chatWidth(for area: Rect) -> Int { min(max(32, area.width * 2 / 5), 64) }
}

extension MeetingModel {
    /// The call screen's own input-line commands, on top of the meeting's.
    public static let callScreenCommands: [SlashCommand] = [
        ("/call", "/call NAME [NAME…]", "invite more people into the call")
    ]

    /// A meeting model for a call's screen: the meeting's, plus /call in
    /// the help overlay and in Tab completion of command names.
    public static func callScreen(keyMap: KeyMap = .standard, mentionBell: Bool = true) -> MeetingModel {
        var model = MeetingModel(keyMap: keyMap, mentionBell: mentionBell)
        model.extraCommands = callScreenCommands
        return model
    }

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
            if let candidates = HomeModel.complete(&input, state: calls) { setNotice(candidates) }
            return []
        }
        guard text.lowercased() == "/call" || text.lowercased().hasPrefix("/call ") else { return nil }
        let line = editor.submit() ?? text
        let words = line.split(separator: " ").dropFirst().map(String.init)
        switch HomeModel.callees(words, state: calls) {
        case .success(let users):
            setNotice(
                "inviting " + users.map { HomeModel.knownName($0, in: calls) ?? $0.rawValue }.joined(separator: ", "))
            return [.call(users)]
        case .failure(let refusal):
            setNotice(refusal.text, error: true)
            return []
        }
    }
}
