// A room's host on a media plane in memory: what it posts for forwarding
// after joins, SSRC announcements, mutes and leaves, and the `speakers` it
// sends from the reports it is given, at given times. No socket, no clock.

@testable import ConfabServer
import ConfabProtocol
import ConfabRooms
import ConfabTestSupport
import Foundation
import Logging
import Testing

@Suite("RoomHost with an in-memory media plane")
struct RoomHostMediaTests {
    struct Connection {
        let sink: ConnectionSink
        let stream: AsyncStream<Outbound>
        let joined: Joined
    }

    final class Harness {
        let media = InMemoryMediaPlane()
        let data: TempDirectory
        let host: RoomHost
        let name = RoomName(uncheckedRawValue: "standup")

        init(speakerDetection: SpeakerDetectorSettings = SpeakerDetectorSettings()) throws {
            data = try TempDirectory()
            var settings = RoomHost.HostSettings(keepalive: KeepaliveInfo(), media: media)
            settings.speakerDetection = speakerDetection
            host = try RoomHost(
                name: name, template: TestServer.template(), store: ChatStore(path: data.path + "/chat.sqlite"),
                metrics: ServerMetrics(), settings: settings, logger: Logger(label: "test"))
        }

        func join(_ peer: PeerID, role: RoleName, muted: Bool = true) async throws -> Connection {
            let (sink, stream) = ConnectionSink.make()
            let token = VerifiedToken(room: name, peer: peer, name: nil, role: role)
            let result = try await host.join(
                token, request: JoinRequest(room: name, token: "t", muted: muted), requestID: "j", sink: sink,
                receivedAt: .now)
            guard case .admitted = result else { throw ToolError("not admitted") }
            var messages = stream.makeAsyncIterator()
            while let message = try await Self.decode(messages.next()) {
                if case .joined(let joined) = message.body { return Connection(sink: sink, stream: stream, joined: joined) }
            }
            throw ToolError("no joined")
        }

        /// Sends a request as `peer` and returns whether its session goes on.
        @discardableResult
        func send(_ json: String, as peer: PeerID, on connection: Connection) async throws -> Bool {
            let message = try ProtocolCodec().decode(Data(json.utf8), as: ClientMessage.self)
            return await host.handle(message, from: peer, sink: connection.sink)
        }

        static func decode(_ outbound: Outbound?) throws -> ServerMessage? {
            guard case .text(let text) = outbound else { return nil }
            return try ProtocolCodec().decode(Data(text.utf8), as: ServerMessage.self)
        }
    }

    /// Every `speakers` list queued on `connection` so far, in order; ends its queue.
    static func speakersLists(_ connection: Connection) async throws -> [[SpeakerLevel]] {
        connection.sink.finish()
        var lists: [[SpeakerLevel]] = []
        for await outbound in connection.stream {
            if case .speakers(let list) = try Harness.decode(outbound)?.body { lists.append(list) }
        }
        return lists
    }

    static func report(_ config: MediaPeerConfig, room: Int, loudest: UInt8, voice: Bool = false) -> MediaPeerReport {
        MediaPeerReport(
            slot: config.slot, room: room, peer: config.peer, bound: true, loudest: loudest, voice: voice,
            heardRecently: true, packets: 1, lost: 0, expected: 1, jitterMs: 0, forwardedPackets: 1, silentMs: 0)
    }

    @Test("the forwarding table follows joins, SSRC announcements, mutes and a leave; credentials match joined.media")
    func forwardingTable() async throws {
        let harness = try Harness()
        let alice = try await harness.join("alice", role: "host", muted: false)
        let bob = try await harness.join("bob", role: "speaker", muted: false)
        _ = try await harness.join("lee", role: "listener")
        var table = try #require(harness.media.table)
        #expect(Set(table.keys) == ["alice", "bob", "lee"])
        let media = try #require(alice.joined.media)
        #expect(media.host == InMemoryMediaPlane.host && media.port == InMemoryMediaPlane.port)
        #expect(table["alice"]?.username == CredentialKey(media.username))
        let (aliceSlot, bobSlot, leeSlot) = try (
            #require(table["alice"]?.slot), #require(table["bob"]?.slot), #require(table["lee"]?.slot))
        #expect(Set(table["alice"]?.subscribers ?? []) == [bobSlot, leeSlot])
        #expect(Set(table["bob"]?.subscribers ?? []) == [aliceSlot, leeSlot])
        #expect(table["lee"]?.subscribers == [], "nobody's role hears listeners")
        #expect(table["alice"]?.mayPublish == true && table["lee"]?.mayPublish == false)
        #expect(table["alice"]?.ssrcs.0 == nil)

        try await harness.send(#"{"v": 1, "type": "keys.publish", "id": "k", "track": "alice:mic", "epoch": 1, "ssrc": 4660, "keys": []}"#, as: "alice", on: alice)
        #expect(harness.media.table?["alice"]?.ssrcs.0 == 4_660)
        try await harness.send(#"{"v": 1, "type": "track.mute", "id": "m", "track": "bob:mic"}"#, as: "alice", on: alice)
        #expect(harness.media.table?["bob"]?.mayPublish == false)

        #expect(try await harness.send(#"{"v": 1, "type": "leave", "id": "l"}"#, as: "bob", on: bob) == false)
        table = try #require(harness.media.table)
        #expect(Set(table.keys) == ["alice", "lee"])
        #expect(table["alice"]?.subscribers == [leeSlot])
    }

    /// A table as the media plane got it, in a form to compare: slots, credentials, flags, subscribers as sets.
    static func comparable(_ table: [PeerID: MediaPeerConfig]) -> [PeerID: String] {
        table.mapValues { config in
            "\(config.slot) \(config.username) \(config.ssrcs) \(config.mayPublish) \(config.hearsLoudestOnly) "
                + "\(config.subscribers.sorted())"
        }
    }

    @Test("listeners joining and leaving change the kept table: it is the table a whole rebuild makes")
    func listenerJoinsKeepTheTable() async throws {
        let harness = try Harness()
        let alice = try await harness.join("alice", role: "host", muted: false)
        _ = try await harness.join("bob", role: "speaker", muted: false)
        var listeners: [Connection] = []
        for index in 0..<6 { listeners.append(try await harness.join(PeerID(uncheckedRawValue: "lee\(index)"), role: "listener")) }
        func matchesRebuild(_ when: String) async throws {
            let kept = Self.comparable(try #require(harness.media.table))
            await harness.host.syncMedia()
            let rebuilt = Self.comparable(try #require(harness.media.table))
            #expect(kept == rebuilt, "\(when): \(kept) != \(rebuilt)")
        }
        try await matchesRebuild("after six listener joins")
        let table = try #require(harness.media.table)
        let listenerSlots = Set(listeners.compactMap { table[$0.joined.you.id]?.slot })
        #expect(listenerSlots.count == 6)
        #expect(listenerSlots.isSubset(of: Set(table["alice"]?.subscribers ?? [])), "every listener hears alice")
        #expect(listenerSlots.isSubset(of: Set(table["bob"]?.subscribers ?? [])), "every listener hears bob")
        // A change goes through the whole table; listeners joining after it build on that one.
        try await harness.send(#"{"v": 1, "type": "track.mute", "id": "m", "track": "bob:mic"}"#, as: "alice", on: alice)
        #expect(try await harness.send(#"{"v": 1, "type": "leave", "id": "l"}"#, as: "lee0", on: listeners[0]) == false)
        await harness.host.connectionLost("lee1", sink: listeners[1].sink)
        let dropped = try #require(table["lee1"]?.slot)
        #expect(harness.media.table?["lee1"] == nil && !(harness.media.table?["alice"]?.subscribers.contains(dropped) ?? true))
        _ = try await harness.join("lee9", role: "listener")
        try await matchesRebuild("after a mute, a leave, a drop and another join")
        #expect(harness.media.table?["bob"]?.mayPublish == false && harness.media.table?["lee0"] == nil)
    }

    @Test("a mute, an unmute, an accepted unmute prompt and keys.publish change only their peer's row; repeats and prompts post nothing; a role change posts the table")
    func rowChanges() async throws {
        let harness = try Harness()
        let alice = try await harness.join("alice", role: "host", muted: false)
        let bob = try await harness.join("bob", role: "speaker", muted: false)
        for index in 0..<3 { _ = try await harness.join(PeerID(uncheckedRawValue: "lee\(index)"), role: "listener") }
        let before = harness.media.posts
        func posted() -> InMemoryMediaPlane.Posts {
            let now = harness.media.posts
            return .init(
                tables: now.tables - before.tables, rows: now.rows - before.rows,
                listenerChanges: now.listenerChanges - before.listenerChanges)
        }
        func send(_ json: String, as peer: PeerID, _ connection: Connection) async throws {
            #expect(try await harness.send(json, as: peer, on: connection))
        }

        try await send(#"{"v": 1, "type": "keys.publish", "id": "k1", "track": "alice:mic", "epoch": 1, "ssrc": 4660, "keys": []}"#, as: "alice", alice)
        #expect(harness.media.table?["alice"]?.ssrcs.0 == 4_660)
        #expect(posted() == .init(tables: 0, rows: 1, listenerChanges: 0))
        try await send(#"{"v": 1, "type": "keys.publish", "id": "k2", "track": "alice:mic", "epoch": 2, "ssrc": 4660, "keys": []}"#, as: "alice", alice)
        #expect(posted().rows == 1, "the same SSRC again changes no row")

        try await send(#"{"v": 1, "type": "track.mute", "id": "m1", "track": "bob:mic"}"#, as: "alice", alice)
        #expect(harness.media.table?["bob"]?.mayPublish == false)
        try await send(#"{"v": 1, "type": "track.mute", "id": "m2", "track": "bob:mic"}"#, as: "alice", alice)
        #expect(posted() == .init(tables: 0, rows: 2, listenerChanges: 0), "a repeated mute posts nothing")

        // Asking bob to unmute changes nothing until he accepts.
        try await send(#"{"v": 1, "type": "track.unmute", "id": "u1", "track": "bob:mic"}"#, as: "alice", alice)
        #expect(posted().rows == 2)
        var bobMessages = bob.stream.makeAsyncIterator()
        var prompt: PromptID?
        while prompt == nil, let message = try Harness.decode(await bobMessages.next()) {
            if case .unmuteRequested(let asked) = message.body { prompt = asked.prompt }
        }
        let promptID = try #require(prompt).rawValue
        try await send(#"{"v": 1, "type": "prompt.answer", "id": "a1", "prompt": "\#(promptID)", "accept": true}"#, as: "bob", bob)
        #expect(harness.media.table?["bob"]?.mayPublish == true)
        try await send(#"{"v": 1, "type": "track.mute", "id": "m3", "track": "alice:mic"}"#, as: "alice", alice)
        try await send(#"{"v": 1, "type": "track.unmute", "id": "u2", "track": "alice:mic"}"#, as: "alice", alice)
        #expect(harness.media.table?["alice"]?.mayPublish == true)
        #expect(posted() == .init(tables: 0, rows: 5, listenerChanges: 0))

        let kept = Self.comparable(try #require(harness.media.table))
        await harness.host.syncMedia()
        #expect(kept == Self.comparable(try #require(harness.media.table)), "the kept rows are what a rebuild makes")

        try await send(#"{"v": 1, "type": "role.change", "id": "c0", "peer": "lee1", "role": "speaker"}"#, as: "alice", alice)
        #expect(posted() == .init(tables: 1, rows: 5, listenerChanges: 0), "a question put changes no row")
        try await send(#"{"v": 1, "type": "role.change", "id": "c1", "peer": "lee0", "role": "speaker", "force": true}"#, as: "alice", alice)
        #expect(posted().tables == 2, "the rebuild above, and the role change: who hears whom changed")
        #expect(harness.media.table?["lee0"]?.subscribers.isEmpty == false)
    }

    @Test("a peer a host removes leaves the table as its connection closes: a listener as a change, a publisher with the whole table")
    func removals() async throws {
        let harness = try Harness()
        let alice = try await harness.join("alice", role: "host", muted: false)
        _ = try await harness.join("bob", role: "speaker", muted: false)
        _ = try await harness.join("lee", role: "listener")
        let (leeSlot, bobSlot) = try (#require(harness.media.table?["lee"]?.slot), #require(harness.media.table?["bob"]?.slot))
        let before = harness.media.posts
        #expect(try await harness.send(#"{"v": 1, "type": "peer.remove", "id": "r1", "peer": "lee"}"#, as: "alice", on: alice))
        #expect(harness.media.table?["lee"] == nil)
        #expect(harness.media.table?["alice"]?.subscribers.contains(leeSlot) == false)
        #expect(harness.media.table?["bob"]?.subscribers.contains(leeSlot) == false)
        #expect(harness.media.posts.tables == before.tables && harness.media.posts.listenerChanges == before.listenerChanges + 1)
        #expect(try await harness.send(#"{"v": 1, "type": "peer.remove", "id": "r2", "peer": "bob"}"#, as: "alice", on: alice))
        #expect(harness.media.table?["bob"] == nil)
        #expect(harness.media.table?["alice"]?.subscribers.contains(bobSlot) == false)
        let kept = Self.comparable(try #require(harness.media.table))
        await harness.host.syncMedia()
        #expect(kept == Self.comparable(try #require(harness.media.table)))
    }

    @Test("speakers from the reports at given times: loudest first, the hangover keeps a pause listed, then silence once")
    func speakers() async throws {
        let harness = try Harness(speakerDetection: SpeakerDetectorSettings(hangoverMs: 600))
        _ = try await harness.join("alice", role: "host", muted: false)
        _ = try await harness.join("bob", role: "speaker", muted: false)
        let lee = try await harness.join("lee", role: "listener")
        let table = try #require(harness.media.table)
        let (a, b, room) = try (#require(table["alice"]), #require(table["bob"]), #require(harness.media.room))
        let second: UInt64 = 1_000_000_000
        let quiet = [Self.report(a, room: room, loudest: 127), Self.report(b, room: room, loudest: 127)]
        await harness.host.publishSpeakers([Self.report(a, room: room, loudest: 30), Self.report(b, room: room, loudest: 10)], nowNs: second)
        // 500 ms later both are quiet: within the 600 ms hangover, still listed (at level 0).
        await harness.host.publishSpeakers(quiet, nowNs: second + 500_000_000)
        // 1 s after they last spoke: nobody; an empty list once, then nothing.
        await harness.host.publishSpeakers(quiet, nowNs: 2 * second)
        await harness.host.publishSpeakers(quiet, nowNs: 2 * second + 500_000_000)
        let lists = try await Self.speakersLists(lee)
        #expect(lists.map { $0.map(\.peer) } == [["bob", "alice"], ["alice", "bob"], []])
        #expect(lists.first?.map(\.level) == [83, 50])  // −10 and −30 dBov on the 0…100 scale
    }
}
