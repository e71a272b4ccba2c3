// `confab token --admin` and `confab admin …` as an operator runs them,
// against `confab serve` as a child process.

import ConfabTestSupport
import Foundation
import Testing

@Suite("confab admin")
struct AdminCommandTests {
    struct Run {
        var status: Int32
        var output: String
        var error: String
    }

    func confab(_ arguments: [String]) async throws -> Run {
        let run = try ChildProcess(BuiltProducts.confab, arguments)
        let status = await run.wait(seconds: 30)
        return Run(status: status, output: run.standardOutput, error: run.standardError)
    }

    func admin(_ server: ServerProcess, token: String, _ arguments: [String], fingerprint: String? = nil) async throws -> Run {
        try await confab(
            ["admin"] + arguments + [
                "--server", "https://127.0.0.1:\(server.port)", "--token", token,
                "--fingerprint", fingerprint ?? server.fingerprint, "--known-servers", server.data.file("known_servers"),
            ])
    }

    @Test("create, list, say, end --lock: what each prints, --json, and refusals as one line with the catalog number")
    func roundTrip() async throws {
        let server = try await ServerProcess()
        let minted = try await confab(["token", "--admin", "--data", server.dataPath, "--subject", "ops", "--ttl", "10m"])
        #expect(minted.status == 0, "\(minted.error)")
        let token = minted.output.trimmingCharacters(in: .whitespacesAndNewlines)

        let created = try await admin(server, token: token, ["create", "board", "--max-peers", "5"])
        #expect(created.status == 0 && created.output == "created board\n", "\(created.error)")
        let rooms = try await admin(server, token: token, ["rooms", "--json"])
        let list = try JSONValue(parsing: rooms.output)
        #expect(list["rooms"]?.array.compactMap { $0["name"]?.text } == ["board"])
        let room = try await admin(server, token: token, ["room", "board"])
        #expect(room.output.hasPrefix("board  0 peers of 5  since "), "\(room.output)")
        let said = try await admin(server, token: token, ["say", "board", "Back at 3."])
        #expect(said.output == "posted to board as message 1\n", "\(said.error)")
        let ended = try await admin(server, token: token, ["end", "board", "--lock", "--reason", "done for today"])
        #expect(ended.status == 0 && ended.output == "ended board (locked)\n")

        let taken = try await admin(server, token: token, ["create", "board"])
        #expect(taken.status == 1)
        #expect(taken.error == "confab: 4012 roomExists: room board exists: it was ended and locked\n")
        let gone = try await admin(server, token: token, ["mute", "board", "bob"])
        #expect(gone.status == 1 && gone.error.hasPrefix("confab: 4011 roomNotFound"))

        // A room token is not an admin token; a wrong pin is refused before anything is sent.
        let roomToken = try await server.token(room: "board", user: "alice", role: "host")
        let wrongKind = try await admin(server, token: roomToken, ["rooms"])
        #expect(wrongKind.status == 1 && wrongKind.error.hasPrefix("confab: 2009 notAdminToken"))
        let wrongPin = try await admin(
            server, token: token, ["rooms"], fingerprint: "SHA256:" + String(repeating: "00", count: 32))
        #expect(wrongPin.status == 1 && wrongPin.error.contains("not the pinned"))
        #expect(wrongPin.error.split(separator: "\n").count == 1)

        let audit = try String(contentsOfFile: server.dataPath + "/admin-audit.jsonl", encoding: .utf8)
        #expect(audit.split(separator: "\n").count == 5, "create, say, end, create (409), mute (404)")
        #expect(await server.stop() == 0)
    }

    @Test("confab token --admin refuses room options, and --subject needs --admin")
    func tokenArguments() async throws {
        let data = try TempDirectory(prefix: "confab-admin-token")
        for arguments in [
            ["token", "--admin", "--room", "r", "--role", "host"], ["token", "--admin", "--user", "alice"],
            ["token", "--user", "alice", "--subject", "ops"], ["token", "--admin", "--subject", "two words"],
        ] {
            let run = try await confab(arguments + ["--data", data.path])
            #expect(run.status != 0 && run.error.split(separator: "\n").count == 1, "\(arguments): \(run.error)")
        }
    }
}
