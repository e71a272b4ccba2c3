// Presence and calls at the wire: the server-root connection with raw JSON,
// and the `[calls]` section of the config file.

import ConfabProtocol
import ConfabRooms
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("Presence and calls on the wire")
struct CallWireTests {
    @Test("connect on / goes online; room messages there get 1010 wrongConnection and the connection stays open")
    func presenceConnection() async throws {
        let server = try await TestServer.start()
        let client = try await RawClient.connect(port: server.port, room: "", tls: server.pinnedTLS())
        client.send(#"{"v": 1, "type": "chat.send", "id": "a", "target": {"kind": "broadcast"}, "text": "hi"}"#)
        guard case .error(let early) = try await client.next().body else { throw ToolError("chat.send was taken") }
        #expect(early.code == .wrongConnection)
        client.send(#"{"v": 1, "type": "call.history", "id": "a2"}"#)
        guard case .error(let notYet) = try await client.next().body else { throw ToolError("call.history was taken") }
        #expect(notYet.code == .notJoined)
        client.send(#"{"v": 1, "type": "connect", "id": "b", "token": "\#(try await server.userToken("alice"))"}"#)
        guard case .connected(let connected) = try await client.next().body else {
            Issue.record("no connected")
            return
        }
        #expect(connected.you.user == "alice")
        #expect(connected.ringTimeoutMs == CallLimits.defaultRingTimeoutMs)
        client.send(#"{"v": 1, "type": "hand.raise", "id": "c"}"#)
        let refusal = try await client.next()
        #expect(refusal.id == "c")
        guard case .error(let error) = refusal.body else { throw ToolError("expected an error, got \(refusal)") }
        #expect(error.code == .wrongConnection)
        client.send(#"{"v": 1, "type": "ping", "id": "d"}"#)
        #expect(try await client.next().type == .pong)
        client.close()
        await server.stop()
    }

    @Test("call messages on a room's connection get 1010 wrongConnection")
    func callOnRoomConnection() async throws {
        let server = try await TestServer.start()
        let (client, _) = try await server.join("alice", role: "host")
        client.send(#"{"v": 1, "type": "call.invite", "id": "x", "users": ["bob"]}"#)
        let refusal = try await client.next()
        guard case .error(let error) = refusal.body else { throw ToolError("expected an error, got \(refusal)") }
        #expect(error.code == .wrongConnection)
        client.close()
        await server.stop()
    }

    @Test("a room named call-… admits nobody unless a call opened it")
    func callRoomsAreReserved() async throws {
        let server = try await TestServer.start()
        let client = try await server.connect(room: "call-made-up")
        let token = try await server.token(room: "call-made-up", user: "mallory", role: "host")
        client.send(#"{"v": 1, "type": "join", "id": "j", "room": "call-made-up", "token": "\#(token)"}"#)
        guard case .error(let error) = try await client.next().body else { throw ToolError("joined a call room") }
        #expect(error.code == .roomEnded)
        await server.stop()
    }

    /// Alice (online) calls bob (online); returns both connections and the call id bob was rung with.
    func ring(_ server: TestServer) async throws -> (alice: RawClient, bob: RawClient, call: String) {
        let alice = try await RawClient.connect(port: server.port, room: "", tls: server.pinnedTLS())
        alice.send(#"{"v": 1, "type": "connect", "id": "a", "token": "\#(try await server.userToken("alice"))"}"#)
        _ = try await alice.next { $0.type == .connected }
        let bob = try await RawClient.connect(port: server.port, room: "", tls: server.pinnedTLS())
        bob.send(#"{"v": 1, "type": "connect", "id": "b", "token": "\#(try await server.userToken("bob"))"}"#)
        _ = try await bob.next { $0.type == .connected }
        alice.send(#"{"v": 1, "type": "call.invite", "id": "i", "users": ["bob"]}"#)
        guard case .callInvitation(let invitation) = try await bob.next(where: { $0.type == .callInvitation }).body else {
            throw ToolError("bob was not rung")
        }
        return (alice, bob, invitation.call.id.rawValue)
    }

    @Test("accepting or rejecting a 1:1 call the caller cancelled is 6005 invitationNotPending, as documented")
    func answerAfterCancel() async throws {
        let server = try await TestServer.start()
        for answer in ["call.accept", "call.reject"] {
            let (alice, bob, call) = try await ring(server)
            alice.send(#"{"v": 1, "type": "call.cancel", "id": "x", "call": "\#(call)"}"#)
            _ = try await alice.next { $0.type == .callEnded }
            bob.send(#"{"v": 1, "type": "\#(answer)", "id": "late", "call": "\#(call)"}"#)
            let reply = try await bob.next { $0.id?.rawValue == "late" }
            guard case .error(let error) = reply.body else { throw ToolError("\(answer) after cancel: \(reply)") }
            #expect(error.code == .invitationNotPending, "\(answer)")
            // A call that never invited you is still unknown to you.
            bob.send(#"{"v": 1, "type": "\#(answer)", "id": "other", "call": "NoSuchCall1"}"#)
            guard case .error(let unknown) = try await bob.next(where: { $0.id?.rawValue == "other" }).body else {
                throw ToolError("answered a call that does not exist")
            }
            #expect(unknown.code == .callNotFound)
            alice.close()
            bob.close()
        }
        await server.stop()
    }

    @Test("a room token for a call's room, held by someone never in that call, is 6003 callNotFound, not 6007")
    func strangerInCallRoom() async throws {
        let server = try await TestServer.start()
        let (alice, bob, call) = try await ring(server)
        bob.send(#"{"v": 1, "type": "call.accept", "id": "acc", "call": "\#(call)"}"#)
        guard case .callRoom(let room) = try await bob.next(where: { $0.id?.rawValue == "acc" }).body else {
            throw ToolError("no call.room for bob")
        }
        let mallory = try await server.connect(room: room.room.rawValue)
        let token = try await server.token(room: room.room.rawValue, user: "mallory", role: "member")
        mallory.send(#"{"v": 1, "type": "join", "id": "j", "room": "\#(room.room.rawValue)", "token": "\#(token)"}"#)
        guard case .error(let error) = try await mallory.next().body else { throw ToolError("mallory joined the call") }
        #expect(error.code == .callNotFound)
        #expect(!error.message.contains("left"))
        alice.close()
        bob.close()
        await server.stop()
    }

    @Test("the [calls] section sets the ring timeout, the invitation rate and an allow list")
    func configFile() throws {
        let file = try ConfigFile.parse(
            """
            [calls]
            ringTimeoutMs = 12000
            invitationRate = { perSecond = 2, burst = 3 }
            policy = "allowList"
            [calls.allow]
            alice = ["bob"]
            """, path: "confab.toml")
        var configuration = ServerConfiguration(dataDirectory: "/tmp/unused")
        file.apply(to: &configuration)
        #expect(configuration.calls.ringTimeoutMs == 12_000)
        #expect(configuration.calls.invitationRate == RateLimit(perSecond: 2, burst: 3))
        #expect(configuration.calls.policy.mayRing("bob", from: "alice"))
        #expect(configuration.calls.policy.mayRing("alice", from: "bob"))
        #expect(!configuration.calls.policy.mayRing("carol", from: "alice"))
        #expect(!configuration.calls.policy.mayRing("alice", from: "carol"))
        #expect(CallPolicy.anyone.mayRing("carol", from: "alice"))
    }

    @Test("a bad [calls] value is refused with its line", arguments: [
        ("[calls]\nringTimeoutMs = 10", 2), ("[calls]\npolicy = \"friends\"", 2),
        ("[calls]\n[calls.allow]\nalice = [\"b o b\"]", 3),
    ])
    func badConfig(text: String, line: Int) {
        #expect {
            try ConfigFile.parse(text, path: "confab.toml")
        } throws: { error in
            (error as? ConfigError)?.line == line
        }
    }
}
