// The management API against a real server: each endpoint's success and its
// refusals, and the room's peers seeing the same events as when a host acts.
// Every reply is checked against the OpenAPI document (AdminClient).

import ConfabProtocol
import ConfabRooms
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("Management API")
struct AdminAPITests {
    @Test("no token, a malformed, forged or expired admin token get 401; a room or user token gets 403")
    func refusals() async throws {
        let server = try await TestServer.start()
        let admin = try await AdminClient.make(server)
        let forgedAuthority = await AdminTokenAuthority(secret: Array(repeating: 7, count: 32))
        let now = Int64(Date().timeIntervalSince1970)
        let forged = try await forgedAuthority.sign(AdminTokenClaims(subject: "mallory", issuedAt: now, expiresAt: now + 60))
        let expired = try await AdminClient.adminToken(server, ttlSeconds: -5)
        let cases: [(token: String?, status: Int, code: ErrorCode)] = [
            (nil, 401, .tokenMissing),
            ("not-a-jwt", 401, .tokenMalformed),
            // An unsigned token (RFC 7515 alg "none") is never accepted.
            ("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJraW5kIjoiYWRtaW4iLCJzdWIiOiJtIiwiZXhwIjo5OTk5OTk5OTk5fQ.", 401, .tokenSignatureInvalid),
            (forged, 401, .tokenSignatureInvalid),
            (expired, 401, .tokenExpired),
            (try await server.token(room: "standup", user: "alice", role: "host"), 403, .notAdminToken),
            (try await server.userToken("alice"), 403, .notAdminToken),
        ]
        for (token, status, code) in cases {
            let reply = try await admin.with(token: token).call("GET", "/api/v1/rooms")
            #expect(reply.status == status, "\(code)")
            #expect(reply.errorCode == code.rawValue, "\(reply.raw)")
        }
        // A change refused for its token changes nothing.
        let create = try await admin.with(token: expired).call("POST", "/api/v1/rooms", body: #"{"name": "sneaky"}"#)
        #expect(create.status == 401)
        #expect(try await admin.call("GET", "/api/v1/rooms").json?["rooms"]?.array.isEmpty == true)
        await server.stop()
    }

    @Test("an admin token admits to no room and not to the presence connection")
    func adminTokenIsNotAJoinToken() async throws {
        let server = try await TestServer.start()
        let token = try await AdminClient.adminToken(server)
        let room = try await server.connect(room: "standup")
        room.send(#"{"v": 1, "type": "join", "id": "j", "room": "standup", "token": "\#(token)"}"#)
        guard case .error(let joinError) = try await room.next().body else { throw ToolError("joined with an admin token") }
        #expect(joinError.code == .tokenSignatureInvalid)
        #expect(joinError.message.contains("admin token"), "the refusal says what kind of token it was: \(joinError.message)")
        let presence = try await RawClient.connect(port: server.port, room: "", tls: server.pinnedTLS())
        presence.send(#"{"v": 1, "type": "connect", "id": "c", "token": "\#(token)"}"#)
        guard case .error(let connectError) = try await presence.next().body else {
            throw ToolError("connected with an admin token")
        }
        #expect(connectError.code == .tokenSignatureInvalid)
        await server.stop()
    }

    @Test("GET /rooms lists live rooms with peers per role and when they started; GET /rooms/{room} shows the peers")
    func listAndDetail() async throws {
        let server = try await TestServer.start()
        let admin = try await AdminClient.make(server)
        let (alice, joined) = try await server.join("alice", role: "host", room: "town")
        let (bob, _) = try await server.join("bob", role: "speaker", room: "town", muted: false)
        let (lee, _) = try await server.join("lee", role: "listener", room: "town")
        lee.send(#"{"v": 1, "type": "hand.raise", "id": "h"}"#)
        _ = try await alice.next { $0.type == .peerUpdated }
        let list = try await admin.call("GET", "/api/v1/rooms")
        #expect(list.status == 200)
        let town = list.json?["rooms"]?.array.first { $0["name"]?.text == "town" }
        #expect(town?["peers"]?.text == "3")
        #expect(town?["peersByRole"] == (try JSONValue(parsing: #"{"host": 1, "speaker": 1, "listener": 1}"#)))
        #expect(town?["startedAt"]?.text == String(joined.room.startedAt.millisecondsSince1970))

        let detail = try await admin.call("GET", "/api/v1/rooms/{room}", ["room": "town"])
        #expect(detail.status == 200)
        let peers = detail.json?["peers"]?.array ?? []
        #expect(peers.compactMap { $0["id"]?.text } == ["alice", "bob", "lee"])
        #expect(peers[1]["role"]?.text == "speaker" && peers[1]["muted"] == .bool(false))
        #expect(peers[0]["muted"] == .bool(true))
        #expect(peers[2]["muted"] == nil, "a listener has no microphone")
        #expect(peers[2]["handRaisedAt"] != nil && peers[1]["handRaisedAt"] == nil)
        #expect(peers[0]["joinedAt"]?.text == String(joined.joinedAt.millisecondsSince1970))

        let unknown = try await admin.call("GET", "/api/v1/rooms/{room}", ["room": "nowhere"])
        #expect(unknown.status == 404 && unknown.errorCode == ErrorCode.roomNotFound.rawValue)
        for client in [alice, bob, lee] { client.close() }
        await server.stop()
    }

    @Test("POST /rooms opens a room ahead with its settings; a live or locked name gets 409 roomExists")
    func createRoom() async throws {
        let server = try await TestServer.start()
        let admin = try await AdminClient.make(server)
        let created = try await admin.call(
            "POST", "/api/v1/rooms",
            body: #"{"name": "board", "maxPeers": 2, "chatRate": {"perSecond": 1, "burst": 1}, "emptyTimeoutSeconds": 600}"#)
        #expect(created.status == 201)
        #expect(created.json?["maxPeers"]?.text == "2" && created.json?["peers"]?.array.isEmpty == true)
        #expect(created.json?["emptyRoomTimeoutMs"]?.text == "600000")
        let listed = try await admin.call("GET", "/api/v1/rooms")
        #expect(listed.json?["rooms"]?.array.map { $0["name"]?.text } == ["board"])

        let again = try await admin.call("POST", "/api/v1/rooms", body: #"{"name": "board"}"#)
        #expect(again.status == 409 && again.errorCode == ErrorCode.roomExists.rawValue)
        // The settings hold for joins: two fit, the third does not; the chat rate is 1 a second.
        let (alice, _) = try await server.join("alice", role: "host", room: "board")
        _ = try await server.join("bob", role: "speaker", room: "board")
        let carl = try await server.connect(room: "board")
        let token = try await server.token(room: "board", user: "carl", role: "listener")
        carl.send(#"{"v": 1, "type": "join", "id": "j", "room": "board", "token": "\#(token)"}"#)
        guard case .error(let full) = try await carl.next().body else { throw ToolError("a third peer got in") }
        #expect(full.code == .roomFull)
        alice.send(#"{"v": 1, "type": "chat.send", "id": "c1", "target": {"kind": "broadcast"}, "text": "one"}"#)
        alice.send(#"{"v": 1, "type": "chat.send", "id": "c2", "target": {"kind": "broadcast"}, "text": "two"}"#)
        guard case .error(let limited) = try await alice.next(where: { $0.id?.rawValue == "c2" }).body else {
            throw ToolError("the room's chat rate did not hold")
        }
        #expect(limited.code == .chatRateLimited)
        #expect((1...1_000).contains(limited.retryAfterMs ?? 0), "the room's rate of 1 a second: \(limited)")

        // A room live from a join is taken too; call names and bad input are 400.
        _ = try await server.join("dana", role: "host", room: "joined-first")
        #expect(try await admin.call("POST", "/api/v1/rooms", body: #"{"name": "joined-first"}"#).status == 409)
        for (body, code) in [
            (#"{"name": "call-x"}"#, ErrorCode.invalidMessage), (#"{"name": "a/b"}"#, .invalidMessage),
            (#"{"name": "ok", "maxPeers": 0}"#, .invalidMessage), ("{", .malformedMessage), (#"{}"#, .invalidMessage),
            // A rate that would overflow the room's token bucket at the first join.
            (#"{"name": "ok", "chatRate": {"perSecond": 1, "burst": 10000000000000000}}"#, .invalidMessage),
            (#"{"name": "ok", "chatRate": {"perSecond": 9223372036854775807, "burst": 1}}"#, .invalidMessage),
        ] {
            let refused = try await admin.call("POST", "/api/v1/rooms", body: body)
            #expect(refused.status == 400 && refused.errorCode == code.rawValue, "\(body): \(refused.raw)")
        }
        await server.stop()
    }

    @Test("POST /rooms with a template takes that [rooms.NAME]'s roles and limits; an unconfigured template is 400")
    func createFromTemplate() async throws {
        var stage = RoomTemplate(roles: [.host, .speaker])
        stage.maxPeers = 40
        try await TestServer.start(templates: ["town-hall": stage]).run { server in
            let admin = try await AdminClient.make(server)
            let created = try await admin.call(
                "POST", "/api/v1/rooms", body: #"{"name": "q3-all-hands", "template": "town-hall", "chatRate": {"perSecond": 2, "burst": 4}}"#)
            #expect(created.status == 201, "\(created.raw)")
            #expect(created.json?["roles"]?.array.compactMap(\.text) == ["host", "speaker"])
            #expect(created.json?["maxPeers"]?.text == "40")
            #expect(created.json?["chatRate"] == (try JSONValue(parsing: #"{"perSecond": 2, "burst": 4}"#)))
            // The room's own template when none is named: the default here.
            let plain = try await admin.call("POST", "/api/v1/rooms", body: #"{"name": "plain"}"#)
            #expect(plain.json?["roles"]?.array.compactMap(\.text) == ["host", "speaker", "listener"])
            // A misspelt template would otherwise open the room with settings nobody chose.
            let typo = try await admin.call("POST", "/api/v1/rooms", body: #"{"name": "other", "template": "town-hal"}"#)
            #expect(typo.status == 400 && typo.errorCode == ErrorCode.invalidMessage.rawValue)
            #expect(typo.json?["error.message"]?.text?.contains("no template [rooms.town-hal]") == true, "\(typo.raw)")
            #expect(try await admin.call("GET", "/api/v1/rooms/{room}", ["room": "other"]).status == 404, "nothing was opened")
        }
    }

    @Test("a room opened locked refuses joins until PATCH unlocks it; locked again, peers in it stay and may rejoin")
    func lockedRoom() async throws {
        let server = try await TestServer.start()
        let admin = try await AdminClient.make(server)
        let created = try await admin.call("POST", "/api/v1/rooms", body: #"{"name": "later", "locked": true}"#)
        #expect(created.status == 201 && created.json?["locked"] == .bool(true))
        func attempt(_ user: String) async throws -> ServerMessage {
            let client = try await server.connect(room: "later")
            let token = try await server.token(room: "later", user: user, role: "host")
            client.send(#"{"v": 1, "type": "join", "id": "j", "room": "later", "token": "\#(token)"}"#)
            return try await client.next()
        }
        guard case .error(let refused) = try await attempt("alice").body else { throw ToolError("joined a locked room") }
        #expect(refused.code == .roomLocked)

        let opened = try await admin.call("PATCH", "/api/v1/rooms/{room}", ["room": "later"], body: #"{"locked": false}"#)
        #expect(opened.status == 200 && opened.json?["locked"] == .bool(false))
        guard case .joined = try await attempt("alice").body else { throw ToolError("alice could not join once unlocked") }

        let locked = try await admin.call("PATCH", "/api/v1/rooms/{room}", ["room": "later"], body: #"{"locked": true}"#)
        #expect(locked.status == 200)
        let listed = try await admin.call("GET", "/api/v1/rooms")
        #expect(listed.json?["rooms"]?.array.first?["locked"] == .bool(true))
        guard case .error(let stranger) = try await attempt("bob").body else { throw ToolError("bob joined a locked room") }
        #expect(stranger.code == .roomLocked)
        guard case .joined = try await attempt("alice").body else { throw ToolError("alice, in the room, could not rejoin") }
        let bad = try await admin.call("PATCH", "/api/v1/rooms/{room}", ["room": "later"], body: #"{"locked": "yes"}"#)
        #expect(bad.status == 400)
        let missing = try await admin.call("PATCH", "/api/v1/rooms/{room}", ["room": "nowhere"], body: #"{"locked": true}"#)
        #expect(missing.status == 404)
        await server.stop()
    }

    @Test("removing through the API: the peers see what they see when a host removes, by @server")
    func removeLikeAHost() async throws {
        let server = try await TestServer.start()
        let admin = try await AdminClient.make(server)
        let (alice, _) = try await server.join("alice", role: "host")
        let (bob, _) = try await server.join("bob", role: "speaker")
        let (carl, _) = try await server.join("carl", role: "speaker")
        _ = try await alice.next {
            if case .peerJoined(let joined) = $0.body { joined.peer.id == "carl" } else { false }
        }
        // A host removes carl over the WebSocket ...
        alice.send(#"{"v": 1, "type": "peer.remove", "id": "r", "peer": "carl", "reason": "off topic"}"#)
        guard case .removed(let byHost) = try await carl.next(.removed).body,
            case .peerLeft(let hostLeft) = try await bob.next(.peerLeft).body
        else { throw ToolError("no removal events") }
        // ... and the API removes bob.
        let removed = try await admin.call(
            "DELETE", "/api/v1/rooms/{room}/peers/{peer}", ["room": "standup", "peer": "bob"], query: "?reason=spam")
        #expect(removed.status == 204)
        guard case .removed(let byServer) = try await bob.next(.removed).body,
            case .peerLeft(let serverLeft) = try await alice.next(where: {
                if case .peerLeft(let left) = $0.body { left.peer == "bob" } else { false }
            }).body
        else { throw ToolError("no removal events from the API") }
        #expect(byHost == Removed(by: "alice", reason: "off topic"))
        #expect(byServer == Removed(by: .server, reason: "spam"))
        #expect(hostLeft == PeerLeft(peer: "carl", reason: .removed, by: "alice"))
        #expect(serverLeft == PeerLeft(peer: "bob", reason: .removed, by: .server))
        #expect(try await bob.closeFrame() != nil, "the removed peer's connection closes")

        let gone = try await admin.call("DELETE", "/api/v1/rooms/{room}/peers/{peer}", ["room": "standup", "peer": "bob"])
        #expect(gone.status == 404 && gone.errorCode == ErrorCode.peerNotFound.rawValue)
        let noRoom = try await admin.call("DELETE", "/api/v1/rooms/{room}/peers/{peer}", ["room": "elsewhere", "peer": "x"])
        #expect(noRoom.status == 404 && noRoom.errorCode == ErrorCode.roomNotFound.rawValue)
        await server.stop()
    }

    @Test("muting and changing roles through the API: track.muted, peer.updated and prompts by @server")
    func muteAndRoles() async throws {
        let server = try await TestServer.start()
        let admin = try await AdminClient.make(server)
        let (alice, _) = try await server.join("alice", role: "host")
        let (bob, _) = try await server.join("bob", role: "speaker", muted: false)
        let (lee, _) = try await server.join("lee", role: "listener")
        let target = ["room": "standup", "peer": "bob"]
        #expect(try await admin.call("POST", "/api/v1/rooms/{room}/peers/{peer}/mute", target).status == 204)
        for client in [alice, bob, lee] {
            guard case .trackMuted(let change) = try await client.next(.trackMuted).body else { throw ToolError("no track.muted") }
            #expect(change == TrackMuteChange(peer: "bob", track: .microphone(of: "bob"), by: .server))
        }
        let detail = try await admin.call("GET", "/api/v1/rooms/{room}", ["room": "standup"])
        let bobRow = detail.json?["peers"]?.array.first { $0["id"]?.text == "bob" }
        #expect(bobRow?["muted"] == .bool(true) && bobRow?["mutedBy"]?.text == "@server")
        let listener = try await admin.call("POST", "/api/v1/rooms/{room}/peers/{peer}/mute", ["room": "standup", "peer": "lee"])
        #expect(listener.status == 404 && listener.errorCode == ErrorCode.trackNotFound.rawValue)
        let nobody = try await admin.call("POST", "/api/v1/rooms/{room}/peers/{peer}/mute", ["room": "standup", "peer": "zed"])
        #expect(nobody.status == 404 && nobody.errorCode == ErrorCode.peerNotFound.rawValue)

        // Forced (the default): lee is a speaker at once.
        let role = "/api/v1/rooms/{room}/peers/{peer}/role"
        let forced = try await admin.call("POST", role, ["room": "standup", "peer": "lee"], body: #"{"role": "speaker"}"#)
        #expect(forced.status == 204)
        guard case .peerUpdated(let updated) = try await alice.next(.peerUpdated).body else { throw ToolError("no peer.updated") }
        #expect(updated.peer.id == "lee" && updated.peer.role == "speaker" && updated.changed == [.role] && updated.by == .server)
        // Asked: bob gets a prompt from @server and the API the prompt's id.
        let asked = try await admin.call(
            "POST", role, ["room": "standup", "peer": "bob"], body: #"{"role": "host", "force": false}"#)
        #expect(asked.status == 202 && asked.json?["prompt"] != nil)
        guard case .roleChangeRequested(let prompt) = try await bob.next(.roleChangeRequested).body else {
            throw ToolError("no prompt")
        }
        #expect(prompt.by == .server && prompt.role == "host" && prompt.prompt.rawValue == asked.json?["prompt"]?.text)
        let badRole = try await admin.call("POST", role, ["room": "standup", "peer": "bob"], body: #"{"role": "king"}"#)
        #expect(badRole.status == 400 && badRole.errorCode == ErrorCode.roleNotFound.rawValue)
        await server.stop()
    }

    @Test("a system message is numbered and persisted like any message, from @server, and in a joiner's history")
    func systemMessage() async throws {
        let server = try await TestServer.start()
        let admin = try await AdminClient.make(server)
        let (alice, _) = try await server.join("alice", role: "host")
        alice.send(#"{"v": 1, "type": "chat.send", "id": "c", "target": {"kind": "broadcast"}, "text": "hello"}"#)
        _ = try await alice.next { $0.id?.rawValue == "c" }
        let posted = try await admin.call(
            "POST", "/api/v1/rooms/{room}/messages", ["room": "standup"], body: #"{"text": "The server restarts at 18:00."}"#)
        #expect(posted.status == 201 && posted.json?["seq"]?.text == "2")
        guard case .chatMessage(let message) = try await alice.next(.chatMessage).body else { throw ToolError("no chat") }
        #expect(message.from == .server && message.fromRole == "server" && message.seq == 2)
        #expect(message.text == "The server restarts at 18:00." && message.target == .broadcast)
        let (_, joined) = try await server.join("bob", role: "listener")
        #expect(joined.history.messages.map(\.seq) == [1, 2])
        #expect(joined.history.messages.last?.from == .server)
        let empty = try await admin.call("POST", "/api/v1/rooms/{room}/messages", ["room": "standup"], body: #"{"text": " "}"#)
        #expect(empty.status == 400 && empty.errorCode == ErrorCode.chatEmpty.rawValue)
        await server.stop()
    }

    @Test("DELETE /rooms/{room} ends the room for everyone with the reason; locked, joins are refused and the name stays taken")
    func endRoom() async throws {
        let server = try await TestServer.start()
        let admin = try await AdminClient.make(server)
        let (alice, _) = try await server.join("alice", role: "host")
        let (lee, _) = try await server.join("lee", role: "listener")
        let unclear = try await admin.call("DELETE", "/api/v1/rooms/{room}", ["room": "standup"], query: "?lock=maybe")
        #expect(unclear.status == 400 && unclear.errorCode == ErrorCode.invalidMessage.rawValue)
        let ended = try await admin.call(
            "DELETE", "/api/v1/rooms/{room}", ["room": "standup"], query: "?lock=true&reason=maintenance%20window")
        #expect(ended.status == 204)
        for client in [alice, lee] {
            guard case .roomEnded(let end) = try await client.next(.roomEnded).body else { throw ToolError("no room.ended") }
            #expect(end == RoomEnded(by: .server, reason: "maintenance window", locked: true))
            #expect(try await client.closeFrame() != nil)
        }
        let rejoin = try await server.connect(room: "standup")
        rejoin.send(#"{"v": 1, "type": "join", "id": "j", "room": "standup", "token": "\#(try await server.token(user: "alice", role: "host"))"}"#)
        guard case .error(let locked) = try await rejoin.next().body else { throw ToolError("joined a locked room") }
        #expect(locked.code == .roomLocked)
        #expect(try await admin.call("GET", "/api/v1/rooms/{room}", ["room": "standup"]).status == 404)
        let create = try await admin.call("POST", "/api/v1/rooms", body: #"{"name": "standup"}"#)
        #expect(create.status == 409 && create.errorCode == ErrorCode.roomExists.rawValue)
        #expect(try await admin.call("DELETE", "/api/v1/rooms/{room}", ["room": "standup"]).status == 404)
        // A room opened ahead and ended locked before anyone came stays taken as well.
        #expect(try await admin.call("POST", "/api/v1/rooms", body: #"{"name": "early"}"#).status == 201)
        #expect(try await admin.call("DELETE", "/api/v1/rooms/{room}", ["room": "early"], query: "?lock=true").status == 204)
        #expect(try await admin.call("POST", "/api/v1/rooms", body: #"{"name": "early"}"#).status == 409)
        await server.stop()
    }

    @Test("the calls in progress and a user's call history")
    func calls() async throws {
        let server = try await TestServer.start()
        let admin = try await AdminClient.make(server)
        #expect(try await admin.call("GET", "/api/v1/calls").json?["calls"]?.array.isEmpty == true)
        let (alice, bob, call) = try await CallWireTests().ring(server)
        let inProgress = try await admin.call("GET", "/api/v1/calls")
        let listed = inProgress.json?["calls"]?.array ?? []
        #expect(listed.map { $0["id"]?.text } == [call])
        #expect(listed.first?["caller"]?.text == "alice")
        #expect(listed.first?["participants"]?.array.compactMap { $0["state"]?.text } == ["accepted", "ringing"])
        bob.send(#"{"v": 1, "type": "call.reject", "id": "r", "call": "\#(call)"}"#)
        _ = try await alice.next { $0.type == .callEnded }
        #expect(try await admin.call("GET", "/api/v1/calls").json?["calls"]?.array.isEmpty == true)
        var history = try await admin.call("GET", "/api/v1/users/{user}/calls", ["user": "alice"])
        _ = await waitUntil(timeout: .seconds(10), every: .milliseconds(20)) {
            history = (try? await admin.call("GET", "/api/v1/users/{user}/calls", ["user": "alice"])) ?? history
            return history.json?["calls"]?.array.isEmpty == false
        }
        let record = history.json?["calls"]?.array.first
        #expect(record?["call"]?.text == call && record?["direction"]?.text == "outgoing")
        #expect(record?["outcome"]?.text == "rejected" && record?["peers"]?.array == [.string("bob")])
        let badLimit = try await admin.call("GET", "/api/v1/users/{user}/calls", ["user": "alice"], query: "?limit=0")
        #expect(badLimit.status == 400)
        await server.stop()
    }

    @Test("every change through the API is in the audit log with who and when, refused ones too; reads are not")
    func auditLog() async throws {
        let server = try await TestServer.start()
        let admin = try await AdminClient.make(server, subject: "carol@ops")
        let before = Int64(Date().timeIntervalSince1970 * 1_000)
        _ = try await admin.call("POST", "/api/v1/rooms", body: #"{"name": "audited"}"#)
        _ = try await admin.call("POST", "/api/v1/rooms", body: #"{"name": "audited"}"#)
        _ = try await admin.call("GET", "/api/v1/rooms")
        _ = try await admin.call("DELETE", "/api/v1/rooms/{room}", ["room": "audited"])
        let lines = try String(contentsOfFile: server.data.file("admin-audit.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        #expect(lines.map { "\($0["method"]?.text ?? "") \($0["path"]?.text ?? "") \($0["status"]?.text ?? "")" } == [
            "POST /api/v1/rooms 201", "POST /api/v1/rooms 409", "DELETE /api/v1/rooms/audited 204",
        ])
        #expect(lines.allSatisfy { $0["subject"]?.text == "carol@ops" })
        #expect(lines.allSatisfy { Int64($0["at"]?.text ?? "") ?? 0 >= before })
        await server.stop()
    }
}
