// `confab join wss://HOST:PORT/ROOM --token T [--fingerprint SHA256:…]`: the
// interactive terminal front (ConfabTUI), or with `--headless --events` a
// headless participant for bots and scripts. Headless, events go to stdout as
// JSON lines, commands come from stdin as JSON lines (docs/BOTS.md); end of
// input leaves the room.
import ArgumentParser
import ConfabClient
import ConfabMedia
import ConfabProtocol
import ConfabTUI
import Foundation
import Logging
import Synchronization

struct Join: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join a room in the terminal front, or headless with JSON lines in and out (see docs/BOTS.md).",
        discussion: """
            --token takes a room token, made on the server:
              confab token --room ROOM --user NAME --role ROLE
            or join with a meeting code (confab admin code) and a name:
              confab join wss://HOST:PORT/ROOM --code CODE --name NAME
              confab join 'confab://HOST:PORT/ROOM?code=CODE&fp=SHA256:…' --name NAME
            """)

    @Argument(help: "The room: wss://HOST:PORT/ROOM, or a meeting link confab://HOST:PORT/ROOM?code=…&fp=SHA256:….")
    var url: String

    @OptionGroup var server: JoinAccessOptions

    @OptionGroup var participant: ParticipantOptions

    @OptionGroup var front: FrontOptions

    @OptionGroup var audio: AudioDeviceOptions

    @OptionGroup var check: DeviceCheckOptions

    @Flag(inversion: .prefixedNo,
          help: "Join with the microphone muted (--no-muted: on). Default: config.toml's [audio] joinMuted, else muted unless --input names a source.")
    var muted: Bool?

    @Option(help: "Leave the room after this many seconds.")
    var duration: Double?

    func validate() throws {
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        try validateAccess()
        try check.validate(headless: participant.headless)
    }

    func run() async throws {
        let (url, token, fingerprint) = try await resolveAccess()
        let headless = participant.headless
        let logger = participant.commandLogger(label: "confab.join")
        let preferences = front.audioPreferences()
        // The devices: `--input`/`--output`, then (the front only) `[audio] input`/`output`.
        var devices = audio.devices(headless: headless, preferences: preferences)
        // The front's sound check before joining; the screen reader's typed lines go on to the meeting.
        let lines = !headless && front.screenReader ? StandardInputLines.stream() : nil
        if !headless, let planned = devices, lines != nil || (isatty(0) != 0 && isatty(1) != 0) {
            guard let checked = try await check.offer(devices: planned, preferences: preferences, front: front, lines: lines) else {
                return
            }
            devices = checked
        }
        let session: ConfabSession
        do {
            session = try ConfabSession(
                url: url, token: token, fingerprint: fingerprint, displayName: participant.name,
                knownServersPath: server.knownServersPath,
                // [audio] joinMuted is the front's setting: bots do not read it.
                startMuted: (headless ? AudioPreferences() : preferences).joinsMuted(
                    flag: muted, hasInput: devices?.input != nil, inputNamed: audio.input != nil),
                logger: logger)
        } catch {
            throw CommandFailure(error.message)
        }

        // Audio: with --input or --output, and always in the terminal front.
        var controller: MediaController?
        var audioNotices: [String] = []
        if let devices {
            do {
                // Nothing may print over the terminal front: it shows the notices
                // itself (stderr would vanish behind it); headless, they go to stderr.
                controller = try await AudioDeviceOptions.startMedia(
                    devices, processing: audio.processing(input: devices.input, output: devices.output, preferences: preferences),
                    session: session, logLevel: headless ? .warning : .critical
                ) { notice in
                    if headless { FileHandleOutput.standardError("confab: \(notice)") } else { audioNotices.append(notice) }
                }
            } catch {
                throw CommandFailure("cannot open the audio devices: \(error)")
            }
        }

        guard headless else {
            try await front.run(
                session: session, notices: audioNotices, media: controller, lines: lines, voiceFlags: audio.voiceFlags)
            await controller?.stop()
            return
        }
        let output = StandardOutput()
        let printsEvents = participant.events
        let client = HeadlessClient(session: session, media: controller) { line in
            output.write(line)
        }
        // Ctrl-C and SIGTERM leave the room properly instead of dropping the connection.
        StopSignal.install()
        let leaveAt = duration.map { ContinuousClock.now + .milliseconds(Int64($0 * 1_000)) }
        let signalWatch = Task {
            while !StopSignal.raised.load(ordering: .relaxed) {
                if let leaveAt, ContinuousClock.now >= leaveAt { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            await session.leave()
        }
        defer { signalWatch.cancel() }
        // With --duration, the end of stdin does not leave early (bots fed from /dev/null).
        let commands = duration == nil ? StandardInputLines.stream() : AsyncStream<String> { _ in }
        let reason = await client.run(input: commands, printsEvents: printsEvents)
        // Finalises a WAV output.
        await controller?.stop()
        try reason.endCommand(removalFails: true)
    }
}

extension DisconnectReason {
    /// How a command that ran a session ends for this reason: normally when the
    /// meeting ended as meetings do, with the cause as its failure otherwise.
    /// Being removed is a failure for a bot, which was not shown why.
    func endCommand(removalFails: Bool) throws(CommandFailure) {
        switch self {
        case .left, .roomEnded:
            return
        case .removed(let by, let message):
            guard removalFails else { return }
            throw CommandFailure("removed from the room" + (by.map { " by \($0)" } ?? "") + (message.map { ": \($0)" } ?? ""))
        case .replaced:
            throw CommandFailure("another connection joined with the same identity")
        case .gaveUp:
            throw CommandFailure("lost the connection and could not reconnect")
        case .failed(let error):
            throw CommandFailure(error.description)
        }
    }
}

/// Whole lines to stdout, one write each, so lines from different tasks never interleave.
private final class StandardOutput: Sendable {
    private let lock = Mutex(())

    func write(_ line: String) {
        let data = Data((line + "\n").utf8)
        lock.withLock { _ in FileHandle.standardOutput.write(data) }
    }
}

/// Stdin as an AsyncStream of lines, read on a thread of its own (reading
/// blocks). A line over the command limit is cut (InputLineSplitter), so a
/// runaway writer costs one error line, not the client's memory.
enum StandardInputLines {
    static func stream() -> AsyncStream<String> {
        let queue = InputLineQueue()
        let reader = Thread {
            var splitter = InputLineSplitter()
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            var takerGone = false
            while !takerGone {
                let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                splitter.feed(chunk[..<count]) { line in
                    if !takerGone, !queue.put(line) { takerGone = true }
                }
            }
            if !takerGone { splitter.finish { _ = queue.put($0) } }
            queue.finish()
        }
        reader.name = "confab-stdin"
        reader.start()
        return queue.lines
    }
}
