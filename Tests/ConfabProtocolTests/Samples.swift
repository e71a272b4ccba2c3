import ConfabProtocol
import Foundation

/// At least one message of every type, both directions, with optional
/// fields both present and absent. The round-trip tests check that this list
/// covers every type, so a new message cannot be added without a sample.
enum Samples {
    static let t0 = Timestamp(millisecondsSince1970: 1_763_000_000_000)
    static let key = X25519PublicKey(rawRepresentation: Data((0..<32).map { UInt8($0) }))
    static let sealed = Data([0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01])

    static let aliceMic = TrackInfo(id: "alice:mic", muted: true, mutedBy: "bob")
    static let alice = PeerInfo(
        id: "alice", name: "Alice", role: "host", metadata: "{\"desk\":3}", joinedAt: t0,
        handRaisedAt: t0.adding(milliseconds: 500), tracks: [aliceMic], publicKey: key)
    static let lee = PeerInfo(id: "lee", name: "Lee", role: "listener", joinedAt: t0.adding(milliseconds: 40))

    static let hello = ChatMessage(
        id: "m7", seq: 7, sentAt: t0, from: "alice", fromName: "Alice", fromRole: "host",
        target: .roles(["host", "speaker"]), text: "two\nlines")
    static let direct = ChatMessage(
        id: "m8", seq: 8, sentAt: t0, from: "lee", fromName: "Lee", fromRole: "listener",
        target: .peers(["alice"]), text: "hi")

    static let role = Role(
        name: "host", priority: 100, publishAudio: true, subscribesTo: ["host", "speaker"],
        chat: .all, permissions: .all)

    static let client: [ClientMessage] = [
        ClientMessage(id: "c1", .join(JoinRequest(room: "standup", token: "eyJ.x.y"))),
        ClientMessage(
            id: "c2",
            .join(
                JoinRequest(
                    room: "standup", token: nil, name: "Alice", metadata: "m", muted: false, publicKey: key,
                    historyLimit: 0))),
        ClientMessage(id: "c3", .resume(ResumeRequest(room: "standup", resumeToken: "rt-1", lastSeenSequence: 41))),
        ClientMessage(id: "c4", .leave),
        ClientMessage(id: "c5", .sendChat(SendChatRequest(target: .broadcast, text: "hello"))),
        ClientMessage(
            id: "c6", .sendChat(SendChatRequest(target: .roles(["host"]), text: "q?", idempotencyKey: "k-1"))),
        ClientMessage(id: "c7", .sendChat(SendChatRequest(target: .peers(["bob", "carol"]), text: "psst"))),
        ClientMessage(id: "c8", .fetchHistory(HistoryRequest())),
        ClientMessage(id: "c9", .fetchHistory(HistoryRequest(after: 10, before: 90, limit: 200))),
        ClientMessage(id: "r1", .listRoster(RosterRequest())),
        ClientMessage(
            id: "r2",
            .listRoster(RosterRequest(cursor: "1763000000123.lee", limit: 100, role: "listener", handRaised: true, namePrefix: "Le"))),
        ClientMessage(id: "c10", .changeRole(RoleChangeRequest(peer: "lee", role: "speaker"))),
        ClientMessage(id: "c11", .changeRole(RoleChangeRequest(peer: "lee", role: "speaker", force: true))),
        ClientMessage(id: "c12", .answerPrompt(PromptAnswer(prompt: "p3", accept: true))),
        ClientMessage(id: "c13", .muteTrack("bob:mic")),
        ClientMessage(id: "c14", .unmuteTrack("bob:mic")),
        ClientMessage(id: "c15", .removePeer(RemovePeerRequest(peer: "troll", reason: "spam"))),
        ClientMessage(id: "c16", .removePeer(RemovePeerRequest(peer: "troll"))),
        ClientMessage(id: "c17", .endRoom(EndRoomRequest(lock: true, reason: "done"))),
        ClientMessage(id: "c18", .endRoom(EndRoomRequest())),
        ClientMessage(id: "c19", .raiseHand),
        ClientMessage(id: "c20", .lowerHand),
        ClientMessage(id: "c21", .updatePeer(PeerUpdateRequest(name: "Al"))),
        ClientMessage(id: "c22", .updatePeer(PeerUpdateRequest(name: "Al", metadata: ""))),
        ClientMessage(id: "c23", .ping),
        ClientMessage(
            id: "c24",
            .publishKeys(
                PublishKeysRequest(track: "alice:mic", epoch: 2, keys: [SealedKey(peer: "bob", sealed: sealed)]))),
        ClientMessage(id: "c24b", .reportLoss(LossReport(tracks: [TrackLoss(track: "alice:mic", expected: 50, lost: 6)]))),
        ClientMessage(id: "c24c", .setState(SetStateRequest(key: "agenda", value: "Q3 review"))),
        ClientMessage(id: "c24d", .setState(SetStateRequest(key: "agenda", value: nil))),
        ClientMessage(id: "c25", .connect(ConnectRequest(token: "eyJ.u.v"))),
        ClientMessage(id: "c26", .connect(ConnectRequest(token: nil, name: "Alice"))),
        ClientMessage(id: "c27", .inviteToCall(CallInviteRequest(users: ["bob"]))),
        ClientMessage(
            id: "c28", .inviteToCall(CallInviteRequest(users: ["carol", "dan"], call: "k1", ringTimeoutMs: 5_000))),
        ClientMessage(id: "c29", .acceptCall(CallAction(call: "k1"))),
        ClientMessage(id: "c30", .rejectCall(CallAction(call: "k1"))),
        ClientMessage(id: "c31", .cancelCall(CallAction(call: "k1"))),
        ClientMessage(id: "c32", .hangUp(CallAction(call: "k1"))),
        ClientMessage(id: "c33", .fetchCallHistory(CallHistoryRequest(limit: 10))),
    ]

    static let call = CallInfo(
        id: "k1", caller: "alice", group: true, createdAt: t0, answeredAt: t0.adding(milliseconds: 900),
        participants: [
            CallParticipant(user: "alice", name: "Alice", state: .accepted),
            CallParticipant(user: "bob", name: "Bob", state: .accepted, invitedBy: "alice"),
            CallParticipant(user: "carol", name: "Carol", state: .ringing, invitedBy: "bob"),
        ])

    static let joined = Joined(
        room: RoomInfo(name: "standup", startedAt: t0, roles: [role]), you: alice, peers: [lee],
        history: ChatPage(messages: [hello], hasMore: true), joinedAt: t0, joinTimeMs: 3, resumed: false,
        reconnect: ReconnectInfo(resumeToken: "rt-1"), keepalive: KeepaliveInfo(),
        media: MediaEndpoint(host: "203.0.113.5", port: 7443, username: "u1", password: "p1"))

    static let server: [ServerMessage] = [
        ServerMessage(id: "c1", .joined(joined)),
        ServerMessage(
            id: "c3",
            .joined(
                Joined(
                    room: RoomInfo(name: "standup", startedAt: t0, roles: []), you: lee, peers: [],
                    history: .empty, joinedAt: t0, joinTimeMs: 0, resumed: true,
                    reconnect: ReconnectInfo(resumeToken: "rt-2", resumeGraceMs: 5_000)))),
        ServerMessage(id: "c4", .ok(OkReply())),
        ServerMessage(id: "c10", .ok(OkReply(prompt: "p3"))),
        ServerMessage(id: "c9", .error(CodedError(.cannotMuteOthers, "role listener may not mute others"))),
        ServerMessage(.error(CodedError(.sessionReplaced, "replaced"))),
        ServerMessage(id: "c23", .pong(Pong(serverTime: t0))),
        ServerMessage(id: "c5", .chatAck(ChatAck(message: "m7", seq: 7, sentAt: t0))),
        ServerMessage(id: "c8", .chatPage(ChatPage(messages: [hello, direct], hasMore: false))),
        ServerMessage(.peerJoined(PeerJoined(peer: lee))),
        ServerMessage(.peerJoined(PeerJoined(peer: alice, resumed: true))),
        ServerMessage(.peerLeft(PeerLeft(peer: "lee", reason: .timeout))),
        ServerMessage(.peerLeft(PeerLeft(peer: "troll", reason: .removed, by: "alice"))),
        ServerMessage(.peerUpdated(PeerUpdated(peer: lee, changed: [.role, .hand], by: "alice"))),
        ServerMessage(.peerUpdated(PeerUpdated(peer: alice, changed: [.name, .metadata]))),
        ServerMessage(id: "r1", .rosterPage(RosterPage(peers: [alice, lee], next: "1763000000123.lee", total: 1_234))),
        ServerMessage(id: "r2", .rosterPage(RosterPage(peers: [], total: 0))),
        ServerMessage(
            .roomCounts(
                RoomCounts(
                    total: 1_234,
                    roles: [RoleCount(role: "host", count: 2), RoleCount(role: "listener", count: 1_232)]))),
        ServerMessage(.trackAdded(TrackAdded(peer: "alice", track: aliceMic))),
        ServerMessage(.trackRemoved(PeerTrack(peer: "alice", track: "alice:mic"))),
        ServerMessage(.trackMuted(TrackMuteChange(peer: "alice", track: "alice:mic", by: "bob"))),
        ServerMessage(.trackUnmuted(TrackMuteChange(peer: "alice", track: "alice:mic", by: "alice"))),
        ServerMessage(.trackDegraded(TrackDegraded(peer: "alice", track: "alice:mic", reason: .packetLoss))),
        ServerMessage(.trackRestored(PeerTrack(peer: "alice", track: "alice:mic"))),
        ServerMessage(.stateChanged(StateChanged(key: "agenda", value: "Q3 review", by: "alice", at: Timestamp(millisecondsSince1970: 1_763_000_012_000)))),
        ServerMessage(.stateChanged(StateChanged(key: "agenda", value: nil, by: "@server", at: Timestamp(millisecondsSince1970: 1_763_000_013_000)))),
        ServerMessage(
            .speakers([
                SpeakerLevel(peer: "alice", track: "alice:mic", level: 87),
                SpeakerLevel(peer: "bob", track: "bob:mic", level: 12),
            ])),
        ServerMessage(.speakers([])),
        ServerMessage(.mediaFeedback(MediaFeedback(track: "alice:mic", lossPermille: 120, uplinkLossPermille: nil, listeners: 1))),
        ServerMessage(.chatMessage(hello)),
        ServerMessage(.chatMessage(direct)),
        ServerMessage(.roleChangeRequested(RoleChangePrompt(prompt: "p3", by: "alice", role: "speaker"))),
        ServerMessage(.unmuteRequested(UnmutePrompt(prompt: "p4", by: "alice", track: "bob:mic"))),
        ServerMessage(.promptAnswered(PromptAnswered(prompt: "p3", peer: "lee", accepted: false))),
        ServerMessage(.removed(Removed(by: "alice", reason: "spam"))),
        ServerMessage(.removed(Removed(by: nil, reason: nil))),
        ServerMessage(.roomEnded(RoomEnded(by: "alice", reason: "done", locked: true))),
        ServerMessage(.roomEnded(RoomEnded(by: nil, reason: nil, locked: false))),
        ServerMessage(.serverGoingAway(ServerGoingAway(reason: "restart", retryAfterMs: 2_000))),
        ServerMessage(.serverGoingAway(ServerGoingAway())),
        ServerMessage(.reconnectInfo(ReconnectInfo(resumeToken: "rt-3", resumeGraceMs: 20_000))),
        ServerMessage(.keys(SealedKeyDelivery(from: "alice", track: "alice:mic", epoch: 2, sealed: sealed))),
        ServerMessage(.hearers(HearersUpdate(reset: true, more: true, added: [Hearer(peer: "lee", publicKey: key!)]))),
        ServerMessage(.hearers(HearersUpdate(removed: ["lee", "lina"]))),
        ServerMessage(
            id: "c25",
            .connected(
                Connected(
                    you: OnlineUser(user: "alice", name: "Alice"), online: [OnlineUser(user: "bob", name: "Bob", busy: true)],
                    calls: [call]))),
        ServerMessage(id: "c27", .callState(call)),
        ServerMessage(
            id: "c33",
            .callHistoryPage(
                CallHistoryPage(calls: [
                    CallRecord(
                        call: "k1", direction: .outgoing, peers: ["bob"], outcome: .answered, startedAt: t0,
                        durationMs: 61_000)
                ]))),
        ServerMessage(.presenceOnline(OnlineUser(user: "bob", name: "Bob"))),
        ServerMessage(.presenceOffline(PresenceOffline(user: "bob"))),
        ServerMessage(.presenceUpdated(OnlineUser(user: "bob", name: "Bob", busy: true))),
        ServerMessage(.callInvitation(CallInvitation(call: call, from: "bob", ringTimeoutMs: 30_000))),
        ServerMessage(.callUpdated(CallUpdated(call: call, user: "carol", state: .ringing))),
        ServerMessage(.callInvitationEnded(CallInvitationEnded(call: "k1", reason: .answeredElsewhere))),
        ServerMessage(id: "c29", .callRoom(CallRoom(call: "k1", room: "call-k1", token: "eyJ.r.s"))),
        ServerMessage(.callRoom(CallRoom(call: "k1", room: "call-k1", token: "eyJ.r.t"))),
        ServerMessage(.callEnded(CallEnded(call: "k1", reason: .hangup, durationMs: 61_000))),
        ServerMessage(.clusterNodes(ClusterNodes(nodes: ["wss://a.example:7443", "wss://b.example:7443"]))),
    ]
}
