// A real terminal for the tests of the terminal fronts: tmux on a socket of
// its own (two test runs on one machine, say in two worktrees, must never
// type into each other's program), one session called "confab".

import Foundation

public struct Tmux: Sendable {
    public let socket = "confab-test-\(getpid())-\(UUID().uuidString.prefix(8))"

    public init() {}

    /// Starts `command` in a new session of `columns`×`rows`; without tmux,
    /// an error that fails the test (CI installs it). After the
    /// program the pane prints `exit=STATUS` (and, with `reportTerminalMode`,
    /// whether the terminal is back in canonical mode with echo: `icanon echo`)
    /// and stays open a minute, to be read. With `recordOutputTo`, everything
    /// the program writes to the terminal is appended to that file.
    public static func start(
        _ command: String, columns: Int = 120, rows: Int = 40, reportTerminalMode: Bool = false, recordOutputTo: String? = nil
    ) async throws -> Tmux {
        guard isInstalled else { throw ToolError("tmux is not installed (make deps installs it)") }
        let tmux = Tmux()
        let mode = reportTerminalMode ? "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo | tr '\\n' ' '; echo; " : ""
        try await tmux.run(["new-session", "-d", "-s", "confab", "-x", "\(columns)", "-y", "\(rows)", "\(command); echo \"exit=$?\"; \(mode)sleep 60"])
        if let recordOutputTo { try await tmux.run(["pipe-pane", "-O", "-t", "confab", "cat >> \(recordOutputTo)"]) }
        return tmux
    }

    /// Runs `body` with `command` started as `start` does; the session is killed afterwards, whatever happened.
    public static func session(
        _ command: String, columns: Int = 120, rows: Int = 40, reportTerminalMode: Bool = false, recordOutputTo: String? = nil,
        _ body: (Tmux) async throws -> Void
    ) async throws {
        let tmux = try await start(command, columns: columns, rows: rows, reportTerminalMode: reportTerminalMode, recordOutputTo: recordOutputTo)
        do {
            try await body(tmux)
        } catch {
            await tmux.kill()
            throw error
        }
        await tmux.kill()
    }

    /// `confab ARGUMENTS` as the terminal tests run it: UTF-8, `term`, a home of its own.
    public static func confab(_ arguments: String, home: TempDirectory, term: String = "tmux-256color", environment: String = "") -> String {
        "env \(environment.isEmpty ? "" : environment + " ")LANG=C.UTF-8 TERM=\(term) HOME=\(home.path) \(BuiltProducts.confab) \(arguments)"
    }

    /// What the empty input line of the fronts says while it does not have
    /// the focus: keys are actions then, not typing.
    public static let inputHint = "Tab or i to write"

    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") }

    @discardableResult
    public func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = try ChildProcess("/usr/bin/tmux", ["-L", socket, "-f", "/dev/null"] + arguments)
        let status = await process.wait(seconds: 20)
        return (status, process.standardOutput)
    }

    public func screen() async throws -> String {
        try await run(["capture-pane", "-p", "-t", "confab"]).output
    }

    public func keys(_ keys: String...) async throws {
        try await run(["send-keys", "-t", "confab"] + keys)
    }

    public func type(_ text: String) async throws {
        try await run(["send-keys", "-t", "confab", "-l", text])
    }

    /// Sends bytes to the program as if the terminal had sent them (escape
    /// sequences tmux itself would never produce, such as kitty key events).
    public func raw(_ bytes: String) async throws {
        try await run(["send-keys", "-t", "confab", "-H"] + bytes.utf8.map { String($0, radix: 16) })
    }

    /// Waits until the screen satisfies `condition`; returns the screen. On
    /// a timeout the error carries the last screen, for the test's report.
    @discardableResult
    public func waitFor(_ what: String, seconds: Double = 30, _ condition: (String) -> Bool) async throws -> String {
        var last = ""
        let met = try await waitUntil(seconds: seconds) {
            last = try await screen()
            return condition(last)
        }
        guard met else { throw ToolError("timed out waiting for \(what); the screen:\n\(last)") }
        return last
    }

    public func waitFor(_ text: String, seconds: Double = 30) async throws {
        try await waitFor("\"\(text)\"", seconds: seconds) { $0.contains(text) }
    }

    /// Watches the screen for `seconds`: `condition` must hold on every
    /// capture (something that must not happen, such as a question nobody
    /// asked for, or the mic closing while Space is held). Throws at the first
    /// screen that breaks it.
    public func expectSteady(_ what: String, seconds: Double, _ condition: (String) -> Bool) async throws {
        var broken: String?
        _ = try await waitUntil(seconds: seconds) {
            let current = try await screen()
            if !condition(current) { broken = current }
            return broken != nil
        }
        if let broken { throw ToolError("\(what) did not hold; the screen:\n\(broken)") }
    }

    public func kill() async {
        _ = try? await run(["kill-server"])
    }
}

/// Polls `condition` until it holds or `seconds` have passed; returns whether it held.
public func waitUntil(seconds: Double, every interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool) async throws -> Bool {
    try await waitUntil(timeout: .seconds(seconds), every: interval, condition)
}
