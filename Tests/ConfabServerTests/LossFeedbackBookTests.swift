import ConfabProtocol
@testable import ConfabServer
import Testing

@Suite("Loss feedback book: the worst fresh listener, at most once a second per publisher")
struct LossFeedbackBookTests {
    static let second: UInt64 = 1_000_000_000
    let configuration = LossFeedbackConfiguration(intervalMs: 1_000, reportLifetimeMs: 3_000)

    @Test("the worst listener's loss is relayed, with how many listeners reported")
    func worstListener() {
        var book = LossFeedbackBook()
        book.record(TrackLoss(track: "alice:mic", expected: 50, lost: 1), publisher: "alice", listener: "bob", nowNs: 0)
        book.record(TrackLoss(track: "alice:mic", expected: 50, lost: 10), publisher: "alice", listener: "carol", nowNs: 0)
        let due = book.due(nowNs: 1, configuration: configuration)
        #expect(due.count == 1)
        #expect(due.first?.publisher == "alice")
        #expect(due.first?.lossPermille == 200)
        #expect(due.first?.listeners == 2)
    }

    @Test("a publisher hears at most once per interval")
    func throttled() {
        var book = LossFeedbackBook()
        book.record(TrackLoss(track: "alice:mic", expected: 50, lost: 5), publisher: "alice", listener: "bob", nowNs: 0)
        #expect(book.due(nowNs: 0, configuration: configuration).count == 1)
        #expect(book.due(nowNs: Self.second / 2, configuration: configuration).isEmpty)
        #expect(book.due(nowNs: Self.second, configuration: configuration).count == 1)
    }

    @Test("stale reports and reports of nothing expected say nothing; a departed listener is forgotten")
    func staleAndEmpty() {
        var book = LossFeedbackBook()
        book.record(TrackLoss(track: "alice:mic", expected: 0, lost: 0), publisher: "alice", listener: "bob", nowNs: 0)
        #expect(book.due(nowNs: 0, configuration: configuration).isEmpty)
        book.record(TrackLoss(track: "alice:mic", expected: 50, lost: 50), publisher: "alice", listener: "bob", nowNs: 0)
        #expect(book.due(nowNs: 4 * Self.second, configuration: configuration).isEmpty, "older than 3 s")
        book.record(TrackLoss(track: "alice:mic", expected: 50, lost: 50), publisher: "alice", listener: "bob", nowNs: 5 * Self.second)
        #expect(book.departed(keeping: ["alice"]) == ["bob"])
        book.forget("bob")
        #expect(book.due(nowNs: 5 * Self.second, configuration: configuration).isEmpty)
    }
}
