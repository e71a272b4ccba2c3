// The room's shared state against a real server: who may set it, what every
// peer and a late joiner see, the management API setting it as @server, the
// limits with their numbered errors, and the state ending with the room.

import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("Shared state")
struct SharedStateTests {
    private static func set(_ key: String, _ value: String?, id: String = "s") -> String {
        let member = value.map { #", "value": "\#($0)""# } ?? ""
        return #"{"v": 1, "type": "state.set", "id": "\#(id)", "key": "\#(key)"\#(member)}"#
    }

    private static func error(_ client: RawClient, id: String) async throws -> CodedError {
        guard case .error(let error) = try await client.next(where: { $0.id?.rawValue == id }).body else {
            throw ToolError("request \(id) was not refused")
        }
        return error
    }

    @Test("a host sets the agenda: everyone gets state.changed, and a late joiner finds it in joined.state")
    func hostSetsEveryoneSees() async throws {
        try await TestServer.start().run { server in
            let (alice, first) = try await server.join("alice", role: "host")
            #expect(first.state == nil, "a new room has no shared state")
            let (bob, _) = try await server.join("bob", role: "speaker")
            let (lee, _) = try await server.join("lee", role: "listener")
            alice.send(Self.set("agenda", "Q3 review\\nthen hiring", id: "a1"))
            for client in [alice, bob, lee] {
                guard case .stateChanged(let change) = try await client.next(.stateChanged).body else {
                    throw ToolError("no state.changed")
                }
                #expect(change.key == "agenda" && change.by == "alice")
                #expect(change.value == "Q3 review then hiring", "sanitised to one line")
            }
            guard case .ok = try await alice.next(where: { $0.id?.rawValue == "a1" }).body else { throw ToolError("no ok") }

            let (carl, late) = try await server.join("carl", role: "listener")
            #expect(late.state?.map(\.key) == ["agenda"])
            #expect(late.state?.first?.value == "Q3 review then hiring" && late.state?.first?.by == "alice")

            // Deleting: state.changed without a value; the next joiner finds nothing.
            alice.send(Self.set("agenda", nil, id: "a2"))
            guard case .stateChanged(let deleted) = try await carl.next(.stateChanged).body else {
                throw ToolError("no state.changed for the deletion")
            }
            #expect(deleted.key == "agenda" && deleted.value == nil)
            let (_, after) = try await server.join("dana", role: "listener")
            #expect(after.state == nil)
        }
    }

    @Test("kept across a restart: a room that goes on has its agenda back; a room that ended has none")
    func keptAcrossRestart() async throws {
        let data = try TempDirectory(prefix: "confab-state-test")
        defer { data.remove() }
        let first = try await TestServer.start(data: data)
        let (alice, _) = try await first.join("alice", role: "host")
        alice.send(Self.set("agenda", "Q3 review", id: "a1"))
        guard case .ok = try await alice.next(where: { $0.id?.rawValue == "a1" }).body else { throw ToolError("no ok") }
        let admin = try await AdminClient.make(first)
        let created = try await admin.call("POST", "/api/v1/rooms", body: #"{"name": "retro"}"#)
        #expect(created.status == 201)
        let pin = "/api/v1/rooms/{room}/state/{key}"
        #expect(try await admin.call("PUT", pin, ["room": "retro", "key": "pinned"], body: #"{"value": "x"}"#).status == 200)
        #expect(try await admin.call("DELETE", "/api/v1/rooms/{room}", ["room": "retro"]).status == 204)
        await first.stop()
        try await TestServer.start(data: data).run { second in
            let (_, back) = try await second.join("alice", role: "host")
            #expect(back.state?.map(\.value) == ["Q3 review"] && back.state?.first?.by == "alice", "\(String(describing: back.state))")
            let (_, retro) = try await second.join("bob", role: "host", room: "retro")
            #expect(retro.state == nil, "an ended room's state is gone")
        }
    }

    @Test("a role without setState is refused with 3015 and the state is unchanged")
    func permissionRefused() async throws {
        try await TestServer.start().run { server in
            let (alice, _) = try await server.join("alice", role: "host")
            let (bob, _) = try await server.join("bob", role: "speaker")
            let (lee, _) = try await server.join("lee", role: "listener")
            try await expectJoined(alice, ["bob", "lee"])
            for (client, id) in [(bob, "b1"), (lee, "l1")] {
                client.send(Self.set("pinned", "buy my stuff", id: id))
                let refused = try await Self.error(client, id: id)
                #expect(refused.code == .cannotSetState)
            }
            #expect(try await alice.expectQuiet("nobody hears of a refused change") == nil)
            let (_, joined) = try await server.join("carl", role: "listener")
            #expect(joined.state == nil)
        }
    }

    @Test("limits: a bad key is 1011, an empty or too long value 1012, a 17th key 4014")
    func limits() async throws {
        try await TestServer.start().run { server in
            let (alice, _) = try await server.join("alice", role: "host")
            for (key, id) in [("Agenda", "k1"), ("-x", "k2"), (String(repeating: "k", count: 33), "k3"), ("", "k4")] {
                alice.send(Self.set(key, "x", id: id))
                #expect(try await Self.error(alice, id: id).code == .stateKeyInvalid, "key \(key)")
            }
            alice.send(Self.set("agenda", "\\u001b[2J ", id: "v1"))
            #expect(try await Self.error(alice, id: "v1").code == .stateValueInvalid)
            alice.send(Self.set("agenda", String(repeating: "a", count: ProtocolLimits.maximumStateValueCharacters + 1), id: "v2"))
            #expect(try await Self.error(alice, id: "v2").code == .stateValueInvalid)
            alice.send(Self.set("agenda", String(repeating: "a", count: ProtocolLimits.maximumStateValueCharacters), id: "v3"))
            guard case .ok = try await alice.next(where: { $0.id?.rawValue == "v3" }).body else {
                throw ToolError("a value at the limit was refused")
            }
            for index in 1..<ProtocolLimits.maximumStateKeys {
                alice.send(Self.set("k\(index)", "v", id: "n\(index)"))
                guard case .ok = try await alice.next(where: { $0.id?.rawValue == "n\(index)" }).body else {
                    throw ToolError("key \(index) was refused")
                }
            }
            alice.send(Self.set("one-more", "v", id: "full"))
            #expect(try await Self.error(alice, id: "full").code == .stateFull)
            // Changing a key that exists still works when full.
            alice.send(Self.set("k1", "changed", id: "change"))
            guard case .ok = try await alice.next(where: { $0.id?.rawValue == "change" }).body else {
                throw ToolError("changing an existing key was refused when full")
            }
            let (_, joined) = try await server.join("bob", role: "listener")
            #expect(joined.state?.count == ProtocolLimits.maximumStateKeys)
            #expect(joined.state?.first { $0.key == "k1" }?.value == "changed")
        }
    }

    @Test("the API sets and deletes keys as @server; peers see it; GET shows it; errors are numbered")
    func throughTheAPI() async throws {
        try await TestServer.start().run { server in
            let admin = try await AdminClient.make(server)
            let (alice, _) = try await server.join("alice", role: "host")
            let (lee, _) = try await server.join("lee", role: "listener")
            let key = "/api/v1/rooms/{room}/state/{key}"
            let put = try await admin.call("PUT", key, ["room": "standup", "key": "spotlight"], body: #"{"value": "lee"}"#)
            #expect(put.status == 200 && put.json?["by"]?.text == "@server" && put.json?["value"]?.text == "lee")
            for client in [alice, lee] {
                guard case .stateChanged(let change) = try await client.next(.stateChanged).body else {
                    throw ToolError("no state.changed from the API")
                }
                #expect(change == StateChanged(key: "spotlight", value: "lee", by: .server, at: change.at))
            }
            let listed = try await admin.call("GET", "/api/v1/rooms/{room}/state", ["room": "standup"])
            #expect(listed.json?["state"]?.array.compactMap { $0["key"]?.text } == ["spotlight"])
            let detail = try await admin.call("GET", "/api/v1/rooms/{room}", ["room": "standup"])
            #expect(detail.json?["state"]?.array.count == 1)

            let badKey = try await admin.call("PUT", key, ["room": "standup", "key": "UP"], body: #"{"value": "x"}"#)
            #expect(badKey.status == 400 && badKey.errorCode == ErrorCode.stateKeyInvalid.rawValue)
            let empty = try await admin.call("PUT", key, ["room": "standup", "key": "pinned"], body: #"{"value": "  "}"#)
            #expect(empty.status == 400 && empty.errorCode == ErrorCode.stateValueInvalid.rawValue)
            let noRoom = try await admin.call("PUT", key, ["room": "nowhere", "key": "pinned"], body: #"{"value": "x"}"#)
            #expect(noRoom.status == 404 && noRoom.errorCode == ErrorCode.roomNotFound.rawValue)
            for index in 1..<ProtocolLimits.maximumStateKeys {
                _ = try await admin.call("PUT", key, ["room": "standup", "key": "k\(index)"], body: #"{"value": "v"}"#)
            }
            let full = try await admin.call("PUT", key, ["room": "standup", "key": "extra"], body: #"{"value": "v"}"#)
            #expect(full.status == 409 && full.errorCode == ErrorCode.stateFull.rawValue)

            let deleted = try await admin.call("DELETE", key, ["room": "standup", "key": "spotlight"])
            #expect(deleted.status == 204)
            guard case .stateChanged(let gone) = try await lee.next(where: { message in
                if case .stateChanged(let change) = message.body { return change.key == "spotlight" }
                return false
            }).body else { throw ToolError("no deletion event") }
            #expect(gone.value == nil && gone.by == .server)
            #expect(try await admin.call("DELETE", key, ["room": "standup", "key": "spotlight"]).status == 204)
        }
    }

    @Test("the state ends with the room: the next session starts with none")
    func endedRoomForgets() async throws {
        try await TestServer.start().run { server in
            let (alice, _) = try await server.join("alice", role: "host")
            alice.send(Self.set("agenda", "first meeting", id: "a"))
            _ = try await alice.next(where: { $0.id?.rawValue == "a" })
            alice.send(#"{"v": 1, "type": "room.end", "id": "e"}"#)
            _ = try await alice.next(.roomEnded)
            let (_, joined) = try await server.join("bob", role: "host")
            #expect(joined.state == nil)
        }
    }

    @Test("GET /rooms names the node holding each room: a single server's own id")
    func roomListNamesTheNode() async throws {
        try await TestServer.start().run { server in
            let admin = try await AdminClient.make(server)
            _ = try await server.join("alice", role: "host")
            let rooms = try await admin.call("GET", "/api/v1/rooms").json?["rooms"]?.array ?? []
            let node = rooms.first?["node"]?.text ?? ""
            #expect(node == NodeSettings.defaultID(port: server.port), "got \(node)")
        }
    }
}
