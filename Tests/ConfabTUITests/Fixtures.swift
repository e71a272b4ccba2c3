// Rooms made by the real reducer from the real events, for snapshots.
import ConfabClient
import ConfabProtocol
import Foundation
@testable import ConfabTUI

enum Fixtures {
    static let start = Timestamp(millisecondsSince1970: 1_700_000_000_000)

    static let roles: [Role] = [
        Role(
            name: "host", priority: 100, publishAudio: true, subscribesTo: ["host", "speaker"], chat: .all,
            permissions: .all),
        Role(
            name: "speaker", priority: 50, publishAudio: true, subscribesTo: ["host", "speaker"], chat: .all,
            permissions: RolePermissions(
                muteOthers: false, askToUnmute: false, changeRoles: false, removePeers: false, endRoom: false,
                raiseHand: true)),
        Role(
            name: "listener", priority: 10, publishAudio: false, subscribesTo: ["host", "speaker"],
            chat: ChatPermissions(broadcast: true, toRoles: false, direct: true),
            permissions: RolePermissions(
                muteOthers: false, askToUnmute: false, changeRoles: false, removePeers: false, endRoom: false,
                raiseHand: true)),
    ]

    static let names = [
        "Ada", "Grace Hopper", "Linus", "山田太郎", "Zoë", "🎧 DJ Emoji 🎶", "Margaret Hamilton", "Ken", "Барбара",
        "محمد", "Dennis", "Katherine Johnson the longest display name anyone has ever typed into a meeting",
    ]

    static func peer(_ index: Int, role: String? = nil, muted: Bool = true, mutedBy: PeerID? = nil, hand: Bool = false) -> PeerInfo {
        let id = PeerID(uncheckedRawValue: "p\(index)")
        let roleName = role ?? (index % 3 == 0 ? "speaker" : index % 3 == 1 ? "listener" : "speaker")
        let tracks = roleName == "listener" ? [] : [TrackInfo(id: .microphone(of: id), muted: muted, mutedBy: muted ? (mutedBy ?? id) : nil)]
        return PeerInfo(
            id: id, name: names[index % names.count] + (index >= names.count ? " \(index)" : ""), role: RoleName(uncheckedRawValue: roleName),
            joinedAt: start.adding(milliseconds: index * 1000), handRaisedAt: hand ? start.adding(milliseconds: 5000) : nil,
            tracks: tracks)
    }

    static let youID = PeerID(uncheckedRawValue: "me")

    /// A room where we are `role` with `others` other participants.
    static func room(others: Int, role: String = "host", chat: [ChatMessage] = []) -> RoomState {
        var state = RoomState()
        let you = PeerInfo(
            id: youID, name: "Me Myself", role: RoleName(uncheckedRawValue: role), joinedAt: start,
            tracks: role == "listener" ? [] : [TrackInfo(id: .microphone(of: youID), muted: false)])
        var peers: [PeerInfo] = []
        for index in 0..<others {
            var peer = peer(index, muted: index % 4 != 0, mutedBy: index % 5 == 2 ? youID : nil, hand: index % 7 == 2)
            if index == 0 { peer.role = "host" }
            peers.append(peer)
        }
        let joined = Joined(
            room: RoomInfo(name: "standup", startedAt: start, roles: roles), you: you, peers: peers,
            history: ChatPage(messages: chat, hasMore: false), joinedAt: start, joinTimeMs: 12, resumed: false,
            reconnect: ReconnectInfo(resumeToken: "t"))
        reduce(&state, .joined(joined, roundTripMs: 3))
        // Someone speaking: the server's levels (the media engine's, when it reports them).
        if others > 0 {
            var levels = [SpeakerLevel(peer: PeerID(uncheckedRawValue: "p0"), track: .microphone(of: PeerID(uncheckedRawValue: "p0")), level: 73)]
            if others > 4 {
                levels.append(SpeakerLevel(peer: PeerID(uncheckedRawValue: "p4"), track: .microphone(of: PeerID(uncheckedRawValue: "p4")), level: 31))
            }
            reduce(&state, .speakers(levels))
        }
        return state
    }

    static func message(_ seq: Int, from: Int?, text: String, target: ChatTarget = .broadcast) -> ChatMessage {
        let sender = from.map { peer($0) }
        return ChatMessage(
            id: MessageID(uncheckedRawValue: "m\(seq)"), seq: seq, sentAt: start.adding(milliseconds: seq * 60_000),
            from: sender?.id ?? youID, fromName: sender?.name ?? "Me Myself", fromRole: sender?.role ?? "host",
            target: target, text: text)
    }

    /// Strings a hostile peer might send: escape sequences of every kind,
    /// controls, bidi overrides, Zalgo, and very wide text.
    static let hostile: [String] = [
        "\u{1B}]52;c;cm0gLXJmIH4=\u{07}clipboard",
        "\u{1B}[2J\u{1B}[Hcleared?",
        "\u{1B}]8;;http://evil.example/\u{1B}\\link\u{1B}]8;;\u{1B}\\",
        "\u{9B}31mC1 CSI red",
        "\u{1B}P+q544e\u{1B}\\DCS",
        "\u{1B}_APC payload\u{1B}\\after APC",
        "bell\u{07}\u{07} and backspace\u{08}\u{08}X",
        "carriage\rreturn overwrite",
        "bidi \u{202E}txet desrever\u{202C} end",
        "Z̷̢̛̛̗̤̥̱̳̹̺̻͔͎͉̞̖̮̱̗̤͇̗a̴l̶g̸o",
        "emoji 👨‍👩‍👧‍👦 flags 🇯🇵 wide 漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字",
        "\u{1B}]0;new window title\u{07}title",
        "unterminated \u{1B}]52;c;AAAA",
    ]
}

extension MeetingModel {
    /// Types `line` into the input line and presses Enter: the commands it gave.
    mutating func typing(_ line: String, state: RoomState) -> [MeetingCommand] {
        focus = .input
        var commands: [MeetingCommand] = []
        for character in line { commands += handle(.character(character), state: state) }
        return commands + handle(.enter, state: state)
    }
}
