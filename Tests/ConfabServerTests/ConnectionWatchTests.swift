import ConfabProtocol
import ConfabTestSupport
import Logging
import NIOCore
import NIOWebSocket
import Testing

@testable import ConfabServer

@Suite("One sweep keeps every connection's join and keepalive deadlines")
struct ConnectionWatchTests {
    private static func watch(deadAfterMs: Int = 300) -> ConnectionWatch {
        let admission = ConnectionAdmission(limits: AdmissionLimits(), metrics: ServerMetrics(), logger: Logger(label: "test"))
        return ConnectionWatch(joinTimeoutMs: 200, deadAfterMs: deadAfterMs, admission: admission)
    }

    /// The close frame a connection's queue ends with, if any.
    private static func closeFrame(_ stream: AsyncStream<Outbound>) async -> (code: UInt16, reason: String)? {
        for await item in stream {
            if case .close(let code, let reason) = item { return (code, reason) }
        }
        return nil
    }

    @Test("not joined in time: closed 1008 with the catalog's reason; silent: closed 1001; joined and talking: kept")
    func deadlines() async throws {
        // A silence deadline of 1 s, as below: the talker is touched from this
        // test's task, and a stall of the process shorter than the deadline
        // must not age it (the sweep forgives longer ones).
        let watch = Self.watch(deadAfterMs: 1_000)
        let (neverJoins, neverJoinsQueue) = ConnectionSink.make()
        let (talks, _) = ConnectionSink.make()
        let (fallsSilent, fallsSilentQueue) = ConnectionSink.make()
        let stranger = WatchedConnection(sink: neverJoins, pathRoom: RoomName(rawValue: "standup"), logger: Logger(label: "a"))
        let talker = WatchedConnection(sink: talks, pathRoom: RoomName(rawValue: "standup"), logger: Logger(label: "b"))
        let quiet = WatchedConnection(sink: fallsSilent, pathRoom: nil, logger: Logger(label: "c"))
        talker.admit()
        quiet.admit()
        for connection in [stranger, talker, quiet] { watch.register(connection) }

        let closedBoth = await waitUntil(timeout: .seconds(20), every: .milliseconds(25)) {
            talker.touch()
            return neverJoins.isClosing && fallsSilent.isClosing
        }
        try #require(closedBoth, "a queue that never closes would leave the reads below waiting")
        #expect(!talks.isClosing, "a joined connection heard from every 25 ms stays")
        #expect(watch.count == 1, "the two closed are no longer watched")

        let strangerClose = await Self.closeFrame(neverJoinsQueue)
        #expect(strangerClose?.code == 1008)
        #expect(strangerClose?.reason == "\(ErrorCode.notJoined.rawValue) no join within 200 ms")
        let quietClose = await Self.closeFrame(fallsSilentQueue)
        #expect(quietClose?.code == 1001)
        #expect(quietClose?.reason == "connection silent for 1000 ms")
    }

    @Test("a connection whose request is still being handled is not silent, however long it takes; once handled it is heard from then")
    func requestInProgressIsNotSilence() {
        let watch = Self.watch()
        let (sink, _) = ConnectionSink.make()
        let start = ContinuousClock.now
        let waiting = WatchedConnection(sink: sink, pathRoom: nil, logger: Logger(label: "a"), now: start)
        waiting.admit()
        waiting.beginHandling()
        #expect(watch.verdict(for: waiting, at: start + .seconds(6)) == nil, "a role change waiting 5 s on the database")
        waiting.endHandling()
        let handled = ContinuousClock.now
        #expect(watch.verdict(for: waiting, at: handled + .milliseconds(299)) == nil)
        #expect(watch.verdict(for: waiting, at: handled + .milliseconds(300)) == .silent)
    }

    @Test("the sweep ends with the last connection (an idle server does not wake) and starts again with the next")
    func idleServerSleeps() async throws {
        let watch = Self.watch()
        #expect(!watch.isSweeping)
        let (sink, _) = ConnectionSink.make()
        let first = WatchedConnection(sink: sink, pathRoom: nil, logger: Logger(label: "a"))
        first.admit()
        watch.register(first)
        #expect(watch.isSweeping)
        watch.unregister(first)
        #expect(await waitUntil(timeout: .seconds(20)) { !watch.isSweeping })

        let (nextSink, nextQueue) = ConnectionSink.make()
        let next = WatchedConnection(sink: nextSink, pathRoom: nil, logger: Logger(label: "b"))
        watch.register(next)
        #expect(watch.isSweeping)
        try #require(await waitUntil(timeout: .seconds(20)) { nextSink.isClosing }, "the new sweep keeps the join deadline")
        #expect(await Self.closeFrame(nextQueue)?.code == 1008)
    }

    /// One masked frame as a client sends it (RFC 6455 §5.2, §5.3); payloads under 126 bytes.
    private static func clientFrame(opcode: UInt8, _ payload: String) -> ByteBuffer {
        let bytes = Array(payload.utf8)
        precondition(bytes.count < 126)
        let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        let masked = bytes.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return ByteBuffer(bytes: [0x80 | opcode, 0x80 | UInt8(bytes.count)] + mask + masked)
    }

    /// A real socket whose server side decodes WebSocket frames and marks
    /// `connection`, with nothing reading the frames (a reader stuck behind a
    /// busy pool); the client sends `frame` every 25 ms from its event loop,
    /// so this test's own tasks being late changes nothing.
    private static func socket(
        marking connection: WatchedConnection, sending frame: ByteBuffer
    ) async throws -> (link: LoopbackConnection, sends: RepeatedTask) {
        let link = try await LoopbackConnection.open(serverHandlers: {
            try $0.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 16)))
        })
        try await HeardMark.install(for: connection, on: link.server)
        let client = link.client
        let sends = client.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(25)) { _ in
            client.writeAndFlush(frame, promise: nil)
        }
        return (link, sends)
    }

    @Test("a message frame counts from when the event loop decodes it, though nothing reads it yet; WebSocket ping frames do not count")
    func messageFramesAreHeardOnArrival() async throws {
        // A deadline of 1 s: a stall of this whole process shorter than that
        // leaves the talker's marks younger than it, and a longer one the
        // sweep notices and forgives (ConnectionWatch.sweepWhileAnyOpen).
        let watch = Self.watch(deadAfterMs: 1_000)
        let (talks, _) = ConnectionSink.make()
        let talker = WatchedConnection(sink: talks, pathRoom: nil, logger: Logger(label: "talker"))
        let (wsPings, wsPingsQueue) = ConnectionSink.make()
        let wsPinger = WatchedConnection(sink: wsPings, pathRoom: nil, logger: Logger(label: "ws pinger"))
        let sockets = [
            try await Self.socket(marking: talker, sending: Self.clientFrame(opcode: 0x1, #"{"v": 1, "type": "ping"}"#)),
            try await Self.socket(marking: wsPinger, sending: Self.clientFrame(opcode: 0x9, "")),
        ]
        defer {
            for socket in sockets {
                socket.sends.cancel()
                Task { await socket.link.close() }
            }
        }
        for connection in [talker, wsPinger] {
            connection.admit()
            watch.register(connection)
        }
        try #require(await waitUntil(timeout: .seconds(20)) { wsPings.isClosing }, "WebSocket pings are no message")
        #expect(await Self.closeFrame(wsPingsQueue)?.code == 1001)
        #expect(!talks.isClosing)

        // A silent connection registered now closes a deadline later: the
        // sweep kept checking the talker meanwhile.
        let (fallsSilent, fallsSilentQueue) = ConnectionSink.make()
        let quiet = WatchedConnection(sink: fallsSilent, pathRoom: nil, logger: Logger(label: "quiet"))
        quiet.admit()
        watch.register(quiet)
        try #require(await waitUntil(timeout: .seconds(20)) { fallsSilent.isClosing })
        #expect(await Self.closeFrame(fallsSilentQueue)?.code == 1001)
        #expect(!talks.isClosing, "its message frames arrived every 25 ms")
        #expect(watch.count == 1)
    }
}
