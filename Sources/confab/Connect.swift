// `confab connect wss://HOST:PORT --token T`: online on a server, ringing and
// rung. In a terminal: the home screen (who is online, recent calls) and the
// call screen (CallApp); with --screen-reader, plain lines (CallLineFront).
// With --headless --events: events go to stdout as JSON lines, commands come
// from stdin (`call bob`, `accept`, `reject`, `cancel`, `hangup`, `history`,
// `quit`, or the same as JSON objects); see docs/BOTS.md. With --input and
// --output, the call's room gets audio like `confab join`'s.
import ArgumentParser
import ConfabClient
import ConfabMedia
import ConfabProtocol
import ConfabTUI
import Foundation
import Logging
import Synchronization

struct Connect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Go online on a server to place and answer calls: a home screen, or headless with JSON lines (see docs/BOTS.md).",
        discussion: """
            --token takes a user token (a room token is refused), made on the server:
              confab token --user NAME
            The rooms of calls get their own tokens from the server.
            """)

    @Argument(help: "The server: wss://HOST:PORT.")
    var url: String

    @OptionGroup var server: ServerAccessOptions

    @OptionGroup var participant: ParticipantOptions

    /// What you say in calls and where what you hear goes.
    @OptionGroup var audio: AudioDeviceOptions

    @OptionGroup var front: FrontOptions

    @OptionGroup var check: DeviceCheckOptions

    func validate() throws {
        if participant.headless, front.screenReader {
            throw ValidationError("--headless and --screen-reader do not go together")
        }
        try check.validate(headless: participant.headless)
    }

    func run() async throws {
        let token = server.resolvedToken ?? ""
        let audioNotices = AudioNotices()
        let callVoices = CallVoices()
        let checked = CheckedDevices()
        let headless = participant.headless
        let logger = participant.commandLogger(label: "confab.connect")
        let client: CallClient
        do {
            client = try CallClient(
                url: url, token: token, fingerprint: server.fingerprint, displayName: participant.name,
                knownServersPath: server.knownServersPath, prepareRoom: roomAudio(notices: audioNotices, voices: callVoices, checked: checked),
                logger: logger)
        } catch {
            throw CommandFailure(error.message)
        }
        guard headless else {
            return try await runFront(client, audioNotices: audioNotices, voices: callVoices, checked: checked)
        }
        // One write per line, so lines from different tasks never interleave.
        let headlessClient = HeadlessCallClient(client: client) { FileHandleOutput.standardOutput($0) }
        let ok = await headlessClient.run(input: StandardInputLines.stream(), printsEvents: participant.events)
        guard ok else {
            if case .disconnected(let reason?) = client.store.state.connection { throw CommandFailure(reason) }
            throw CommandFailure("disconnected from the server")
        }
    }

    /// The home screen (or plain lines with --screen-reader) until the user quits.
    private func runFront(
        _ client: CallClient, audioNotices: AudioNotices, voices: CallVoices, checked: CheckedDevices
    ) async throws {
        let (settings, theme) = front.settings()
        if !front.screenReader {
            guard isatty(0) != 0, isatty(1) != 0 else {
                throw CommandFailure("the terminal front needs a terminal; use --headless or --screen-reader")
            }
        }
        // The sound check before going online; the screen reader's typed lines go on to the front.
        let lines = front.screenReader ? StandardInputLines.stream() : nil
        let preferences = front.audioPreferences()
        if let planned = audio.devices(headless: false, preferences: preferences) {
            guard let devices = try await check.offer(devices: planned, preferences: preferences, front: front, lines: lines) else {
                return
            }
            // A choice that differs is in config.toml now, which each call reads (and `/device` updates);
            // only --input/--output would hide it.
            if audio.input != nil || audio.output != nil { checked.set(devices) }
        }
        do {
            try await client.connect()
        } catch {
            throw CommandFailure(error.message)
        }
        let reason: String?
        if front.screenReader {
            reason = await CallLineFront(
                client: client, config: settings, roomNotices: { audioNotices.take() }, roomVoice: { voices.controls(for: $0) }
            ) { FileHandleOutput.standardOutput($0) }
                .run(lines: lines ?? StandardInputLines.stream())
        } else {
            let noColor = !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
            let server = "\(client.endpoint.host):\(client.endpoint.port)"
            do {
                reason = try await CallApp(
                    client: client, server: server, theme: theme, config: settings, noColor: noColor,
                    roomNotices: { audioNotices.take() }, roomVoice: { voices.controls(for: $0) }
                ).run()
            } catch {
                await client.disconnect()
                throw CommandFailure("cannot start the terminal front: \(error)")
            }
        }
        if let reason { throw CommandFailure(reason) }
    }

    /// Media for each call's room: a MediaController over the devices of
    /// --input and --output, opened afresh per call (a WAV output is
    /// finalised when the call's room is left).
    private func roomAudio(notices: AudioNotices, voices: CallVoices, checked: CheckedDevices) -> CallClient.RoomPreparation? {
        let headless = participant.headless
        guard audio.devices(headless: headless, preferences: front.audioPreferences()) != nil else { return nil }
        let (audio, front) = (self.audio, self.front)
        let configPath = front.config ?? ClientConfig.defaultPath()
        return { session in
            // Read per call: a device switched to in the last call is config.toml's now.
            let preferences = front.audioPreferences()
            guard let devices = checked.devices ?? audio.devices(headless: headless, preferences: preferences) else { return {} }
            let processing = audio.processing(input: devices.input, output: devices.output, preferences: preferences)
            // Lines on stderr would draw over the screen: the front shows them.
            let report: @Sendable (String) -> Void = { notice in
                if headless { FileHandleOutput.standardError("confab: \(notice)") } else { notices.add(notice) }
            }
            do {
                let media = try await AudioDeviceOptions.startMedia(
                    devices, processing: processing, session: session, logLevel: .warning, notice: report)
                // The call screen switches its processing and devices as a meeting's does.
                voices.add(EngineAudioControls(controller: media, configPath: configPath, flags: audio.voiceFlags), for: session)
                return {
                    voices.remove(session)
                    await media.stop()
                }
            } catch {
                report("cannot open the audio devices: \(error)")
                return {}
            }
        }
    }
}

/// Each call room's audio controls, for the call screen's voice keys and `/device`.
final class CallVoices: Sendable {
    private let controls = Mutex<[ObjectIdentifier: EngineAudioControls]>([:])

    func add(_ voice: EngineAudioControls, for session: ConfabSession) {
        controls.withLock { $0[ObjectIdentifier(session)] = voice }
    }

    func remove(_ session: ConfabSession) { _ = controls.withLock { $0.removeValue(forKey: ObjectIdentifier(session)) } }

    func controls(for session: ConfabSession) -> EngineAudioControls? { controls.withLock { $0[ObjectIdentifier(session)] } }
}

/// Notices from opening a call's audio (no sound card: null audio), kept for
/// the call screen: on stderr they would vanish behind it.
final class AudioNotices: Sendable {
    private let notices = Mutex<[String]>([])

    func add(_ notice: String) { notices.withLock { $0.append(notice) } }

    /// The notices so far, emptied.
    func take() -> [String] {
        notices.withLock { notices in
            defer { notices = [] }
            return notices
        }
    }
}

/// The devices the sound check before going online chose, for every call's room.
final class CheckedDevices: Sendable {
    private let chosen = Mutex<(input: String?, output: String)?>(nil)

    func set(_ devices: (input: String?, output: String)) { chosen.withLock { $0 = devices } }

    var devices: (input: String?, output: String)? { chosen.withLock { $0 } }
}
