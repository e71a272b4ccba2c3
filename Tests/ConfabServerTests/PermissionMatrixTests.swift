// Every representative action × the three built-in roles, over the wire:
// either the effect (seen by an observer) or the permission error (and the
// observer sees nothing at all: a denied action changes nothing).

import ConfabProtocol
import ConfabServer
import Foundation
import Testing

@Suite("Permission matrix over the wire")
struct PermissionMatrixTests {
    enum Actor: String, CaseIterable, Sendable {
        case alice, bob, lee  // host, speaker, listener
        var role: String {
            switch self {
            case .alice: "host"
            case .bob: "speaker"
            case .lee: "listener"
            }
        }
    }

    enum Action: String, CaseIterable, Sendable {
        case muteOther, askToUnmute, changeRole, removePeer, endRoom, raiseHand, chatDirect, chatToRoles

        /// The request; the target is Sam, a speaker (live for muting, muted for asking).
        var request: String {
            switch self {
            case .muteOther: #"{"v": 1, "type": "track.mute", "id": "a1", "track": "sam:mic"}"#
            case .askToUnmute: #"{"v": 1, "type": "track.unmute", "id": "a1", "track": "sam:mic"}"#
            case .changeRole: #"{"v": 1, "type": "role.change", "id": "a1", "peer": "sam", "role": "listener", "force": true}"#
            case .removePeer: #"{"v": 1, "type": "peer.remove", "id": "a1", "peer": "sam", "reason": "test"}"#
            case .endRoom: #"{"v": 1, "type": "room.end", "id": "a1"}"#
            case .raiseHand: #"{"v": 1, "type": "hand.raise", "id": "a1"}"#
            case .chatDirect: #"{"v": 1, "type": "chat.send", "id": "a1", "target": {"kind": "peers", "peers": ["sam"]}, "text": "hi"}"#
            case .chatToRoles: #"{"v": 1, "type": "chat.send", "id": "a1", "target": {"kind": "roles", "roles": ["speaker"]}, "text": "hi"}"#
            }
        }

        var samStartsMuted: Bool { self == .askToUnmute }

        /// What Sam (the observer) receives when the action is allowed.
        var effect: ServerMessageType {
            switch self {
            case .muteOther: .trackMuted
            case .askToUnmute: .unmuteRequested
            case .changeRole, .raiseHand: .peerUpdated
            case .removePeer: .removed
            case .endRoom: .roomEnded
            case .chatDirect, .chatToRoles: .chatMessage
            }
        }

        /// The error for a role without the permission; nil where every built-in role may.
        func denial(for actor: Actor) -> ErrorCode? {
            switch (self, actor) {
            case (_, .alice), (.raiseHand, _), (.chatToRoles, _): nil
            case (.chatDirect, .bob): nil
            case (.chatDirect, .lee): .cannotChatDirect
            case (.muteOther, _): .cannotMuteOthers
            case (.askToUnmute, _): .cannotAskToUnmute
            case (.changeRole, _): .cannotChangeRoles
            case (.removePeer, _): .cannotRemovePeers
            case (.endRoom, _): .cannotEndRoom
            default: .permissionDenied
            }
        }
    }

    @Test("each action by each role: the effect, or a permission error and no change", arguments: Action.allCases, Actor.allCases)
    func matrix(_ action: Action, _ actor: Actor) async throws {
        let server = try await TestServer.shared.value
        let room = TestServer.uniqueRoom("matrix")
        let (alice, _) = try await server.join("alice", role: "host", room: room)
        let (bob, _) = try await server.join("bob", role: "speaker", room: room)
        let (lee, _) = try await server.join("lee", role: "listener", room: room)
        let (sam, _) = try await server.join("sam", role: "speaker", room: room, muted: action.samStartsMuted)
        try await expectJoined(alice, ["bob", "lee", "sam"])
        try await expectJoined(bob, ["lee", "sam"])
        try await expectJoined(lee, ["sam"])
        let clients: [Actor: RawClient] = [.alice: alice, .bob: bob, .lee: lee]
        let client = try #require(clients[actor])

        client.send(action.request)
        if let denial = action.denial(for: actor) {
            let reply = try await client.next()
            #expect(reply.id?.rawValue == "a1")
            #expect(errorCode(reply) == denial)
            let others = clients.filter({ $0.key != actor }).map({ ($0.key.rawValue, $0.value) })
            for (name, other) in [("sam", sam)] + others {
                #expect(try await other.expectQuiet() == nil, "\(name) saw something after a denied \(action)")
            }
        } else {
            // The actor's reply comes after the events it caused.
            let reply = try await client.next { $0.id?.rawValue == "a1" }
            #expect(reply.type == .ok || reply.type == .chatAck, "\(reply)")
            let seen = try await sam.next()
            #expect(seen.type == action.effect, "\(seen)")
        }
        for client in [alice, bob, lee, sam] { client.close() }
    }
}

extension RawClient {
    /// Skips messages until one matches.
    func next(where matches: (ServerMessage) -> Bool) async throws -> ServerMessage {
        while true {
            let message = try await next()
            if matches(message) { return message }
        }
    }
}
