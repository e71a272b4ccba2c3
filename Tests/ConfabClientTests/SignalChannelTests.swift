@testable import ConfabClient
import ConfabProtocol
import Logging
import Synchronization
import Testing

// The signalling channel under ConfabSession and CallClient, over the
// in-memory server, with time driven by a TestClock: no test here waits for
// a timeout, a keepalive tick or a back-off delay to pass in real time.

/// A fake server that never answers messages of the `unanswered` type, a
/// fresh test clock, and a channel open to the server on that clock.
private func openChannel(
    unanswered: ClientMessageType, receive: @escaping SignalChannel.Receiver = { _ in },
    dropped: @escaping SignalChannel.Dropped = {}
) async throws -> (FakeServer, TestClock, SignalChannel) {
    let server = FakeServer()
    server.handle(unanswered) { _, _ in [] }
    let clock = TestClock()
    let channel = SignalChannel(
        transport: server, endpoint: Fixture.configuration().endpoint, requestPrefix: "r", requestTimeoutMs: 2_000,
        clock: clock, random: { 0 }, logger: Logger(label: "test"))
    try await channel.open(receive: receive, dropped: dropped)
    return (server, clock, channel)
}

/// Everything a session emits, in order.
private final class SessionRecording: Sendable {
    private let log = Mutex<[SessionEvent]>([])

    init(_ session: ConfabSession) {
        let stream = session.events()
        Task { [self] in
            for await event in stream { log.withLock { $0.append(event) } }
        }
    }

    var events: [SessionEvent] { log.withLock { $0 } }

    var reconnectDelays: [Int] {
        events.compactMap { if case .reconnecting(_, let delayMs) = $0 { delayMs } else { nil } }
    }

    var connectionStates: [ConnectionState] {
        events.compactMap { if case .connectionStateChanged(let state, _) = $0 { state } else { nil } }
    }
}

/// Alice's call client on `server`, on a fresh test clock; its reconnection
/// back-off is 100, 200, 400 ms (less up to half by `random`), given up after 10 s.
private func callClientOnTestClock(_ server: FakeServer, random: @escaping @Sendable () -> Double) -> (CallClient, TestClock) {
    let clock = TestClock()
    let client = CallClient(
        endpoint: ServerEndpoint(host: "127.0.0.1", port: 7443, room: nil), token: "user-token", transport: server,
        reconnect: ReconnectPolicy(initialDelayMs: 100, maximumDelayMs: 400, multiplier: 2, jitter: 0.5, giveUpAfterMs: 10_000),
        random: random, clock: clock)
    return (client, clock)
}

/// Alice online on a fresh fake server that lets every `connect` in, on a
/// fresh test clock (back-off 100, 200, 400 ms: random 0).
private func aliceConnectedOnTestClock() async throws -> (FakeServer, CallClient, TestClock) {
    let server = FakeServer()
    server.handle(.connect) { message, _ in [aliceOnline(message)] }
    let (client, clock) = callClientOnTestClock(server, random: { 0 })
    try await client.connect()
    return (server, client, clock)
}

/// The server's `connected` to Alice's `connect`: nobody else online, no calls.
private func aliceOnline(_ connect: ClientMessage) -> ServerMessage {
    ServerMessage(id: connect.id, .connected(Connected(you: OnlineUser(user: "alice", name: "Alice", busy: false), online: [], calls: [])))
}

/// The delays a reconnection announced, in order.
private final class AnnouncedDelays: Sendable {
    private let log = Mutex<[Int]>([])
    var delays: [Int] { log.withLock { $0 } }
    func append(_ delayMs: Int) { log.withLock { $0.append(delayMs) } }
}

/// `channel.reconnect` under way with a back-off of 100, 200, 400 ms (the
/// channel of `openChannel` draws random 0), each attempt answered by `step`.
private func reconnecting(
    _ channel: SignalChannel, giveUpAfterMs: Int, step: @escaping @Sendable (_ attempt: Int) -> ReconnectStep
) -> (outcome: Task<ReconnectOutcome, Never>, announced: AnnouncedDelays) {
    let policy = ReconnectPolicy(
        initialDelayMs: 100, maximumDelayMs: 400, multiplier: 2, jitter: 0.5, giveUpAfterMs: giveUpAfterMs)
    let announced = AnnouncedDelays()
    let outcome = Task {
        await channel.reconnect(policy: policy, announce: { _, delayMs in announced.append(delayMs) }, attempt: step)
    }
    return (outcome, announced)
}

/// Uniform numbers handed out in the given order.
private func scripted(_ numbers: [Double]) -> @Sendable () -> Double {
    let remaining = Mutex(numbers)
    return { remaining.withLock { $0.isEmpty ? 0 : $0.removeFirst() } }
}

@Suite("SignalChannel: requests, keepalive and reconnection on a test clock")
struct SignalChannelTests {
    @Test("a request without a reply times out at its deadline, not a millisecond before")
    func requestTimeout() async throws {
        let (server, clock, channel) = try await openChannel(unanswered: .raiseHand)
        let outcome = Task { () -> SessionError? in
            do throws(SessionError) {
                _ = try await channel.request(.raiseHand)
                return nil
            } catch {
                return error
            }
        }
        try #require(await clock.waitForSleeper(until: 2_000))
        clock.advance(byMs: 1_999)
        #expect(clock.deadlines == [2_000], "still waiting at 1 999 ms")
        clock.advance(byMs: 1)
        #expect(await outcome.value == .timedOut(request: .raiseHand, afterMs: 2_000))
        #expect(server.received.map(\.id.rawValue) == ["r1"])
    }

    @Test("replies that come back in the other order reach their own requests")
    func repliesOutOfOrder() async throws {
        let (server, _, channel) = try await openChannel(unanswered: .fetchHistory)
        let first = Task { try await channel.request(.fetchHistory(HistoryRequest(before: 10, limit: 1))) }
        #expect(await eventually { server.received.count == 1 })
        let second = Task { try await channel.request(.fetchHistory(HistoryRequest(before: 20, limit: 1))) }
        #expect(await eventually { server.received.count == 2 })
        let ids = server.received.map(\.id)
        #expect(ids.map(\.rawValue) == ["r1", "r2"])

        let connection = try #require(server.current)
        let secondPage = ServerBody.chatPage(ChatPage(messages: [Fixture.message(19)], hasMore: true))
        let firstPage = ServerBody.chatPage(ChatPage(messages: [Fixture.message(9)], hasMore: true))
        connection.deliver(ServerMessage(id: ids[1], secondPage))
        connection.deliver(ServerMessage(id: ids[0], firstPage))
        #expect(try await second.value == secondPage)
        #expect(try await first.value == firstPage)
    }

    @Test("an idle channel pings every ping interval; a server silent for deadAfterMs is dropped")
    func keepaliveAndDeadConnection() async throws {
        let drops = Mutex(0)
        // A server that has gone quiet: not even pongs.
        let (server, clock, channel) = try await openChannel(
            unanswered: .ping, dropped: { drops.withLock { $0 += 1 } })
        await channel.startKeepalive(KeepaliveInfo(pingIntervalMs: 1_000, deadAfterMs: 3_000))

        // Ticks every 250 ms (a quarter of the shorter period); after each, the pings sent so far.
        var pingsAfterTick: [Int] = []
        for tick in 1...12 {
            try #require(await clock.waitForSleeper(until: Int64(tick) * 250), "tick \(tick) scheduled")
            clock.advance(byMs: 250)
            if tick < 12 { try #require(await clock.waitForSleeper(until: Int64(tick + 1) * 250)) }
            pingsAfterTick.append(server.receivedTypes.filter { $0 == .ping }.count)
        }
        #expect(pingsAfterTick == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2])
        #expect(server.received.map(\.id.rawValue) == ["ping1", "ping2"])
        #expect(await eventually { drops.withLock { $0 } == 1 })
        #expect(await !channel.isOpen)
        #expect(await eventually { server.current?.isClosed == true })
        #expect(clock.deadlines.isEmpty, "no keepalive ticks after the drop")
    }

    @Test("a pong to our ping gives the round trip on the channel's clock")
    func roundTrip() async throws {
        let received = Mutex<[Int]>([])
        // The test answers the ping itself.
        let (server, clock, channel) = try await openChannel(
            unanswered: .ping,
            receive: { inbound in if case .roundTrip(let ms) = inbound { received.withLock { $0.append(ms) } } })
        await channel.startKeepalive(KeepaliveInfo(pingIntervalMs: 1_000, deadAfterMs: 3_000))
        for tick in 1...4 {
            try #require(await clock.waitForSleeper(until: Int64(tick) * 250))
            clock.advance(byMs: 250)
        }
        #expect(await eventually { server.receivedTypes == [.ping] })
        try #require(await clock.waitForSleeper(until: 1_250))
        clock.advance(byMs: 120)
        let ping = try #require(server.received.first)
        server.current?.deliver(ServerMessage(id: ping.id, .pong(Pong(serverTime: Fixture.t0))))
        // A second pong to the same ping measures nothing more.
        server.current?.deliver(ServerMessage(id: ping.id, .pong(Pong(serverTime: Fixture.t0))))
        #expect(await eventually { received.withLock { $0 } == [120] })
    }

    @Test("reconnection waits out the back-off with the given randomness, then gives up")
    func backOffThenGiveUp() async throws {
        let configuration = Fixture.configuration(
            reconnect: ReconnectPolicy(
                initialDelayMs: 100, maximumDelayMs: 400, multiplier: 2, jitter: 0.5, giveUpAfterMs: 1_500))
        let (server, clock, session) = sessionOnTestClock(configuration, random: scripted([0, 0.5, 1, 0.25, 0, 0]))
        let recording = SessionRecording(session)
        try await session.join()
        server.refuseConnections(100)
        server.drop()

        // Each delay is d·(1 − 0.5·r) for d = 100, 200, 400, 400 …; the sixth (400 ms at
        // 1 200 ms) would end past 1 500 ms, so the session gives up instead of waiting.
        var waited: [Int] = []
        while waited.count < 5 {
            #expect(await eventually { recording.reconnectDelays.count > waited.count }, "attempt \(waited.count + 1)")
            guard let delay = recording.reconnectDelays.dropFirst(waited.count).first else { break }
            try #require(await clock.waitForSleeper(until: clock.nowMs + Int64(delay)))
            clock.advance(byMs: delay)
            waited.append(delay)
        }
        #expect(await eventually { session.state.connection == .disconnected(.gaveUp) })
        // The stream's reader may lag behind the store: wait for the last event to reach it.
        #expect(await eventually { recording.events.last == .disconnected(.gaveUp) })
        #expect(recording.reconnectDelays == [100, 150, 200, 350, 400])
        #expect(clock.nowMs == 1_200)
        #expect(server.connectTimes.count == 6, "the join and five refused attempts")
        #expect(
            recording.connectionStates == [
                .connecting, .connected, .reconnecting(attempt: 1), .reconnecting(attempt: 2),
                .reconnecting(attempt: 3), .reconnecting(attempt: 4), .reconnecting(attempt: 5), .disconnected(.gaveUp),
            ])
    }

    @Test("after a drop the session resumes with its token and the chat it missed")
    func resumeAfterDrop() async throws {
        let (server, clock, session) = sessionOnTestClock()
        let recording = SessionRecording(session)
        try await session.join()
        guard case .join = server.received.first?.body else {
            Issue.record("the first message was not join")
            return
        }
        server.drop()
        server.appendToLog([Fixture.message(1, text: "while you were away")])

        #expect(await eventually { recording.reconnectDelays == [20] })
        try #require(await clock.waitForSleeper(until: 20))
        clock.advance(byMs: 19)
        #expect(clock.deadlines == [20], "still waiting at 19 ms")
        clock.advance(byMs: 1)
        #expect(await eventually { session.state.reconnectCount == 1 })
        #expect(await eventually { recording.events.last == .reconnected(resumed: true) })

        #expect(server.receivedTypes == [.join, .resume])
        guard case .resume(let resume)? = server.received.last?.body else {
            Issue.record("the second message was not resume")
            return
        }
        #expect(resume.resumeToken == "rt-1")
        #expect(resume.lastSeenSequence == 0)
        #expect(session.state.chat.map(\.text) == ["while you were away"])
        #expect(recording.connectionStates == [.connecting, .connected, .reconnecting(attempt: 1), .connected])
        await session.leave()
    }

    @Test("a join refused as one too many (4016) is tried again when the refusal says, not sooner, and not given up")
    func joinsRateLimitedIsRetried() async throws {
        let (server, clock, session) = sessionOnTestClock()
        let recording = SessionRecording(session)
        try await session.join()
        let joins = Mutex(0)
        server.handle(.join) { message, server in
            let count = joins.withLock { count in
                count += 1
                return count
            }
            guard count == 1 else { return server.defaultReplies(to: message) }
            return [
                ServerMessage(
                    id: message.id, .error(CodedError(.joinsRateLimited, "join again in 2 s", retryAfterMs: 1_500)))
            ]
        }
        server.forgetSessions()
        server.drop()

        // The first attempt: the resume is refused, the join after it is 4016.
        #expect(await eventually { recording.reconnectDelays.count == 1 })
        try #require(await clock.waitForSleeper(until: clock.nowMs + Int64(recording.reconnectDelays[0])))
        clock.advance(byMs: recording.reconnectDelays[0])
        // The second attempt waits what the refusal said (the back-off alone is 40 ms), then joins.
        #expect(await eventually { recording.reconnectDelays.count == 2 })
        let second = try #require(recording.reconnectDelays.last)
        #expect(second == 1_500)
        try #require(await clock.waitForSleeper(until: clock.nowMs + Int64(second)))
        clock.advance(byMs: second)
        #expect(await eventually { recording.events.last == .reconnected(resumed: false) })
        #expect(server.receivedTypes == [.join, .resume, .join, .join])
        #expect(session.state.connection == .connected)
        await session.leave()
    }

    @Test("a refusal whose wait ends past the give-up horizon gives up at once instead of sleeping into it")
    func waitPastHorizonGivesUp() async throws {
        let (_, clock, channel) = try await openChannel(unanswered: .raiseHand)
        let attempts = Mutex(0)
        let run = reconnecting(channel, giveUpAfterMs: 10_000) { _ in
            attempts.withLock { $0 += 1 }
            return .retry(afterMs: 60_000)
        }
        try #require(await clock.waitForSleeper(until: 100))
        clock.advance(byMs: 100)
        #expect(await run.outcome.value == .gaveUp)
        #expect(run.announced.delays == [100], "no second delay was announced")
        #expect(attempts.withLock { $0 } == 1)
        #expect(clock.nowMs == 100 && clock.deadlines.isEmpty, "nothing slept towards the refusal's minute")
    }

    @Test("a later refusal without a wait goes back to the back-off: an earlier refusal's wait is not kept")
    func plainRefusalClearsWait() async throws {
        let (_, clock, channel) = try await openChannel(unanswered: .raiseHand)
        let run = reconnecting(channel, giveUpAfterMs: 60_000) { attempt in
            switch attempt {
            case 1: .retry(afterMs: 1_500)
            case 2: .retry(afterMs: nil)
            default: .connected
            }
        }
        // The back-off alone is 100, 200, 400 ms; the first refusal stretches the second to 1,500.
        for deadline: Int64 in [100, 1_600, 2_000] {
            try #require(await clock.waitForSleeper(until: deadline))
            clock.advance(byMs: Int(deadline - clock.nowMs))
        }
        #expect(await run.outcome.value == .reconnected)
        #expect(run.announced.delays == [100, 1_500, 400])
    }

    @Test("a dropped presence connection comes back after the back-off with a fresh connect from the same device")
    func callClientReconnects() async throws {
        let server = FakeServer()
        server.handle(.connect) { message, _ in [aliceOnline(message)] }
        let (client, clock) = callClientOnTestClock(server, random: scripted([1, 0]))
        let events = Mutex<[CallEvent]>([])
        let updates = client.updates()
        let watcher = Task {
            for await update in updates { events.withLock { $0.append(update.event) } }
        }
        defer { watcher.cancel() }
        try await client.connect()
        server.refuseConnections(1)
        server.drop()

        // Attempt 1 after 100·(1 − 0.5·1) = 50 ms is refused; attempt 2 after 200 ms connects.
        try #require(await clock.waitForSleeper(until: 50))
        clock.advance(byMs: 50)
        try #require(await clock.waitForSleeper(until: 250))
        clock.advance(byMs: 200)
        #expect(await eventually { client.store.state.connection == .online && server.receivedTypes.count == 2 })
        #expect(server.receivedTypes == [.connect, .connect])
        #expect(server.connectTimes.count == 3, "the first connect, one refused, one accepted")
        let devices = server.received.compactMap { message -> String? in
            if case .connect(let request) = message.body { request.device } else { nil }
        }
        #expect(devices.count == 2 && Set(devices).count == 1)
        let reconnecting = events.withLock { $0 }.compactMap { event -> Int? in
            if case .reconnecting(let attempt) = event { attempt } else { nil }
        }
        #expect(reconnecting == [1, 2])
        await client.disconnect()
    }

    @Test("a presence connection closed by a server shutting down (server.goingAway) comes back after the hint")
    func callClientComesBackAfterShutdown() async throws {
        let (server, client, clock) = try await aliceConnectedOnTestClock()
        server.push(.serverGoingAway(ServerGoingAway(reason: "restarting for an upgrade", retryAfterMs: 300)))
        server.current?.deliver(ServerMessage(.error(CodedError(.shuttingDown, "the server is shutting down"))))
        server.drop()
        // The first attempt waits the hint (300 ms), not the back-off's 100.
        try #require(await clock.waitForSleeper(until: 300))
        #expect(!clock.deadlines.contains(100))
        clock.advance(byMs: 300)
        #expect(await eventually { client.store.state.connection == .online && server.count(.connect) == 2 })
        // The hint was for that reconnection only: a later drop waits the back-off's 100 ms.
        server.drop()
        try #require(await clock.waitForSleeper(until: clock.nowMs + 100))
        clock.advance(byMs: 100)
        #expect(await eventually { client.store.state.connection == .online && server.count(.connect) == 3 })
        await client.disconnect()
    }

    @Test("a reconnection that meets another certificate stops at once and says so, not after minutes of retrying")
    func callClientStopsOnCertificateChange() async throws {
        let (server, client, clock) = try await aliceConnectedOnTestClock()
        server.refuseConnections(1, with: .certificateRejected("the server presented another certificate"))
        server.drop()
        try #require(await clock.waitForSleeper(until: 100))
        clock.advance(byMs: 100)
        #expect(await eventually { client.store.state.connection == .disconnected(reason: "the server presented another certificate") })
        #expect(await eventually { clock.deadlines.isEmpty }, "no further attempt is planned")
        #expect(server.connectTimes.count == 2)
    }

    @Test("a presence connection refused with a wait (9003 with retryAfterMs) tries again when the refusal says")
    func callClientWaitsAsTold() async throws {
        let server = FakeServer()
        server.handle(.connect) { message, server in
            // The first reconnection's connect is refused; the others are let in.
            guard server.count(.connect) == 2 else { return [aliceOnline(message)] }
            return [ServerMessage(id: message.id, .error(CodedError(.overloaded, "busy", retryAfterMs: 3_000)))]
        }
        let (client, clock) = callClientOnTestClock(server, random: { 0 })
        try await client.connect()
        server.drop()

        // Attempt 1 after 100 ms is refused with a 3 s wait; attempt 2 waits that, not the back-off's 200 ms.
        try #require(await clock.waitForSleeper(until: 100))
        clock.advance(byMs: 100)
        try #require(await clock.waitForSleeper(until: 3_100))
        #expect(!clock.deadlines.contains(300))
        clock.advance(byMs: 3_000)
        #expect(await eventually { client.store.state.connection == .online && server.count(.connect) == 3 })
        #expect(server.receivedTypes == [.connect, .connect, .connect])
        await client.disconnect()
    }
}
