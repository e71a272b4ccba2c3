// A user's second session must not be mistaken for a resend of the first:
// every message the server acknowledged is in the room's history, whichever
// session of the same identity sent it and whether the sessions came one
// after the other or overlapped.

import ConfabClient
import ConfabProtocol
import Testing

@Suite("Chat across sessions of one user", .timeLimit(.minutes(2)))
struct ChatAcrossSessionsTests {
    @Test("two sessions of one user one after the other: every acknowledged message is stored once")
    func sequentialSessions() async throws {
        let server = try await LiveServer.start()
        var acked: [ChatAck] = []
        for round in 1...2 {
            let token = try await server.token(room: "seq", user: "dana", role: "host", name: "Dana")
            let session = try await LiveSession.join(
                url: server.url("seq"), token: token, fingerprint: server.fingerprint)
            for n in 1...3 { acked.append(try await session.broadcast("session \(round) line \(n)")) }
            await session.leave()
        }
        let stored = try await history(of: server, room: "seq")
        #expect(stored.map(\.text) == (1...2).flatMap { round in (1...3).map { "session \(round) line \($0)" } })
        #expect(Set(acked.map(\.seq)) == Set(stored.map(\.seq)), "each ack names its own stored message")
        #expect(Set(acked.map(\.seq)).count == 6)
        await server.stop()
    }

    @Test("two sessions of one user at once: every acknowledged message is stored")
    func overlappingSessions() async throws {
        let server = try await LiveServer.start()
        let first = try await server.joined(room: "both", user: "dana", role: "host")
        let second = try LiveSession.session(
            url: server.url("both"), token: try await server.token(room: "both", user: "dana", role: "host"),
            fingerprint: server.fingerprint)
        // Both send while the second joins (and replaces the first): what the
        // server acknowledged to either must be in the log.
        async let fromFirst = sendAll(first, prefix: "first")
        async let fromSecond: [ChatAck] = {
            _ = try await second.join()
            return await sendAll(second, prefix: "second")
        }()
        let acked = await fromFirst + (try await fromSecond)
        #expect(acked.count >= 5, "the second session's five messages at least")

        let stored = try await history(of: server, room: "both")
        let storedTexts = Set(stored.map(\.text))
        for text in ["second 1", "second 2", "second 3", "second 4", "second 5"] {
            #expect(storedTexts.contains(text), "\(text) was acknowledged but not stored")
        }
        #expect(Set(acked.map(\.seq)).isSubset(of: Set(stored.map(\.seq))))
        #expect(Set(acked.map(\.seq)).count == acked.count, "no two messages share an acknowledgement")
        await second.leave()
        await first.leave()
        await server.stop()
    }

    /// Sends five broadcasts, keeping the acknowledgements of those that succeed.
    private func sendAll(_ session: ConfabSession, prefix: String) async -> [ChatAck] {
        var acks: [ChatAck] = []
        for n in 1...5 {
            if let ack = try? await session.broadcast("\(prefix) \(n)") { acks.append(ack) }
        }
        return acks
    }

    /// The room's history as a newcomer reads it.
    private func history(of server: LiveServer, room: String) async throws -> [ChatMessage] {
        let reader = try await server.joined(room: room, user: "reader", role: "host")
        let page = try await reader.fetchHistory(HistoryRequest(limit: 100))
        await reader.leave()
        return page.messages
    }
}
