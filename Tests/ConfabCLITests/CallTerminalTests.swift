// `confab connect` without --headless in a real terminal (tmux on a private
// socket): the home screen, `/call bot` to a headless bot that answers, the
// call screen with the bot's tile, hanging up, and the call in recent calls.
// A real-time suite (REALTIME_TESTS): a debug build on two cores needs the CPU.

import ConfabTestSupport
import Foundation
import Testing

@Suite("confab connect in a real terminal")
struct CallTerminalTests {
    /// A server with a bot online that says a 440 Hz tone, and `confab
    /// connect` as Alice in tmux, which `body` drives. Afterwards the bot
    /// quits and the server must stop cleanly.
    func withAliceAndBot(
        home prefix: String, columns: Int = 120, rows: Int = 40,
        _ body: (ServerProcess, HeadlessBot, Tmux) async throws -> Void
    ) async throws {
        let server = try await ServerProcess()
        do {
            let bot = try await HeadlessBot(online: "bot", server: server, arguments: ["--input", "tone:440"])
            try await bot.expectEvent("connected", ["you.user": "bot"])
            let home = try TempDirectory(prefix: prefix)
            let token = try await server.userToken(user: "alice", name: "Alice")
            let command = Tmux.confab(
                "connect \(server.serverURL) --token \(token) --fingerprint \(server.fingerprint) --known-servers \(home.file("known_servers"))",
                home: home)
            try await Tmux.session(command, columns: columns, rows: rows) { tmux in try await body(server, bot, tmux) }
            try bot.send("quit")
            _ = await bot.process.wait(seconds: 30)
        } catch {
            _ = await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    @Test("/call bot: accepted, the call screen with the bot's tile, /call carol in the call, hang up, the call in recent calls", .timeLimit(.minutes(3)))
    func callABotUnderTmux() async throws {
        try await withAliceAndBot(home: "confab-tmux-connect") { server, bot, tmux in
            let carol = try await HeadlessBot(online: "carol", server: server)
            try await carol.expectEvent("connected", ["you.user": "carol"])
            try await tmux.waitFor("the home screen with the bot online", seconds: 60) {
                $0.contains("Alice (alice)") && $0.contains("Bot (bot)") && $0.contains("● online") && $0.contains("No calls yet")
            }
            try await tmux.type("/call b")
            try await tmux.keys("Tab")
            try await tmux.waitFor("the completed name") { $0.contains("/call bot") }
            try await tmux.keys("Enter")
            try await tmux.waitFor("the calling panel") { $0.contains("Calling") && $0.contains("ringing…") }
            try await bot.expectEvent("call.invited", ["from": "alice"])
            try bot.send("accept")
            // The call screen: the call bar says the bot is in, and its tile shows.
            let inCall = try await tmux.waitFor("the call screen with the bot's tile", seconds: 60) {
                $0.contains("☎ Call") && $0.contains("Bot ✓ in call") && $0.contains("● connected")
            }
            #expect(inCall.split(separator: "\n").filter { $0.contains("Bot") }.count >= 2, "the bar and the tile:\n\(inCall)")
            print("call screen under tmux:\n\(inCall)")
            // /call in the call invites more: the call bar follows Carol's invitation.
            try await tmux.keys("i")
            try await tmux.type("/call carol")
            try await tmux.keys("Enter")
            try await tmux.waitFor("Carol ringing in the call bar") { $0.contains("Carol ringing…") }
            try await carol.expectEvent("call.invited", ["from": "alice"])
            try carol.send("reject")
            try await tmux.waitFor("Carol's rejection in the call bar") { $0.contains("Carol ✕ rejected") }
            // Escape leaves the input line (its hint shows again): q is then a key, not a letter.
            try await tmux.keys("Escape")
            try await tmux.waitFor("the input line left") { $0.contains(Tmux.inputHint) }
            try await tmux.keys("q")
            try await tmux.waitFor("the hang-up question") { $0.contains("Hang up?") }
            try await tmux.keys("y")
            try await tmux.waitFor("the call's end with its duration") { $0.contains("Call ended · 0:") }
            try await bot.expectEvent("call.ended", ["reason": "hangup"])
            try await tmux.keys("Escape")
            let recent = try await tmux.waitFor("the call in recent calls") { screen in
                screen.split(separator: "\n").contains { $0.contains("↗ out") && $0.contains("Bot") && $0.contains("answered") }
            }
            print("home screen after the call:\n\(recent)")
            try await tmux.keys("q")
            try await tmux.waitFor("the quit question") { $0.contains("Go offline and quit?") }
            try await tmux.keys("y")
            let final = try await tmux.waitFor("the exit line") { $0.contains("exit=") }
            #expect(final.contains("exit=0"), "\(final)")
            try await bot.expectEvent("presence.offline", ["user": "alice"])
        }
    }
}

extension CallTerminalTests {
    @Test("rung by a bot: the ringing dialog, cancelled; rung again, a accepts, the bot hangs up, back home", .timeLimit(.minutes(3)))
    func rungUnderTmux() async throws {
        try await withAliceAndBot(home: "confab-tmux-rung", columns: 100, rows: 30) { _, bot, tmux in
            try await tmux.waitFor("the home screen", seconds: 60) { $0.contains("Bot (bot)") && $0.contains("● online") }
            try bot.send("call alice")
            let ringing = try await tmux.waitFor("the ringing dialog") { $0.contains("☎ Incoming call") }
            #expect(ringing.contains("Bot is calling you"))
            #expect(ringing.contains("1:1 call"))
            #expect(ringing.contains("[a  accept]  [r  reject]"))
            try bot.send("cancel")
            try await tmux.waitFor("the cancellation") { $0.contains("Bot cancelled the call") && !$0.contains("☎ Incoming call") }
            try await tmux.keys("Enter")
            try await tmux.waitFor("the dialog closed") { !$0.contains("Bot cancelled the call") }
            try bot.send("call alice")
            try await tmux.waitFor("the ringing dialog again") { $0.contains("☎ Incoming call") }
            // Keys in the dialog's first half second are taken for typing that went on, not answers:
            // a is pressed while the dialog rings, until one lands after that guard.
            let answered = try await waitUntil(seconds: 60, every: .milliseconds(200)) {
                let screen = try await tmux.screen()
                if screen.contains("☎ Incoming call") { try await tmux.keys("a") }
                return screen.contains("☎ Call") && screen.contains("Bot ✓ in call")
            }
            if !answered { throw ToolError("the call screen never came: \(try await tmux.screen())") }
            try await bot.expectEvent("call.userEntered", ["user": "alice"])
            try bot.send("hangup")
            try await tmux.waitFor("the call's end") { $0.contains("Call ended · 0:") && $0.contains("● online") }
            try await tmux.keys("Enter")
            try await tmux.waitFor("the calls in recent calls") { screen in
                let lines = screen.split(separator: "\n")
                return lines.contains { $0.contains("↙ in") && $0.contains("Bot") && $0.contains("answered") }
                    && lines.contains { $0.contains("↙ in") && $0.contains("Bot") && $0.contains("cancelled") }
            }
            try await tmux.keys("C-c")
            let final = try await tmux.waitFor("the exit line") { $0.contains("exit=") }
            #expect(final.contains("exit=0"), "\(final)")
        }
    }
}

extension CallTerminalTests {
    @Test("without a terminal and without --headless or --screen-reader: one clear line and exit 1")
    func noTerminal() async throws {
        let server = try await ServerProcess()
        let home = try TempDirectory(prefix: "confab-connect-notty")
        let client = try ChildProcess(
            BuiltProducts.confab,
            [
                "connect", server.serverURL, "--token", try await server.userToken(user: "alice"),
                "--fingerprint", server.fingerprint, "--known-servers", home.file("known_servers"),
            ])
        #expect(await client.wait(seconds: 30) == 1)
        #expect(client.standardError.contains("the terminal front needs a terminal; use --headless or --screen-reader"))
        #expect(await server.stop() == 0)
    }
}

@Suite("confab connect --screen-reader")
struct CallScreenReaderTests {
    /// Waits until `process` has printed `text`; fails the test with its output if not.
    func waitFor(_ text: String, in process: ChildProcess, seconds: Double = 30) async throws {
        if try await waitUntil(seconds: seconds, every: .milliseconds(50), { process.standardOutput.contains(text) }) { return }
        Issue.record("no \"\(text)\" within \(seconds) s; stdout:\n\(process.standardOutput)\nstderr:\n\(process.standardError)")
        throw ToolError("no \(text)")
    }

    @Test("plain lines for presence, the invitation, the call and its end; a answers; /history; /quit exits 0",
          .timeLimit(.minutes(3)))
    func plainLines() async throws {
        let server = try await ServerProcess()
        let bot = try await HeadlessBot(online: "bot", server: server)
        try await bot.expectEvent("connected", ["you.user": "bot"])
        let home = try TempDirectory(prefix: "confab-connect-sr")
        let alice = try ChildProcess(
            BuiltProducts.confab,
            [
                "connect", server.serverURL, "--token", try await server.userToken(user: "alice", name: "Alice"),
                "--fingerprint", server.fingerprint, "--known-servers", home.file("known_servers"), "--screen-reader",
            ],
            environment: ProcessInfo.processInfo.environment.merging(["HOME": home.path]) { $1 },
            standardInput: .pipe)
        do {
            try await waitFor("Online as Alice. Online: Bot.", in: alice)
            let carol = try await HeadlessBot(online: "carol", server: server)
            try await waitFor("Carol is online", in: alice)
            try bot.send("call alice")
            try await waitFor("Bot is calling you. Answer with /accept or /reject.", in: alice)
            try alice.writeLine("a")
            try await waitFor("Bot is in the call", in: alice)
            try await bot.expectEvent("call.userEntered", ["user": "alice"])
            try bot.send("hangup")
            try await waitFor("Call ended · 0:", in: alice)
            try alice.writeLine("/history")
            try await waitFor("from Bot: answered, 0:", in: alice)
            try carol.send("quit")
            try await waitFor("Carol went offline", in: alice)
            try alice.writeLine("/quit")
            #expect(await alice.wait(seconds: 30) == 0, "\(alice.standardError)")
            #expect(!alice.standardOutput.contains("\u{1B}"), "no escape sequences in screen-reader mode")
            print("confab connect --screen-reader printed:\n\(alice.standardOutput)")
        } catch {
            alice.interrupt()
            _ = await alice.wait(seconds: 10)
            _ = await server.stop()
            throw error
        }
        try bot.send("quit")
        _ = await bot.process.wait(seconds: 30)
        #expect(await server.stop() == 0)
    }
}
