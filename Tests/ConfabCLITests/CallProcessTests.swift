// Calls between processes: `confab connect --headless --events` clients and
// the answering-machine bot of docs/BOTS.md, through a `confab serve` child.

import ConfabMedia
import ConfabTestSupport
import Foundation
import Testing

@Suite("Calls between confab processes", .timeLimit(.minutes(3)))
struct CallProcessTests {
    @Test("the answering machine of docs/BOTS.md takes alice's call: she hears its tone, both see it end, both histories have it")
    func answeringMachineFromTheDocs() async throws {
        try HeadlessProcessTests.requireOnPath("jq")
        let server = try await ServerProcess()
        let scratch = try TempDirectory(prefix: "confab-answer")
        let script = scratch.file("answer.sh")
        try HeadlessProcessTests.codeBlock(after: "## Answering calls", language: "bash").write(
            toFile: script, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        let binaries = URL(fileURLWithPath: BuiltProducts.confab).deletingLastPathComponent().path
        environment["PATH"] = binaries + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["HOME"] = scratch.path
        environment["XDG_CONFIG_HOME"] = nil
        environment["TOKEN"] = try await server.userToken(user: "bot", name: "Answering machine")
        environment["FINGERPRINT"] = server.fingerprint
        let machine = try ChildProcess("/bin/bash", [script, server.serverURL], environment: environment)

        let heard = scratch.file("alice.wav")
        let alice = try await HeadlessBot(online: "alice", server: server, arguments: ["--output", heard])
        try await alice.expectEvent("connected", ["you.user": "alice"])
        // The bot may come online before or after alice.
        let botOnline = alice.lines.first { $0["event"]?.text == "connected" }?["online"]?.array
            .contains { $0["user"]?.text == "bot" } ?? false
        if !botOnline { try await alice.expectEvent("presence.online", ["user.user": "bot"]) }

        try alice.send("call bot")
        try await alice.expectEvent("result", ["cmd": "call"])
        try await alice.expectEvent("call.participant", ["user": "bot", "state": "accepted"])
        try await alice.expectEvent("call.room")
        try await alice.expectEvent("call.userEntered", ["user": "bot"])
        let ended = try await alice.expectEvent("call.ended", ["reason": "hangup"], timeout: .seconds(20))
        let durationMs = ended.line["durationMs"]?.text.flatMap(Int.init) ?? 0
        #expect(durationMs >= 2_500 && durationMs < 15_000, "the bot hangs up after 3 s")
        try alice.send("quit")
        #expect(await alice.process.wait(seconds: 30) == 0, "\(alice.process.standardError)")

        // The tone came through: alice heard the machine's 440 Hz, not just any noise.
        let samples = try WAVFile.read(path: heard)
        let level = SignalComparison.rmsDBov(samples)
        let share440 = SignalComparison.toneShare(samples, frequencyHz: 440)
        let share1000 = SignalComparison.toneShare(samples, frequencyHz: 1_000)
        print("answering machine: alice heard \(samples.count) samples at \(level) dBov, 440 Hz share \(share440)")
        #expect(level > -30)
        #expect(share440 > 0.6, "most of what alice heard is the 440 Hz tone")
        #expect(share1000 < 0.05)

        for (user, peer, direction) in [("alice", "bot", "outgoing"), ("bot", "alice", "incoming")] {
            let history = try ChildProcess(
                BuiltProducts.confab,
                [
                    "calls", server.serverURL, "--token", try await server.userToken(user: user),
                    "--fingerprint", server.fingerprint, "--known-servers", scratch.file("known_servers"), "--json",
                ])
            #expect(await history.wait(seconds: 30) == 0, "\(history.standardError)")
            let records = try JSONDecoder().decode(JSON.self, from: Data(history.standardOutput.utf8)).array
            #expect(records.first?["outcome"]?.text == "answered")
            #expect(records.first?["direction"]?.text == direction)
            #expect(records.first?["peers"]?.array.first?.text == peer)
        }
        // As text: the call screen's words and local time, not the protocol's `noResponse` and UTC.
        let text = try ChildProcess(
            BuiltProducts.confab,
            [
                "calls", server.serverURL, "--token", try await server.userToken(user: "alice"),
                "--fingerprint", server.fingerprint, "--known-servers", scratch.file("known_servers"),
            ])
        #expect(await text.wait(seconds: 30) == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains("→ bot  answered"), "\(text.standardOutput)")
        #expect(text.standardOutput.firstMatch(of: #/^\d{4}-\d\d-\d\d \d\d:\d\d  /#.anchorsMatchLineEndings()) != nil, "\(text.standardOutput)")
        #expect(!text.standardOutput.contains("Z  "))

        // The machine outlives a restart of the server: it comes back by itself and answers the next call.
        #expect(await server.stop() == 0)
        let restarted = try await ServerProcess(restarting: server)
        let bob = try await HeadlessBot(online: "bob", server: restarted)
        try await bob.expectEvent("connected", ["you.user": "bob"])
        let botBack = bob.lines.first { $0["event"]?.text == "connected" }?["online"]?.array
            .contains { $0["user"]?.text == "bot" } ?? false
        if !botBack { try await bob.expectEvent("presence.online", ["user.user": "bot"]) }
        try bob.send("call bot")
        try await bob.expectEvent("call.participant", ["user": "bot", "state": "accepted"])
        try await bob.expectEvent("call.ended", ["reason": "hangup"], timeout: .seconds(20))
        #expect(machine.standardError.contains("answering alice") && machine.standardError.contains("answering bob"))
        // Ended from outside: its confab reads the end of its input and goes offline, as bob sees.
        machine.terminate()
        _ = await machine.wait(seconds: 30)
        try await bob.expectEvent("presence.offline", ["user": "bot"])
        try bob.send("quit")
        #expect(await bob.process.wait(seconds: 30) == 0, "\(bob.process.standardError)")
        #expect(await restarted.stop() == 0)
    }

    @Test("confab connect with a room token: an error line with 2006, then disconnected; exit 1 with one line on stderr")
    func roomTokenRefused() async throws {
        let server = try await ServerProcess()
        let home = try TempDirectory(prefix: "confab-connect")
        let token = try await server.token(room: "standup", user: "alice", role: "host")
        let client = try ChildProcess(
            BuiltProducts.confab,
            [
                "connect", server.serverURL, "--token", token, "--fingerprint", server.fingerprint,
                "--known-servers", home.file("known_servers"), "--headless", "--events",
            ],
            standardInput: .pipe)
        #expect(await client.wait(seconds: 30) == 1)
        let lines = client.standardOutput.split(separator: "\n").compactMap {
            try? JSONDecoder().decode(JSON.self, from: Data($0.utf8))
        }
        #expect(lines.first?["event"]?.text == "error")
        #expect(lines.first?["code"]?.text == "2006")
        #expect(lines.last?["event"]?.text == "disconnected")
        let stderr = client.standardError.split(separator: "\n")
        #expect(stderr.count == 1 && stderr.first?.hasPrefix("confab: ") == true, "\(client.standardError)")
        #expect(await server.stop() == 0)
    }
}
