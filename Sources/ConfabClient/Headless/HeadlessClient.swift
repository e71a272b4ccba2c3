import ConfabMedia
import ConfabProtocol
import Synchronization

// The headless client: the store's updates out as JSON lines, commands in.
//
//   stdin lines ─▶ HeadlessCommand.parse ─▶ session request ─▶ result / error line
//   session ─▶ RoomStore updates ─▶ HeadlessEvents.line ─▶ stdout
//
// It reads only the store (every update carries its event), as the terminal
// front does. End of input means leave.

/// Drives a session from JSON command lines and prints every event.
public struct HeadlessClient: Sendable {
    public let session: ConfabSession
    /// The session's audio, for `devices` and `device` (nil: the bot has no audio).
    public let media: MediaController?
    /// Writes one line (without its newline); must be safe to call from any task.
    public let output: @Sendable (String) -> Void

    public init(session: ConfabSession, media: MediaController? = nil, output: @escaping @Sendable (String) -> Void) {
        self.session = session
        self.media = media
        self.output = output
    }

    /// Joins, prints events until the session ends, and runs commands from
    /// `input` meanwhile. Without `printsEvents` only failures and the final
    /// `disconnected` are printed (besides command results). Returns the
    /// reason the session ended.
    @discardableResult
    public func run(input: AsyncStream<String>, printsEvents: Bool = true) async -> DisconnectReason {
        let output = self.output
        let ended = OneShot<DisconnectReason>()
        // Set as soon as the end is known (the room ended, we were removed),
        // which can be before the connection is marked closed: lines still
        // waiting after that are not run (each would only fail).
        let over = Mutex(false)
        // A closure observer runs as each event is applied, before the reply
        // of the request that caused it is handed back, so event lines always
        // come before the command's result line (the protocol's own order).
        //
        // The `disconnected` line is held back until the command in flight
        // has printed its result: the session can end while a command's reply
        // is being handed back (`leave`, or `end` whose reply races the close),
        // and a bot reads `disconnected` as the last line (docs/BOTS.md).
        let observation = session.store.observe { update in
            switch update.event {
            case .disconnected(let reason):
                over.withLock { $0 = true }
                ended.succeed(reason)
            case .failure:
                output(HeadlessEvents.line(for: update.event))
            case .roomEnded, .removed:
                over.withLock { $0 = true }
                fallthrough
            default:
                if printsEvents, HeadlessEvents.prints(update.event) { output(HeadlessEvents.line(for: update.event)) }
            }
        }
        defer { observation.cancel() }
        do {
            try await session.join()
        } catch {
            let reason = (try? await ended.value()) ?? .failed(error)
            output(HeadlessEvents.line(for: .disconnected(reason)))
            return reason
        }
        let commands = Task {
            for await line in input {
                if over.withLock({ $0 }) { return }
                if line.allSatisfy(\.isWhitespace) { continue }
                await perform(line)
            }
            // End of input: leave (unless it is over already).
            if !Task.isCancelled, !over.withLock({ $0 }) { await session.leave() }
        }
        let reason = (try? await ended.value()) ?? .left
        // A command still running finishes quickly (the session's requests
        // fail once it is over); waiting for input ends at the cancellation.
        commands.cancel()
        await commands.value
        output(HeadlessEvents.line(for: .disconnected(reason)))
        return reason
    }

    /// Parses and runs one command line, printing its result or error.
    public func perform(_ line: String) async {
        switch HeadlessCommand.parse(line) {
        case .failure(let error):
            output(HeadlessEvents.errorLine(error))
        case .success(let command):
            do {
                let details = try await execute(command.action)
                if case .state = command.action {
                    output(HeadlessEvents.stateLine(session.state, id: command.id))
                } else {
                    output(HeadlessEvents.resultLine(id: command.id, command: command.action.name, details: details))
                }
            } catch {
                output(HeadlessEvents.errorLine(error, id: command.id, command: command.action.name))
            }
        }
    }

    /// Runs an action; returns extra members for its result line.
    private func execute(_ action: HeadlessAction) async throws(SessionError) -> [(String, JSONValue)] {
        switch action {
        case .chat(let text, let target):
            let ack = try await session.send(text, to: target)
            return [("message", .string(ack.message.rawValue)), ("seq", .int(ack.seq))]
        case .muteSelf:
            try await session.muteSelf()
        case .unmuteSelf:
            try await session.unmuteSelf()
        case .muteTrack(let track):
            try await session.mute(track: track)
        case .mutePeer(let peer):
            try await session.mute(peer: peer)
        case .unmuteTrack(let track):
            return prompt(try await session.requestUnmute(track: track))
        case .askToUnmute(let peer):
            return prompt(try await session.askToUnmute(peer: peer))
        case .changeRole(let peer, let role, let force):
            return prompt(try await session.changeRole(of: peer, to: role, force: force))
        case .raiseHand:
            try await session.raiseHand()
        case .lowerHand:
            try await session.lowerHand()
        case .remove(let peer, let reason):
            try await session.remove(peer, reason: reason)
        case .endRoom(let lock, let reason):
            try await session.endRoom(lock: lock, reason: reason)
        case .answer(let prompt, let accept):
            try await session.answer(prompt, accept: accept)
        case .history(let query):
            let page = try await session.fetchHistory(query)
            return [("count", .int(page.messages.count)), ("hasMore", .bool(page.hasMore))]
        case .roster(let query):
            let page = try await session.listRoster(query)
            return [("count", .int(page.peers.count)), ("total", .int(page.total))]
                + (page.next.map { [("next", JSONValue.string($0))] } ?? [])
        case .volume(let peer, let volume):
            await session.setVolume(volume, for: peer)
        case .profile(let name, let metadata):
            try await session.updateProfile(name: name, metadata: metadata)
        case .setState(let key, let value):
            try await session.setState(key, to: value)
        case .state:
            break
        case .devices:
            return await devices()
        case .switchDevice(let direction, let name):
            guard let media else { throw SessionError.invalidArgument(Self.noAudio) }
            do {
                try await media.switchDevice(direction, to: name.hasPrefix("alsa:") ? name : "alsa:" + name)
            } catch {
                throw SessionError.invalidArgument(error.description)
            }
            let now = await media.devices
            return [(direction.rawValue, .string(direction == .input ? now.input ?? "" : now.output))]
        case .leave:
            await session.leave()
        }
        return []
    }

    static let noAudio = "no audio devices here: join with --input or --output to have some"

    /// The sound cards one can switch to, and the devices in use (with audio).
    private func devices() async -> [(String, JSONValue)] {
        let cards = AudioDevices.soundCards().map { card in
            JSONValue.object([
                "device": .string(card.spec), "description": .string(card.description),
                "direction": card.direction.map { JSONValue.string($0.lowercased()) },
            ])
        }
        guard let now = await media?.devices else { return [("cards", .array(cards))] }
        return [("input", now.input.map(JSONValue.string) ?? .null), ("output", .string(now.output)), ("cards", .array(cards))]
    }

    private func prompt(_ id: PromptID?) -> [(String, JSONValue)] {
        id.map { [("prompt", .string($0.rawValue))] } ?? []
    }
}
