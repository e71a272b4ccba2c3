// Two brakes on the management API against a real server: revoked admin
// tokens are refused (2015), kept in the store across a restart; unknown
// meeting codes are limited per source address (2014) while good exchanges
// cost nothing.

import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("Admin hardening")
struct AdminHardeningTests {
    @Test("the Authorization header: the scheme in any case, space and tab around the token; other white space is not trimmed")
    func authorizationWhiteSpace() async throws {
        let secret = Array(repeating: UInt8(9), count: 32)
        let authority = await AdminTokenAuthority(secret: secret)
        let seconds = Int64(Date().timeIntervalSince1970)
        let now = Timestamp(millisecondsSince1970: seconds * 1_000)
        let token = try await authority.sign(AdminTokenClaims(subject: "ops", issuedAt: seconds, expiresAt: seconds + 60))
        for header in ["Bearer \(token)", "bearer \(token)", "BEARER  \(token)\t", "Bearer \(token) "] {
            #expect(try await authority.verify(authorization: header, now: now).subject == "ops", "\(header.debugDescription)")
        }
        for header in ["Bearer \(token)\u{00A0}", "Bearer \u{2003}\(token)", "Bearer \(token)\n"] {
            await #expect(throws: CodedError.self, "\(header.debugDescription)") {
                _ = try await authority.verify(authorization: header, now: now)
            }
        }
    }

    @Test("a body is read as JSON whatever its Content-Type says (curl -d sends a form type); a member named twice counts the first time")
    func bodyTypeAndRepeatedMembers() async throws {
        try await TestServer.start().run { server in
            let token = try await AdminClient.adminToken(server)
            let created = try await AdminClient.raw(
                server, "POST", "/api/v1/rooms", token: token, body: #"{"name": "board", "name": "other", "maxPeers": 12}"#,
                contentType: "application/x-www-form-urlencoded")
            #expect(created.status == 201)
            #expect(created.json?["name"]?.text == "board" && created.json?["maxPeers"]?.text == "12")
            let rooms = try await AdminClient.make(server).call("GET", "/api/v1/rooms")
            #expect(rooms.raw.contains(#""board""#) && !rooms.raw.contains(#""other""#))
        }
    }

    @Test("a number that does not fit its field is 400 1004 (the body is JSON); a body that is not JSON is 400 1000")
    func numbersThatDoNotFit() async throws {
        try await TestServer.start().run { server in
            let admin = try await AdminClient.make(server)
            for body in [#"{"name": "a", "maxPeers": 12.5}"#, #"{"name": "b", "maxPeers": 9223372036854775808}"#] {
                let reply = try await admin.call("POST", "/api/v1/rooms", body: body)
                #expect(reply.status == 400 && reply.errorCode == ErrorCode.invalidMessage.rawValue, "\(body): \(reply.raw)")
                #expect(reply.json?["error.message"]?.text?.contains("not whole") == true)
            }
            for body in [#"{"name": "c", "#, #"{"name": "\uZZZZ"}"#] {
                let reply = try await admin.call("POST", "/api/v1/rooms", body: body)
                #expect(reply.status == 400 && reply.errorCode == ErrorCode.malformedMessage.rawValue, "\(body): \(reply.raw)")
            }
            #expect(try await admin.call("GET", "/api/v1/rooms").json?["rooms"]?.array.isEmpty == true, "no room was opened")
        }
    }

    @Test("where the API has no endpoint: 404, or 405 with Allow for a path of other methods, each with the catalog's JSON error; HEAD wherever GET")
    func unknownEndpoints() async throws {
        try await TestServer.start().run { server in
            let token = try await AdminClient.adminToken(server)
            let cases: [(method: String, path: String, status: Int, allow: String?)] = [
                ("GET", "/api/v1/nonexistent", 404, nil),
                ("GET", "/api/v2/rooms", 404, nil),
                ("GET", "/api/v1/rooms/standup/peers//role", 404, nil),
                ("PATCH", "/api/v1/rooms", 405, "GET, POST, HEAD"),
                ("GET", "/api/v1/rooms/standup/peers/bob", 405, "DELETE"),
                ("PUT", "/api/v1/openapi.json", 405, "GET, HEAD"),
            ]
            for (method, path, status, allow) in cases {
                // With a token and without: a path that is not there needs none to say so.
                for token in [token, nil] {
                    let reply = try await AdminClient.raw(server, method, path, token: token, body: nil)
                    #expect(reply.status == status, "\(method) \(path)")
                    #expect(reply.errorCode == ErrorCode.unknownEndpoint.rawValue, "\(method) \(path): \(reply.raw)")
                    #expect(reply.json?["error.name"]?.text == "unknownEndpoint")
                    #expect(reply.header("Allow") == allow, "\(method) \(path)")
                }
            }
            // Not the API: the server's other paths keep their plain 404.
            #expect(try await AdminClient.raw(server, "GET", "/nonexistent", token: nil, body: nil).status == 404)

            let head = try await AdminClient.raw(server, "HEAD", "/api/v1/rooms", token: token, body: nil)
            #expect(head.status == 200 && head.raw.isEmpty && head.header("Content-Type") == "application/json")
            #expect(try await AdminClient.raw(server, "HEAD", "/api/v1/rooms", token: nil, body: nil).status == 401)
            #expect(try await AdminClient.raw(server, "HEAD", "/healthz", token: nil, body: nil).status == 200)
        }
    }

    @Test("a revoked admin token gets 401 2015; other tokens go on working; expired or foreign tokens are not revoked")
    func revokeToken() async throws {
        try await TestServer.start().run { server in
            let admin = try await AdminClient.make(server, subject: "carol")
            let leaked = try await AdminClient.adminToken(server, subject: "mallory")
            let leakedClient = admin.with(token: leaked)
            #expect(try await leakedClient.call("GET", "/api/v1/rooms").status == 200)

            let revoked = try await admin.call("POST", "/api/v1/tokens/revoke", body: #"{"token": "\#(leaked)"}"#)
            #expect(revoked.status == 204)
            let refused = try await leakedClient.call("GET", "/api/v1/rooms")
            #expect(refused.status == 401 && refused.errorCode == ErrorCode.adminTokenRevoked.rawValue)
            let change = try await leakedClient.call("POST", "/api/v1/rooms", body: #"{"name": "sneaky"}"#)
            #expect(change.status == 401, "a revoked token changes nothing")
            #expect(try await admin.call("GET", "/api/v1/rooms").json?["rooms"]?.array.isEmpty == true)
            // Again is fine.
            #expect(try await admin.call("POST", "/api/v1/tokens/revoke", body: #"{"token": "\#(leaked)"}"#).status == 204)

            let expired = try await AdminClient.adminToken(server, ttlSeconds: -5)
            #expect(try await admin.call("POST", "/api/v1/tokens/revoke", body: #"{"token": "\#(expired)"}"#).status == 204)
            let roomToken = try await server.token(room: "standup", user: "alice", role: "host")
            let notAdmin = try await admin.call("POST", "/api/v1/tokens/revoke", body: #"{"token": "\#(roomToken)"}"#)
            #expect(notAdmin.status == 400 && notAdmin.errorCode == ErrorCode.invalidMessage.rawValue)
            let now = Int64(Date().timeIntervalSince1970)
            let withoutID = try await AdminTokenAuthority(secret: server.secret)
                .sign(AdminTokenClaims(subject: "old", issuedAt: now, expiresAt: now + 60, id: nil))
            let old = try await admin.call("POST", "/api/v1/tokens/revoke", body: #"{"token": "\#(withoutID)"}"#)
            #expect(old.status == 400, "a token without a jti cannot be revoked: \(old.raw)")

            // Revoking the token you use works, and ends it.
            #expect(try await admin.call("POST", "/api/v1/tokens/revoke", body: #"{"token": "\#(admin.token ?? "")"}"#).status == 204)
            #expect(try await admin.call("GET", "/api/v1/rooms").errorCode == ErrorCode.adminTokenRevoked.rawValue)
        }
    }

    @Test("a revocation is kept in the store: a restarted server still refuses the token")
    func revocationSurvivesRestart() async throws {
        let data = try TempDirectory(prefix: "confab-revoke-test")
        let first = try await TestServer.start(data: data)
        let admin = try await AdminClient.make(first)
        let leaked = try await AdminClient.adminToken(first, subject: "mallory")
        #expect(try await admin.call("POST", "/api/v1/tokens/revoke", body: #"{"token": "\#(leaked)"}"#).status == 204)
        await first.stop()
        try await TestServer.start(data: data).run { second in
            let reply = try await AdminClient.make(second).with(token: leaked).call("GET", "/api/v1/rooms")
            #expect(reply.status == 401 && reply.errorCode == ErrorCode.adminTokenRevoked.rawValue)
        }
    }

    @Test("10 unknown codes from one address, then 429 2014 even for a good code; good exchanges are not counted")
    func codeExchangeLimit() async throws {
        try await TestServer.start().run { server in
            let admin = try await AdminClient.make(server)
            let created = try await admin.call(
                "POST", "/api/v1/rooms/{room}/codes", ["room": "standup"], body: #"{"role": "listener", "uses": 100}"#)
            let code = try #require(created.json?["code"]?.text)
            // Good exchanges, more than the failure limit, are never refused.
            for index in 0..<12 {
                let good = try await MeetingCodeTests.exchange(admin, room: "standup", code: code, name: "Guest \(index)")
                #expect(good.status == 200)
            }
            for _ in 0..<10 {
                let unknown = try await MeetingCodeTests.exchange(admin, room: "standup", code: "aaaa-bbbb-cccc")
                #expect(unknown.status == 404 && unknown.errorCode == ErrorCode.codeNotFound.rawValue)
            }
            let limited = try await MeetingCodeTests.exchange(admin, room: "standup", code: code)
            #expect(limited.status == 429 && limited.errorCode == ErrorCode.codeRateLimited.rawValue)
            #expect(limited.json?["error.message"]?.text?.contains(" s") == true, "says how long to wait: \(limited.raw)")
            // The rest of the minute from the first failure, in milliseconds and in the header's whole seconds.
            let waitMs = try #require(limited.json?["error.retryAfterMs"]?.text.flatMap { Int($0) })
            #expect((1...60_000).contains(waitMs), "\(limited.raw)")
            #expect(limited.header("Retry-After") == "\((waitMs + 999) / 1_000)", "\(limited.head)")
            let listed = try await admin.call("GET", "/api/v1/rooms/{room}/codes", ["room": "standup"])
            #expect(listed.json?["codes"]?.array.first?["used"]?.text == "12", "a refused exchange takes no use")
        }
    }
}
