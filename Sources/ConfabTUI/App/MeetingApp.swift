// The interactive front of `confab join` and `confab demo`: the front loop
// on the real terminal, hosting the meeting screen. The screen's commands
// run against the session in tasks of their own (the screen never waits on
// the network); a refusal comes back as a message.
//
//   RoomStore update ─▶ FrontLoop ─▶ MeetingScreen ─▶ MeetingCommand ─▶ Task { session.… } ─▶ commandFailed
import ConfabClient
import ConfabProtocol
import Foundation

public final class MeetingApp {
    let session: ConfabSession
    let theme: Theme
    let config: ClientConfig
    let noColor: Bool
    /// The microphone's processing, switched from the screen (nil: none).
    let voice: (any AudioControls)?

    public init(session: ConfabSession, theme: Theme, config: ClientConfig, noColor: Bool, voice: (any AudioControls)? = nil) {
        self.voice = voice
        self.session = session
        self.theme = theme
        self.config = config
        self.noColor = noColor
    }

    /// Runs until the user leaves or the session ends; the terminal is
    /// restored before it returns. `notices` (such as "no sound card") start
    /// the chat pane as system lines. Returns how the session ended.
    public func run(notices: [String] = []) async throws -> DisconnectReason? {
        let (inputs, continuation) = AsyncStream<FrontInput<MeetingMessage>>.makeStream(bufferingPolicy: .unbounded)
        let session = self.session
        let observation = session.store.observe { continuation.yield(.message(.update($0))) }
        defer { observation.cancel() }
        var model = MeetingModel(keyMap: config.keyMap, mentionBell: config.mentionBell)
        let voice = self.voice
        if let voice {
            model.offerVoice(await voice.chain())
            model.offerDevices()
        }
        let screen = MeetingScreen(model: model, state: session.store.state, notices: notices, now: Date()) { command, state in
            if let voice, Self.perform(command, on: voice, answer: { continuation.yield(.message($0)) }) { return }
            Self.perform(command, on: session, state: state) { continuation.yield(.message(.commandFailed($0))) }
        }
        _ = try await runFrontInTerminal(screen, theme: theme, noColor: noColor, inputs: inputs, continuation: continuation) {
            if $0 == .leave { await session.leave() }
        }
        return screen.disconnectReason ?? session.store.state.disconnectReason
    }

    /// Carries out a meeting command on `session` in its own task; a refusal
    /// comes back through `failed` (the call screen and the line front run
    /// their meeting's commands here too).
    static func perform(
        _ command: MeetingCommand, on session: ConfabSession, state: RoomState, failed: @escaping @Sendable (String) -> Void
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
                case .listRoster(let request): _ = try await session.listRoster(request)
                case .setState(let key, let value): try await session.setState(key, to: value)
                case .markRead:
                    for conversation in state.unread.keys { await session.markRead(conversation) }
                case .bell, .leave, .exit, .setVoice, .reportVoice, .listDevices, .switchDevice: break
                }
            } catch {
                failed(error.messageWithWait)
            }
        }
    }
}

extension MeetingApp {
    /// The processing's and the devices' commands, on `voice`; false for any
    /// other command. What they have to say comes back through `answer`.
    static func perform(
        _ command: MeetingCommand, on voice: any AudioControls, answer: @escaping @Sendable (MeetingMessage) -> Void
    ) -> Bool {
        switch command {
        case .setVoice(let chain):
            voice.setChain(chain)
        case .reportVoice:
            Task {
                guard let chain = await voice.chain() else { return }
                answer(.notice(MeetingModel.voiceReport(chain, await voice.counters())))
            }
        case .listDevices:
            Task { answer(.lines(["Sound devices (/device input|output NAME switches):"] + (await voice.devices()))) }
        case .switchDevice(let input, let name):
            Task {
                let (switched, text) = await voice.switchDevice(input: input, to: name)
                answer(.notice(text, error: !switched))
                // The device may bring processing settings of its own (config.toml's [audio.device."NAME"]).
                if switched { answer(.voiceChain(await voice.chain())) }
            }
        default:
            return false
        }
        return true
    }
}

extension RoomState {
    /// Why the session ended, if it has.
    var disconnectReason: DisconnectReason? {
        if case .disconnected(let reason) = connection { return reason }
        return nil
    }
}
