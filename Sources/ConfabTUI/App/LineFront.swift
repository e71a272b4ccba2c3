// `--screen-reader`: the meeting as plain lines. No curses, no cursor
// movement, no animated bars: every change (who joined, left, started or
// stopped speaking, chat, dialogs) is one line a screen reader can follow, and
// input is typed lines with the same commands as the input line.
//
//   RoomUpdate ─▶ MeetingModel.apply ─▶ announcements ─▶ stdout lines
//   stdin line ─▶ MeetingModel.runLine / prompt answers ─▶ session
import ConfabClient
import ConfabProtocol
import Foundation
import Glibc

public final class LineFront {
    let session: ConfabSession
    let config: ClientConfig
    let write: @Sendable (String) -> Void

    public init(session: ConfabSession, config: ClientConfig, write: @escaping @Sendable (String) -> Void) {
        self.session = session
        self.config = config
        self.write = write
    }

    /// Runs until the user leaves (/quit, end of input) or the session ends.
    public func run(lines: AsyncStream<String>, notices: [String] = []) async -> DisconnectReason? {
        let (stream, continuation) = AsyncStream<MeetingInput>.makeStream(bufferingPolicy: .unbounded)
        let observation = session.store.observe { continuation.yield(.update($0)) }
        defer { observation.cancel() }
        let (typed, typedContinuation) = AsyncStream<String?>.makeStream(bufferingPolicy: .unbounded)
        let reader = Task {
            for await line in lines { typedContinuation.yield(line) }
            typedContinuation.yield(nil)
        }
        defer { reader.cancel() }
        var model = MeetingModel(keyMap: config.keyMap, mentionBell: false, screenReader: true)
        var state = session.store.state
        for peer in model.tilePeers(state) { model.names[peer.id] = peer.displayName }
        let here = model.tilePeers(state).map { "\($0.displayName) (\($0.role))" }.joined(separator: ", ")
        write("Joined \(state.room?.name.rawValue ?? "the room") as \(state.you?.role.rawValue ?? "?"). Here: \(here).")
        write("Type to chat; /help lists commands; /mic mutes and unmutes you, /hand raises your hand; a line a or d answers a question; /quit leaves.")
        for notice in notices { write(notice) }
        var speaking = SpeakingTracker()
        let app = MeetingApp(session: session, theme: BuiltInThemes.defaultTheme, config: config, noColor: true)

        // Both streams feed one loop, so the model has one owner.
        let merged = AsyncStream<(MeetingInput?, String?, Bool)> { merge in
            let first = Task {
                for await input in stream { merge.yield((input, nil, false)) }
            }
            let second = Task {
                for await line in typed { merge.yield((nil, line, line == nil)) }
            }
            merge.onTermination = { _ in
                first.cancel()
                second.cancel()
            }
        }
        model.showNextPrompt(state)
        for line in model.announcements { write(line) }
        model.announcements = []
        for await (input, line, endOfInput) in merged {
            var commands: [MeetingCommand] = []
            model.now = Date()
            if endOfInput {
                await session.leave()
                break
            }
            if let input, case .update(let update) = input {
                let previous = state
                state = update.state
                commands += model.apply(update, previous: previous)
                // Speaking changes as lines, not bars: one per turn.
                if case .peerLeft(let peer, _, _) = update.event { speaking.forget(peer) }
                let turns = speaking.update(loud: Set(state.loudest.map(\.0)), now: model.now)
                for peer in turns.started { model.announcements.append("\(model.name(peer, in: state)) is speaking") }
                for peer in turns.stopped where state.peer(peer) != nil {
                    model.announcements.append("\(model.name(peer, in: state)) stopped speaking")
                }
                if case .disconnected(let reason) = update.event {
                    for text in model.announcements { write(text) }
                    return reason
                }
            } else if let input, case .commandFailed(let text) = input {
                model.announcements.append("error: \(text)")
            } else if let input, case .commandDone(let text) = input {
                model.announcements.append(text)
            } else if let line {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if case .confirmRemove = model.overlay, ["y", "n"].contains(trimmed.lowercased()) {
                    commands += model.handle(.character(Character(trimmed.lowercased())), state: state)
                    if commands.isEmpty { model.announcements.append("not removed") }
                } else if case .prompt = model.overlay, ["a", "d", "y", "n"].contains(trimmed.lowercased()) {
                    commands += model.handle(.character(Character(trimmed.lowercased())), state: state)
                } else if ["a", "d"].contains(trimmed.lowercased()) {
                    // Answers with no question: say so rather than chat a stray letter (//a sends it).
                    model.announcements.append("no question is waiting for an answer (//\(trimmed) sends it as chat)")
                } else if !trimmed.isEmpty {
                    commands += model.runLine(trimmed, state: state)
                    if case .confirmRemove(let peer, _) = model.overlay {
                        model.announcements.append("Remove \(model.name(peer, in: state)) from the room? Answer with a line y or n.")
                    }
                    if model.overlay == .help {
                        model.overlay = nil
                        for command in MeetingModel.slashCommands { write("\(command.usage): \(command.summary)") }
                    }
                }
            }
            if let notice = model.notice, !notice.isError { model.announcements.append(notice.text) }
            if let notice = model.notice, notice.isError, !model.announcements.contains(notice.text) {
                model.announcements.append(notice.text)
            }
            model.notice = nil
            for text in model.announcements { write(text) }
            model.announcements = []
            for command in commands {
                switch command {
                case .leave, .exit:
                    await session.leave()
                    return session.store.state.disconnectReason
                case .bell, .markRead:
                    break
                default:
                    app.perform(command, state: state, continuation: continuation)
                }
            }
        }
        return session.store.state.disconnectReason
    }
}
