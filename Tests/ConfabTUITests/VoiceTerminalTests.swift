// The processing keys on the real thing: `confab demo` under tmux, whose
// engine processes your microphone (null audio without a sound card) and
// plays the bots (the echo reference). The screen's `/audio` report shows
// the engine's own counters, so the test sees the capture thread follow.
// Runs with the real-time suites (its name matches TerminalTests).
import ConfabTestSupport
import Foundation
import Testing

@Suite("processing keys in a real terminal")
struct VoiceTerminalTests {
    struct Counts: Equatable {
        var cleaned: Int
        var echoReference: Int
    }

    @Test("e, n, g and /audio switch the running engine's processing; the status bar and the engine's counts follow",
          .timeLimit(.minutes(3)))
    func switchesUnderTmux() async throws {
        let home = try TempDirectory(prefix: "confab-tmux-voice")
        try await Tmux.session(Tmux.confab("demo --no-bot-prompts", home: home), columns: 160, rows: 40) { tmux in
            try await tmux.waitFor("the meeting with processing on", seconds: 90) {
                $0.contains("● connected") && $0.contains("voice: all on") && $0.contains("Ada (bot)")
            }
            try await tmux.waitFor(Tmux.inputHint)
            // All on: the microphone is cleaned and the bots' voices feed the echo canceller.
            try await expectReports(tmux, "all on") { first, second in
                second.cleaned > first.cleaned && second.echoReference > first.echoReference
            }
            // e: the canceller stops taking the echo reference; the rest still runs.
            try await tmux.keys("e")
            try await tmux.waitFor("voice: echo off")
            try await expectReports(tmux, "echo off") { first, second in
                second.echoReference == first.echoReference && second.cleaned > first.cleaned
            }
            // n and g too: nothing of the library runs (the keyboard gate is not counted here).
            try await tmux.keys("n")
            try await tmux.waitFor("voice: echo, noise off")
            try await tmux.keys("g")
            try await tmux.waitFor("voice: echo, noise, gain off")
            try await expectReports(tmux, "echo, noise and gain off") { first, second in
                second.cleaned == first.cleaned && second.echoReference == first.echoReference
            }
            // The command turns everything back on, mid-call.
            try await command(tmux, "/audio all on")
            try await tmux.waitFor("voice: all on")
            try await expectReports(tmux, "all on again") { first, second in
                second.cleaned > first.cleaned && second.echoReference > first.echoReference
            }
            try await tmux.keys("q")
            try await tmux.waitFor("Leave the meeting?")
            try await tmux.keys("y")
            let final = try await tmux.waitFor("the exit line", seconds: 30) { $0.contains("exit=") }
            #expect(final.contains("exit=0"))
        }
    }

    /// Types `line` in the input line and goes back to the tiles (keys are actions again).
    func command(_ tmux: Tmux, _ line: String) async throws {
        try await tmux.keys("i")
        try await tmux.type(line)
        try await tmux.keys("Enter")
        try await tmux.keys("Escape")
        try await tmux.waitFor(Tmux.inputHint)
    }

    /// One `/audio` report, read from the message row (after the last one has gone).
    func report(_ tmux: Tmux) async throws -> Counts {
        try await tmux.waitFor("the last report gone", seconds: 10) { !$0.contains("frames cleaned") }
        try await command(tmux, "/audio")
        let screen = try await tmux.waitFor("the /audio report") { $0.contains("frames cleaned") }
        let match = try #require(screen.firstMatch(of: #/(\d+) frames cleaned, (\d+) echo reference/#))
        return Counts(cleaned: Int(match.1) ?? -1, echoReference: Int(match.2) ?? -1)
    }

    /// Two reports about four seconds apart satisfy `condition`; a switch the
    /// capture thread had not yet taken when the first was read gets two more tries.
    func expectReports(_ tmux: Tmux, _ what: String, _ condition: (Counts, Counts) -> Bool) async throws {
        var seen: [Counts] = []
        for _ in 0..<3 {
            let first = try await report(tmux)
            let second = try await report(tmux)
            seen += [first, second]
            if condition(first, second) { return }
        }
        Issue.record("with \(what), the engine's counts went \(seen)")
    }
}
