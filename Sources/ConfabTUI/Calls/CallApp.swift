// The front of `confab connect`: the home screen while online, the call
// screen while in a call's room, and back. One loop owns the terminal, as
// MeetingApp's does for a meeting (and borrows its parts: the input thread,
// the key decoder, the meeting model and view, the session commands).
//
//   stdin ready (poll thread) ─┐
//   tick (250 ms) ─────────────┤ (MeetingInput, forwarded)
//   SIGINT/SIGTERM/SIGHUP ─────┤
//   CallStore update ──────────┼─▶ loop ─▶ home: HomeModel ─▶ HomeCommand ─▶ Task { client.… }
//   call room joined ──────────┤        └▶ call: MeetingModel ─▶ MeetingCommand ─▶ Task { session.… }
//   call room's RoomStore ─────┘                     (leave = hang up, /call NAME = invite more)
//   ─▶ HomeView / CallScreenView ─▶ Renderer ─▶ ncurses
import ConfabClient
import ConfabProtocol
import Curses
import Dispatch
import Foundation
import Glibc

enum CallAppInput: Sendable {
    case meeting(MeetingInput)
    case calls(CallUpdate)
    /// The call's room was joined; `generation` tells its updates from an earlier call's.
    case joined(ConfabSession)
    case room(generation: Int, RoomUpdate)
    case failed(String)
}

/// Tells the loop when the call's room has been joined.
final class RoomJoinedListener: CallListener {
    let joined: @Sendable (ConfabSession) -> Void
    init(joined: @escaping @Sendable (ConfabSession) -> Void) { self.joined = joined }
    func callClient(_ client: CallClient, didJoinRoomOf call: CallID, session: ConfabSession) { joined(session) }
}

public final class CallApp {
    let client: CallClient
    let theme: Theme
    let config: ClientConfig
    let noColor: Bool
    let server: String
    /// Notices from opening the call's audio (no sound card), shown in the call's chat pane.
    let roomNotices: @Sendable () -> [String]

    public init(
        client: CallClient, server: String, theme: Theme, config: ClientConfig, noColor: Bool,
        roomNotices: @escaping @Sendable () -> [String] = { [] }
    ) {
        self.client = client
        self.roomNotices = roomNotices
        self.server = server
        self.theme = theme
        self.config = config
        self.noColor = noColor
    }

    /// Runs until the user quits or the server connection ends for good; the
    /// terminal is restored before it returns. Returns why the connection
    /// ended, when it was not asked for.
    public func run() async throws -> String? {
        let (stream, continuation) = AsyncStream<CallAppInput>.makeStream(bufferingPolicy: .unbounded)
        let (meetingStream, meetingContinuation) = AsyncStream<MeetingInput>.makeStream(bufferingPolicy: .unbounded)
        let forward = Task {
            for await input in meetingStream { continuation.yield(.meeting(input)) }
        }
        defer { forward.cancel() }
        let signals = FrontSignals { meetingContinuation.yield(.signal($0)) }
        defer { signals.cancel() }

        let backend = try NcursesBackend(theme: theme, noColor: noColor)
        defer { backend.end() }
        let renderer = Renderer(backend: backend)
        let input = InputWatcher(continuation: meetingContinuation)
        input.start()
        defer { input.stop() }
        let listener = RoomJoinedListener { continuation.yield(.joined($0)) }
        client.addListener(listener)
        let observation = client.store.observe { continuation.yield(.calls($0)) }
        defer { observation.cancel() }
        let ticker = startFrontTicker { meetingContinuation.yield(.tick) }
        defer { ticker.cancel() }

        var calls = client.store.state
        var home = HomeModel(ringBell: config.ringBell)
        home.now = Date()
        home.selected = calls.onlineUsers.first?.user
        home.remember(calls)
        let homeView = HomeView(server: server)
        var callView = CallScreenView()

        // The call screen, while in a call's room.
        var session: ConfabSession?
        var meeting = MeetingModel(keyMap: config.keyMap, mentionBell: config.mentionBell)
        var room = RoomState()
        var roomGeneration = 0
        var roomObservation: StoreObservation?
        var shownSecond = -1
        var finished = false
        var disconnectReason: String?

        var decoder = TerminalInputDecoder()
        var keyReleasesOn = false
        var pendingKeys = false
        var homeCommands: [HomeCommand] = [.loadHistory]
        var meetingCommands: [MeetingCommand] = []

        func leaveCallScreen() {
            roomObservation?.cancel()
            roomObservation = nil
            session = nil
            roomGeneration += 1
            renderer.invalidate()
        }

        func readKeys() {
            for input in decoder.drain(backend) {
                pendingKeys = true
                switch input {
                case .keyboardFlags:
                    guard !keyReleasesOn else { continue }
                    keyReleasesOn = true
                    backend.enableKeyReleases()
                    meeting.pushToTalk = .hold
                case .focusLost:
                    if session != nil { meetingCommands += meeting.focusLost() }
                case .key(let key):
                    if key == .resize || key == .control("l") { renderer.invalidate() }
                    if session != nil {
                        if key == .control("c") {
                            meetingCommands.append(.leave)
                        } else if let invite = meeting.callCommand(key, calls: calls) {
                            homeCommands += invite
                        } else {
                            meetingCommands += meeting.handle(key, state: room, at: Date())
                        }
                    } else {
                        if case .released = key { continue }
                        if key == .control("c") {
                            homeCommands.append(.quit)
                        } else {
                            homeCommands += home.handle(key, state: calls, at: Date())
                        }
                    }
                }
            }
        }

        func draw() {
            pendingKeys = false
            let now = Date()
            renderer.render { frame in
                if session != nil {
                    callView.render(&meeting, room: room, calls: calls, now: now, into: &frame)
                } else {
                    homeView.render(home, state: calls, into: &frame)
                }
            }
        }
        draw()
        backend.queryKeyboardProtocol()

        for await message in stream {
            switch message {
            case .meeting(.keysReady):
                readKeys()
                input.drained()
            case .meeting(.tick):
                decoder.expireStale()
                readKeys()
                let now = Date()
                var changed = pendingKeys
                if session != nil {
                    changed = meeting.tick(now: now) || changed
                    let second = Int(now.timeIntervalSince1970)
                    if calls.call?.answeredAt != nil, second != shownSecond {
                        shownSecond = second
                        changed = true
                    }
                } else {
                    let (homeChanged, commands) = home.tick(now: now, state: calls)
                    changed = homeChanged || changed
                    homeCommands += commands
                }
                if !changed, homeCommands.isEmpty, meetingCommands.isEmpty { continue }
            case .meeting(.signal):
                homeCommands.append(.quit)
            case .meeting(.commandFailed(let text)), .failed(let text):
                if session != nil { meeting.setNotice(text, error: true) } else { home.setNotice(text, error: true) }
            case .meeting(.commandDone(let text)):
                if session != nil { meeting.setNotice(text) } else { home.setNotice(text) }
            case .meeting(.update):
                break
            case .calls(let update):
                let previous = calls
                calls = update.state
                home.now = Date()
                homeCommands += home.apply(update, previous: previous)
                if case .disconnected(let reason) = update.event {
                    disconnectReason = reason ?? disconnectReason
                }
                if session != nil, calls.call == nil {
                    // The call ended (or we hung up): back home, where the outcome shows.
                    leaveCallScreen()
                }
            case .joined(let joined):
                guard calls.call != nil else { continue }
                roomObservation?.cancel()
                roomGeneration += 1
                let generation = roomGeneration
                session = joined
                room = joined.store.state
                callView = CallScreenView()
                meeting = MeetingModel.callScreen(keyMap: config.keyMap, mentionBell: config.mentionBell)
                meeting.pushToTalk = keyReleasesOn ? .hold : .toggle
                meeting.now = Date()
                for notice in roomNotices() { meeting.addSystemLine(notice) }
                for peer in meeting.tilePeers(room) { meeting.names[peer.id] = peer.displayName }
                meeting.showNextPrompt(room)
                roomObservation = joined.store.observe { continuation.yield(.room(generation: generation, $0)) }
                renderer.invalidate()
            case .room(let generation, let update):
                guard generation == roomGeneration, session != nil else { continue }
                let previous = room
                room = update.state
                meeting.now = Date()
                meetingCommands += meeting.apply(update, previous: previous)
                // Levels come 20 times a second even in a silent call: the same levels again are not worth a frame.
                if case .mediaLevels = update.event, meetingCommands.isEmpty, homeCommands.isEmpty, room == previous {
                    continue
                }
            }

            for command in meetingCommands {
                switch command {
                case .leave, .exit:
                    // Leaving the call's room is hanging up.
                    homeCommands.append(.hangup)
                case .bell:
                    backend.bell()
                default:
                    if let session {
                        MeetingApp.perform(command, on: session, state: room, continuation: meetingContinuation)
                    }
                }
            }
            meetingCommands = []
            for command in homeCommands {
                switch command {
                case .bell:
                    backend.bell()
                case .quit:
                    await client.disconnect()
                    finished = true
                case .hangup:
                    leaveCallScreen()
                    perform(command, continuation: continuation)
                default:
                    perform(command, continuation: continuation)
                }
            }
            homeCommands = []
            if finished { break }
            home.now = Date()
            meeting.now = home.now
            draw()
        }
        return disconnectReason
    }

    /// Runs a command against the call client in its own task: the screen never waits on the network.
    func perform(_ command: HomeCommand, continuation: AsyncStream<CallAppInput>.Continuation) {
        let client = self.client
        Task {
            do throws(SessionError) {
                switch command {
                case .call(let users): try await client.call(users)
                case .accept(let call): try await client.accept(call)
                case .reject(let call): try await client.reject(call)
                case .cancel: try await client.cancel()
                case .hangup:
                    try await client.hangup()
                    _ = try? await client.history()
                case .loadHistory: _ = try await client.history()
                case .bell, .quit: break
                }
            } catch {
                continuation.yield(.failed(error.message))
            }
        }
    }
}
