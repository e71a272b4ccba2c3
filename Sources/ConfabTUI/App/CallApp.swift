// The front of `confab connect`: the home screen while online, the call
// screen while in a call's room, and back. The front loop hosts one
// ConnectScreen, which shows one of the two.
//
//   stdin ready / tick / signals ─┐
//   CallStore update ─────────────┤
//   call room joined ─────────────┼─▶ FrontLoop ─▶ ConnectScreen ─┬▶ home: HomeScreen ─▶ HomeCommand ─▶ Task { client.… }
//   call room's RoomStore ────────┘                               └▶ call: CallScreen ─▶ MeetingCommand ─▶ Task { session.… }
//                                                                       (leave = hang up, /call NAME = invite more)
import ConfabClient
import ConfabProtocol
import Foundation
import Glibc

/// What the front of `confab connect` hears besides keys.
public enum ConnectMessage: Sendable {
    case calls(CallUpdate)
    /// The call's room was joined.
    case joined(JoinedRoom)
    /// An update of the call's room; `generation` tells it from an earlier call's.
    case room(generation: Int, RoomUpdate)
    /// A command (the call client's or the room's) failed.
    case failed(String)
    /// The answer to a voice command (`/audio`, `/device`), for the call screen.
    case voice(MeetingMessage)
}

/// A call's room, once joined: its store, and where its commands go.
public struct JoinedRoom: Sendable {
    public let store: RoomStore
    /// The microphone's processing (nil: none to switch), when `hasDevices`.
    public let voiceChain: VoiceChain?
    /// The call's audio runs on devices `/device` can switch (and `e` `n` `g` `k` with a microphone).
    public let hasDevices: Bool
    public let perform: @Sendable (MeetingCommand, RoomState) -> Void

    public init(
        store: RoomStore, voiceChain: VoiceChain? = nil, hasDevices: Bool = false,
        perform: @escaping @Sendable (MeetingCommand, RoomState) -> Void
    ) {
        self.store = store
        self.voiceChain = voiceChain
        self.hasDevices = hasDevices
        self.perform = perform
    }
}

/// Tells the loop when the call's room has been joined.
final class RoomJoinedListener: CallListener {
    let joined: @Sendable (ConfabSession) -> Void
    init(joined: @escaping @Sendable (ConfabSession) -> Void) { self.joined = joined }
    func callClient(_ client: CallClient, didJoinRoomOf call: CallID, session: ConfabSession) { joined(session) }
}

/// The home screen, and the call screen while in a call's room.
public final class ConnectScreen: FrontScreen {
    public typealias Message = ConnectMessage

    public enum Outcome: Hashable, Sendable {
        case quit
    }

    public let home: HomeScreen
    public private(set) var call: CallScreen?
    /// A signal came: quit.
    private var interruptedByUser = false
    /// Why the connection ended, when it was not asked for.
    public private(set) var disconnectReason: String?
    let config: ClientConfig
    let timeZone: TimeZone
    /// Notices from opening the call's audio (no sound card), shown in the call's chat pane.
    let roomNotices: () -> [String]
    private let post: @Sendable (ConnectMessage) -> Void
    private let performHome: (HomeCommand) -> Void
    private var generation = 0
    private var roomObservation: StoreObservation?
    private var keyReleasesOn = false
    private var requests = FrontRequests()

    public init(
        calls: CallState, server: String, config: ClientConfig, now: Date, timeZone: TimeZone = .current,
        roomNotices: @escaping () -> [String] = { [] }, post: @escaping @Sendable (ConnectMessage) -> Void,
        perform: @escaping (HomeCommand) -> Void
    ) {
        home = HomeScreen(
            model: HomeModel(ringBell: config.ringBell), state: calls, view: HomeView(server: server, timeZone: timeZone),
            now: now, perform: perform)
        self.config = config
        self.timeZone = timeZone
        self.roomNotices = roomNotices
        self.post = post
        performHome = perform
        perform(.loadHistory)
    }

    deinit { roomObservation?.cancel() }

    public func handle(_ input: TerminalInput, at time: Date) {
        guard let call else { return home.handle(input, at: time) }
        call.handle(input, at: time)
        hangUpIfLeft()
    }

    public func handle(_ message: ConnectMessage, at time: Date) -> Bool {
        switch message {
        case .calls(let update):
            if case .disconnected(let reason) = update.event { disconnectReason = reason ?? disconnectReason }
            _ = home.handle(update, at: time)
            call?.calls = update.state
            // The call ended (or we hung up): back home, where the outcome shows.
            if call != nil, update.state.call == nil { leaveCallScreen() }
        case .joined(let room):
            guard home.state.call != nil else { return false }
            enterCallScreen(room, at: time)
        case .room(let generation, let update):
            guard generation == self.generation, let call else { return false }
            let changed = call.handle(.update(update), at: time)
            hangUpIfLeft()
            return changed
        case .failed(let text):
            if let call { call.room.model.setNotice(text, error: true) } else { home.model.setNotice(text, error: true) }
        case .voice(let answer):
            guard let call else { return false }
            return call.handle(answer, at: time)
        }
        return true
    }

    public func tick(at time: Date) -> Bool {
        call?.tick(at: time) ?? home.tick(at: time)
    }

    public func render(into frame: inout Frame, at time: Date) {
        if let call { call.render(into: &frame, at: time) } else { home.render(into: &frame, at: time) }
    }

    public var outcome: Outcome? { interruptedByUser || home.outcome != nil ? .quit : nil }

    public func interrupted() { interruptedByUser = true }

    public func keyReleasesReported() {
        keyReleasesOn = true
        call?.keyReleasesReported()
    }

    public func takeRequests() -> FrontRequests {
        var all = requests.take()
        for other in [home.takeRequests(), call?.takeRequests()].compactMap({ $0 }) {
            all.bells += other.bells
            all.repaint = all.repaint || other.repaint
        }
        return all
    }

    private func enterCallScreen(_ room: JoinedRoom, at time: Date) {
        roomObservation?.cancel()
        generation += 1
        var model = MeetingModel.callScreen(keyMap: config.keyMap, mentionBell: config.mentionBell)
        model.pushToTalk = keyReleasesOn ? .hold : .toggle
        if room.hasDevices {
            model.offerVoice(room.voiceChain)
            model.offerDevices()
        }
        let view = CallScreenView(timeZone: timeZone)
        let meeting = MeetingScreen(
            model: model, state: room.store.state, notices: roomNotices(), now: time, view: view.meeting, perform: room.perform)
        call = CallScreen(room: meeting, calls: home.state, view: view) { [performHome] commands in
            for command in commands { performHome(command) }
        }
        let generation = self.generation
        let post = self.post
        roomObservation = room.store.observe { post(.room(generation: generation, $0)) }
        requests.repaint = true
    }

    private func leaveCallScreen() {
        roomObservation?.cancel()
        roomObservation = nil
        call = nil
        generation += 1
        requests.repaint = true
    }

    /// Leaving the call's room in any way is hanging up.
    private func hangUpIfLeft() {
        guard call?.outcome != nil else { return }
        leaveCallScreen()
        performHome(.hangup)
    }
}

public final class CallApp {
    let client: CallClient
    let theme: Theme
    let config: ClientConfig
    let noColor: Bool
    let server: String
    /// Notices from opening the call's audio (no sound card), shown in the call's chat pane.
    let roomNotices: @Sendable () -> [String]
    /// The processing and devices of a call room's audio, as the meeting front has them (nil: no audio).
    let roomVoice: @Sendable (ConfabSession) -> (any AudioControls)?

    public init(
        client: CallClient, server: String, theme: Theme, config: ClientConfig, noColor: Bool,
        roomNotices: @escaping @Sendable () -> [String] = { [] },
        roomVoice: @escaping @Sendable (ConfabSession) -> (any AudioControls)? = { _ in nil }
    ) {
        (self.client, self.server, self.theme, self.config) = (client, server, theme, config)
        (self.noColor, self.roomNotices, self.roomVoice) = (noColor, roomNotices, roomVoice)
    }

    /// Runs until the user quits or the server connection ends for good; the
    /// terminal is restored before it returns. Returns why the connection
    /// ended, when it was not asked for.
    public func run() async throws -> String? {
        let (inputs, continuation) = AsyncStream<FrontInput<ConnectMessage>>.makeStream(bufferingPolicy: .unbounded)
        let post: @Sendable (ConnectMessage) -> Void = { continuation.yield(.message($0)) }
        let client = self.client
        let roomVoice = self.roomVoice
        let listener = RoomJoinedListener { session in
            // The voice keys and /device, as in a meeting, when the call's room has audio.
            let voice = roomVoice(session)
            Task {
                let chain = await voice?.chain()
                post(.joined(JoinedRoom(store: session.store, voiceChain: chain, hasDevices: voice != nil) { command, state in
                    if let voice, MeetingApp.perform(command, on: voice, answer: { post(.voice($0)) }) { return }
                    MeetingApp.perform(command, on: session, state: state) { post(.failed($0)) }
                }))
            }
        }
        client.addListener(listener)
        let observation = client.store.observe { post(.calls($0)) }
        defer { observation.cancel() }
        let screen = ConnectScreen(
            calls: client.store.state, server: server, config: config, now: Date(), roomNotices: roomNotices, post: post
        ) { command in Self.perform(command, on: client) { post(.failed($0)) } }
        _ = try await runFrontInTerminal(screen, theme: theme, noColor: noColor, inputs: inputs, continuation: continuation) {
            if $0 != nil { await client.disconnect() }
        }
        withExtendedLifetime(listener) {}
        return screen.disconnectReason
    }

    /// Runs a command against the call client in its own task: the screen never waits on the network.
    static func perform(_ command: HomeCommand, on client: CallClient, failed: @escaping @Sendable (String) -> Void) {
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
                failed(error.messageWithWait)
            }
        }
    }
}
