import ConfabClient
import ConfabProtocol
import Synchronization
import Testing

/// A session joined to a fresh fake server.
private func joinedSession(
    _ configuration: SessionConfiguration = Fixture.configuration(), prepare: (FakeServer) -> Void = { _ in }
) async throws -> (ConfabSession, FakeServer) {
    let server = FakeServer()
    prepare(server)
    let session = ConfabSession(configuration: configuration, transport: server, random: { 0 })
    try await session.join()
    return (session, server)
}

/// A joined session that has received chat messages 1...`count`, as the
/// server's log holds them.
private func joinedSession(
    seenChat count: Int, sourceLocation: SourceLocation = #_sourceLocation
) async throws -> (ConfabSession, FakeServer) {
    let (session, server) = try await joinedSession()
    server.appendToLog((1...count).map { Fixture.message($0) })
    for seq in 1...count { server.push(.chatMessage(Fixture.message(seq))) }
    #expect(await eventually { session.state.lastSeenSequence == count }, sourceLocation: sourceLocation)
    return (session, server)
}

/// Records what a listener hears; implements only two methods (the rest are no-op defaults).
private final class RecordingListener: RoomListener {
    let joinedPeers = Mutex<[PeerID]>([])
    let states = Mutex<[ConnectionState]>([])

    func room(_ session: ConfabSession, peerDidJoin peer: PeerInfo) {
        joinedPeers.withLock { $0.append(peer.id) }
    }

    func room(_ session: ConfabSession, didUpdateConnectionState state: ConnectionState, from oldState: ConnectionState) {
        states.withLock { $0.append(state) }
    }
}

@Suite("ConfabSession against an in-memory server")
struct SessionTests {
    @Test("join sends the token and room, and the state shows the room")
    func join() async throws {
        let (session, server) = try await joinedSession()
        guard case .join(let request)? = server.received.first?.body else {
            Issue.record("the first message was not join")
            return
        }
        #expect(request.room == "standup")
        #expect(request.token == "token-alice")
        #expect(request.muted)
        #expect(session.state.connection == .connected)
        #expect(session.state.you?.id == "alice")
        #expect(session.state.peers["bob"] != nil)
        #expect(session.state.joinTimeMs ?? -1 >= 2)
    }

    @Test("a refused join throws the catalog code and ends the session")
    func refusedJoin() async throws {
        let server = FakeServer()
        server.handle(.join) { message, _ in
            [ServerMessage(id: message.id, .error(CodedError(.tokenExpired, "token expired")))]
        }
        let session = ConfabSession(configuration: Fixture.configuration(), transport: server)
        await #expect(throws: SessionError.server(CodedError(.tokenExpired, "token expired"))) {
            try await session.join()
        }
        guard case .disconnected(.failed(let error)) = session.state.connection else {
            Issue.record("expected disconnected(failed), got \(session.state.connection)")
            return
        }
        #expect(error.code == .tokenExpired)
    }

    @Test("chat is acknowledged with its seq and appears once in the store")
    func chat() async throws {
        let (session, _) = try await joinedSession()
        let ack = try await session.send("hello", to: .broadcast)
        #expect(ack.seq == 1)
        let second = try await session.send("psst", toPeers: ["bob"])
        #expect(second.seq == 2)
        #expect(session.state.chat.map(\.text) == ["hello", "psst"])
        #expect(session.state.totalUnread == 0, "our own messages are not unread")
    }

    @Test("every request carries an id and a refusal becomes a typed error with its code")
    func refusal() async throws {
        let (session, server) = try await joinedSession()
        server.handle(.muteTrack) { message, _ in
            [ServerMessage(id: message.id, .error(CodedError(.cannotMuteOthers, "role listener may not mute others")))]
        }
        do {
            try await session.mute(peer: "bob")
            Issue.record("mute should have been refused")
        } catch {
            #expect(error.code == .cannotMuteOthers)
            #expect(error.message == "role listener may not mute others")
        }
        let ids = server.received.map(\.id.rawValue)
        #expect(Set(ids).count == ids.count, "request ids are unique")
        guard case .muteTrack(let track)? = server.received.last?.body else {
            Issue.record("no track.mute sent")
            return
        }
        #expect(track == "bob:mic")
    }

    @Test("a request without a reply times out")
    func timeout() async throws {
        let (session, server) = try await joinedSession(Fixture.configuration(requestTimeoutMs: 100))
        server.handle(.raiseHand) { _, _ in [] }
        await #expect(throws: SessionError.timedOut(request: .raiseHand, afterMs: 100)) {
            try await session.raiseHand()
        }
    }

    @Test("requests for each action send the right message")
    func actions() async throws {
        let (session, server) = try await joinedSession()
        server.handle(.changeRole) { message, _ in [ServerMessage(id: message.id, .ok(OkReply(prompt: "p7")))] }
        try await session.unmuteSelf()
        try await session.muteSelf()
        let prompt = try await session.changeRole(of: "bob", to: "listener")
        #expect(prompt == "p7")
        #expect(session.state.outgoingPrompts["p7"]?.to == "bob")
        _ = try await session.changeRole(of: "bob", to: "listener", force: true)
        try await session.raiseHand()
        try await session.lowerHand()
        try await session.remove("bob", reason: "bye")
        try await session.updateProfile(name: "Al")
        try await session.endRoom(lock: true, reason: "done")
        let types = server.receivedTypes.dropFirst()
        #expect(
            Array(types) == [
                .unmuteTrack, .muteTrack, .changeRole, .changeRole, .raiseHand, .lowerHand, .removePeer, .updatePeer,
                .endRoom,
            ])
    }

    @Test("answering a prompt sends prompt.answer and removes it from the state")
    func answerPrompt() async throws {
        let (session, server) = try await joinedSession()
        server.push(.roleChangeRequested(RoleChangePrompt(prompt: "p3", by: "bob", role: "listener")))
        #expect(await eventually { session.state.pendingPrompts.count == 1 })
        try await session.answer("p3", accept: false)
        #expect(session.state.pendingPrompts.isEmpty)
        guard case .answerPrompt(let answer)? = server.received.last?.body else {
            Issue.record("no prompt.answer sent")
            return
        }
        #expect(answer == PromptAnswer(prompt: "p3", accept: false))
    }

    @Test(
        "a prompt is dropped after the room's prompt lifetime from joined (held to 1 s ... 1 h), after 60 s when the server does not say")
    func promptLifetime() async throws {
        for (lifetimeMs, expectedMs) in [(Int?(5_000), 5_000), (nil, 60_000), (-5, 1_000), (Int.max, 3_600_000)] {
            let (server, clock, session) = sessionOnTestClock()
            var joined = Fixture.joined(keepalive: KeepaliveInfo(pingIntervalMs: 10_000_000, deadAfterMs: 20_000_000))
            joined.room.promptLifetimeMs = lifetimeMs
            server.setJoined(joined)
            try await session.join()
            server.push(.roleChangeRequested(RoleChangePrompt(prompt: "p3", by: "bob", role: "listener")))
            #expect(await eventually { session.state.pendingPrompts.count == 1 })
            try #require(await clock.waitForSleeper(until: Int64(expectedMs)), "lifetime \(String(describing: lifetimeMs))")
            clock.advance(byMs: expectedMs - 1)
            #expect(session.state.pendingPrompts.count == 1)
            clock.advance(byMs: 1)
            #expect(await eventually { session.state.pendingPrompts.isEmpty })
            await session.leave()
        }
    }

    @Test("names, chat and reasons are sanitised again before they reach the store")
    func sanitising() async throws {
        let (session, server) = try await joinedSession()
        var evil = Fixture.peer("mallory")
        evil.name = "Mal\u{1B}]52;c;ZXZpbA==\u{07}lory\u{202E}"
        server.push(.peerJoined(PeerJoined(peer: evil)))
        server.push(.chatMessage(Fixture.message(1, from: "mallory", text: "hi\u{1B}[2J there\r")))
        #expect(await eventually { session.state.chat.count == 1 })
        #expect(session.state.peers["mallory"]?.name == "Mallory")
        #expect(session.state.chat.first?.text == "hi there")
    }

    @Test("a shared-state key the protocol does not allow (it is shown on screen) is dropped, in state.changed and joined")
    func badStateKeys() async throws {
        let (session, server) = try await joinedSession()
        server.push(.stateChanged(StateChanged(key: "\u{1B}[2Jagenda", value: "evil", by: "mallory", at: Fixture.t0)))
        server.push(.stateChanged(StateChanged(key: "AGENDA", value: "evil", by: "mallory", at: Fixture.t0)))
        server.push(.stateChanged(StateChanged(key: "agenda", value: "Q3", by: "alice", at: Fixture.t0)))
        #expect(await eventually { session.state.sharedState["agenda"] != nil })
        #expect(session.state.sharedState.keys.sorted() == ["agenda"])

        var joined = Fixture.joined()
        joined.state = [
            StateEntry(key: "pinned", value: "slides", by: "alice", at: Fixture.t0),
            StateEntry(key: "bad key", value: "evil", by: "mallory", at: Fixture.t0),
        ]
        #expect(IncomingText.joined(joined).state?.map(\.key) == ["pinned"])
    }

    @Test("a server's wait after a rate limit is kept within the protocol's bound", arguments: [
        (Int.max, ProtocolLimits.maximumRetryAfterMs), (-5, 0), (180, 180), (60_000, 60_000),
    ])
    func retryAfterBounded(sent: Int, kept: Int) {
        let refusal = CodedError(.chatRateLimited, "slow down", retryAfterMs: sent)
        #expect(IncomingText.errorMessage(refusal).retryAfterMs == kept)
        #expect(IncomingText.errorMessage(CodedError(.chatRateLimited, "slow down")).retryAfterMs == nil)
    }

    @Test("a refusal's wait reads in whole seconds rounded up, within the longest any limit asks", arguments: [
        (Int?.none, "slow down"), (10, "slow down; retry in 1 s"), (1_250, "slow down; retry in 2 s"),
        (Int.max, "slow down; retry in 60 s"), (-5, "slow down; retry in 1 s"),
    ])
    func messageWithWait(retryAfterMs: Int?, shown: String) {
        let error = SessionError.server(CodedError(.chatRateLimited, "slow down", retryAfterMs: retryAfterMs))
        #expect(error.messageWithWait == shown)
    }

    @Test("chat and state values over their limits from a server are cut, never left ending in a space")
    func cutsOverlongText() async throws {
        let (session, server) = try await joinedSession()
        let chat = String(repeating: "x", count: ProtocolLimits.maximumChatCharacters - 1) + " tail"
        server.push(.chatMessage(Fixture.message(1, from: "alice", text: chat)))
        let value = String(repeating: "y", count: ProtocolLimits.maximumStateValueCharacters - 1) + " tail"
        server.push(.stateChanged(StateChanged(key: "agenda", value: value, by: "alice", at: Fixture.t0)))
        #expect(await eventually { session.state.sharedState["agenda"] != nil && session.state.chat.count == 1 })
        #expect(session.state.chat.first?.text == String(chat.prefix(ProtocolLimits.maximumChatCharacters - 1)))
        #expect(session.state.sharedState["agenda"]?.value == String(value.prefix(ProtocolLimits.maximumStateValueCharacters - 1)))
    }

    @Test("listeners hear events through their few methods; defaults cover the rest")
    func listener() async throws {
        let server = FakeServer()
        let session = ConfabSession(configuration: Fixture.configuration(), transport: server)
        let listener = RecordingListener()
        session.addListener(listener)
        try await session.join()
        server.push(.peerJoined(PeerJoined(peer: Fixture.peer("carol"))))
        #expect(await eventually { listener.joinedPeers.withLock { $0 } == ["carol"] })
        #expect(listener.states.withLock { $0 } == [.connecting, .connected])
    }

    @Test("events also arrive as an AsyncStream, ending when the session ends")
    func eventStream() async throws {
        let server = FakeServer()
        let session = ConfabSession(configuration: Fixture.configuration(), transport: server)
        let events = session.events()
        try await session.join()
        await session.leave()
        var names: [String] = []
        for await event in events {
            switch event {
            case .joined: names.append("joined")
            case .disconnected(let reason): names.append("disconnected:\(reason.name)")
            case .connectionStateChanged(let state, _): names.append("state:\(state)")
            default: break
            }
        }
        #expect(names == ["state:connecting", "state:connected", "joined", "state:disconnected", "disconnected:left"])
        #expect(server.receivedTypes.last == .leave)
    }

    @Test("after a drop the session resumes with the token and the last seq, with no gaps and no duplicates")
    func resume() async throws {
        let (session, server) = try await joinedSession(seenChat: 3)
        server.appendToLog((4...5).map { Fixture.message($0) })
        server.drop()
        #expect(await eventually { session.state.reconnectCount == 1 })
        guard case .resume(let request)? = server.received.last(where: { $0.type == .resume })?.body else {
            Issue.record("no resume sent")
            return
        }
        #expect(request.lastSeenSequence == 3)
        #expect(request.resumeToken == "rt-1")
        #expect(session.state.chat.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(session.state.connection == .connected)
        #expect(session.state.unread[.room] == 5)
    }

    @Test("attempts that cannot connect do not spend the resume token: the session still resumes")
    func resumeAfterRefusedAttempts() async throws {
        let (session, server) = try await joinedSession()
        let events = session.events()
        server.refuseConnections(2)
        server.drop()
        #expect(await eventually { session.state.reconnectCount == 1 })
        #expect(server.connectTimes.count == 4, "the join, two refused attempts, the resume")
        #expect(Array(server.receivedTypes.suffix(1)) == [.resume])
        #expect(server.receivedTypes.filter { $0 == .join }.count == 1, "no fresh join")
        for await event in events {
            if case .reconnected(let resumed) = event {
                #expect(resumed)
                break
            }
        }
    }

    @Test("a rejected resume joins again and catches up the chat")
    func rejectedResume() async throws {
        let (session, server) = try await joinedSession(seenChat: 2)
        // A restarted server: no sessions to resume, and more chat since.
        server.forgetSessions()
        server.appendToLog((3...80).map { Fixture.message($0) })
        let events = session.events()
        server.drop()
        #expect(await eventually { session.state.reconnectCount == 1 })
        #expect(Array(server.receivedTypes.suffix(3)) == [.resume, .join, .fetchHistory])
        #expect(session.state.chat.map(\.seq) == Array(1...80))
        var resumedFlags: [Bool] = []
        for await event in events {
            if case .reconnected(let resumed) = event {
                resumedFlags.append(resumed)
                break
            }
        }
        #expect(resumedFlags == [false])
    }

    @Test("reconnection backs off exponentially, within bounds")
    func backoff() async throws {
        // The delays as the fixture's (20 ms growing to 80), but a give-up horizon
        // and a wait a machine busy compiling cannot reach: on two loaded cores
        // the four attempts once took longer than the fixture's 2 s horizon.
        let (session, server) = try await joinedSession(
            Fixture.configuration(
                reconnect: ReconnectPolicy(
                    initialDelayMs: 20, maximumDelayMs: 80, multiplier: 2, jitter: 0, giveUpAfterMs: 60_000)))
        server.refuseConnections(3)
        server.drop()
        #expect(await eventually(timeoutMs: 30_000) { session.state.reconnectCount == 1 })
        let times = server.connectTimes
        // Join, then refused at ~20, ~40, ~80 ms gaps, then the fourth attempt (80 ms, the cap) succeeds.
        #expect(times.count == 5)
        let gapsMs = zip(times.dropFirst(2), times.dropFirst(1)).map { later, earlier in
            Int((later - earlier) / .milliseconds(1))
        }
        #expect(gapsMs.count == 3)
        // Real time here proves the delays are waited out, never cut short; the
        // exact sequence (growth, cap, jitter, giving up) is checked on a test
        // clock in SignalChannelTests, where a loaded machine cannot stretch it.
        for (gap, expected) in zip(gapsMs, [40, 80, 80]) {
            #expect(gap >= expected - 5, "gap \(gap) ms, expected at least \(expected) ms")
        }
    }

    @Test("reconnection gives up after the configured total time")
    func givesUp() async throws {
        let configuration = Fixture.configuration(
            reconnect: ReconnectPolicy(initialDelayMs: 20, maximumDelayMs: 40, multiplier: 2, jitter: 0, giveUpAfterMs: 200))
        let (session, server) = try await joinedSession(configuration)
        server.refuseConnections(1_000)
        server.drop()
        #expect(await eventually { session.state.connection == .disconnected(.gaveUp) })
    }

    @Test("server.goingAway leads to a reconnection, not an ending")
    func goingAway() async throws {
        let (session, server) = try await joinedSession()
        server.push(.serverGoingAway(ServerGoingAway(reason: "restart", retryAfterMs: 30)))
        #expect(await eventually { session.state.serverGoingAway?.reason == "restart" })
        server.drop()
        #expect(await eventually { session.state.reconnectCount == 1 })
        #expect(session.state.connection == .connected)
        #expect(server.connectionCount == 2)
    }

    @Test("a removed peer does not reconnect")
    func removedDoesNotReconnect() async throws {
        let (server, clock, session) = sessionOnTestClock()
        try await session.join()
        server.push(.removed(Removed(by: "bob", reason: "spam\u{1B}[31m")))
        server.drop()
        #expect(await eventually { session.state.connection == .disconnected(.removed(by: "bob", reason: "spam")) })
        // No reconnection is even scheduled: once the keepalive stops, no timer is left.
        #expect(await eventually { clock.deadlines.isEmpty })
        #expect(server.connectionCount == 1)
    }

    @Test("leaving after the room's end was announced, before its close: the end keeps its reason, no leave is sent")
    func leaveAfterRoomEndedNotice() async throws {
        let (server, _, session) = sessionOnTestClock()
        try await session.join()
        let noticed = Mutex(false)
        let observation = session.store.observe { update in
            if case .roomEnded = update.event { noticed.withLock { $0 = true } }
        }
        defer { observation.cancel() }
        server.push(.roomEnded(RoomEnded(by: "alice", reason: "done", locked: false)))
        #expect(await eventually { noticed.withLock { $0 } })
        #expect(session.state.connection == .connected)
        await session.leave()
        #expect(session.state.connection == .disconnected(.roomEnded(by: "alice", reason: "done", locked: false)))
        #expect(!server.receivedTypes.contains(.leave))
    }

    @Test("a silent server counts as a drop; an idle client pings")
    func keepalive() async throws {
        let (session, server) = try await joinedSession { server in
            server.setJoined(Fixture.joined(keepalive: KeepaliveInfo(pingIntervalMs: 40, deadAfterMs: 200)))
        }
        // Real time, generous: the parallel test phase starves this process for
        // seconds at a time (a first ping took over 3 s there).
        #expect(await eventually(timeoutMs: 30_000) { server.receivedTypes.contains(.ping) })
        // From now on the server answers nothing at all.
        server.handle(.ping) { _, _ in [] }
        // Each new connection goes silent too, so the count keeps rising while
        // this waits (on a loaded machine it can pass 1 between two looks).
        #expect(await eventually(timeoutMs: 30_000) { session.state.reconnectCount >= 1 })
        #expect(server.connectionCount >= 2)
    }

    @Test("an answered keepalive ping gives the round-trip time; the join gives the first one", .timeLimit(.minutes(1)))
    func roundTrip() async throws {
        let (server, clock, session) = sessionOnTestClock()
        server.setJoined(Fixture.joined(keepalive: KeepaliveInfo(pingIntervalMs: 40, deadAfterMs: 2_000)))
        let events = session.events()
        try await session.join()
        #expect(session.state.roundTripMs == 0, "the join's share of the network, on a clock that did not move")
        // The server answers the first ping 7 ms later.
        let pings = Mutex<[RequestID]>([])
        server.handle(.ping) { message, _ in
            pings.withLock { $0.append(message.id) }
            return []
        }
        for tick in 1...2 {  // ticks every 20 ms (the shortest); the ping goes out at 40
            try #require(await clock.waitForSleeper(until: Int64(tick) * 20))
            clock.advance(byMs: 20)
        }
        #expect(await eventually { pings.withLock { $0.count } == 1 })
        try #require(await clock.waitForSleeper(until: 60))
        clock.advance(byMs: 7)
        let ping = try #require(pings.withLock { $0.first })
        server.current?.deliver(ServerMessage(id: ping, .pong(Pong(serverTime: Fixture.t0))))
        // A pong that answers no ping of ours measures nothing; a chat
        // message behind it shows when both have been read.
        server.current?.deliver(
            ServerMessage(id: RequestID(uncheckedRawValue: "not-a-ping"), .pong(Pong(serverTime: Fixture.t0))))
        server.push(.chatMessage(Fixture.message(1)))
        var roundTrips: [Int] = []
        for await event in events {
            if case .roundTrip(let ms) = event { roundTrips.append(ms) }
            if case .chatMessage = event { break }
        }
        #expect(roundTrips == [7])
        #expect(session.state.roundTripMs == 7)
    }

    @Test("history paging merges older pages into the store")
    func history() async throws {
        let (session, _) = try await joinedSession { server in
            server.appendToLog((1...120).map { Fixture.message($0) })
        }
        #expect(session.state.chat.map(\.seq) == Array(71...120))
        #expect(session.state.hasOlderChat)
        let page = try await session.loadOlderChat(limit: 50)
        #expect(page.messages.map(\.seq) == Array(21...70))
        #expect(session.state.chat.count == 100)
        _ = try await session.loadOlderChat(limit: 50)
        #expect(session.state.chat.map(\.seq) == Array(1...120))
        #expect(!session.state.hasOlderChat)
    }

    @Test("volume is local state")
    func volume() async throws {
        let (session, server) = try await joinedSession()
        let sentBefore = server.received.count
        await session.setVolume(0.25, for: "bob")
        #expect(session.state.volume(of: "bob") == 0.25)
        #expect(server.received.count == sentBefore)
    }

    @Test("requests while not connected fail at once")
    func notConnected() async throws {
        let session = ConfabSession(configuration: Fixture.configuration(), transport: FakeServer())
        await #expect(throws: SessionError.notConnected) { try await session.raiseHand() }
    }
}
