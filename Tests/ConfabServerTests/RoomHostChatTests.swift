// A room's chat over a store whose answers come back late and out of order,
// as a database across a network's do: the room must still deliver its
// messages in number order, with none lost and none twice.

@testable import ConfabServer
import ConfabProtocol
import ConfabRooms
import ConfabTestSupport
import Foundation
import Logging
import Testing

/// The SQLite store, each commit's answer held back for up to 3 ms (the
/// commits themselves happen in call order). Fakes only the timing.
final class LateAnswers: ServerStore {
    let inner: ChatStore

    init(_ inner: ChatStore) { self.inner = inner }

    func appendChat(_ draft: ChatMessage, room: RoomName, recipients: Set<PeerID>, idempotencyKey: RequestID?)
        async throws(StorageError) -> ChatAppend
    {
        let append = try inner.appendChat(draft, room: room, recipients: recipients, idempotencyKey: idempotencyKey)
        try? await Task.sleep(for: .microseconds(Int.random(in: 0...3_000)))
        return append
    }

    func committedChat(room: RoomName, from sender: PeerID, idempotencyKey: RequestID) throws(StorageError) -> ChatMessage? {
        try inner.committedChat(room: room, from: sender, idempotencyKey: idempotencyKey)
    }
    func lastSequence(room: RoomName) throws(StorageError) -> Int { try inner.lastSequence(room: room) }
    func history(room: RoomName, reader: PeerID, after: Int?, before: Int?, limit: Int) throws(StorageError) -> ChatPage {
        try inner.history(room: room, reader: reader, after: after, before: before, limit: limit)
    }
    func isLocked(room: RoomName) throws(StorageError) -> Bool { try inner.isLocked(room: room) }
    func roomStarted(_ room: RoomName, at time: Timestamp) throws(StorageError) { try inner.roomStarted(room, at: time) }
    func roomEnded(_ room: RoomName, at time: Timestamp, by: PeerID?, reason: String?, locked: Bool) throws(StorageError) {
        try inner.roomEnded(room, at: time, by: by, reason: reason, locked: locked)
    }
    func peerJoined(_ room: RoomName, peer: PeerInfo) throws(StorageError) -> Int64 { try inner.peerJoined(room, peer: peer) }
    func peerLeft(session: Int64, at time: Timestamp, reason: String) throws(StorageError) {
        try inner.peerLeft(session: session, at: time, reason: reason)
    }
    func peerSessions(room: RoomName) throws(StorageError) -> [PeerSessionRow] { try inner.peerSessions(room: room) }
    func recordCall(_ record: CallRecord, user: PeerID) throws(StorageError) { try inner.recordCall(record, user: user) }
    func callHistory(user: PeerID, limit: Int) throws(StorageError) -> [CallRecord] {
        try inner.callHistory(user: user, limit: limit)
    }
    func close() { inner.close() }
}

@Suite("RoomHost chat over a store that answers out of order")
struct RoomHostChatTests {
    @Test("three peers sending at once, one joining meanwhile: every message is delivered once, in number order, and acked with its number")
    func orderedDelivery() async throws {
        let data = try TempDirectory()
        defer { data.remove() }
        let name = RoomName(uncheckedRawValue: "standup")
        var template = TestServer.template()
        template.chatRate = RateLimit(perSecond: 1_000, burst: 1_000)
        let host = RoomHost(
            name: name, template: template, store: LateAnswers(try ChatStore(path: data.path + "/chat.sqlite")),
            metrics: ServerMetrics(), settings: RoomHost.HostSettings(keepalive: KeepaliveInfo(), media: InMemoryMediaPlane()),
            logger: Logger(label: "test"))
        var sinks: [PeerID: (ConnectionSink, AsyncStream<Outbound>)] = [:]
        for peer: PeerID in ["watcher", "a", "b", "c"] {
            let (sink, stream) = ConnectionSink.make()
            let token = VerifiedToken(room: name, peer: peer, name: nil, role: "host")
            _ = try await host.join(
                token, request: JoinRequest(room: name, token: "t", muted: true), requestID: "j", sink: sink, receivedAt: .now)
            sinks[peer] = (sink, stream)
        }
        let perSender = 20
        let (lateSink, lateStream) = ConnectionSink.make()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Someone joins while messages are being committed: what its
                // history lacks, it receives live.
                try? await Task.sleep(for: .milliseconds(15))
                _ = try? await host.join(
                    VerifiedToken(room: name, peer: "late", name: nil, role: "listener"),
                    request: JoinRequest(room: name, token: "t", muted: true, historyLimit: 200), requestID: "j",
                    sink: lateSink, receivedAt: .now)
            }
            for peer: PeerID in ["a", "b", "c"] {
                guard let sink = sinks[peer]?.0 else { continue }
                group.addTask {
                    for k in 0..<perSender {
                        let json = #"{"v": 1, "type": "chat.send", "id": "c\#(k)", "target": {"kind": "broadcast"}, "text": "\#(peer) \#(k)"}"#
                        guard let message = try? ProtocolCodec().decode(Data(json.utf8), as: ClientMessage.self) else { return }
                        _ = await host.handle(message, from: peer, sink: sink)
                    }
                }
            }
        }
        let delivered = try await Self.chatNumbers(sinks["watcher"])
        #expect(delivered == Array(1...3 * perSender), "delivered in number order, each once")
        let late = try await Self.messages((lateSink, lateStream))
        let history = late.compactMap { if case .joined(let joined) = $0.body { joined.history.messages.map(\.seq) } else { nil } }
        let live = late.compactMap { if case .chatMessage(let chat) = $0.body { chat.seq } else { nil } }
        #expect(history.count == 1)
        #expect((history.first ?? []) + live == Array(1...3 * perSender), "history \(history), then live \(live)")
        var acked: [Int] = []
        for peer: PeerID in ["a", "b", "c"] {
            let acks = try await Self.ackNumbers(sinks[peer])
            #expect(acks.count == perSender && acks == acks.sorted(), "\(peer)'s acks: \(acks)")
            acked += acks
        }
        #expect(acked.sorted() == Array(1...3 * perSender))
    }

    static func messages(_ connection: (ConnectionSink, AsyncStream<Outbound>)?) async throws -> [ServerMessage] {
        guard let (sink, stream) = connection else { return [] }
        sink.finish()
        var messages: [ServerMessage] = []
        for await outbound in stream {
            if case .text(let text) = outbound {
                messages.append(try ProtocolCodec().decode(Data(text.utf8), as: ServerMessage.self))
            }
        }
        return messages
    }

    static func chatNumbers(_ connection: (ConnectionSink, AsyncStream<Outbound>)?) async throws -> [Int] {
        try await messages(connection).compactMap { if case .chatMessage(let chat) = $0.body { chat.seq } else { nil } }
    }

    static func ackNumbers(_ connection: (ConnectionSink, AsyncStream<Outbound>)?) async throws -> [Int] {
        try await messages(connection).compactMap { if case .chatAck(let ack) = $0.body { ack.seq } else { nil } }
    }
}
