import ConfabProtocol
import ConfabTestSupport
import Foundation
import Logging
import Testing

@testable import ConfabServer

/// The two storage engines behind one interface: every test runs on the
/// SQLite file of a single server and on a PostgreSQL server of its own.
enum StorageEngine: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgresql
    var testDescription: String { rawValue }
}

/// A store of the given engine on fresh storage, removed after `body`.
func withStore<Result>(
    _ engine: StorageEngine, _ body: (any ServerStore) async throws -> Result
) async throws -> Result {
    switch engine {
    case .sqlite:
        let directory = try TempDirectory()
        defer { directory.remove() }
        let store = try ChatStore(path: directory.file("confab.sqlite"))
        defer { store.close() }
        return try await body(store)
    case .postgresql:
        let server = try await PostgresServer()
        defer { server.remove() }
        let store = try await PostgresStore(url: DatabaseURL(parsing: server.url), logger: Logger(label: "test"))
        defer { store.close() }
        return try await body(store)
    }
}

func draft(from sender: String, _ text: String, to target: ChatTarget = .broadcast) -> ChatMessage {
    ChatMessage(
        id: .forSequence(0), seq: 0, sentAt: Timestamp(millisecondsSince1970: 1_700_000_000_000),
        from: PeerID(uncheckedRawValue: sender), fromName: sender.capitalized, fromRole: RoleName(uncheckedRawValue: "member"),
        target: target, text: text)
}

let room = RoomName(uncheckedRawValue: "standup")
let alice = PeerID(uncheckedRawValue: "alice"), bob = PeerID(uncheckedRawValue: "bob"), carol = PeerID(uncheckedRawValue: "carol")

@Suite("The storage engines keep the same promises", .serialized)
struct StoreContractTests {
    @Test("messages are numbered 1, 2, 3 by the database and read back in order, as sent", arguments: StorageEngine.allCases)
    func numbering(engine: StorageEngine) async throws {
        try await withStore(engine) { store in
            #expect(try await store.lastSequence(room: room) == 0)
            var committed: [ChatMessage] = []
            for text in ["good morning", "agenda: the release", "questions?"] {
                let append = try await store.appendChat(
                    draft(from: "alice", text), room: room, recipients: [alice, bob, carol], idempotencyKey: nil)
                guard case .committed(let message) = append else {
                    Issue.record("not committed: \(append)")
                    return
                }
                committed.append(message)
            }
            #expect(committed.map(\.seq) == [1, 2, 3])
            #expect(committed.map(\.id.rawValue) == ["m1", "m2", "m3"])
            #expect(try await store.lastSequence(room: room) == 3)
            #expect(try await store.lastSequence(room: RoomName(uncheckedRawValue: "other")) == 0)
            let page = try await store.history(room: room, reader: bob, after: nil, before: nil, limit: 50)
            #expect(page.messages == committed)
            #expect(page.hasMore == false)
        }
    }

    @Test("a resend with the same idempotency key is the original message, stored once", arguments: StorageEngine.allCases)
    func idempotency(engine: StorageEngine) async throws {
        try await withStore(engine) { store in
            let key = RequestID(uncheckedRawValue: "k7Qp2xLm9aZr4tWs-1")
            let first = try await store.appendChat(draft(from: "alice", "ship it"), room: room, recipients: [], idempotencyKey: key)
            let again = try await store.appendChat(draft(from: "alice", "ship it"), room: room, recipients: [], idempotencyKey: key)
            #expect(first == .committed(again.message))
            #expect(again == .duplicate(first.message))
            // The same key from someone else is another message.
            let bobs = try await store.appendChat(draft(from: "bob", "ship it"), room: room, recipients: [], idempotencyKey: key)
            #expect(bobs.message.seq == 2)
            #expect(try await store.lastSequence(room: room) == 2)
            // What a resend the room now refuses (rate, role) is answered with.
            #expect(try await store.committedChat(room: room, from: alice, idempotencyKey: key) == first.message)
            #expect(try await store.committedChat(room: room, from: carol, idempotencyKey: key) == nil)
        }
    }

    @Test("a direct message is read back only by its recipients; pages go back and forward", arguments: StorageEngine.allCases)
    func readersAndPages(engine: StorageEngine) async throws {
        try await withStore(engine) { store in
            for n in 1...5 {
                _ = try await store.appendChat(draft(from: "alice", "note \(n)"), room: room, recipients: [], idempotencyKey: nil)
            }
            _ = try await store.appendChat(
                draft(from: "alice", "just for you", to: .peers([bob])), room: room, recipients: [alice, bob],
                idempotencyKey: nil)
            let bobsNewest = try await store.history(room: room, reader: bob, after: nil, before: nil, limit: 2)
            #expect(bobsNewest.messages.map(\.text) == ["note 5", "just for you"])
            #expect(bobsNewest.hasMore)
            let carolsNewest = try await store.history(room: room, reader: carol, after: nil, before: nil, limit: 2)
            #expect(carolsNewest.messages.map(\.text) == ["note 4", "note 5"])
            let carolsEarlier = try await store.history(room: room, reader: carol, after: nil, before: 4, limit: 10)
            #expect(carolsEarlier.messages.map(\.seq) == [1, 2, 3])
            #expect(carolsEarlier.hasMore == false)
            let bobsForward = try await store.history(room: room, reader: bob, after: 3, before: nil, limit: 2)
            #expect(bobsForward.messages.map(\.seq) == [4, 5])
            #expect(bobsForward.hasMore)
            let sent = try #require(bobsNewest.messages.last)
            #expect(sent.target == .peers([bob]))
            #expect(sent.from == alice && sent.fromName == "Alice" && sent.fromRole.rawValue == "member")
            #expect(sent.sentAt == Timestamp(millisecondsSince1970: 1_700_000_000_000))
        }
    }

    @Test("a room ended and locked stays locked until it starts again; sessions keep why they ended", arguments: StorageEngine.allCases)
    func roomsAndSessions(engine: StorageEngine) async throws {
        try await withStore(engine) { store in
            let start = Timestamp(millisecondsSince1970: 1_700_000_000_000)
            try await store.roomStarted(room, at: start)
            #expect(try await store.isLocked(room: room) == false)
            let info = { (id: PeerID) in
                PeerInfo(id: id, name: id.rawValue, role: RoleName(uncheckedRawValue: "member"), joinedAt: start)
            }
            let aliceSession = try await store.peerJoined(room, peer: info(alice))
            let bobSession = try await store.peerJoined(room, peer: info(bob))
            #expect(aliceSession != bobSession)
            try await store.peerLeft(session: aliceSession, at: start, reason: "left")
            try await store.roomEnded(room, at: start, by: carol, reason: "done", locked: true)
            #expect(try await store.isLocked(room: room))
            #expect(try await store.peerSessions(room: room) == [
                PeerSessionRow(peer: "alice", reason: "left"), PeerSessionRow(peer: "bob", reason: "roomEnded"),
            ])
            try await store.roomStarted(room, at: start)
            #expect(try await store.isLocked(room: room) == false)
        }
    }

    @Test("call history: a user's calls, newest first, at most the limit", arguments: StorageEngine.allCases)
    func callHistory(engine: StorageEngine) async throws {
        try await withStore(engine) { store in
            let records = (1...3).map { n in
                CallRecord(
                    call: CallID(uncheckedRawValue: "call-\(n)"), direction: n == 2 ? .incoming : .outgoing,
                    peers: [bob, carol], outcome: n == 3 ? .noResponse : .answered,
                    startedAt: Timestamp(millisecondsSince1970: 1_700_000_000_000 + Int64(n) * 60_000), durationMs: n * 1_000)
            }
            for record in records { try await store.recordCall(record, user: alice) }
            try await store.recordCall(records[0], user: bob)
            #expect(try await store.callHistory(user: alice, limit: 2) == [records[2], records[1]])
            #expect(try await store.callHistory(user: bob, limit: 10) == [records[0]])
            #expect(try await store.callHistory(user: carol, limit: 10).isEmpty)
        }
    }

    @Test("shared state: kept per room, replaced whole, forgotten when empty", arguments: StorageEngine.allCases)
    func sharedState(engine: StorageEngine) async throws {
        try await withStore(engine) { store in
            let state = try #require(store as? any SharedStateStore)
            try await state.prepareSharedState()
            try await state.prepareSharedState()  // a second start finds the table
            let standup = RoomName(uncheckedRawValue: "standup")
            let retro = RoomName(uncheckedRawValue: "retro")
            let at = Timestamp(millisecondsSince1970: 1_700_000_000_000)
            let agenda = StateEntry(key: "agenda", value: "Q3 review", by: alice, at: at)
            let pinned = StateEntry(key: "pinned", value: "Notes: wiki/q3 ✓", by: .server, at: at)
            #expect(try await state.sharedState(room: standup).isEmpty)
            try await state.saveSharedState([agenda, pinned], room: standup)
            try await state.saveSharedState([agenda], room: retro)
            #expect(try await state.sharedState(room: standup) == [agenda, pinned])
            try await state.saveSharedState([pinned], room: standup)
            #expect(try await state.sharedState(room: standup) == [pinned])
            try await state.saveSharedState([], room: standup)
            #expect(try await state.sharedState(room: standup).isEmpty)
            #expect(try await state.sharedState(room: retro) == [agenda])
        }
    }
}
