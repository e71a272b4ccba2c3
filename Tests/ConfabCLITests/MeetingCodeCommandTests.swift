// Meeting codes as people use them: `confab admin code` prints a code and a
// link; `confab join LINK --name` and `confab join URL --code --name` get in
// with the code's role; used-up, revoked and mis-pinned codes fail with one
// clear line; against `confab serve` as a child process.

import ConfabTestSupport
import Foundation
import Testing

@Suite("confab admin code and confab join --code")
struct MeetingCodeCommandTests {
    /// `confab admin` over wss://, with a known_servers file of its own (the joins have theirs).
    func admin(_ server: ServerProcess, token: String, _ arguments: [String]) async throws -> ConfabRun {
        try await ConfabCLITests.admin(server, token: token, arguments, scheme: "wss", knownServers: "admin_known_servers")
    }

    /// `confab join ARGUMENTS --headless --events` with its own known_servers; returns once it printed `joined` or exited.
    func join(_ arguments: [String], home: TempDirectory) async throws -> (process: ChildProcess, joined: JSONValue?) {
        let process = try ChildProcess(
            BuiltProducts.confab,
            ["join"] + arguments + ["--known-servers", home.file("known_servers"), "--headless", "--events", "--duration", "20"])
        var joined: JSONValue?
        await waitUntil(timeout: .seconds(30)) {
            joined = process.standardOutput.split(separator: "\n").lazy.compactMap { try? JSONValue(parsing: String($0)) }
                .first { $0["event"]?.text == "joined" }
            return joined != nil || !process.standardError.isEmpty
        }
        return (process, joined)
    }

    @Test("a link joins with the code's role and name, the server pinned by the link; a used-up or revoked code is one line")
    func linkAndCode() async throws {
        let server = try await ServerProcess()
        let home = try TempDirectory(prefix: "confab-code-home")
        let token = try await adminToken(server, ["--subject", "ops"])
        let made = try await admin(server, token: token, ["code", "standup", "--role", "listener", "--uses", "1", "--expires", "1h"])
        #expect(made.status == 0, "\(made.error)")
        let lines = made.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        let code = lines.first ?? ""
        let link = lines.last ?? ""
        #expect(code.range(of: #"^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$"#, options: .regularExpression) != nil, "\(code)")
        #expect(link == "confab://127.0.0.1:\(server.port)/standup?code=\(code)&fp=\(server.fingerprint)")

        // Nothing but the link and a name: no token, no --fingerprint.
        let (dana, joined) = try await join([link, "--name", "Dana"], home: home)
        defer { dana.kill() }
        #expect(joined?["you.role"]?.text == "listener" && joined?["you.name"]?.text == "Dana", "\(dana.standardError)")
        #expect(joined?["you.id"]?.text?.hasPrefix("dana-") == true)

        // Its one use is taken: the next person is told so, in one line.
        let eve = try await confab(
            ["join", server.url("standup"), "--code", code, "--name", "Eve", "--fingerprint", server.fingerprint,
             "--known-servers", home.file("known_servers"), "--headless", "--duration", "5"])
        #expect(eve.status == 1)
        #expect(eve.error.hasPrefix("confab: 2013 codeUsedUp: "), "\(eve.error)")
        #expect(eve.error.hasSuffix("ask whoever sent it for a new one\n"), "says what to do: \(eve.error)")
        #expect(eve.error.split(separator: "\n").count == 1)

        let listed = try await admin(server, token: token, ["codes", "standup"])
        #expect(listed.output.hasPrefix("\(code)  listener  usedUp  1 of 1 used  expires "), "\(listed.output)")
        #expect(listed.output.hasSuffix("  by ops\n"))

        // --json: the server's reply, and the link with it.
        let other = try await admin(server, token: token, ["code", "standup", "--role", "speaker", "--json"])
        let reply = try JSONValue(parsing: other.output)
        let second = reply["code"]?.text ?? ""
        #expect(reply["role"]?.text == "speaker", "\(other.output)")
        #expect(reply["link"]?.text == "confab://127.0.0.1:\(server.port)/standup?code=\(second)&fp=\(server.fingerprint)",
                "\(other.output)")
        #expect(try await admin(server, token: token, ["revoke", "standup", second]).output == "revoked \(second)\n")
        let revoked = try await confab(
            ["join", "confab://127.0.0.1:\(server.port)/standup?code=\(second)&fp=\(server.fingerprint)", "--name", "Finn",
             "--known-servers", home.file("known_servers"), "--headless", "--duration", "5"])
        #expect(revoked.status == 1 && revoked.error.hasPrefix("confab: 2011 codeRevoked: "), "\(revoked.error)")
        #expect(await server.stop() == 0)
    }

    @Test("a link whose fp is not the server's is refused before the code is sent: the code keeps its uses")
    func wrongPin() async throws {
        let server = try await ServerProcess()
        let home = try TempDirectory(prefix: "confab-code-home")
        let token = try await adminToken(server)
        let made = try await admin(server, token: token, ["code", "standup", "--role", "speaker", "--uses", "3"])
        let code = made.output.split(separator: "\n").first.map(String.init) ?? ""
        let forged = "SHA256:" + String(repeating: "ab", count: 32)
        let refused = try await confab(
            ["join", "confab://127.0.0.1:\(server.port)/standup?code=\(code)&fp=\(forged)", "--name", "Gus",
             "--known-servers", home.file("known_servers"), "--headless", "--duration", "5"])
        #expect(refused.status == 1 && refused.error.contains("not the pinned"), "\(refused.error)")
        let listed = try await admin(server, token: token, ["codes", "standup", "--json"])
        #expect(try JSONValue(parsing: listed.output)["codes"]?.array.first?["used"]?.text == "0")

        // Input errors are caught before anything is sent.
        let noName = try await confab(["join", server.url("standup"), "--code", code, "--fingerprint", server.fingerprint])
        #expect(noName.status != 0 && noName.error.contains("--name is required with a meeting code"), "\(noName.error)")
        let both = try await confab(["join", server.url("standup"), "--code", code, "--token", "x", "--name", "Gus"])
        #expect(both.status != 0 && both.error.contains("not both"), "\(both.error)")

        // The URL form with --code and the server pinned by --fingerprint gets in with the code's role.
        let (gus, joined) = try await join(
            [server.url("standup"), "--code", code, "--name", "Gus", "--fingerprint", server.fingerprint], home: home)
        defer { gus.kill() }
        #expect(joined?["you.role"]?.text == "speaker" && joined?["you.name"]?.text == "Gus", "\(gus.standardError)")
        #expect(await server.stop() == 0)
    }
}
