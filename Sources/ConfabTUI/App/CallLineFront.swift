// `confab connect --screen-reader`: presence and calls as plain lines. Every
// invitation, outcome and presence change is one line; typed lines are the
// home screen's commands plus the dialogs' answers.
//
//   CallUpdate ─▶ HomeModel.apply ─▶ announcements ─▶ stdout lines
//   stdin line ─▶ /call, /accept, /reject, /cancel, /hangup, /who, /history, /quit ─▶ CallClient
//   stdin line ─▶ /device ─▶ the call room's AudioControls (CallLineFront+Device.swift)
import ConfabClient
import ConfabProtocol
import Foundation
import Synchronization

public final class CallLineFront {
    let client: CallClient
    let config: ClientConfig
    let write: @Sendable (String) -> Void
    /// Notices from opening the call's audio (no sound card), said when the call's room is entered.
    let roomNotices: @Sendable () -> [String]
    /// The call room's audio devices (nil: the room has no audio), for `/device`.
    let roomVoice: @Sendable (ConfabSession) -> (any AudioControls)?
    /// The room of the call we are in (the last one joined).
    let room = JoinedSession()

    public static let commands: [(usage: String, summary: String)] = [
        ("/call NAME [NAME…]", "ring people (in a call: invite them)"),
        ("/accept (or a)", "answer the ringing call"), ("/reject (or r)", "reject the ringing call"),
        ("/cancel", "stop ringing the people you called"), ("/hangup", "leave the call"),
        ("/who", "who is online"), ("/history", "your recent calls"),
        ("/device [DIR NAME]", "in a call: list sound devices; DIR input|output: switch one"), ("/quit", "go offline and quit"),
    ]

    public init(
        client: CallClient, config: ClientConfig, roomNotices: @escaping @Sendable () -> [String] = { [] },
        roomVoice: @escaping @Sendable (ConfabSession) -> (any AudioControls)? = { _ in nil },
        write: @escaping @Sendable (String) -> Void
    ) {
        self.client = client
        self.config = config
        self.roomNotices = roomNotices
        self.roomVoice = roomVoice
        self.write = write
    }

    /// Runs until /quit, the end of input, or the connection ends for good;
    /// returns why it ended when that was not asked for.
    public func run(lines: AsyncStream<String>) async -> String? {
        let merged = AsyncStream<(CallUpdate?, String?, Bool)> { merge in
            let updates = client.store.updates()
            let first = Task {
                for await update in updates { merge.yield((update, nil, false)) }
            }
            let second = Task {
                for await line in lines { merge.yield((nil, line, false)) }
                merge.yield((nil, nil, true))
            }
            merge.onTermination = { _ in
                first.cancel()
                second.cancel()
            }
        }
        let room = self.room
        let listener = RoomJoinedListener { session in room.set(session) }
        client.addListener(listener)
        defer { withExtendedLifetime(listener) {} }
        var model = HomeModel(ringBell: false)
        var state = client.store.state
        model.remember(state)
        let others = state.onlineUsers.map { "\($0.name)\($0.busy ? " (in a call)" : "")" }
        let who = others.isEmpty ? "Nobody else is online." : "Online: \(others.joined(separator: ", "))."
        write("Online as \(state.you?.name ?? "?"). \(who)")
        write("Type /call NAME to ring someone; /help lists commands.")
        perform(.loadHistory, announceHistory: false)
        for await (update, line, endOfInput) in merged {
            if endOfInput {
                await client.disconnect()
                return nil
            }
            model.now = Date()
            var commands: [HomeCommand] = []
            if let update {
                let previous = state
                state = update.state
                commands += model.apply(update, previous: previous).filter { $0 != .loadHistory }
                switch update.event {
                case .userEntered(let user) where user != state.you?.user:
                    model.announcements += roomNotices()
                    model.announcements.append("\(model.name(user, in: state)) is in the call")
                case .userLeft(let user) where user != state.you?.user:
                    model.announcements.append("\(model.name(user, in: state)) left the call")
                case .roomReady:
                    model.announcements.append("joining the call")
                case .disconnected(let reason):
                    for text in model.announcements { write(text) }
                    return reason
                default:
                    break
                }
            } else if let line {
                commands += command(line.trimmingCharacters(in: .whitespaces), model: &model, state: state)
            }
            if let notice = model.notice, !model.announcements.contains(notice.text) { model.announcements.append(notice.text) }
            model.notice = nil
            for text in model.announcements { write(text) }
            model.announcements = []
            for command in commands {
                if command == .quit {
                    await client.disconnect()
                    return nil
                }
                perform(command, announceHistory: command == .loadHistory)
            }
        }
        return nil
    }

    func command(_ line: String, model: inout HomeModel, state: CallState) -> [HomeCommand] {
        let word = line.split(separator: " ").first.map { $0.lowercased() } ?? ""
        let ringing = state.invitations.first?.call.id
        switch word {
        case "":
            return []
        case "a", "/accept", "accept":
            guard let ringing else { model.announcements.append("no call is ringing"); return [] }
            return [.accept(ringing)]
        case "r", "/reject", "reject":
            guard let ringing else { model.announcements.append("no call is ringing"); return [] }
            return [.reject(ringing)]
        case "/cancel": return [.cancel]
        case "/hangup", "/leave": return [.hangup]
        case "/history": return [.loadHistory]
        case "/who":
            let others = state.onlineUsers.map { "\($0.name) (\($0.user.rawValue))\($0.busy ? ", in a call" : "")" }
            model.announcements.append(others.isEmpty ? "Nobody else is online." : "Online: " + others.joined(separator: "; "))
            return []
        case "/device":
            runDevice(line, inRoom: state.room != nil)
            return []
        case "/help":
            for command in Self.commands { model.announcements.append("\(command.usage): \(command.summary)") }
            return []
        default:
            return model.runLine(line, state: state)
        }
    }

    func perform(_ command: HomeCommand, announceHistory: Bool) {
        let client = self.client
        let write = self.write
        Task {
            for line in await CallLineFront.run(command, on: client, announceHistory: announceHistory) { write(line) }
        }
    }

    /// Runs one command; returns the lines it has to say.
    static func run(_ command: HomeCommand, on client: CallClient, announceHistory: Bool) async -> [String] {
        do {
            switch command {
            case .call(let users): try await client.call(users)
            case .accept(let call): try await client.accept(call)
            case .reject(let call): try await client.reject(call)
            case .cancel: try await client.cancel()
            case .hangup: try await client.hangup()
            case .loadHistory:
                let records = try await client.history(limit: 10)
                if announceHistory {
                    let state = client.store.state
                    return records.isEmpty ? ["No calls yet."] : records.map { plainLine($0, state: state) }
                }
            case .bell, .quit: break
            }
            return []
        } catch {
            return ["error: \(error.messageWithWait)"]
        }
    }

    /// One history entry as a sentence.
    static func plainLine(_ record: CallRecord, state: CallState) -> String {
        let model = HomeModel()
        let peers = model.names(record.peers, in: state)
        let (outcome, _) = HomeView.outcome(record)
        let duration = record.outcome == .answered ? ", \(HomeModel.duration(ms: record.durationMs))" : ""
        return "\(record.direction == .incoming ? "from" : "to") \(peers): \(outcome)\(duration)"
    }
}
