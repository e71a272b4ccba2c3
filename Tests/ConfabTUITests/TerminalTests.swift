// The real thing: `confab demo` in a real terminal (tmux on a private
// socket), driven by keys and read back as text. Runs with the real-time
// suites (one at a time): a debug build on two cores needs the CPU.
import ConfabTestSupport
import Foundation
import Testing

/// tmux on its own socket; the server is always killed at the end.
struct Tmux {
    let socket = "confab-test"

    @discardableResult
    func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = try ChildProcess("/usr/bin/tmux", ["-L", socket, "-f", "/dev/null"] + arguments)
        let status = await process.wait(seconds: 20)
        return (status, process.standardOutput)
    }

    func screen() async throws -> String {
        try await run(["capture-pane", "-p", "-t", "confab"]).output
    }

    func keys(_ keys: String...) async throws {
        try await run(["send-keys", "-t", "confab"] + keys)
    }

    func type(_ text: String) async throws {
        try await run(["send-keys", "-t", "confab", "-l", text])
    }

    /// Waits until the screen satisfies `condition`; returns the screen.
    @discardableResult
    func waitFor(_ what: String, seconds: Double = 30, _ condition: (String) -> Bool) async throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            last = try await screen()
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("timed out waiting for \(what); the screen:\n\(last)")
        throw ToolError("timed out waiting for \(what)")
    }

    func waitFor(_ text: String, seconds: Double = 30) async throws {
        try await waitFor("\"\(text)\"", seconds: seconds) { $0.contains(text) }
    }

    func kill() async {
        _ = try? await run(["kill-server"])
    }
}

@Suite("confab demo in a real terminal")
struct TerminalTests {
    @Test("tiles, mute, chat, /msg, help, resize, and quit with the terminal restored", .timeLimit(.minutes(3)))
    func demoUnderTmux() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            Issue.record("tmux is not installed (make deps installs it)")
            return
        }
        let home = try TempDirectory(prefix: "confab-tmux-home")
        let tmux = Tmux()
        await tmux.kill()
        let command =
            "env LANG=C.UTF-8 TERM=tmux-256color HOME=\(home.path) \(BuiltProducts.confab) demo --no-bot-prompts; "
            + "echo \"exit=$?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo | tr '\\n' ' '; echo; sleep 60"
        do {
            try await tmux.run(["new-session", "-d", "-s", "confab", "-x", "120", "-y", "40", command])
            // The bots' tiles.
            try await tmux.waitFor("the bots' tiles", seconds: 90) {
                $0.contains("Ada (bot)") && $0.contains("Grace") && $0.contains("Linus (bot)") && $0.contains("● connected")
            }
            // We start muted: m unmutes, m mutes again.
            try await tmux.waitFor("mic muted")
            try await tmux.keys("m")
            try await tmux.waitFor("mic on")
            try await tmux.keys("m")
            try await tmux.waitFor("mic muted")
            // A chat line.
            try await tmux.keys("i")
            try await tmux.type("hello from tmux")
            try await tmux.keys("Enter")
            try await tmux.waitFor("you: hello from tmux")
            // A direct message, and the bot's answer.
            try await tmux.type("/msg ada just for you")
            try await tmux.keys("Enter")
            try await tmux.waitFor("[dm]: just for you")
            try await tmux.waitFor("got your message")
            // Help opens and closes.
            try await tmux.keys("Escape")
            try await Task.sleep(for: .milliseconds(300))
            try await tmux.keys("?")
            try await tmux.waitFor("/msg NAME text")
            try await tmux.keys("Escape")
            try await tmux.waitFor("help closed") { !$0.contains("/msg NAME text") }
            // Resize: smaller still fits, too small says so, larger again.
            try await tmux.run(["resize-window", "-t", "confab", "-x", "90", "-y", "26"])
            try await tmux.waitFor("the 90×26 layout") { screen in
                let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
                return screen.contains("● connected") && lines.count <= 27
            }
            try await tmux.run(["resize-window", "-t", "confab", "-x", "60", "-y", "20"])
            try await tmux.waitFor("too small")
            try await tmux.run(["resize-window", "-t", "confab", "-x", "120", "-y", "40"])
            try await tmux.waitFor("● connected")
            // Quit: q asks, y leaves; exit code 0 and a cooked terminal again.
            try await tmux.keys("q")
            try await tmux.waitFor("Leave the meeting?")
            try await tmux.keys("y")
            let final = try await tmux.waitFor("the exit line", seconds: 30) { $0.contains("exit=") && $0.contains("icanon") }
            #expect(final.contains("exit=0"))
            #expect(final.contains("icanon echo") || final.contains("echo icanon"))
            #expect(!final.contains("● connected"), "the meeting screen is still shown:\n\(final)")
        } catch {
            await tmux.kill()
            throw error
        }
        await tmux.kill()
    }
}
