import ConfabProtocol
import ConfabTestSupport
import Foundation
import Testing

/// Hand-written JSON pins the wire format: a renamed key or a changed type
/// string fails here even though the round trip would still pass.
@Suite("Stable JSON keys, checked against hand-written messages")
struct ExpectedJSONTests {
    /// (message, the JSON it must encode to and decode from)
    static let clientCases: [(ClientMessage, String)] = [
        (
            ClientMessage(
                id: "c1",
                .join(
                    JoinRequest(
                        room: "standup", token: "eyJ.x.y", name: "Alice", muted: false, publicKey: Samples.key,
                        historyLimit: 20))),
            """
            {"v": 1, "type": "join", "id": "c1", "room": "standup", "token": "eyJ.x.y", "name": "Alice",
             "muted": false, "historyLimit": 20, "publicKey": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
            """
        ),
        (
            ClientMessage(
                id: "c2", .sendChat(SendChatRequest(target: .roles(["host", "speaker"]), text: "a question"))),
            """
            {"v": 1, "type": "chat.send", "id": "c2", "target": {"kind": "roles", "roles": ["host", "speaker"]},
             "text": "a question"}
            """
        ),
        (
            ClientMessage(id: "c3", .sendChat(SendChatRequest(target: .broadcast, text: "hi", idempotencyKey: "k9"))),
            """
            {"v": 1, "type": "chat.send", "id": "c3", "target": {"kind": "broadcast"}, "text": "hi", "idempotencyKey": "k9"}
            """
        ),
        (
            ClientMessage(id: "c4", .muteTrack("bob:mic")),
            #"{"v": 1, "type": "track.mute", "id": "c4", "track": "bob:mic"}"#
        ),
        (
            ClientMessage(id: "c5", .changeRole(RoleChangeRequest(peer: "lee", role: "speaker", force: true))),
            #"{"v": 1, "type": "role.change", "id": "c5", "peer": "lee", "role": "speaker", "force": true}"#
        ),
        (
            ClientMessage(id: "c6", .resume(ResumeRequest(room: "standup", resumeToken: "rt", lastSeenSequence: 41))),
            #"{"v": 1, "type": "resume", "id": "c6", "room": "standup", "resumeToken": "rt", "lastSeenSequence": 41}"#
        ),
        (ClientMessage(id: "c7", .ping), #"{"v": 1, "type": "ping", "id": "c7"}"#),
        (
            ClientMessage(id: "c8", .fetchHistory(HistoryRequest(after: 40, limit: 10))),
            #"{"v": 1, "type": "chat.history", "id": "c8", "after": 40, "limit": 10}"#
        ),
    ]

    static let serverCases: [(ServerMessage, String)] = [
        (
            ServerMessage(.chatMessage(Samples.hello)),
            """
            {"v": 1, "type": "chat.message", "message": {"id": "m7", "seq": 7, "sentAt": 1763000000000,
             "from": "alice", "fromName": "Alice", "fromRole": "host",
             "target": {"kind": "roles", "roles": ["host", "speaker"]}, "text": "two\\nlines"}}
            """
        ),
        (
            ServerMessage(id: "c9", .error(CodedError(.cannotMuteOthers, "role listener may not mute others"))),
            #"{"v": 1, "type": "error", "id": "c9", "code": 3002, "message": "role listener may not mute others"}"#
        ),
        (
            ServerMessage(.peerLeft(PeerLeft(peer: "lee", reason: .timeout))),
            #"{"v": 1, "type": "peer.left", "peer": "lee", "reason": "timeout"}"#
        ),
        (
            ServerMessage(.trackMuted(TrackMuteChange(peer: "alice", track: "alice:mic", by: "bob"))),
            #"{"v": 1, "type": "track.muted", "peer": "alice", "track": "alice:mic", "by": "bob"}"#
        ),
        (
            ServerMessage(.speakers([SpeakerLevel(peer: "alice", track: "alice:mic", level: 87)])),
            #"{"v": 1, "type": "speakers", "speakers": [{"peer": "alice", "track": "alice:mic", "level": 87}]}"#
        ),
        (
            ServerMessage(id: "c2", .chatAck(ChatAck(message: "m7", seq: 7, sentAt: Samples.t0))),
            #"{"v": 1, "type": "chat.ack", "id": "c2", "message": "m7", "seq": 7, "sentAt": 1763000000000}"#
        ),
        (
            ServerMessage(
                .keys(SealedKeyDelivery(from: "alice", track: "alice:mic", epoch: 2, sealed: Samples.sealed))),
            #"{"v": 1, "type": "keys", "from": "alice", "track": "alice:mic", "epoch": 2, "sealed": "3q2+7wAB"}"#
        ),
        (
            ServerMessage(
                .peerUpdated(
                    PeerUpdated(
                        peer: PeerInfo(
                            id: "lee", name: "Lee", role: "speaker", joinedAt: Samples.t0,
                            tracks: [TrackInfo(id: "lee:mic", muted: true)]),
                        changed: [.role, .hand], by: "alice"))),
            """
            {"v": 1, "type": "peer.updated", "by": "alice", "changed": ["role", "hand"],
             "peer": {"id": "lee", "name": "Lee", "role": "speaker", "metadata": "", "joinedAt": 1763000000000,
                      "tracks": [{"id": "lee:mic", "kind": "audio", "source": "microphone", "muted": true}]}}
            """
        ),
        (
            ServerMessage(
                id: "c1",
                .joined(
                    Joined(
                        room: RoomInfo(
                            name: "standup", startedAt: Samples.t0,
                            roles: [
                                .init(
                                    name: "listener", priority: 10, publishAudio: false, subscribesTo: ["host"],
                                    chat: ChatPermissions(broadcast: true, toRoles: false, direct: false),
                                    permissions: .none)
                            ]),
                        you: Samples.lee, peers: [], history: .empty, joinedAt: Samples.t0, joinTimeMs: 2,
                        resumed: false, reconnect: ReconnectInfo(resumeToken: "rt-1")))),
            """
            {"v": 1, "type": "joined", "id": "c1",
             "room": {"name": "standup", "startedAt": 1763000000000, "speakersIntervalMs": 500,
                      "roles": [{"name": "listener", "priority": 10, "publishAudio": false, "subscribesTo": ["host"],
                                 "chat": {"broadcast": true, "toRoles": false, "direct": false},
                                 "permissions": {"muteOthers": false, "askToUnmute": false, "changeRoles": false,
                                                 "removePeers": false, "endRoom": false, "raiseHand": false}}]},
             "you": {"id": "lee", "name": "Lee", "role": "listener", "metadata": "", "joinedAt": 1763000000040, "tracks": []},
             "peers": [], "history": {"messages": [], "hasMore": false},
             "joinedAt": 1763000000000, "joinTimeMs": 2, "resumed": false,
             "reconnect": {"resumeToken": "rt-1", "resumeGraceMs": 20000},
             "keepalive": {"pingIntervalMs": 5000, "deadAfterMs": 15000}}
            """
        ),
    ]

    @Test("client messages encode to the documented keys", arguments: clientCases)
    func clientEncoding(message: ClientMessage, json: String) throws {
        #expect(try encodedJSON(message) == JSONValue(parsing: json))
    }

    @Test("hand-written client JSON decodes to the message", arguments: clientCases)
    func clientDecoding(message: ClientMessage, json: String) throws {
        #expect(try decodeClient(json) == message)
    }

    @Test("server messages encode to the documented keys", arguments: serverCases)
    func serverEncoding(message: ServerMessage, json: String) throws {
        #expect(try encodedJSON(message) == JSONValue(parsing: json))
    }

    @Test("the envelope comes first in every encoded message: v, type, id, then the payload", arguments: serverCases.map(\.0))
    func envelopeFirst(message: ServerMessage) throws {
        let text = String(decoding: ProtocolCodec().encode(message), as: UTF8.self)
        let envelope = #"{"v":1,"type":"\#(message.type.rawValue)""# + (message.id.map { #","id":"\#($0.rawValue)""# } ?? "")
        #expect(text.hasPrefix(envelope), "\(text)")
        #expect(try JSONValue(parsing: text) == encodedJSON(message), "reordering kept every member")
    }

    @Test("the envelope comes first, byte for byte, and the payload keeps its order")
    func envelopeExactBytes() {
        let ack = ServerMessage(id: "c7", .chatAck(ChatAck(message: "m41", seq: 41, sentAt: Samples.t0)))
        #expect(
            String(decoding: ProtocolCodec().encode(ack), as: UTF8.self)
                == #"{"v":1,"type":"chat.ack","id":"c7","message":"m41","sentAt":1763000000000,"seq":41}"#)
        let send = ClientMessage(id: "c2", .sendChat(SendChatRequest(target: .broadcast, text: "a \"quoted\", {odd} text")))
        #expect(
            String(decoding: ProtocolCodec().encode(send), as: UTF8.self)
                == #"{"v":1,"type":"chat.send","id":"c2","target":{"kind":"broadcast"},"text":"a \"quoted\", {odd} text"}"#)
    }

    @Test("hand-written server JSON decodes to the message", arguments: serverCases)
    func serverDecoding(message: ServerMessage, json: String) throws {
        #expect(try decodeServer(json) == message)
    }

    @Test("optional fields take their documented defaults when absent")
    func defaults() throws {
        let join = try decodeClient(#"{"v":1,"type":"join","id":"j","room":"r","token":"t"}"#)
        #expect(join.body == .join(JoinRequest(room: "r", token: "t", muted: true, historyLimit: 50)))
        let history = try decodeClient(#"{"v":1,"type":"chat.history","id":"h"}"#)
        #expect(history.body == .fetchHistory(HistoryRequest(after: nil, before: nil, limit: 50)))
        let role = try decodeClient(#"{"v":1,"type":"role.change","id":"r","peer":"p","role":"speaker"}"#)
        #expect(role.body == .changeRole(RoleChangeRequest(peer: "p", role: "speaker", force: false)))
        let end = try decodeClient(#"{"v":1,"type":"room.end","id":"e"}"#)
        #expect(end.body == .endRoom(EndRoomRequest(lock: false, reason: nil)))
    }

    @Test("null reads like an absent optional field")
    func nullOptional() throws {
        let message = try decodeClient(#"{"v":1,"type":"peer.remove","id":"x","peer":"p","reason":null}"#)
        #expect(message.body == .removePeer(RemovePeerRequest(peer: "p", reason: nil)))
    }

    @Test("unknown fields are ignored, so newer clients and servers can add them")
    func unknownFieldsIgnored() throws {
        let message = try decodeClient(#"{"v":1,"type":"ping","id":"p","future":{"x":1}}"#)
        #expect(message == ClientMessage(id: "p", .ping))
    }
}
