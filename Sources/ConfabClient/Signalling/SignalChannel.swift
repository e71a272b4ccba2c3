import ConfabProtocol
import Foundation
import Logging

// The one signalling channel under a room session and a call client: the
// connection, requests and their replies, keepalive, and the reconnection
// back-off. What the messages mean stays with the owner.
//
//   open(receive:, dropped:) ─▶ transport.connect ─▶ reader: text ─▶ decode
//       ─▶ reply? ─▶ the request's hook ─▶ its waiter
//       └▶ event  ─▶ receive
//   request(body) ─▶ id ─▶ send ─▶ wait for the reply or the timeout (on the clock)
//   startKeepalive(info) ─▶ every tick: KeepalivePolicy ─▶ ping, or dead ─▶ drop
//   connection ends without close() ─▶ pending requests fail ─▶ dropped
//   reconnect(policy, …) ─▶ announce(attempt, delay) ─▶ sleep ─▶ attempt ─▶ again, until done or out of time
//
// A connection is identified by a generation number, so a reader or a
// keepalive of an older connection that wakes up late changes nothing. The
// reader hands one message at a time and waits for the owner to take it, so
// the owner's state follows the server's order (a reply's effect lands before
// the event behind it).

/// A message from the server that is not a reply to a request.
enum SignalInbound: Sendable {
    case event(ServerBody)
    /// A message that could not be decoded (messages of unknown type are skipped here).
    case unreadable(ProtocolError)
    /// The pong of a keepalive ping came back after this long.
    case roundTrip(ms: Int)
}

/// A reply, handed to the request's hook before the request returns.
struct SignalReply: Sendable {
    var body: ServerBody
    var request: ClientMessageType
    /// From sending the request to reading its reply.
    var roundTripMs: Int
}

/// What one reconnection attempt came to.
enum ReconnectStep: Sendable {
    case connected
    /// Try again after the back-off, and not before `afterMs` when the server
    /// refused with a rate limit's `retryAfterMs`.
    case retry(afterMs: Int?)
    /// The owner has ended (or is ending) for good.
    case stop
}

enum ReconnectOutcome: Sendable, Equatable {
    case reconnected
    /// The next delay would end past the policy's `giveUpAfterMs`.
    case gaveUp
    /// The owner said stop, or the task was cancelled.
    case stopped
}

actor SignalChannel {
    typealias Receiver = @Sendable (SignalInbound) async -> Void
    typealias Dropped = @Sendable () async -> Void
    typealias ReplyHook = @Sendable (SignalReply) async -> Void

    nonisolated let clock: any SignalClock
    private let transport: any SignallingTransport
    /// Where the owner started (the URL it was given).
    private let entry: ServerEndpoint
    /// Where the next connection goes: the entry, or another node of a cluster.
    private(set) var endpoint: ServerEndpoint
    /// The certificate the first connection presented: another node of the
    /// cluster must present the same one (the cluster has one identity).
    private(set) var clusterFingerprint: CertificateFingerprint?
    private let logger: Logger
    private let random: @Sendable () -> Double
    private let codec = ProtocolCodec()
    /// Starts every request id ("r1", "c1" …); pings are "ping1" ….
    private let requestPrefix: String
    private let requestTimeoutMs: Int

    private var connection: (any SignallingConnection)?
    /// Told when the current connection drops.
    private var dropped: Dropped?
    private var generation = 0
    private var pending: [RequestID: Pending] = [:]
    private var counter = 0
    private var lastSentAtMs: Int64 = 0
    private var lastReceivedAtMs: Int64 = 0
    /// The keepalive ping waiting for its pong, for the round-trip time.
    private var pingInFlight: (id: RequestID, sentAtMs: Int64)?
    private var keepaliveTask: Task<Void, Never>?

    private struct Pending {
        let type: ClientMessageType
        let reply: OneShot<ServerBody>
        let sentAtMs: Int64
        let hook: ReplyHook?
    }

    /// - Parameters:
    ///   - random: uniform numbers in 0 ..< 1 for the reconnection jitter.
    init(
        transport: any SignallingTransport, endpoint: ServerEndpoint, requestPrefix: String, requestTimeoutMs: Int,
        clock: any SignalClock, random: @escaping @Sendable () -> Double, logger: Logger
    ) {
        self.transport = transport
        self.entry = endpoint
        self.endpoint = endpoint
        self.requestPrefix = requestPrefix
        self.requestTimeoutMs = requestTimeoutMs
        self.clock = clock
        self.random = random
        self.logger = logger
    }

    var isOpen: Bool { connection != nil }

    /// Sends the next connection elsewhere: the room's node after a redirect
    /// (`4013 roomOnAnotherNode`), or another node on reconnection. Nodes other
    /// than the entry must present the entry's certificate.
    func retarget(_ endpoint: ServerEndpoint) {
        self.endpoint = endpoint
    }

    // MARK: - The connection

    /// Opens a connection and starts reading it: events go to `receive`, and
    /// `dropped` runs once if the connection ends other than by `close()`.
    func open(receive: @escaping Receiver, dropped: @escaping Dropped) async throws(SessionError) {
        // One connection at a time: an earlier one (an attempt whose admission failed) goes quietly.
        await close(failing: .connectionLost)
        let opened = try await transport.connect(
            to: endpoint, pinning: endpoint.hostAndPort == entry.hostAndPort ? nil : clusterFingerprint)
        if clusterFingerprint == nil { clusterFingerprint = opened.certificateFingerprint }
        generation += 1
        let current = generation
        connection = opened
        self.dropped = dropped
        lastSentAtMs = clock.nowMs
        lastReceivedAtMs = clock.nowMs
        pingInFlight = nil
        Task { [weak self] in
            for await text in opened.incoming {
                guard let self else { return }
                await self.read(text, generation: current, receive: receive)
            }
            await self?.connectionLost(generation: current)
        }
    }

    /// Closes the connection without reporting a drop; requests still waiting
    /// fail with `error`. Returns whether a connection was open.
    @discardableResult
    func close(failing error: SessionError = .notConnected) async -> Bool {
        guard let closing = connection else { return false }
        end(failing: error)
        await closing.close()
        return true
    }

    /// The connection of generation `current` ended (closed by the server,
    /// or declared dead): it is closed, and the owner told (once).
    private func connectionLost(generation current: Int) async {
        guard current == generation, let lost = connection else { return }
        let owner = dropped
        end(failing: .connectionLost)
        // A dead peer may never answer a close; nobody waits for it.
        Task { await lost.close() }
        await owner?()
    }

    /// Forgets the current connection: its keepalive stops and waiting requests fail.
    private func end(failing error: SessionError) {
        generation += 1
        connection = nil
        dropped = nil
        keepaliveTask?.cancel()
        keepaliveTask = nil
        for request in pending.values { request.reply.fail(error) }
        pending = [:]
    }

    // MARK: - Requests

    /// Sends a request on the current connection and waits for its reply
    /// (`timeoutMs`, else the channel's default). `hook` sees the reply
    /// before the next message is read; a refusal (`error`) is thrown.
    func request(_ body: ClientBody, timeoutMs: Int? = nil, hook: ReplyHook? = nil) async throws(SessionError)
        -> ServerBody
    {
        guard let connection else { throw .notConnected }
        counter += 1
        let id = RequestID(uncheckedRawValue: "\(requestPrefix)\(counter)")
        let reply = OneShot<ServerBody>()
        pending[id] = Pending(type: body.type, reply: reply, sentAtMs: clock.nowMs, hook: hook)
        defer { pending[id] = nil }
        lastSentAtMs = clock.nowMs
        try await connection.send(encode(ClientMessage(id: id, body)))

        let waitMs = timeoutMs ?? requestTimeoutMs
        let timer = Task { [clock] in
            try await clock.sleep(milliseconds: waitMs)
            reply.fail(.timedOut(request: body.type, afterMs: waitMs))
        }
        defer { timer.cancel() }
        let answer = try await reply.value()
        if case .error(let refusal) = answer { throw .server(IncomingText.errorMessage(refusal)) }
        return answer
    }

    private func encode(_ message: ClientMessage) -> String {
        String(decoding: codec.encode(message), as: UTF8.self)
    }

    // MARK: - Incoming

    private func read(_ text: String, generation current: Int, receive: Receiver) async {
        guard current == generation else { return }
        lastReceivedAtMs = clock.nowMs
        let message: ServerMessage
        do {
            message = try codec.decode(Data(text.utf8), as: ServerMessage.self)
        } catch {
            if case .unknownType = error.reason {
                // A newer server's message: skip it (PROTOCOL.md, Versioning).
                logger.debug("skipping a message of unknown type")
            } else {
                await receive(.unreadable(error))
            }
            return
        }
        guard let id = message.id else {
            await receive(.event(message.body))
            return
        }
        if let request = pending[id] {
            let roundTripMs = Int(clock.nowMs - request.sentAtMs)
            await request.hook?(SignalReply(body: message.body, request: request.type, roundTripMs: roundTripMs))
            request.reply.succeed(message.body)
        } else if let ping = pingInFlight, ping.id == id {
            pingInFlight = nil
            await receive(.roundTrip(ms: Int(clock.nowMs - ping.sentAtMs)))
        }
        // Else a reply that came after its timeout: nothing waits for it.
    }

    // MARK: - Keepalive

    /// Pings the current connection when idle and drops it when the server
    /// is silent too long (docs/PROTOCOL.md, "Keepalive").
    func startKeepalive(_ info: KeepaliveInfo) {
        keepaliveTask?.cancel()
        let policy = KeepalivePolicy(info: info)
        let current = generation
        keepaliveTask = Task { [weak self, clock] in
            while !Task.isCancelled {
                do {
                    try await clock.sleep(milliseconds: policy.tickMs)
                } catch {
                    return
                }
                guard let self, await self.keepaliveTick(policy, generation: current) else { return }
            }
        }
    }

    /// Returns whether to keep ticking.
    private func keepaliveTick(_ policy: KeepalivePolicy, generation current: Int) async -> Bool {
        guard current == generation, let connection else { return false }
        let now = clock.nowMs
        switch policy.action(sinceReceivedMs: now - lastReceivedAtMs, sinceSentMs: now - lastSentAtMs) {
        case .nothing:
            return true
        case .dead:
            logger.debug("the server was silent for \(policy.info.deadAfterMs) ms: treating the connection as dropped")
            await connectionLost(generation: current)
            return false
        case .ping:
            // The pong needs no waiter: any message from the server counts as life.
            lastSentAtMs = now
            counter += 1
            let ping = ClientMessage(id: RequestID(uncheckedRawValue: "ping\(counter)"), .ping)
            pingInFlight = (ping.id, now)
            try? await connection.send(encode(ping))
            return true
        }
    }

    // MARK: - Reconnecting

    /// Tries again with back-off (`policy`, jittered by the channel's
    /// randomness) until `attempt` connects or stops, the task is
    /// cancelled, or the next delay would end past `giveUpAfterMs` since now.
    /// `firstDelayHintMs` (a server's `retryAfterMs`) lengthens the first delay.
    func reconnect(
        policy: ReconnectPolicy, firstDelayHintMs: Int? = nil,
        announce: @Sendable (_ attempt: Int, _ delayMs: Int) async -> Void,
        attempt: @Sendable (_ attempt: Int) async -> ReconnectStep
    ) async -> ReconnectOutcome {
        let droppedAtMs = clock.nowMs
        var number = 0
        var refusedForMs: Int?
        while !Task.isCancelled {
            number += 1
            var delayMs = policy.delayMs(attempt: number, random: random())
            if number == 1, let hint = firstDelayHintMs {
                delayMs = min(max(delayMs, hint), policy.maximumDelayMs)
            }
            // A rate limit says when it lets us in: asking sooner only spends
            // requests (past the back-off's cap too; IncomingText bounds it).
            if let refusedForMs { delayMs = max(delayMs, refusedForMs) }
            guard clock.nowMs - droppedAtMs + Int64(delayMs) <= Int64(policy.giveUpAfterMs) else { return .gaveUp }
            await announce(number, delayMs)
            do {
                try await clock.sleep(milliseconds: delayMs)
            } catch {
                return .stopped
            }
            if Task.isCancelled { return .stopped }
            switch await attempt(number) {
            case .connected: return .reconnected
            case .stop: return .stopped
            case .retry(let afterMs): refusedForMs = afterMs
            }
        }
        return .stopped
    }
}
