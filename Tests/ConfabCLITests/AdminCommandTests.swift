// `confab token --admin` and `confab admin …` as an operator runs them,
// against `confab serve` as a child process.

import ConfabTestSupport
import Foundation
import Testing

@Suite("confab admin")
struct AdminCommandTests {
    /// A server, an admin token for it, and a silent headless bot that has joined room `stage`.
    func stage(with name: String, role: String) async throws -> (server: ServerProcess, token: String, bot: HeadlessBot) {
        let server = try await ServerProcess()
        let token = try await adminToken(server)
        let bot = try await HeadlessBot(
            name, server: server, room: "stage", role: role, arguments: ["--input", "silence", "--output", "null"])
        do {
            try await bot.expectEvent("joined", ["you.id": name])
        } catch {
            bot.process.kill()
            throw error
        }
        return (server, token, bot)
    }

    @Test("create, list, say, end --lock: what each prints, --json, and refusals as one line with the catalog number")
    func roundTrip() async throws {
        let server = try await ServerProcess()
        let token = try await adminToken(server, ["--subject", "ops", "--ttl", "10m"])

        let created = try await admin(server, token: token, ["create", "board", "--max-peers", "5", "--chat-rate", "1/3"])
        #expect(created.status == 0 && created.output == "created board\n", "\(created.error)")
        let rooms = try await admin(server, token: token, ["rooms", "--json"])
        let list = try JSONValue(parsing: rooms.output)
        #expect(list["rooms"]?.array.compactMap { $0["name"]?.text } == ["board"])
        let room = try await admin(server, token: token, ["room", "board"])
        #expect(room.output.hasPrefix("board  0 peers of 5  since "), "\(room.output)")
        let detail = try JSONValue(parsing: try await admin(server, token: token, ["room", "board", "--json"]).output)
        #expect(detail["chatRate.perSecond"]?.text == "1" && detail["chatRate.burst"]?.text == "3")
        // A template the server's --config does not have, and a rate that is not one: one line each.
        let noTemplate = try await admin(server, token: token, ["create", "other", "--template", "town-hall"])
        #expect(noTemplate.status == 1)
        #expect(noTemplate.error == "confab: 1004 invalidMessage: no template [rooms.town-hall] in the server's configuration (--config)\n")
        let badRate = try await admin(server, token: token, ["create", "other", "--chat-rate", "fast"])
        #expect(badRate.status == 64 && badRate.error.split(separator: "\n").count == 1, "\(badRate.error)")
        #expect(badRate.error.contains("--chat-rate"))
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
        #expect(audit.split(separator: "\n").count == 6, "create, create (400), say, end, create (409), mute (404)")
        #expect(await server.stop() == 0)
    }

    @Test("room, say, mute and remove reach a peer in the room: it sees the server's message, mute and removal")
    func peerActions() async throws {
        let (server, token, bob) = try await stage(with: "bob", role: "speaker")
        defer { bob.process.kill() }

        let room = try await admin(server, token: token, ["room", "stage"])
        #expect(room.output.split(separator: "\n").last == "  bob  Bob  speaker, live", "\(room.output)")
        let said = try await admin(server, token: token, ["say", "stage", "Five minutes left."])
        #expect(said.status == 0)
        try await bob.expectEvent("chat.message", ["message.from": "@server", "message.text": "Five minutes left."])
        let muted = try await admin(server, token: token, ["mute", "stage", "bob"])
        #expect(muted.output == "muted bob in stage\n", "\(muted.error)")
        try await bob.expectEvent("track.muted", ["by": "@server"])
        let removed = try await admin(server, token: token, ["remove", "stage", "bob", "--reason", "time is up"])
        #expect(removed.output == "removed bob from stage\n", "\(removed.error)")
        try await bob.expectEvent("removed", ["by": "@server", "reason": "time is up"])
        let empty = try await admin(server, token: token, ["room", "stage", "--json"])
        #expect(try JSONValue(parsing: empty.output)["peers"]?.array.isEmpty == true)
        #expect(await server.stop() == 0)
    }

    @Test("role (forced and --ask), state set/list/delete and rooms' node reach a bot; revoke-token ends a token")
    func roleStateAndRevocation() async throws {
        let (server, token, lee) = try await stage(with: "lee", role: "listener")
        defer { lee.process.kill() }

        let rooms = try await admin(server, token: token, ["rooms"])
        #expect(rooms.output.contains("  on "), "the node holding the room: \(rooms.output)")
        let forced = try await admin(server, token: token, ["role", "stage", "lee", "speaker"])
        #expect(forced.output == "lee is now speaker in stage\n", "\(forced.error)")
        try await lee.expectEvent("peer.updated", ["peer.id": "lee", "peer.role": "speaker", "by": "@server"])
        let asked = try await admin(server, token: token, ["role", "stage", "lee", "host", "--ask"])
        #expect(asked.output.hasPrefix("asked lee to take the role host in stage (prompt "), "\(asked.error)")
        try await lee.expectEvent("role.changeRequested", ["by": "@server", "role": "host"])

        let set = try await admin(server, token: token, ["state", "stage", "agenda", "Q3 review"])
        #expect(set.output == "set agenda in stage\n", "\(set.error)")
        try await lee.expectEvent("state.changed", ["key": "agenda", "value": "Q3 review", "by": "@server"])
        let listed = try await admin(server, token: token, ["state", "stage"])
        #expect(listed.output.hasPrefix("agenda: Q3 review  (@server, "), "\(listed.output)")
        // A speaker may not set it: the headless command gets 3015.
        try lee.send(#"{"cmd": "set", "key": "pinned", "value": "mine", "id": "p"}"#)
        try await lee.expectEvent("error", ["id": "p", "code": "3015"])
        let deleted = try await admin(server, token: token, ["state", "stage", "agenda", "--delete"])
        #expect(deleted.output == "deleted agenda in stage\n")
        let bad = try await admin(server, token: token, ["state", "stage", "Agenda", "x"])
        #expect(bad.status == 1 && bad.error.hasPrefix("confab: 1011 stateKeyInvalid"), "\(bad.error)")

        let second = try await adminToken(server, ["--subject", "temp"])
        let revoked = try await admin(server, token: token, ["revoke-token", second])
        #expect(revoked.status == 0 && revoked.output == "revoked\n", "\(revoked.error)")
        let refused = try await admin(server, token: second, ["rooms"])
        #expect(refused.status == 1 && refused.error.hasPrefix("confab: 2015 adminTokenRevoked"), "\(refused.error)")
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
