// Meeting codes against a real server: made, listed and revoked with an
// admin token; exchanged without one for a room token that joins with the
// code's role; used-up, revoked, expired and unknown codes refused with their
// numbers; kept across a restart. Every reply is checked against the
// OpenAPI document (AdminClient).

import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("Meeting codes")
struct MeetingCodeTests {
    static func exchange(_ admin: AdminClient, room: String, code: String, name: String = "Dana") async throws -> AdminReply {
        try await admin.with(token: nil).call(
            "POST", "/api/v1/rooms/{room}/join", ["room": room], body: #"{"code": "\#(code)", "name": "\#(name)"}"#)
    }

    @Test("a code exchanged for a token joins with its role and a fresh identity; its uses run out with 2013")
    func exchangeAndJoin() async throws {
        try await TestServer.start().run { server in
            let admin = try await AdminClient.make(server, subject: "carol")
            let created = try await admin.call(
                "POST", "/api/v1/rooms/{room}/codes", ["room": "standup"], body: #"{"role": "listener", "uses": 2}"#)
            #expect(created.status == 201)
            let code = try #require(created.json?["code"]?.text)
            #expect(created.json?["state"]?.text == "active" && created.json?["createdBy"]?.text == "carol")
            #expect(created.json?["uses"]?.text == "2" && created.json?["used"]?.text == "0")

            // Dashes and case do not matter to the exchange.
            let first = try await Self.exchange(admin, room: "standup", code: code.uppercased().replacingOccurrences(of: "-", with: ""))
            #expect(first.status == 200 && first.json?["role"]?.text == "listener")
            let token = try #require(first.json?["token"]?.text)
            let peer = try #require(first.json?["peer"]?.text)
            #expect(peer.hasPrefix("dana-"))
            let client = try await server.connect(room: "standup")
            client.send(#"{"v": 1, "type": "join", "id": "j", "room": "standup", "token": "\#(token)"}"#)
            guard case .joined(let joined) = try await client.next().body else { throw ToolError("the code's token did not join") }
            #expect(joined.you.id.rawValue == peer && joined.you.role.rawValue == "listener" && joined.you.name == "Dana")

            let second = try await Self.exchange(admin, room: "standup", code: code, name: "Dana")
            #expect(second.status == 200 && second.json?["peer"]?.text != peer, "two people of one name get two identities")
            let third = try await Self.exchange(admin, room: "standup", code: code)
            #expect(third.status == 410 && third.errorCode == ErrorCode.codeUsedUp.rawValue)
            let listed = try await admin.call("GET", "/api/v1/rooms/{room}/codes", ["room": "standup"])
            #expect(listed.json?["codes"]?.array.first?["used"]?.text == "2")
            #expect(listed.json?["codes"]?.array.first?["state"]?.text == "usedUp")
            client.close()
        }
    }

    @Test("revoked, expired, unknown and another room's codes are refused with 2011, 2012, 2010")
    func refusals() async throws {
        try await TestServer.start().run { server in
            let admin = try await AdminClient.make(server)
            let revoked = try #require(
                try await admin.call("POST", "/api/v1/rooms/{room}/codes", ["room": "standup"], body: #"{"role": "speaker"}"#)
                    .json?["code"]?.text)
            let gone = try await admin.call("DELETE", "/api/v1/rooms/{room}/codes/{code}", ["room": "standup", "code": revoked])
            #expect(gone.status == 204)
            let again = try await admin.call("DELETE", "/api/v1/rooms/{room}/codes/{code}", ["room": "standup", "code": revoked])
            #expect(again.status == 410 && again.errorCode == ErrorCode.codeRevoked.rawValue)
            let refused = try await Self.exchange(admin, room: "standup", code: revoked)
            #expect(refused.status == 410 && refused.errorCode == ErrorCode.codeRevoked.rawValue)

            let brief = try #require(
                try await admin.call(
                    "POST", "/api/v1/rooms/{room}/codes", ["room": "standup"], body: #"{"role": "speaker", "expiresInSeconds": 1}"#
                ).json?["code"]?.text)
            let expired = await waitUntil(timeout: .seconds(10), every: .milliseconds(200)) {
                (try? await Self.exchange(admin, room: "standup", code: brief))?.errorCode == ErrorCode.codeExpired.rawValue
            }
            #expect(expired, "the code never expired")

            let elsewhere = try await Self.exchange(admin, room: "other", code: revoked)
            #expect(elsewhere.status == 404 && elsewhere.errorCode == ErrorCode.codeNotFound.rawValue)
            for code in ["abcd-efgh-jkmn", "not a code"] {
                let unknown = try await Self.exchange(admin, room: "standup", code: code)
                #expect(unknown.status == 404 && unknown.errorCode == ErrorCode.codeNotFound.rawValue)
            }
            let unknownRevoke = try await admin.call(
                "DELETE", "/api/v1/rooms/{room}/codes/{code}", ["room": "standup", "code": "abcd-efgh-jkmn"])
            #expect(unknownRevoke.status == 404 && unknownRevoke.errorCode == ErrorCode.codeNotFound.rawValue)
        }
    }

    @Test("making a code needs an admin token and a role the room has; a bad name or body is 400")
    func creationRefusals() async throws {
        try await TestServer.start().run { server in
            let admin = try await AdminClient.make(server)
            let roomToken = try await server.token(room: "standup", user: "alice", role: "host")
            let noToken = try await admin.with(token: nil).call(
                "POST", "/api/v1/rooms/{room}/codes", ["room": "standup"], body: #"{"role": "speaker"}"#)
            #expect(noToken.status == 401)
            let wrongKind = try await admin.with(token: roomToken).call("GET", "/api/v1/rooms/{room}/codes", ["room": "standup"])
            #expect(wrongKind.status == 403)
            for (body, code) in [
                (#"{"role": "emperor"}"#, ErrorCode.roleNotFound), (#"{"role": "speaker", "uses": 0}"#, .invalidMessage),
                (#"{"role": "speaker", "expiresInSeconds": -5}"#, .invalidMessage), (#"{}"#, .invalidMessage),
            ] {
                let refused = try await admin.call("POST", "/api/v1/rooms/{room}/codes", ["room": "standup"], body: body)
                #expect(refused.status == 400 && refused.errorCode == code.rawValue, "\(body): \(refused.raw)")
            }
            let call = try await admin.call("POST", "/api/v1/rooms/{room}/codes", ["room": "call-x"], body: #"{"role": "speaker"}"#)
            #expect(call.status == 400)
            let code = try #require(
                try await admin.call("POST", "/api/v1/rooms/{room}/codes", ["room": "standup"], body: #"{"role": "speaker"}"#)
                    .json?["code"]?.text)
            let blank = try await Self.exchange(admin, room: "standup", code: code, name: " ")
            #expect(blank.status == 400 && blank.errorCode == ErrorCode.emptyName.rawValue)
            // The audit log names who made and revoked codes; exchanges are not admin changes.
            let audit = try String(contentsOfFile: server.data.file("admin-audit.jsonl"), encoding: .utf8)
            #expect(audit.contains(#""path":"/api/v1/rooms/standup/codes""#))
            #expect(!audit.contains("/join"))
        }
    }

    @Test("codes outlive a restart of the server, with their uses")
    func persisted() async throws {
        let data = try TempDirectory(prefix: "confab-codes")
        var code = ""
        try await TestServer.start(data: data).run { server in
            let admin = try await AdminClient.make(server)
            code = try #require(
                try await admin.call(
                    "POST", "/api/v1/rooms/{room}/codes", ["room": "board"], body: #"{"role": "speaker", "uses": 2}"#
                ).json?["code"]?.text)
            #expect(try await Self.exchange(admin, room: "board", code: code).status == 200)
        }
        try await TestServer.start(data: data).run { server in
            let admin = try await AdminClient.make(server)
            #expect(try await Self.exchange(admin, room: "board", code: code).status == 200)
            let third = try await Self.exchange(admin, room: "board", code: code)
            #expect(third.errorCode == ErrorCode.codeUsedUp.rawValue)
        }
    }
}
