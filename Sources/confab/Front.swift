// The options and start-up shared by `confab join` (without --headless) and
// `confab demo`: settings, theme, then the terminal front or, with
// --screen-reader, plain lines.
import ArgumentParser
import ConfabClient
import ConfabTUI
import Foundation
import Logging

struct FrontOptions: ParsableArguments {
    @Option(help: "The colour theme: a name (see `confab themes`) or a TOML file. Default: config.toml's, else default.")
    var theme: String?

    @Flag(name: .customLong("screen-reader"), help: "No animated bars: every change is written as a plain line.")
    var screenReader = false

    @Option(help: "The client settings file (default ~/.config/confab/config.toml).")
    var config: String?

    /// Log lines would draw over the screen: the front runs with logging off.
    static func silenceLogs() {
        LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
    }

    /// Settings and theme; problems are reported on stderr (before the screen
    /// takes over) and the defaults used instead.
    func settings() -> (ClientConfig, Theme) {
        var settings = ClientConfig()
        do {
            settings = try ClientConfig.load(path: config ?? ClientConfig.defaultPath())
        } catch {
            FileHandleOutput.standardError("confab: \(error); using the default settings")
        }
        let (theme, problem) = ThemeLoader.loadOrDefault(self.theme ?? settings.theme)
        if let problem {
            FileHandleOutput.standardError("confab: theme \(problem); using the default theme")
        }
        return (settings, theme)
    }

    /// config.toml's `[audio]`, read quietly: `settings()` reports a broken file.
    func audioPreferences() -> AudioPreferences {
        (try? ClientConfig.load(path: config ?? ClientConfig.defaultPath()))?.audio ?? AudioPreferences()
    }

    /// Joins and runs the front until the user leaves or the session ends.
    /// `notices` (a missing sound card) are shown in the front, where they are seen.
    /// `lines`: the typed lines when they were read before (the sound check), else stdin's from here.
    /// `voiceFlags`: the processing flags given, which a device switched to does not override.
    func run(session: ConfabSession, notices: [String] = [], media: MediaController? = nil,
             lines: AsyncStream<String>? = nil, voiceFlags: VoiceOverrides = VoiceOverrides()) async throws {
        let (settings, theme) = self.settings()
        let notices = DeviceNotices.plain(notices)
        do {
            try await session.join()
        } catch {
            throw CommandFailure(error.message)
        }
        var reason: DisconnectReason?
        var plainLines = screenReader
        if !screenReader {
            guard isatty(0) != 0, isatty(1) != 0 else {
                await session.leave()
                throw CommandFailure("the terminal front needs a terminal; use --headless or --screen-reader")
            }
            let noColor = !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
            do {
                // The processing's keys (with a microphone) and /device.
                // A device switched to is remembered in config.toml for the next meeting.
                let voice = media.map { EngineAudioControls(
                    controller: $0, configPath: config ?? ClientConfig.defaultPath(), flags: voiceFlags) }
                reason = try await MeetingApp(session: session, theme: theme, config: settings, noColor: noColor, voice: voice)
                    .run(notices: notices)
            } catch let problem as TerminalProblem {
                guard case .cannotDrawScreens = problem else {
                    await session.leave()
                    throw CommandFailure("\(problem)")
                }
                // TERM=dumb: the meeting as plain lines, which such a terminal shows well.
                FileHandleOutput.standardOutput("confab: \(problem)")
                plainLines = true
            } catch {
                await session.leave()
                throw CommandFailure("cannot start the terminal front: \(error)")
            }
        }
        if plainLines {
            reason = await LineFront(session: session, config: settings) { FileHandleOutput.standardOutput($0) }
                .run(lines: lines ?? StandardInputLines.stream(), notices: notices)
        }
        // Removal and the room ending were shown in the front; they are how
        // meetings end, not failures of the program.
        try reason?.endCommand(removalFails: false)
    }
}
