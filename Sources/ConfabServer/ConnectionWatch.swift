// The deadlines of every signalling connection, kept by one task for the whole server.
//
//   connection opens ─▶ register (opened now, not admitted, heard now)
//   a message frame is decoded (HeardMark, on the event loop) ─▶ heard now
//   the reader takes a frame ─▶ heard now    join/connect accepted ─▶ admitted
//   a request is being handled ─▶ not silent (its frames wait unread behind it); handled ─▶ heard now
//   sweep, every min(deadAfterMs / 5, 1 s) while any connection is open:
//        not admitted by joinTimeoutMs ─▶ close 1008 `1009 no join within …` (PROTOCOL.md, Limits)
//        silent for deadAfterMs        ─▶ close 1001 (the room sees the peer drop: peer.left timeout)
//   connection ends  ─▶ unregister; the last one gone ─▶ the sweep task ends (an idle server sleeps)
//
// One task instead of a timer per connection: a town hall of 10,000 listeners
// would otherwise wake 10,000 tasks a second, each one more job queued in
// front of the room's actor on the two threads of the cooperative pool.

import ConfabProtocol
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// One connection's deadlines, shared by its reader and the sweep.
final class WatchedConnection: Sendable {
    let opened: ContinuousClock.Instant
    let sink: ConnectionSink
    /// The room of the URL path; nil for the presence connection (the refusal names `connect`).
    let pathRoom: RoomName?
    let logger: Logger
    private let heard: Mutex<ContinuousClock.Instant>
    private let admittedFlag = Atomic(false)
    private let handlingFlag = Atomic(false)

    init(sink: ConnectionSink, pathRoom: RoomName?, logger: Logger, now: ContinuousClock.Instant = .now) {
        self.sink = sink
        self.pathRoom = pathRoom
        self.logger = logger
        opened = now
        heard = Mutex(now)
    }

    /// A frame arrived.
    func touch() { heard.withLock { $0 = .now } }
    var lastHeard: ContinuousClock.Instant { heard.withLock { $0 } }

    /// A request is being handled: the reader reads nothing meanwhile, so the
    /// client's pings wait unread and must not count as silence (a role change
    /// may wait up to 5 s on a cluster's database).
    func beginHandling() { handlingFlag.store(true, ordering: .relaxed) }
    /// The request was handled: the connection counts as heard from now.
    func endHandling() {
        touch()
        handlingFlag.store(false, ordering: .relaxed)
    }
    var isHandling: Bool { handlingFlag.load(ordering: .relaxed) }

    /// The join (or connect) was accepted: the join deadline no longer applies.
    func admit() { admittedFlag.store(true, ordering: .relaxed) }
    var isAdmitted: Bool { admittedFlag.load(ordering: .relaxed) }
}

/// Right after a signalling connection's WebSocket frame decoder: a message
/// frame (text, binary or continuation) marks its connection heard the moment
/// the event loop decodes it. The reader task shares the cooperative pool with
/// every room, so on a busy server it may take a frame well after it arrived;
/// the deadline then still counts from the arrival. WebSocket control frames do
/// not count, as PROTOCOL.md says (Keepalive): only a message is a sign of life.
final class HeardMark: ChannelInboundHandler, Sendable {
    typealias InboundIn = WebSocketFrame

    private let connection: WatchedConnection

    init(_ connection: WatchedConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data).opcode {
        case .text, .binary, .continuation: connection.touch()
        default: break
        }
        context.fireChannelRead(data)
    }

    /// Puts a mark for `connection` right after the frame decoder of `channel`
    /// (an upgraded WebSocket connection's), on its event loop.
    static func install(for connection: WatchedConnection, on channel: any Channel) async throws {
        try await channel.eventLoop.submit {
            let operations = channel.pipeline.syncOperations
            let decoder = try operations.context(handlerType: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try operations.addHandler(HeardMark(connection), position: .after(decoder.handler))
        }.get()
    }
}

final class ConnectionWatch: Sendable {
    /// Why the sweep closes a connection.
    enum Verdict: Equatable, Sendable {
        case joinTimedOut
        case silent
    }

    let joinTimeoutMs: Int
    let deadAfterMs: Int
    let interval: Duration
    private let admission: ConnectionAdmission
    private let state = Mutex(State())

    private struct State {
        var connections: [ObjectIdentifier: WatchedConnection] = [:]
        var sweeping = false
    }

    init(joinTimeoutMs: Int, deadAfterMs: Int, admission: ConnectionAdmission) {
        self.joinTimeoutMs = joinTimeoutMs
        self.deadAfterMs = deadAfterMs
        interval = min(.milliseconds(max(deadAfterMs / 5, 10)), .seconds(1))
        self.admission = admission
    }

    var count: Int { state.withLock { $0.connections.count } }
    /// Whether the sweep task runs (none while no connection is open).
    var isSweeping: Bool { state.withLock { $0.sweeping } }

    /// Starts watching a connection; the sweep starts with the first one.
    func register(_ connection: WatchedConnection) {
        let startSweep = state.withLock { state -> Bool in
            state.connections[ObjectIdentifier(connection)] = connection
            guard !state.sweeping else { return false }
            state.sweeping = true
            return true
        }
        if startSweep {
            Task { [self] in await sweepWhileAnyOpen() }
        }
    }

    func unregister(_ connection: WatchedConnection) {
        _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// What is due for `connection` at `tick`, if anything.
    func verdict(for connection: WatchedConnection, at tick: ContinuousClock.Instant) -> Verdict? {
        if !connection.isAdmitted, tick - connection.opened >= .milliseconds(joinTimeoutMs) { return .joinTimedOut }
        if !connection.isHandling, tick - connection.lastHeard >= .milliseconds(deadAfterMs) { return .silent }
        return nil
    }

    private func sweepWhileAnyOpen() async {
        var previousTick = ContinuousClock.now
        while true {
            try? await Task.sleep(for: interval)
            let tick = ContinuousClock.now
            // Woken far too late: the whole process was stalled (overload, a
            // paused VM) and the readers have frames waiting that they could not
            // process either. Give them a period to catch up rather than drop
            // peers for the server's own silence.
            let stalled = tick - previousTick > max(interval * 3, .seconds(1))
            previousTick = tick
            let due = state.withLock { state -> [(WatchedConnection, Verdict)]? in
                if state.connections.isEmpty {
                    state.sweeping = false
                    return nil
                }
                guard !stalled else { return [] }
                var due: [(WatchedConnection, Verdict)] = []
                for connection in state.connections.values {
                    if let verdict = verdict(for: connection, at: tick) { due.append((connection, verdict)) }
                }
                for (connection, _) in due { state.connections.removeValue(forKey: ObjectIdentifier(connection)) }
                return due
            }
            guard let due else { return }
            for (connection, verdict) in due { close(connection, verdict) }
        }
    }

    private func close(_ connection: WatchedConnection, _ verdict: Verdict) {
        switch verdict {
        case .joinTimedOut:
            connection.logger.debug("connection did not join in time; closing it")
            admission.timedOut()
            let what = connection.pathRoom == nil ? "connect" : "join"
            connection.sink.close(
                .policyViolation,
                reason: "\(ErrorCode.notJoined.rawValue) no \(what) within \(joinTimeoutMs) ms")
        case .silent:
            connection.logger.debug("connection silent; dropping it")
            connection.sink.close(.goingAway, reason: "connection silent for \(deadAfterMs) ms")
        }
    }
}
