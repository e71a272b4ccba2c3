// The headless client as a user drives it: a `confab serve` child, tokens
// from `confab token`, and `confab join … --headless --events` children fed
// JSON command lines on stdin; the checks read their JSON event lines. The
// bots of docs/BOTS.md run as written, against the built binary.

import ConfabTestSupport
import Foundation
import Testing

@Suite("Headless clients as processes against confab serve", .timeLimit(.minutes(3)))
struct HeadlessProcessTests {
    @Test("three headless clients: joins, chat of each kind, mute, bad lines, a killed client, leaving, ending")
    func threeHeadlessClients() async throws {
        let server = try await ServerProcess()
        // `confab fingerprint` agrees with what `confab serve` printed.
        let fingerprint = try ChildProcess(BuiltProducts.confab, ["fingerprint", "--data", server.dataPath])
        #expect(await fingerprint.wait(seconds: 30) == 0)
        #expect(fingerprint.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == server.fingerprint)

        let room = "standup"
        let alice = try await HeadlessBot("alice", server: server, room: room, role: "host")
        let joined = try await alice.expectEvent("joined", ["room": room, "resumed": "false", "you.id": "alice"]).line
        #expect(joined["you.name"]?.text == "Alice")
        #expect(joined["you.role"]?.text == "host")
        #expect(joined["peers"]?.array == [])
        #expect(joined["roles"]?.array.compactMap { $0["name"]?.text } == ["host", "speaker", "listener"])
        #expect(joined["joinTimeMs"]?.text.flatMap(Int.init).map { $0 >= 0 } == true)
        #expect(joined["history"] != nil)
        #expect(joined["reconnect"] == nil && !(alice.process.standardOutput.contains("rt_")), "no resume token printed")

        let bob = try await HeadlessBot.joined("bob", server: server, room: room, role: "speaker")
        let carol = try await HeadlessBot("carol", server: server, room: room, role: "listener")
        let carolJoined = try await carol.expectEvent("joined", ["you.id": "carol"]).line
        #expect(carolJoined["peers"]?.array.compactMap { $0["id"]?.text } == ["alice", "bob"])

        // Joins in order.
        let bobArrives = try await alice.expectEvent("peer.joined", ["peer.id": "bob", "peer.name": "Bob", "resumed": "false"])
        try await alice.expectEvent("peer.joined", ["peer.id": "carol", "peer.role": "listener"], from: bobArrives.index + 1)
        try await bob.expectEvent("peer.joined", ["peer.id": "carol"])

        // Chat to everyone: a result with the seq, the message everywhere, and
        // the sender's own chat.message line before its result line.
        try alice.send(#"{"id":"x1","cmd":"chat","text":"hi all"}"#)
        let result = try await alice.expectEvent("result", ["id": "x1", "cmd": "chat", "ok": "true"])
        #expect(result.line["seq"]?.text == "1")
        #expect(result.line["message"]?.text?.isEmpty == false)
        let own = try await alice.expectEvent("chat.message", ["message.text": "hi all"])
        #expect(own.index < result.index)
        for other in [bob, carol] {
            try await other.expectEvent(
                "chat.message",
                ["message.text": "hi all", "message.from": "alice", "message.fromRole": "host", "message.seq": "1"])
        }

        // Mute: bob unmutes himself, the host mutes him; he sees who did it.
        try bob.send(#"{"cmd":"unmute"}"#)
        try await alice.expectEvent("track.unmuted", ["peer": "bob", "track": "bob:mic", "by": "bob"])
        try alice.send(#"{"id":"m1","cmd":"mute","peer":"bob"}"#)
        try await alice.expectEvent("result", ["id": "m1", "cmd": "mute", "ok": "true"])
        try await bob.expectEvent("track.muted", ["peer": "bob", "track": "bob:mic", "by": "alice"])
        try await carol.expectEvent("track.muted", ["peer": "bob", "by": "alice"])

        // A listener: a direct message is refused with its code; a line that
        // is not a command gets an error line; chat to a role reaches that role.
        try carol.send(#"{"id":"d1","cmd":"chat","text":"psst","peers":["bob"]}"#)
        try await carol.expectEvent("error", ["id": "d1", "cmd": "chat", "kind": "server", "code": "3010"])
        try carol.send("not json")
        try await carol.expectEvent("error", ["kind": "badCommand"])
        // A runaway line (64 MiB, over the 256 KiB limit): one error line, the
        // bot goes on, and the client never held the line (its peak memory).
        let tooLong = "line longer than 262144 bytes"
        let peakBefore = try Self.peakMemoryKiB(carol.process.pid)
        let mebibyte = String(repeating: "x", count: 1 << 20)
        for _ in 0..<64 { try carol.process.write(mebibyte) }
        try carol.send("")
        try await carol.expectEvent("error", ["kind": "badCommand", "message": tooLong])
        let grown = try Self.peakMemoryKiB(carol.process.pid) - peakBefore
        #expect(grown < 16 * 1024, "peak memory grew by \(grown) KiB reading a 64 MiB line")
        try carol.send(#"{"id":"q1","cmd":"chat","text":"a question","roles":["host"]}"#)
        try await carol.expectEvent("result", ["id": "q1", "ok": "true"])
        #expect(carol.lines.count { $0["message"]?.text == tooLong } == 1, "the rest of the long line was skipped")
        try await alice.expectEvent("chat.message", ["message.text": "a question", "message.target.kind": "roles"])
        try alice.send(#"{"cmd":"chat","text":"marker"}"#)
        try await bob.expectEvent("chat.message", ["message.text": "marker"])
        #expect(!bob.lines.contains { $0["message.text"]?.text == "a question" }, "the question was for hosts only")
        #expect(!bob.lines.contains { $0["message.text"]?.text == "psst" }, "the refused message was not posted")

        // A killed client is seen as left with reason timeout.
        carol.process.kill()
        #expect(await carol.process.wait(seconds: 10) == -9)
        try await alice.expectEvent("peer.left", ["peer": "carol", "reason": "timeout"])
        try await bob.expectEvent("peer.left", ["peer": "carol", "reason": "timeout"])

        // End of input leaves: exit 0, and `disconnected` is the last line.
        bob.process.closeInput()
        #expect(await bob.process.wait(seconds: 30) == 0, "\(bob.process.standardError)")
        #expect(bob.lines.last?["event"]?.text == "disconnected")
        #expect(bob.lines.last?["reason"]?.text == "left")
        try await alice.expectEvent("peer.left", ["peer": "bob", "reason": "left"])

        // The host ends the room.
        try alice.send(#"{"cmd":"end","lock":true,"reason":"Thanks, all!"}"#)
        #expect(await alice.process.wait(seconds: 30) == 0, "\(alice.process.standardError)")
        let last = alice.lines.last
        #expect(last?["event"]?.text == "disconnected")
        #expect(last?["reason"]?.text == "roomEnded")
        #expect(last?["locked"]?.text == "true")
        #expect(alice.process.standardError.isEmpty, "\(alice.process.standardError)")

        #expect(await server.stop() == 0, "\(server.process.standardError)")
    }

    @Test("a refused join prints one disconnected line and exits 1 with one line on stderr")
    func refusedJoin() async throws {
        let server = try await ServerProcess()
        let room = "standup"
        let token = try await server.token(room: "another-room", user: "mallory", role: "host")
        let home = try TempDirectory(prefix: "confab-bot-home")
        let run = try ChildProcess(
            BuiltProducts.confab,
            [
                "join", server.url(room), "--token", token, "--fingerprint", server.fingerprint,
                "--known-servers", home.file("known_servers"), "--headless", "--events",
            ], standardInput: .pipe)
        #expect(await run.wait(seconds: 30) == 1)
        let lines = run.standardOutput.split(separator: "\n")
        #expect(lines.last?.contains(#""event":"disconnected""#) == true, "\(run.standardOutput)")
        #expect(lines.last?.contains(#""code":2006"#) == true, "\(run.standardOutput)")
        #expect(run.standardError.split(separator: "\n").count == 1, "\(run.standardError)")
        #expect(run.standardError.contains("2006"))
        #expect(await server.stop() == 0)
    }

    @Test("commands piped after the one that ends the room are left unrun, and the client exits 0")
    func linesLeftWhenTheRoomEnds() async throws {
        let server = try await ServerProcess()
        let token = try await server.token(room: "standup", user: "alice", role: "host")
        let home = try TempDirectory(prefix: "confab-bot-home")
        let run = try ChildProcess(
            BuiltProducts.confab,
            [
                "join", server.url("standup"), "--token", token, "--fingerprint", server.fingerprint,
                "--known-servers", home.file("known_servers"), "--headless", "--events",
            ], standardInput: .pipe)
        // All at once, then end of input: the reading thread is gone before the
        // room ends, with twenty lines still waiting (this once crashed the client).
        let late = (1...20).map { #"{"id":"late\#($0)","cmd":"chat","text":"too late"}"# }
        try run.write(([#"{"id":"e","cmd":"end","reason":"done"}"#] + late).joined(separator: "\n") + "\n")
        run.closeInput()
        #expect(await run.wait(seconds: 30) == 0, "\(run.standardError)")
        let lines = run.standardOutput.split(separator: "\n")
        #expect(lines.last?.contains(#""event":"disconnected""#) == true, "\(run.standardOutput)")
        #expect(lines.last?.contains(#""reason":"roomEnded""#) == true, "\(run.standardOutput)")
        // The room's end is known when `end` answers, before the connection is
        // marked closed: no waiting line is run, not even to fail.
        #expect(!run.standardOutput.contains(#""ok":true,"message""#), "\(run.standardOutput)")
        #expect(!run.standardOutput.contains("late"), "\(run.standardOutput)")
        #expect(await server.stop() == 0)
    }

    @Test("the Python bot of docs/BOTS.md greets, answers !ping, accepts a role change and leaves on !bye")
    func pythonBotFromTheDocs() async throws {
        let (server, bot, alice, carol) = try await Self.docsExampleScene(
            after: "## A bot in Python", language: "python", runBy: ["/usr/bin/env", "python3"], needing: "python3",
            as: "pybot")
        try await carol.expectEvent("chat.message", ["message.text": "Hello Carol!", "message.from": "pybot"])

        try alice.send(#"{"cmd":"chat","text":"!ping"}"#)
        try await alice.expectEvent("chat.message", ["message.text": "pong", "message.from": "pybot"])

        try alice.send(#"{"id":"r1","cmd":"role","peer":"pybot","role":"listener"}"#)
        try await alice.expectEvent("result", ["id": "r1", "ok": "true"])
        try await alice.expectEvent("prompt.answered", ["peer": "pybot", "accepted": "true"])
        try await alice.expectEvent("peer.updated", ["peer.id": "pybot", "peer.role": "listener"])

        try alice.send(#"{"cmd":"chat","text":"!bye"}"#)
        try await alice.expectEvent("peer.left", ["peer": "pybot", "reason": "left"])
        #expect(await bot.process.wait(seconds: 30) == 0, "\(bot.process.standardError)")
        #expect(bot.process.standardError.contains("joined standup as pybot in "), "\(bot.process.standardError)")

        alice.process.closeInput()
        carol.process.closeInput()
        #expect(await alice.process.wait(seconds: 30) == 0)
        #expect(await carol.process.wait(seconds: 30) == 0)
        #expect(await server.stop() == 0)
    }

    @Test("the bash greeter of docs/BOTS.md welcomes newcomers and answers !help directly")
    func bashGreeterFromTheDocs() async throws {
        let (server, greeter, alice, carol) = try await Self.docsExampleScene(
            after: "## A greeter in bash", language: "bash", runBy: ["/bin/bash"], needing: "jq", as: "greeter")
        try await carol.expectEvent(
            "chat.message", ["message.text": "Welcome, Carol! Type !help for help.", "message.from": "greeter"])

        try carol.send(#"{"cmd":"chat","text":"!help"}"#)
        let help = try await carol.expectEvent("chat.message", ["message.from": "greeter", "message.target.kind": "peers"])
        #expect(help.line["message.text"]?.text?.contains("Raise your hand") == true)
        try alice.send(#"{"cmd":"chat","text":"marker"}"#)
        try await alice.expectEvent("chat.message", ["message.text": "marker"])
        #expect(!alice.lines.contains { $0["message.text"]?.text?.contains("Raise your hand") == true }, "the answer was direct")

        // Ending the room ends the greeter's loop (its last line is `disconnected`).
        try alice.send(#"{"cmd":"end"}"#)
        #expect(await greeter.process.wait(seconds: 30) == 0, "\(greeter.process.standardError)")
        #expect(await alice.process.wait(seconds: 30) == 0)
        #expect(await carol.process.wait(seconds: 30) == 0)
        #expect(await server.stop() == 0)
    }

    // MARK: - Helpers

    /// A server; the `language` code block after `heading` in docs/BOTS.md
    /// run by `interpreter` (`program` must be on the PATH) as the speaker `user`
    /// in `standup`; Alice, host, once she sees it; then Carol, a listener,
    /// whom the example bots greet as a newcomer.
    static func docsExampleScene(
        after heading: String, language: String, runBy interpreter: [String], needing program: String, as user: String
    ) async throws -> (server: ServerProcess, bot: DocsExampleBot, alice: HeadlessBot, carol: HeadlessBot) {
        try requireOnPath(program)
        let server = try await ServerProcess()
        let bot = try await startDocsExample(
            after: heading, language: language, runBy: interpreter, as: user, server: server, room: "standup")
        let alice = try await hostSeeing(user, server: server, room: "standup")
        let carol = try await HeadlessBot("carol", server: server, room: "standup", role: "listener")
        return (server, bot, alice, carol)
    }

    /// Starts the `language` code block after `heading` in docs/BOTS.md with
    /// `interpreter`, as the speaker `user` in `room`, as the docs run it.
    static func startDocsExample(
        after heading: String, language: String, runBy interpreter: [String], as user: String,
        server: ServerProcess, room: String
    ) async throws -> DocsExampleBot {
        let home = try TempDirectory(prefix: "confab-\(user)")
        let script = home.file("bot")
        try codeBlock(after: heading, language: language).write(toFile: script, atomically: true, encoding: .utf8)
        let process = try ChildProcess(
            interpreter[0], Array(interpreter.dropFirst()) + [script, server.url(room)],
            environment: try await botEnvironment(server: server, room: room, user: user, role: "speaker", home: home))
        return DocsExampleBot(process: process, home: home)
    }

    /// Alice joins as host and waits until she knows `bot` is in the room: the
    /// example bots greet only newcomers, so a bot slower than Alice is seen
    /// joining after her, and the next newcomer is greeted either way.
    static func hostSeeing(_ bot: String, server: ServerProcess, room: String) async throws -> HeadlessBot {
        let alice = try await HeadlessBot.joined("alice", server: server, room: room, role: "host")
        let joined = alice.lines.first { $0["event"]?.text == "joined" }
        if !(joined?["peers"]?.array.contains { $0["id"]?.text == bot } ?? false) {
            try await alice.expectEvent("peer.joined", ["peer.id": bot])
        }
        return alice
    }

    /// Whether `program` is an executable on the PATH.
    /// The docs' example bots need these (`make deps` installs them): a
    /// missing one fails the test rather than skipping it.
    static func requireOnPath(_ program: String) throws {
        guard onPath(program) else { throw ToolError("\(program) is not on PATH: run `make deps`") }
    }

    /// The process's peak resident memory (VmHWM, proc(5)).
    static func peakMemoryKiB(_ pid: pid_t) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { throw ToolError("no VmHWM in /proc/\(pid)/status") }
        return kib
    }

    static func onPath(_ program: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(program)")
        }
    }

    /// The first fenced code block of `language` after the heading `heading` in docs/BOTS.md.
    static func codeBlock(after heading: String, language: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/BOTS.md"), encoding: .utf8)
        guard let section = text.range(of: heading),
            let start = text.range(of: "```\(language)\n", range: section.upperBound..<text.endIndex),
            let end = text.range(of: "\n```", range: start.upperBound..<text.endIndex)
        else { throw ToolError("docs/BOTS.md has no \(language) block after \(heading)") }
        return String(text[start.upperBound..<end.lowerBound]) + "\n"
    }

    /// What the docs tell a bot author to set: TOKEN and FINGERPRINT, and
    /// `confab` on the PATH. HOME points at a scratch directory, since the
    /// examples let `confab join` record the server in known_servers.
    static func botEnvironment(server: ServerProcess, room: String, user: String, role: String, home: TempDirectory)
        async throws -> [String: String]
    {
        var environment = ProcessInfo.processInfo.environment
        let binaries = URL(fileURLWithPath: BuiltProducts.confab).deletingLastPathComponent().path
        environment["PATH"] = binaries + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["HOME"] = home.path
        environment["XDG_CONFIG_HOME"] = nil
        environment["TOKEN"] = try await server.token(room: room, user: user, role: role)
        environment["FINGERPRINT"] = server.fingerprint
        return environment
    }
}

/// An example bot of docs/BOTS.md, running; its scratch home lives as long as it.
struct DocsExampleBot {
    let process: ChildProcess
    let home: TempDirectory
}
