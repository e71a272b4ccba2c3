import ConfabProtocol
import ConfabTestSupport
import Logging
import Testing

@testable import ConfabServer

@Suite("One sweep keeps every connection's join and keepalive deadlines")
struct ConnectionWatchTests {
    private static func watch() -> ConnectionWatch {
        let admission = ConnectionAdmission(limits: AdmissionLimits(), metrics: ServerMetrics(), logger: Logger(label: "test"))
        return ConnectionWatch(joinTimeoutMs: 200, deadAfterMs: 300, admission: admission)
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
        let watch = Self.watch()
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
        #expect(quietClose?.reason == "connection silent for 300 ms")
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
}
