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
    private var model: MeetingModel
    private var state: RoomState
    private var speaking = SpeakingTracker()

    public init(session: ConfabSession, config: ClientConfig, write: @escaping @Sendable (String) -> Void) {
        self.session = session
        self.config = config
        self.write = write
        model = MeetingModel(keyMap: config.keyMap, mentionBell: false, screenReader: true)
        state = session.store.state
    }

    /// What reaches the loop: a message for the model, a typed line, or the end of input.
    private enum Input: Sendable {
        case message(MeetingMessage)
        case line(String)
        case endOfInput
    }

    /// Runs until the user leaves (/quit, end of input) or the session ends.
    public func run(lines: AsyncStream<String>, notices: [String] = []) async -> DisconnectReason? {
        // Both sources feed one loop, so the model has one owner.
        let (inputs, continuation) = AsyncStream<Input>.makeStream(bufferingPolicy: .unbounded)
        let observation = session.store.observe { continuation.yield(.message(.update($0))) }
        defer { observation.cancel() }
        let reader = Task {
            for await line in lines { continuation.yield(.line(line)) }
            continuation.yield(.endOfInput)
        }
        defer { reader.cancel() }
        state = session.store.state
        greet(notices: notices)
        for await input in inputs {
            model.now = Date()
            var commands: [MeetingCommand] = []
            switch input {
            case .endOfInput:
                await session.leave()
                return session.store.state.disconnectReason
            case .message(.update(let update)):
                if let reason = apply(update, commands: &commands) { return reason }
            case .message(.commandFailed(let text)):
                model.announcements.append("error: \(text)")
            case .message(.notice(let text, let error)):
                model.announcements.append(error ? "error: \(text)" : text)
            case .message(.lines(let lines)):
                model.announcements += lines
            case .message(.voiceChain(let chain)):
                model.offerVoice(chain)
            case .line(let line):
                commands += typed(line)
            }
            sayNoticeAndAnnouncements()
            if await perform(commands, failed: { continuation.yield(.message(.commandFailed($0))) }) {
                return session.store.state.disconnectReason
            }
        }
        return session.store.state.disconnectReason
    }

    private func greet(notices: [String]) {
        for peer in model.tilePeers(state) { model.names[peer.id] = peer.displayName }
        let here = model.tilePeers(state).map { "\($0.displayName) (\($0.role))" }.joined(separator: ", ")
        write("Joined \(state.room?.name.rawValue ?? "the room") as \(state.you?.role.rawValue ?? "?"). Here: \(here).")
        write("Type to chat; /help lists commands; /mic mutes and unmutes you, /hand raises your hand; a line a or d answers a question; /quit leaves.")
        for notice in notices { write(notice) }
        model.showNextPrompt(state)
        for line in model.announcements { write(line) }
        model.announcements = []
    }

    /// A room update; returns how the session ended once it has (after saying so).
    private func apply(_ update: RoomUpdate, commands: inout [MeetingCommand]) -> DisconnectReason? {
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
        guard case .disconnected(let reason) = update.event else { return nil }
        for text in model.announcements { write(text) }
        return reason
    }

    /// A typed line: an answer to the open question, else the input line's commands.
    private func typed(_ line: String) -> [MeetingCommand] {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        let letter = trimmed.lowercased()
        if case .confirmRemove = model.overlay, ["y", "n"].contains(letter) {
            let commands = model.handle(.character(Character(letter)), state: state)
            if commands.isEmpty { model.announcements.append("not removed") }
            return commands
        }
        if case .prompt = model.overlay, ["a", "d", "y", "n"].contains(letter) {
            return model.handle(.character(Character(letter)), state: state)
        }
        if ["a", "d"].contains(letter) {
            // Answers with no question: say so rather than chat a stray letter (//a sends it).
            model.announcements.append("no question is waiting for an answer (//\(trimmed) sends it as chat)")
            return []
        }
        guard !trimmed.isEmpty else { return [] }
        let commands = model.runLine(trimmed, state: state)
        if case .confirmRemove(let peer, _) = model.overlay {
            model.announcements.append("Remove \(model.name(peer, in: state)) from the room? Answer with a line y or n.")
        }
        if model.overlay == .help {
            model.overlay = nil
            for command in MeetingModel.slashCommands { write("\(command.usage): \(command.summary)") }
        }
        return commands
    }

    /// The notice (as a line) and every announcement, then none.
    private func sayNoticeAndAnnouncements() {
        if let notice = model.notice, !notice.isError { model.announcements.append(notice.text) }
        if let notice = model.notice, notice.isError, !model.announcements.contains(notice.text) {
            model.announcements.append(notice.text)
        }
        model.notice = nil
        for text in model.announcements { write(text) }
        model.announcements = []
    }

    /// Runs the commands against the session; returns true when one of them left.
    private func perform(_ commands: [MeetingCommand], failed: @escaping @Sendable (String) -> Void) async -> Bool {
        for command in commands {
            switch command {
            case .leave, .exit:
                await session.leave()
                return true
            case .bell, .markRead:
                break
            default:
                MeetingApp.perform(command, on: session, state: state, failed: failed)
            }
        }
        return false
    }
}
