// The interactive front: one loop that owns the terminal. Everything that
// can change the screen arrives as one message stream; the loop updates the
// model, runs commands against the session without waiting on them, and
// renders (which writes nothing when nothing changed).
//
//   stdin ready (poll thread) ─┐  (keys through TerminalInputDecoder: kitty key events, its answer)
//   RoomStore update ──────────┤
//   tick (250 ms) ─────────────┼─▶ loop ─▶ MeetingModel ─▶ commands ─▶ Task { session.… }
//   SIGINT/SIGTERM/SIGHUP ─────┤                      └─▶ MeetingView ─▶ Renderer ─▶ ncurses
//   command failed ────────────┘
//
// ncurses is not thread-safe, so only this loop touches it; the poll thread
// only waits for input and hands over (then waits until it is drained).
import ConfabClient
import ConfabProtocol
import Curses
import Dispatch
import Foundation
import Glibc
import Synchronization

public enum MeetingInput: Sendable {
    case keysReady
    case update(RoomUpdate)
    case tick
    case signal(Int32)
    case commandFailed(String)
    case commandDone(String)
}

public final class MeetingApp {
    let session: ConfabSession
    let theme: Theme
    let config: ClientConfig
    let noColor: Bool

    public init(session: ConfabSession, theme: Theme, config: ClientConfig, noColor: Bool) {
        self.session = session
        self.theme = theme
        self.config = config
        self.noColor = noColor
    }

    /// Runs until the user leaves or the session ends; the terminal is
    /// restored before it returns. `notices` (such as "no sound card") start
    /// the chat pane as system lines. Returns how the session ended.
    public func run(notices: [String] = []) async throws -> DisconnectReason? {
        let (stream, continuation) = AsyncStream<MeetingInput>.makeStream(bufferingPolicy: .unbounded)
        let signals = FrontSignals { continuation.yield(.signal($0)) }
        defer { signals.cancel() }

        let backend = try NcursesBackend(theme: theme, noColor: noColor)
        defer { backend.end() }
        let renderer = Renderer(backend: backend)
        let input = InputWatcher(continuation: continuation)
        input.start()
        defer { input.stop() }
        let observation = session.store.observe { update in continuation.yield(.update(update)) }
        defer { observation.cancel() }
        let ticker = startFrontTicker { continuation.yield(.tick) }
        defer { ticker.cancel() }

        var model = MeetingModel(keyMap: config.keyMap, mentionBell: config.mentionBell)
        var state = session.store.state
        model.now = Date()
        for notice in notices { model.addSystemLine(notice) }
        for peer in model.tilePeers(state) { model.names[peer.id] = peer.displayName }
        model.showNextPrompt(state)
        let view = MeetingView()
        var finished = false
        var reason: DisconnectReason?

        // Set when a key was read that produced no command (typing, moving):
        // the screen still changed.
        var pendingKeys = false
        var decoder = TerminalInputDecoder()
        var keyReleasesOn = false
        func readKeys() -> [MeetingCommand] {
            var commands: [MeetingCommand] = []
            for input in decoder.drain(backend) {
                pendingKeys = true
                switch input {
                case .keyboardFlags:
                    // The terminal answered the query: it reports key releases once asked.
                    guard !keyReleasesOn else { continue }
                    keyReleasesOn = true
                    backend.enableKeyReleases()
                    model.pushToTalk = .hold
                case .focusLost:
                    commands += model.focusLost()
                case .key(.control("c")):
                    // With the protocol on, Ctrl-C arrives as a key, not as SIGINT.
                    commands.append(.leave)
                case .key(let key):
                    if key == .resize || key == .control("l") { renderer.invalidate() }
                    commands += model.handle(key, state: state, at: Date())
                }
            }
            return commands
        }

        func draw() {
            pendingKeys = false
            renderer.render { frame in view.render(&model, state: state, into: &frame) }
        }
        draw()
        backend.queryKeyboardProtocol()

        for await message in stream {
            var commands: [MeetingCommand] = []
            switch message {
            case .keysReady:
                commands += readKeys()
                input.drained()
            case .update(let update):
                let previous = state
                state = update.state
                model.now = Date()
                commands += model.apply(update, previous: previous)
                if case .disconnected(let why) = update.event { reason = why }
                // Levels come 20 times a second even in a silent room: the
                // same levels again are not worth a frame.
                if case .mediaLevels = update.event, commands.isEmpty, state == previous { continue }
            case .tick:
                // ncurses notices a window resize (SIGWINCH) only when asked
                // for a key, and the signal may wake no thread of ours.
                decoder.expireStale()
                let keys = readKeys()
                commands += keys
                // An idle tick draws nothing at all: only expiring notices,
                // a reconnect countdown or keys make a tick worth a frame.
                guard model.tick(now: Date()) || !keys.isEmpty || pendingKeys else { continue }
            case .signal:
                await session.leave()
                finished = true
            case .commandFailed(let text):
                model.setNotice(text, error: true)
            case .commandDone(let text):
                model.setNotice(text)
            }
            for command in commands {
                switch command {
                case .leave:
                    await session.leave()
                    finished = true
                case .exit:
                    finished = true
                case .bell:
                    backend.bell()
                default:
                    perform(command, state: state, continuation: continuation)
                }
            }
            if finished { break }
            model.now = Date()
            draw()
        }
        return reason ?? session.store.state.disconnectReason
    }

    /// Runs a command against the session in its own task: the screen never waits on the network.
    func perform(_ command: MeetingCommand, state: RoomState, continuation: AsyncStream<MeetingInput>.Continuation) {
        Self.perform(command, on: session, state: state, continuation: continuation)
    }

    /// Carries out a meeting command on `session`; a refusal comes back as
    /// `commandFailed` (the call screen runs its meeting's commands here too).
    static func perform(
        _ command: MeetingCommand, on session: ConfabSession, state: RoomState,
        continuation: AsyncStream<MeetingInput>.Continuation
    ) {
        Task {
            do throws(SessionError) {
                switch command {
                case .setMuted(let muted): try await session.setMuted(muted)
                case .setHand(let raised): if raised { try await session.raiseHand() } else { try await session.lowerHand() }
                case .send(let text, let target): _ = try await session.send(text, to: target)
                case .mute(let peer): try await session.mute(peer: peer)
                case .muteEveryoneElse:
                    for peer in state.peers.values where peer.microphone.map({ !$0.muted }) ?? false {
                        try? await session.mute(peer: peer.id)
                    }
                case .askToUnmute(let peer):
                    // The request and its outcome become chat lines (promptSent, promptAnswered).
                    _ = try await session.askToUnmute(peer: peer)
                case .changeRole(let peer, let role):
                    _ = try await session.requestRoleChange(of: peer, to: role)
                case .remove(let peer, let reason): try await session.remove(peer, reason: reason)
                case .endRoom: try await session.endRoom()
                case .answer(let prompt, let accept): try await session.answer(prompt, accept: accept)
                case .setVolume(let peer, let volume): await session.setVolume(volume, for: peer)
                case .loadOlderChat: _ = try await session.loadOlderChat()
                case .markRead:
                    for conversation in state.unread.keys { await session.markRead(conversation) }
                case .bell, .leave, .exit: break
                }
            } catch {
                continuation.yield(.commandFailed(error.message))
            }
        }
    }

    /// The key curses decoded; nil for keys we do not use (F-keys, Ctrl with
    /// arrows…), which must not type anything.
    static func key(from raw: Curses.Key) -> Key? {
        switch raw {
        case .character(let scalar): return Key.from(scalar: scalar)
        case .resize: return .resize
        case .up: return .up
        case .down: return .down
        case .left: return .left
        case .right: return .right
        case .home: return .home
        case .end: return .end
        case .pageUp: return .pageUp
        case .pageDown: return .pageDown
        case .backspace: return .backspace
        case .delete: return .delete
        case .enter: return .enter
        case .backTab: return .backTab
        default: return raw.functionNumber.map { .function($0) }
        }
    }
}

extension RoomState {
    /// Why the session ended, if it has.
    var disconnectReason: DisconnectReason? {
        if case .disconnected(let reason) = connection { return reason }
        return nil
    }
}

/// Waits for input on stdin on a thread of its own (poll blocks), tells the
/// loop, and waits until the loop has read it all before polling again.
final class InputWatcher: Sendable {
    private let continuation: AsyncStream<MeetingInput>.Continuation
    private let drainedSignal = DispatchSemaphore(value: 0)
    private let wakePipe: (read: Int32, write: Int32)
    private let stopped = Atomic<Bool>(false)

    init(continuation: AsyncStream<MeetingInput>.Continuation) {
        self.continuation = continuation
        var fds: [Int32] = [0, 0]
        if pipe(&fds) != 0 { fds = [-1, -1] }
        wakePipe = (fds[0], fds[1])
    }

    func start() {
        let thread = Thread { [self] in
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)]
            while !stopped.load(ordering: .relaxed) {
                fds[0].revents = 0
                fds[1].revents = 0
                let ready = poll(&fds, 2, -1)
                if ready < 0 {
                    guard errno == EINTR else { break }
                    // Likely SIGWINCH: let the loop ask ncurses for KEY_RESIZE now.
                    continuation.yield(.keysReady)
                    drainedSignal.wait()
                    continue
                }
                if stopped.load(ordering: .relaxed) || fds[1].revents != 0 { break }
                if fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                    // The terminal went away: treat it as a hang-up.
                    continuation.yield(.signal(SIGHUP))
                    break
                }
                continuation.yield(.keysReady)
                drainedSignal.wait()
            }
        }
        thread.name = "confab-input"
        thread.start()
    }

    /// The loop has read every waiting key.
    func drained() { drainedSignal.signal() }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        drainedSignal.signal()
    }
}
