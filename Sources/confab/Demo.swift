// `confab demo`: a whole meeting on this machine, in one process.
//
//   temp data dir ─▶ ConfabServer on 127.0.0.1:<free port> (self-signed, pinned by everyone)
//                 ─▶ three bots: headless ConfabSessions that chat, mute and unmute,
//                    raise hands, answer direct messages; the host bot asks you to
//                    unmute when you raise your hand (never unasked)
//                 ─▶ you, as host, in the terminal front
//
// The host and speaker bots talk through the server (end-to-end encrypted),
// so their level bars move; the listener bot joins a moment after you.
import ArgumentParser
import ConfabClient
import ConfabMedia
import ConfabProtocol
import ConfabServer
import ConfabTUI
import Foundation

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A meeting with three bots on this machine: a loopback server, bots, and you as host.")

    @OptionGroup var front: FrontOptions

    @Option(help: "Your display name.")
    var name = "You"

    @Flag(name: .customLong("bot-prompts"), inversion: .prefixedNo,
          help: "Whether the host bot asks you to unmute when you raise your hand.")
    var botPrompts = true

    func run() async throws {
        FrontOptions.silenceLogs()
        let data = NSTemporaryDirectory() + "confab-demo-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server: ConfabServer
        do {
            server = try await ConfabServer(
                configuration: ServerConfiguration(host: "127.0.0.1", port: 0, dataDirectory: data))
        } catch {
            throw CommandFailure("cannot start the demo server: \(error)")
        }
        let serverTask = Task { try await server.run() }
        defer { serverTask.cancel() }
        guard let port = await server.waitUntilListening(timeout: .seconds(20)) else {
            throw CommandFailure("the demo server did not start")
        }
        let authority = await TokenAuthority(secret: try DataDirectory(path: data).tokenSecret(create: false))
        let url = "wss://127.0.0.1:\(port)/demo"
        let fingerprint = server.identity.fingerprint.description

        func session(_ user: String, _ role: String, _ display: String, startMuted: Bool = true) async throws -> ConfabSession {
            let now = Int64(Date().timeIntervalSince1970)
            let claims = TokenClaims(
                room: RoomName(uncheckedRawValue: "demo"), peer: PeerID(uncheckedRawValue: user), name: display,
                role: RoleName(uncheckedRawValue: role), issuedAt: now, expiresAt: now + 86_400)
            let token = try await authority.sign(claims)
            return try ConfabSession(
                url: url, token: token, fingerprint: fingerprint, knownServersPath: nil, startMuted: startMuted)
        }

        // Your devices and whether you join muted, as `join` has them ([audio] in config.toml).
        let preferences = front.audioPreferences()
        let frameSamples = MediaConfiguration().frameSamples
        let (yourSource, yourSink, notices) = Self.yourAudio(preferences, frameSamples: frameSamples)
        let you = try await session(
            "you", "host", name,
            startMuted: preferences.joinsMuted(flag: nil, hasInput: yourSource != nil, inputNamed: false))
        let bots = [
            try await session("ada", "host", "Ada (bot)"),
            try await session("grace", "speaker", "Grace 霍普 (bot)"),
            try await session("linus", "listener", "Linus (bot)"),
        ]
        // Audio through the server, end to end encrypted: the two bots that may
        // speak talk a speech-like signal, each in its own voice; you listen on
        // your sound card (the null sink, quietly, where there is none) and
        // speak from its microphone once you unmute. Controllers start
        // before their sessions join, so no `joined` is missed.
        var controllers: [MediaController] = []
        // Your microphone is processed as in `join`: the devices' tables, else
        // [audio] in config.toml, else on for a sound card (a file or a generator as it is).
        var yourConfiguration = MediaConfiguration()
        let devices = preferences.frontDevices
        yourConfiguration.processing = preferences.processing(input: devices.input, output: devices.output)
        controllers.append(MediaController(session: you, source: yourSource, sink: yourSink, configuration: yourConfiguration))
        for (index, bot) in bots.enumerated() where index < 2 {
            controllers.append(MediaController(session: bot, source: SpeechLikeSource(seed: UInt64(index + 3)), sink: NullSink()))
        }
        for controller in controllers { await controller.start() }
        defer {
            let stopping = controllers
            Task { for controller in stopping { await controller.stop() } }
        }
        // A bot that cannot join only makes the demo quieter. The listener bot
        // joins a little after you, so you see someone arrive.
        for bot in bots.prefix(2) { _ = try? await bot.join() }
        // The host bot talks from the start; Grace mutes and unmutes herself in her script.
        _ = try? await bots[0].unmuteSelf()
        let botTasks = bots.enumerated().map { index, bot in
            Task { [botPrompts] in
                await DemoBot(session: bot, index: index, you: PeerID(uncheckedRawValue: "you"), asks: botPrompts).run()
            }
        }
        defer {
            for task in botTasks { task.cancel() }
        }
        do {
            try await front.run(session: you, notices: notices, media: controllers.first)
        } catch {
            for bot in bots { await bot.leave() }
            throw error
        }
        for task in botTasks { task.cancel() }
        for controller in controllers { await controller.stop() }
        for bot in bots { await bot.leave() }
        serverTask.cancel()
        _ = try? await serverTask.value
    }
}

extension Demo {
    /// Your microphone and speaker: `[audio] input`/`output`, else the default
    /// card. What fell back (no sound card) comes back as notices, shown in the
    /// front (printed now, they would vanish behind the screen).
    static func yourAudio(_ preferences: AudioPreferences, frameSamples: Int)
        -> (source: AudioSource?, sink: AudioSink, notices: [String])
    {
        var notices: [String] = []
        let devices = preferences.frontDevices
        let source: AudioSource?
        do {
            source = try AudioDevices.openSource(try AudioDeviceSpec.parse(devices.input), frameSamples: frameSamples) {
                notices.append($0)
            }
        } catch {
            notices.append("Cannot open the microphone \(devices.input) ([audio] input): \(error). Others hear nothing from you.")
            source = nil
        }
        let sink: AudioSink
        do {
            sink = try AudioDevices.openSink(try AudioDeviceSpec.parse(devices.output), frameSamples: frameSamples) {
                notices.append($0)
            }
        } catch {
            notices.append("Cannot open the speaker \(devices.output) ([audio] output): \(error). You hear nothing.")
            sink = NullSink()
        }
        return (source, sink, notices)
    }
}

/// One scripted participant. Steps are spaced a few seconds apart so a
/// person can follow them; each bot answers direct messages.
struct DemoBot {
    let session: ConfabSession
    let index: Int
    let you: PeerID
    /// Whether the host bot puts questions to you.
    let asks: Bool

    static let lines = [
        ["Welcome to the demo! I am the host bot.", "Try /mic to unmute and mute (m on the screen), /help for everything.",
         "Raise your hand (/hand, or h) and I will ask you to unmute.",
         "You can /msg ada and I answer; /who lists who is here."],
        ["Hello from Grace 👋 — 你好!", "Names and chat may hold any script; widths come from wcwidth.",
         "I will unmute and mute myself now and then.", "Escape sequences in chat are shown harmless: \u{1B}[31mnot red\u{1B}[0m"],
        ["Linus here, listening.", "Listeners may chat but have no microphone.", "I raise my hand sometimes: ✋",
         "Scroll back through the chat with PgUp (on the screen)."],
    ]

    func run() async {
        // Replies to direct messages, from the bot's own event stream.
        let replies = Task {
            for await event in session.events() {
                guard case .chatMessage(let message) = event, message.from != session.state.you?.id,
                    case .peers = message.target
                else { continue }
                let text = TextSanitizer.singleLineDisplay(message.text)
                _ = try? await session.send("got your message: \(text.prefix(80))", toPeers: [message.from])
            }
        }
        defer { replies.cancel() }
        // The host bot answers a raised hand by asking you to unmute: a
        // question you invited, never one out of the blue.
        let invitations = Task {
            guard index == 0, asks else { return }
            for await event in session.events() {
                guard case .peerUpdated(let peer, let changed, _) = event, peer.id == you, changed.contains(.hand),
                    peer.isHandRaised, peer.microphone?.muted ?? false
                else { continue }
                try? await Task.sleep(for: .milliseconds(1500))
                _ = try? await session.askToUnmute(peer: you)
            }
        }
        defer { invitations.cancel() }
        var step = 0
        do {
            if session.state.you == nil {
                try await Task.sleep(for: .seconds(2))
                _ = try? await session.join()
            }
            try await Task.sleep(for: .milliseconds(800 + index * 700))
            while !Task.isCancelled {
                let lines = Self.lines[index]
                if step < lines.count {
                    _ = try? await session.broadcast(lines[step])
                }
                switch index {
                case 1:
                    try? await session.setMuted(step % 2 == 1)
                case 2 where step % 3 == 2:
                    let raised = session.state.you?.isHandRaised ?? false
                    if raised { try? await session.lowerHand() } else { try? await session.raiseHand() }
                default:
                    break
                }
                step += 1
                try await Task.sleep(for: .seconds(step < 4 ? 3 : 9 + index * 2))
            }
        } catch {
            // Cancelled: the demo is over.
        }
    }
}
