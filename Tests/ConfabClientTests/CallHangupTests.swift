// Hanging up when the network does not cooperate, against the in-memory
// server: the client never stays in a call it asked to leave.

import ConfabClient
import ConfabProtocol
import Synchronization
import Testing

@Suite("CallClient: a hang-up the server did not confirm")
struct CallHangupTests {
    static let call = CallInfo(
        id: "k1", caller: "bob", group: false, createdAt: Fixture.t0, answeredAt: Fixture.t0,
        participants: [
            CallParticipant(user: "bob", name: "Bob", state: .accepted),
            CallParticipant(user: "alice", name: "Alice", state: .ringing, invitedBy: "bob"),
        ])

    static var accepted: CallInfo {
        var call = call
        call.participants[1].state = .accepted
        return call
    }

    /// Alice online on a fake server that rings her, gives her a room on
    /// accept, and answers `call.hangup` with nothing at all.
    func inCall() async throws -> (FakeServer, CallClient) {
        let server = FakeServer()
        server.handle(.connect) { message, server in
            // The first connect: free; later ones: the server still has her in the call.
            let count = server.count(.connect)
            let calls = count == 1 ? [] : [Self.accepted]
            return [
                ServerMessage(
                    id: message.id,
                    .connected(Connected(you: OnlineUser(user: "alice", name: "Alice", busy: count > 1), online: [], calls: calls)))
            ]
        }
        server.handle(.acceptCall) { message, _ in
            [ServerMessage(id: message.id, .callRoom(CallRoom(call: "k1", room: "call-k1", token: "room-token")))]
        }
        server.handle(.hangUp) { _, _ in [] }
        let client = CallClient(
            endpoint: ServerEndpoint(host: "127.0.0.1", port: 7443, room: nil), token: "user-token", transport: server,
            requestTimeoutMs: 300,
            reconnect: ReconnectPolicy(initialDelayMs: 20, maximumDelayMs: 80, multiplier: 2, jitter: 0, giveUpAfterMs: 3_000))
        try await client.connect()
        server.push(.callInvitation(CallInvitation(call: Self.call, from: "bob", ringTimeoutMs: 30_000)))
        #expect(await eventually { client.store.state.invitations.count == 1 })
        _ = try await client.accept()
        #expect(client.store.state.call?.id == "k1")
        #expect(await client.session != nil)
        return (server, client)
    }

    @Test("no reply to call.hangup: the room is left all the same and the call is over here")
    func unanswered() async throws {
        let (server, client) = try await inCall()
        let events = Mutex<[CallEvent]>([])
        let observation = client.store.observe { update in events.withLock { $0.append(update.event) } }
        defer { observation.cancel() }
        try await client.hangup()
        #expect(client.store.state.call == nil && client.store.state.room == nil)
        #expect(await client.session == nil)
        #expect(events.withLock { $0 }.contains(.hungUp("k1")))
        // Leaving the room is itself a hang-up on the server.
        let types = server.receivedTypes
        #expect(types.contains(.hangUp))
        #expect(types.lastIndex(of: .leave).map { $0 > (types.firstIndex(of: .hangUp) ?? Int.max) } == true)
        await client.disconnect()
    }

    @Test("the presence connection drops before the reply: after reconnecting the call does not come back, and the hang-up is sent again")
    func droppedThenRetried() async throws {
        let (server, client) = try await inCall()
        let presence = try #require(server.connections.first)
        server.handle(.hangUp) { _, _ in
            presence.finish()
            return []
        }
        try await client.hangup()
        #expect(client.store.state.call == nil)
        #expect(await client.session == nil)
        #expect(server.receivedTypes.contains(.leave))
        // The server still lists her in the call when she is back: the client hangs up again.
        server.handle(.hangUp) { message, _ in [ServerMessage(id: message.id, .ok(OkReply()))] }
        #expect(await eventually { server.receivedTypes.filter { $0 == .connect }.count == 2 })
        #expect(await eventually { server.receivedTypes.filter { $0 == .hangUp }.count == 2 })
        #expect(client.store.state.connection == .online)
        #expect(client.store.state.call == nil, "a call you hung up does not come back")
        // And no room is joined for it.
        try await Task.sleep(for: .milliseconds(100))
        #expect(await client.session == nil)
        await client.disconnect()
    }
}
