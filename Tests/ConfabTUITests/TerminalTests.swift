// The real thing: `confab demo` in a real terminal (tmux on a private
// socket), driven by keys and read back as text. Runs with the real-time
// suites (one at a time): a debug build on two cores needs the CPU.
import ConfabTestSupport
import Foundation
import Glibc
import Testing

@Suite("confab demo in a real terminal")
struct TerminalTests {
    @Test("tiles, mute, chat, /msg, help, resize, and quit with the terminal restored", .timeLimit(.minutes(3)))
    func demoUnderTmux() async throws {
        let home = try TempDirectory(prefix: "confab-tmux-home")
        try await Tmux.session(Tmux.confab("demo --no-bot-prompts", home: home), reportTerminalMode: true) { tmux in
            // The bots' tiles.
            try await tmux.waitFor("the bots' tiles", seconds: 90) {
                $0.contains("Ada (bot)") && $0.contains("Grace") && $0.contains("Linus (bot)") && $0.contains("● connected")
            }
            // The bots talk through the server: their level bars move.
            try await expectMovingBars(tmux)
            // We start muted: m unmutes, m mutes again. The input line is not
            // focused (its hint shows), so m is a key, not a letter typed.
            try await tmux.waitFor("mic muted")
            try await tmux.waitFor(Tmux.inputHint)
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
            // Help opens and closes. Escape leaves the input line first (its hint shows again).
            try await tmux.keys("Escape")
            try await tmux.waitFor(Tmux.inputHint)
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
            // tmux does not speak the kitty keyboard protocol: Space toggles.
            #expect(try await tmux.screen().contains("Space: talk on/off"))
            // Quit: q asks, y leaves; exit code 0 and a cooked terminal again.
            try await tmux.keys("q")
            try await tmux.waitFor("Leave the meeting?")
            try await tmux.keys("y")
            let final = try await tmux.waitFor("the exit line", seconds: 30) { $0.contains("exit=") && $0.contains("icanon") }
            #expect(final.contains("exit=0"))
            #expect(final.contains("icanon echo") || final.contains("echo icanon"))
            #expect(!final.contains("● connected"), "the meeting screen is still shown:\n\(final)")
        }
    }

    @Test("a question arriving mid-sentence takes no keys; help pages to its end at 80×24; chat paging stops and End follows",
          .timeLimit(.minutes(3)))
    func promptHelpAndPagingUnderTmux() async throws {
        let home = try TempDirectory(prefix: "confab-tmux-home")
        try await Tmux.session(Tmux.confab("demo", home: home)) { tmux in
            try await tmux.waitFor("the meeting", seconds: 90) { $0.contains("Linus (bot)") && $0.contains("mic muted") }
            try await tmux.waitFor(Tmux.inputHint)
            // No question comes unasked: for ten seconds, nothing waits.
            try await tmux.expectSteady("no question unasked", seconds: 10) { !$0.contains("F2 to answer") }
            // Raise the hand (the host bot then asks us to unmute) and start a sentence at once.
            try await tmux.keys("h")
            try await tmux.keys("i")
            try await tmux.type("aaaa a banana")
            try await tmux.waitFor("the question, announced", seconds: 20) { $0.contains("asks you to unmute") && $0.contains("F2 to answer") }
            // The rest of the sentence, full of a's and d's, after the question came.
            try await tmux.type(" and a papaya")
            try await tmux.keys("Enter")
            try await tmux.waitFor("you: aaaa a banana and a papaya")
            #expect(try await tmux.screen().contains("mic muted"), "the mic opened")
            // Turning to it on purpose: F2 shows the dialog; d declines.
            try await tmux.keys("F2")
            try await tmux.waitFor("[a  unmute]")
            try await tmux.keys("d")
            try await tmux.waitFor("the question answered") { !$0.contains("F2 to answer") && !$0.contains("[a  unmute]") }
            #expect(try await tmux.screen().contains("mic muted"))

            // 80×24: help pages to its last entry.
            try await tmux.run(["resize-window", "-t", "confab", "-x", "80", "-y", "24"])
            try await tmux.keys("Escape")
            try await tmux.waitFor(Tmux.inputHint)
            try await tmux.keys("?")
            // The first page holds the keys (the processing's too); the commands come later.
            var current = try await tmux.waitFor("the help") { $0.contains("mute / unmute yourself") && $0.contains("Esc closes") }
            var seen = current
            for _ in 0..<8 where !seen.contains("(compare aloud)") {
                let before = Self.helpPosition(current)
                try await tmux.keys("NPage")
                current = try await tmux.waitFor("the next help page") { Self.helpPosition($0) != before }
                seen += current
            }
            for entry in ["/msg NAME text", "/role NAME ROLE", "/kick NAME", "/audience [NAME]", "/hand", "/mic", "/who", "/quit", "/audio", "/device",
                          "(compare aloud)"] {
                #expect(seen.contains(entry), "help never showed \(entry) at 80×24")
            }
            try await tmux.keys("Escape")
            try await tmux.waitFor("help closed") { !$0.contains("Esc closes") }

            // Chat paging far past its start stops at the first line; End (focus on the tiles) follows again.
            for _ in 0..<15 { try await tmux.keys("PPage") }
            let paged = try await tmux.waitFor("the chat scrolled back") { $0.contains("End") && $0.contains("↑") || $0.contains("new ↓") }
            let lines = paged.split(separator: "\n", omittingEmptySubsequences: false)
            let topOfChat = lines.count > 2 ? lines[2].split(separator: "│", omittingEmptySubsequences: false).dropLast().last ?? "" : ""
            let hasText = topOfChat.contains { $0.isLetter }
            #expect(hasText, "the top of the chat pane is empty after paging back:\n\(paged)")
            try await tmux.keys("End")
            try await tmux.waitFor("the chat following again") { !$0.contains("End to follow") && !$0.contains("new ↓") }
            try await tmux.keys("q")
            try await tmux.waitFor("Leave the meeting?")
            try await tmux.keys("y")
            let final = try await tmux.waitFor("the exit line", seconds: 30) { $0.contains("exit=") }
            #expect(final.contains("exit=0"))
        }
    }

    @Test("terminals: an unknown TERM says what to do, dumb gets plain lines, one without an alternate screen is cleared on exit",
          .timeLimit(.minutes(3)), arguments: ["no-such-terminal", "dumb", "vt100", "linux"])
    func terminalTypes(term: String) async throws {
        let home = try TempDirectory(prefix: "confab-tmux-home")
        try await Tmux.session(Tmux.confab("demo --no-bot-prompts", home: home, term: term)) { tmux in
            switch term {
            case "no-such-terminal":
                let final = try await tmux.waitFor("the exit line", seconds: 90) { $0.contains("exit=") }
                #expect(final.contains("exit=1"))
                #expect(final.contains("\"no-such-terminal\" is unknown here") && final.contains("TERM=xterm-256color"), "\(final)")
                #expect(!final.contains("Error opening terminal"))
            case "dumb":
                try await tmux.waitFor("plain lines", seconds: 90) { $0.contains("cannot draw screens") && $0.contains("Joined demo as host.") }
                #expect(!(try await tmux.screen()).contains("● connected"))
                try await tmux.type("/quit")
                try await tmux.keys("Enter")
                let final = try await tmux.waitFor("the exit line", seconds: 30) { $0.contains("exit=") }
                #expect(final.contains("exit=0"))
            default:
                try await tmux.waitFor("the meeting", seconds: 90) { $0.contains("Ada (bot)") && $0.contains("● connected") }
                try await tmux.keys("q")
                try await tmux.waitFor("Leave the meeting?")
                try await tmux.keys("y")
                let final = try await tmux.waitFor("the exit line", seconds: 30) { $0.contains("exit=") }
                #expect(final.contains("exit=0"))
                #expect(!final.contains("● connected") && !final.contains("Ada (bot)"), "the last frame stayed on the screen:\n\(final)")
            }
        }
    }

    @Test("COLORTERM=truecolor with a direct-colour terminfo entry draws the theme's exact colours", .timeLimit(.minutes(3)))
    func trueColour() async throws {
        guard Tmux.isInstalled, FileManager.default.isExecutableFile(atPath: "/usr/bin/tic") else {
            Issue.record("tmux or tic is not installed")
            return
        }
        let home = try TempDirectory(prefix: "confab-tmux-home")
        // A direct-colour entry of our own (ncurses-term ships xterm-direct; this machine may not have it).
        let source = home.file("direct.src")
        try """
            xterm-direct|xterm with direct colours,
            \tcolors#0x1000000, pairs#0x10000, RGB,
            \tsetaf=\\E[%?%p1%{8}%<%t3%p1%d%e38\\:2\\:\\:%p1%{65536}%/%d\\:%p1%{256}%/%{255}%&%d\\:%p1%{255}%&%d%;m,
            \tsetab=\\E[%?%p1%{8}%<%t4%p1%d%e48\\:2\\:\\:%p1%{65536}%/%d\\:%p1%{256}%/%{255}%&%d\\:%p1%{255}%&%d%;m,
            \tsetf@, setb@, initc@, ccc@, oc@,
            \tuse=xterm-256color,

            """.write(toFile: source, atomically: true, encoding: .utf8)
        let terminfo = home.file("terminfo")
        // tic writes nothing (and exits 0) when the directory is missing.
        try FileManager.default.createDirectory(atPath: terminfo, withIntermediateDirectories: true)
        let tic = try ChildProcess("/usr/bin/tic", ["-x", "-o", terminfo, source])
        #expect(await tic.wait(seconds: 20) == 0, "\(tic.standardError)")
        // swift test sets NO_COLOR for what it runs.
        let command = Tmux.confab(
            "demo --no-bot-prompts", home: home, term: "xterm-256color",
            environment: "-u NO_COLOR COLORTERM=truecolor TERMINFO=\(terminfo)")
        try await Tmux.session(command) { tmux in
            try await tmux.waitFor("the meeting", seconds: 90) { $0.contains("Ada (bot)") && $0.contains("● connected") }
            let coloured = try await tmux.run(["capture-pane", "-e", "-p", "-t", "confab"]).output
            // The default theme's text (#d8dcea) and surface (#262a38), exactly.
            #expect(coloured.contains("38;2;216;220;234") && coloured.contains("48;2;38;42;56"), "no 24-bit colours in the pane: \(coloured.prefix(300).debugDescription)")
            try await tmux.keys("q")
            try await tmux.waitFor("Leave the meeting?")
            try await tmux.keys("y")
            let final = try await tmux.waitFor("the exit line", seconds: 30) { $0.contains("exit=") }
            #expect(final.contains("exit=0"))
        }
    }

    /// The help's footer, "18–34 of 40", or nil.
    static func helpPosition(_ screen: String) -> String? {
        guard let match = screen.firstMatch(of: #/\d+–\d+ of \d+/#) else { return nil }
        return String(match.output)
    }

    /// The level bars on a screen: every run of eight or more bar cells (a
    /// tile's bar, a bar in the speaker strip), in screen order.
    static func barCells(_ screen: String) -> String {
        var bars: [String] = []
        var run = ""
        for character in screen {
            if "█▉▊▋▌▍▎▏·".contains(character) {
                run.append(character)
                continue
            }
            if run.count >= 8 { bars.append(run) }
            run = ""
        }
        if run.count >= 8 { bars.append(run) }
        return bars.joined(separator: "\n")
    }

    /// Captures the screen several times while the bots talk (everyone here,
    /// so the layout holds still): some bar is lit, and the bars are not the
    /// same in every capture.
    func expectMovingBars(_ tmux: Tmux) async throws {
        try await tmux.waitFor("all three bots") { $0.contains("Ada (bot)") && $0.contains("Grace") && $0.contains("Linus (bot)") }
        var captures: [String] = []
        _ = try? await tmux.waitFor("moving bars", seconds: 6) { screen in
            captures.append(Self.barCells(screen))
            return Set(captures).count >= 3 && captures.contains { $0.contains(where: { "█▉▊▋▌▍▎▏".contains($0) }) }
        }
        #expect(captures.contains { $0.contains(where: { "█▉▊▋▌▍▎▏".contains($0) }) }, "no level bar lit in \(captures.count) captures")
        #expect(Set(captures).count >= 3, "the level bars did not move: \(Set(captures).count) distinct of \(captures.count) captures")
    }

    @Test("kitty keyboard protocol: the answer switches Space to hold-to-talk; press talks, release mutes; typing works", .timeLimit(.minutes(3)))
    func kittyKeysUnderTmux() async throws {
        let home = try TempDirectory(prefix: "confab-tmux-home")
        let written = home.file("terminal-output")
        // Everything the program writes to the terminal, to find the push and the pop.
        try await Tmux.session(Tmux.confab("demo --no-bot-prompts", home: home), recordOutputTo: written) { tmux in
            try await tmux.waitFor("the meeting", seconds: 90) { $0.contains("Ada (bot)") && $0.contains("mic muted") }
            #expect(try await tmux.screen().contains("Space: talk on/off"))
            // tmux does not answer the query; we answer as a kitty terminal would.
            try await tmux.raw("\u{1B}[?0u")
            try await tmux.waitFor("hold Space to talk")
            // Space pressed (then repeated): talking; released: muted again.
            try await tmux.raw("\u{1B}[32;;32u\u{1B}[32;1:2;32u")
            try await tmux.waitFor("mic on")
            try await tmux.expectSteady("still talking while Space is held", seconds: 0.5) { $0.contains("mic on") }
            try await tmux.raw("\u{1B}[32;1:3u")
            try await tmux.waitFor("mic muted")
            // Held again, then the window loses focus: no release will come, so it mutes.
            try await tmux.raw("\u{1B}[32;;32u")
            try await tmux.waitFor("mic on")
            try await tmux.raw("\u{1B}[O")
            try await tmux.waitFor("mic muted")
            // Typing in the protocol's encoding: i, text with a shifted letter, Enter.
            try await tmux.raw("\u{1B}[105;;105u")
            for character in "Hi kitty".unicodeScalars {
                let code = character.properties.isUppercase ? "\(character.value + 32);2;\(character.value)" : "\(character.value);;\(character.value)"
                try await tmux.raw("\u{1B}[\(code)u\u{1B}[\(character.properties.isUppercase ? character.value + 32 : character.value);1:3u")
            }
            try await tmux.raw("\u{1B}[13u\u{1B}[13;1:3u")
            try await tmux.waitFor("you: Hi kitty")
            // Escape to the tiles, then q and y (kitty-encoded) leave.
            try await tmux.raw("\u{1B}[27u")
            try await tmux.waitFor(Tmux.inputHint)
            try await tmux.raw("\u{1B}[113;;113u")
            try await tmux.waitFor("Leave the meeting?")
            try await tmux.raw("\u{1B}[121;;121u")
            let final = try await tmux.waitFor("the exit line", seconds: 30) { $0.contains("exit=") }
            #expect(final.contains("exit=0"))
            let output = (try? String(contentsOfFile: written, encoding: .utf8)) ?? ""
            let push = output.range(of: "\u{1B}[>31u")
            let pop = output.range(of: "\u{1B}[<u", options: .backwards)
            #expect(output.contains("\u{1B}[?u"), "the program asked whether the terminal speaks the protocol")
            #expect(push != nil, "the flags were pushed")
            #expect(pop != nil, "the flags were popped on exit")
            #expect(output.contains("\u{1B}[?1004h") && output.contains("\u{1B}[?1004l"), "focus reporting on, then off")
            if let push, let pop { #expect(push.upperBound <= pop.lowerBound) }
        }
    }

    /// `confab demo` under tmux, its output recorded, once the kitty keyboard
    /// protocol is on (we answer the query as a kitty terminal would).
    func withKittyDemo(_ body: (Tmux, _ written: String) async throws -> Void) async throws {
        let home = try TempDirectory(prefix: "confab-tmux-home")
        let written = home.file("terminal-output")
        try await Tmux.session(Tmux.confab("demo --no-bot-prompts", home: home), reportTerminalMode: true, recordOutputTo: written) { tmux in
            try await tmux.waitFor("the meeting", seconds: 90) { $0.contains("Ada (bot)") && $0.contains("● connected") }
            try await tmux.raw("\u{1B}[?0u")
            try await tmux.waitFor("hold Space to talk")
            try await body(tmux, written)
        }
    }

    /// The program exited with `status`, the terminal is back in canonical mode with echo, and the flags were popped.
    func expectRestored(_ tmux: Tmux, written: String, status: String) async throws {
        let final = try await tmux.waitFor("the exit line", seconds: 30) { $0.contains("exit=") && $0.contains("icanon") }
        #expect(final.contains("exit=\(status)"))
        #expect(final.contains("icanon echo") || final.contains("echo icanon"))
        let output = (try? String(contentsOfFile: written, encoding: .utf8)) ?? ""
        #expect(output.contains("\u{1B}[>31u"), "the flags were pushed")
        #expect(output.contains("\u{1B}[<u"), "the flags were popped")
    }

    @Test("Ctrl-C in the kitty protocol's encoding leaves like SIGINT, popping the flags", .timeLimit(.minutes(3)))
    func kittyControlC() async throws {
        try await withKittyDemo { tmux, written in
            try await tmux.raw("\u{1B}[99;5u")
            try await expectRestored(tmux, written: written, status: "0")
        }
    }

    @Test("kitty flags are popped and the terminal restored when a signal ends the front", .timeLimit(.minutes(3)),
          arguments: [SIGTERM, SIGHUP, SIGSEGV])
    func kittySignals(signalNumber: Int32) async throws {
        try await withKittyDemo { tmux, written in
            // The pane runs `sh -c`, whose child is confab.
            let shell = try await tmux.run(["display-message", "-p", "-t", "confab", "#{pane_pid}"]).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
            let confab = try #require(children.split(separator: " ").first.flatMap { Int32($0) })
            #expect(Glibc.kill(confab, signalNumber) == 0)
            try await expectRestored(tmux, written: written, status: signalNumber == SIGSEGV ? "139" : "0")
        }
    }

    @Test("--screen-reader: plain lines for joins, chat and speaking; no bars, no escape sequences", .timeLimit(.minutes(3)))
    func screenReader() async throws {
        let home = try TempDirectory(prefix: "confab-reader-home")
        // The demo honours [audio] joinMuted as `join` does: here it joins with the microphone on.
        try FileManager.default.createDirectory(atPath: home.file(".config/confab"), withIntermediateDirectories: true)
        try "[audio]\njoinMuted = false\n".write(toFile: home.file(".config/confab/config.toml"), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = home.path
        environment["XDG_CONFIG_HOME"] = home.file(".config")
        environment["LANG"] = "C.UTF-8"
        let process = try ChildProcess(
            BuiltProducts.confab, ["demo", "--screen-reader", "--no-bot-prompts"], environment: environment, standardInput: .pipe)
        func waitFor(_ text: String, seconds: Double = 60) async throws {
            if try await waitUntil(seconds: seconds, { process.standardOutput.contains(text) }) { return }
            Issue.record("timed out waiting for \"\(text)\"; stdout:\n\(process.standardOutput)\nstderr:\n\(process.standardError)")
            throw ToolError("timed out waiting for \(text)")
        }
        do {
            try await waitFor("Joined demo as host.", seconds: 90)
            // No sound card here: one notice says so, in the front where it is seen.
            if !FileManager.default.fileExists(atPath: "/dev/snd") {
                try await waitFor("No sound card found: others hear silence from you and you hear nothing. `confab devices` lists what there is.")
            }
            // Someone joins after us, someone chats, someone starts to speak: a plain line each.
            try await waitFor("Linus (bot) joined as listener")
            try await waitFor("Ada (bot): Welcome to the demo! I am the host bot.")
            try await waitFor("Ada (bot) is speaking")
            // What we type is chat.
            try process.writeLine("hello from a screen reader")
            try await waitFor("you: hello from a screen reader")
            // Faster than the room's chat rate (5 a second, bursts of 10): a refused line says when to send again.
            for index in 1...20 { try process.writeLine("flood \(index)") }
            try await waitFor("error: at most 5 messages a second (bursts of 10); retry in 1 s")
            // Joined unmuted ([audio] joinMuted = false), so /mic mutes.
            try process.writeLine("/mic")
            try await waitFor("You are muted")
            #expect(!process.standardOutput.contains("Your microphone is on"))
            try process.writeLine("/quit")
            #expect(await process.wait(seconds: 30) == 0)
        } catch {
            process.kill()
            throw error
        }
        let output = process.standardOutput
        #expect(!output.contains("\u{1B}"), "an escape sequence in screen-reader output")
        #expect(!output.contains(where: { "█▉▊▋▌▍▎▏▮▯".contains($0) }), "an animated bar in screen-reader output")
        // Speaking changes are told once per turn, not once per syllable.
        let speaking = output.split(separator: "\n").filter { $0.hasPrefix("Ada (bot) is speaking") }
        #expect(speaking.count <= 6, "\(speaking.count) 'is speaking' lines: too chatty to follow")
    }
}
