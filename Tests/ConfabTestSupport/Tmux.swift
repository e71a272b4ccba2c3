// A real terminal for the tests of the terminal fronts: tmux on a socket of
// its own (two test runs on one machine, say in two worktrees, must never
// type into each other's program), one session called "confab".

import Foundation

public struct Tmux: Sendable {
    public let socket = "confab-test-\(getpid())-\(UUID().uuidString.prefix(8))"

    public init() {}

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
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            last = try await screen()
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ToolError("timed out waiting for \(what); the screen:\n\(last)")
    }

    public func waitFor(_ text: String, seconds: Double = 30) async throws {
        try await waitFor("\"\(text)\"", seconds: seconds) { $0.contains(text) }
    }

    public func kill() async {
        _ = try? await run(["kill-server"])
    }
}
