import ConfabClient
import ConfabProtocol
import Testing

/// A state after the given events, from empty.
private func state(after events: [SessionEvent]) -> RoomState {
    var state = RoomState()
    for event in events { reduce(&state, event) }
    return state
}

private let joinedAlice = SessionEvent.joined(
    Fixture.joined(peers: [Fixture.peer("bob", joinedAt: -10), Fixture.peer("lee", role: "listener", joinedAt: -5)]),
    roundTripMs: 3)

@Suite("RoomState reducer")
struct ReducerTests {
    @Test("joined sets the room, you, the peers, the chat and the join time")
    func joined() {
        let state = state(after: [
            .joined(Fixture.joined(history: [Fixture.message(4), Fixture.message(5)], hasMore: true), roundTripMs: 3)
        ])
        #expect(state.connection == .connected)
        #expect(state.room?.name == "standup")
        #expect(state.you?.id == "alice")
        #expect(Array(state.peers.keys) == ["bob"])
        #expect(state.chat.map(\.seq) == [4, 5])
        #expect(state.hasOlderChat)
        #expect(state.joinTimeMs == 5)
        #expect(state.unread.isEmpty, "history of the first join is not unread")
        #expect(state.lastSeenSequence == 5)
    }

    @Test("peers are ordered by role priority, then join time")
    func ordering() {
        var later = Fixture.peer("zed", joinedAt: 50)
        later.role = "host"
        let state = state(after: [joinedAlice, .peerJoined(later, resumed: false)])
        #expect(state.orderedPeers.map(\.id) == ["bob", "zed", "lee"])
    }

    @Test("peer joined, updated and left")
    func peerLifecycle() {
        var carol = Fixture.peer("carol", role: "listener", joinedAt: 20)
        var state = state(after: [joinedAlice, .peerJoined(carol, resumed: false)])
        #expect(state.peers["carol"]?.name == "Carol")
        carol.name = "Carol B"
        carol.handRaisedAt = Fixture.t0.adding(milliseconds: 30)
        reduce(&state, .peerUpdated(carol, changed: [.name, .hand], by: nil))
        #expect(state.peers["carol"]?.name == "Carol B")
        #expect(state.raisedHands.map(\.id) == ["carol"])
        reduce(&state, .peerLeft("carol", reason: .timeout, by: nil))
        #expect(state.peers["carol"] == nil)
        #expect(state.raisedHands.isEmpty)
    }

    @Test("an update about ourselves changes `you`")
    func selfUpdate() {
        var me = Fixture.peer("alice")
        me.role = "listener"
        me.tracks = []
        let state = state(after: [joinedAlice, .peerUpdated(me, changed: [.role], by: "bob")])
        #expect(state.you?.role == "listener")
        #expect(state.peers["alice"] == nil)
        #expect(state.isMuted)
        #expect(state.yourRole?.permissions.endRoom == false)
    }

    @Test("tracks: added replaces, removed, muted with who, unmuted, degraded, restored")
    func tracks() {
        var state = state(after: [joinedAlice])
        let leeMic = TrackInfo(id: "lee:mic", muted: true)
        reduce(&state, .trackAdded(peer: "lee", track: leeMic))
        reduce(&state, .trackAdded(peer: "lee", track: leeMic))
        #expect(state.peers["lee"]?.tracks.count == 1)
        reduce(&state, .trackUnmuted(peer: "lee", track: "lee:mic", by: "lee"))
        #expect(state.peers["lee"]?.tracks.first?.muted == false)
        reduce(&state, .trackMuted(peer: "lee", track: "lee:mic", by: "alice"))
        #expect(state.peers["lee"]?.tracks.first?.mutedBy == "alice")
        reduce(&state, .trackDegraded(peer: "lee", track: "lee:mic", reason: .packetLoss))
        #expect(state.peers["lee"]?.tracks.first?.degraded == .packetLoss)
        reduce(&state, .trackRestored(peer: "lee", track: "lee:mic"))
        #expect(state.peers["lee"]?.tracks.first?.degraded == nil)
        reduce(&state, .trackRemoved(peer: "lee", track: "lee:mic"))
        #expect(state.peers["lee"]?.tracks.isEmpty == true)
    }

    @Test("our own microphone follows mute events")
    func ownMicrophone() {
        var state = state(after: [joinedAlice])
        #expect(state.isMuted)
        reduce(&state, .trackUnmuted(peer: "alice", track: "alice:mic", by: "alice"))
        #expect(!state.isMuted)
        reduce(&state, .trackMuted(peer: "alice", track: "alice:mic", by: "bob"))
        #expect(state.isMuted)
        #expect(state.yourMicrophone?.mutedBy == "bob")
    }

    @Test("speakers are replaced by each update and cleared for leavers and muted tracks")
    func speakers() {
        var state = state(after: [joinedAlice])
        reduce(&state, .speakers([SpeakerLevel(peer: "bob", track: "bob:mic", level: 80)]))
        #expect(state.speakers.map(\.peer) == ["bob"])
        reduce(&state, .trackMuted(peer: "bob", track: "bob:mic", by: "bob"))
        #expect(state.speakers.isEmpty)
        reduce(&state, .speakers([SpeakerLevel(peer: "bob", track: "bob:mic", level: 80)]))
        reduce(&state, .peerLeft("bob", reason: .left, by: nil))
        #expect(state.speakers.isEmpty)
    }

    @Test("chat is ordered by seq and each seq is kept once")
    func chatOrderAndDedup() {
        var state = state(after: [joinedAlice])
        for seq in [5, 3, 9, 5, 7, 3] { reduce(&state, .chatMessage(Fixture.message(seq))) }
        #expect(state.chat.map(\.seq) == [3, 5, 7, 9])
        reduce(&state, .chatHistory(ChatPage(messages: [1, 2, 3].map { Fixture.message($0) }, hasMore: false), direction: .older))
        #expect(state.chat.map(\.seq) == [1, 2, 3, 5, 7, 9])
        #expect(!state.hasOlderChat)
    }

    @Test("a resume's history merges without duplicates and counts as unread")
    func resumeHistory() {
        var state = state(after: [joinedAlice, .chatMessage(Fixture.message(1)), .chatMessage(Fixture.message(2))])
        reduce(&state, .conversationRead(.room))
        reduce(
            &state,
            .joined(Fixture.joined(history: [2, 3, 4].map { Fixture.message($0) }, resumed: true), roundTripMs: 1))
        #expect(state.chat.map(\.seq) == [1, 2, 3, 4])
        #expect(state.unread[.room] == 2)
    }

    @Test("unread counts per conversation; our own messages do not count; reading clears")
    func unread() {
        var state = state(after: [joinedAlice])
        reduce(&state, .chatMessage(Fixture.message(1)))
        reduce(&state, .chatMessage(Fixture.message(2, target: .peers(["alice"]))))
        reduce(&state, .chatMessage(Fixture.message(3, from: "lee", target: .roles(["host", "host"]))))
        reduce(&state, .chatMessage(Fixture.message(4, from: "alice")))
        #expect(state.unread[.room] == 1)
        #expect(state.unread[.direct(["bob"])] == 1)
        #expect(state.unread[.roles(["host"])] == 1)
        #expect(state.totalUnread == 3)
        reduce(&state, .conversationRead(.direct(["bob"])))
        #expect(state.totalUnread == 2)
    }

    @Test("prompts: received, answered by us, lapsed when the asker leaves or our role changes")
    func prompts() {
        var state = state(after: [
            joinedAlice,
            .roleChangeRequested(RoleChangePrompt(prompt: "p1", by: "bob", role: "listener")),
            .unmuteRequested(UnmutePrompt(prompt: "p2", by: "lee", track: "alice:mic")),
            .unmuteRequested(UnmutePrompt(prompt: "p2", by: "lee", track: "alice:mic")),
        ])
        #expect(state.pendingPrompts.map(\.id) == ["p1", "p2"])
        reduce(&state, .promptClosed("p1"))
        #expect(state.pendingPrompts.map(\.id) == ["p2"])
        reduce(&state, .peerLeft("lee", reason: .timeout, by: nil))
        #expect(state.pendingPrompts.isEmpty)

        reduce(&state, .roleChangeRequested(RoleChangePrompt(prompt: "p3", by: "bob", role: "listener")))
        var me = Fixture.peer("alice")
        me.role = "listener"
        reduce(&state, .peerUpdated(me, changed: [.role], by: "bob"))
        #expect(state.pendingPrompts.isEmpty)
    }

    @Test("questions we ask wait for their answer")
    func outgoingPrompts() {
        var state = state(after: [joinedAlice, .promptSent("p9", to: "lee", question: .roleChange("host"))])
        #expect(state.outgoingPrompts["p9"]?.to == "lee")
        reduce(&state, .promptAnswered(PromptAnswered(prompt: "p9", peer: "lee", accepted: true)))
        #expect(state.outgoingPrompts.isEmpty)
        #expect(state.promptAnswers.last?.accepted == true)
    }

    @Test("reconnecting, then joined again, then reconnected")
    func reconnectStates() {
        var state = state(after: [
            joinedAlice, .speakers([SpeakerLevel(peer: "bob", track: "bob:mic", level: 10)]),
            .connectionStateChanged(to: .reconnecting(attempt: 1), from: .connected),
            .reconnecting(attempt: 1, delayMs: 700),
        ])
        #expect(state.connection == .reconnecting(attempt: 1))
        #expect(state.reconnectAttempt == 1)
        #expect(state.speakers.isEmpty)
        reduce(&state, .reconnecting(attempt: 2, delayMs: 1_400))
        #expect(state.reconnectAttempt == 2)
        reduce(&state, .joined(Fixture.joined(peers: [], resumed: true), roundTripMs: 1))
        reduce(&state, .reconnected(resumed: true))
        #expect(state.connection == .connected)
        #expect(state.reconnectAttempt == nil)
        #expect(state.reconnectCount == 1)
        #expect(state.peers.isEmpty, "the new snapshot replaces the peers")
    }

    @Test("disconnected ends the session and clears prompts")
    func disconnected() {
        let state = state(after: [
            joinedAlice, .roleChangeRequested(RoleChangePrompt(prompt: "p1", by: "bob", role: "listener")),
            .removed(Removed(by: "bob", reason: "bye")), .disconnected(.removed(by: "bob", reason: "bye")),
        ])
        #expect(state.connection == .disconnected(.removed(by: "bob", reason: "bye")))
        #expect(state.pendingPrompts.isEmpty)
        #expect(state.you?.id == "alice", "the room stays on screen")
    }

    @Test("volumes are clamped to 0…2 and kept across a rejoin")
    func volumes() {
        var state = state(after: [joinedAlice, .peerVolumeChanged("bob", volume: 5), .peerVolumeChanged("lee", volume: 0.5)])
        #expect(state.volume(of: "bob") == 2)
        #expect(state.volume(of: "lee") == 0.5)
        #expect(state.volume(of: "nobody") == 1)
        reduce(&state, .joined(Fixture.joined(), roundTripMs: 0))
        #expect(state.volume(of: "lee") == 0.5)
    }

    @Test("failures, going-away notices and ended rooms are recorded")
    func notices() {
        var state = state(after: [joinedAlice, .failure(.server(CodedError(.tooManyMessages, "slow down")))])
        #expect(state.lastFailure?.code == .tooManyMessages)
        reduce(&state, .serverGoingAway(ServerGoingAway(reason: "upgrade", retryAfterMs: 100)))
        #expect(state.serverGoingAway?.reason == "upgrade")
        reduce(&state, .joined(Fixture.joined(resumed: false), roundTripMs: 0))
        #expect(state.serverGoingAway == nil)
        reduce(&state, .roomEnded(RoomEnded(by: "bob", reason: nil, locked: true)))
        reduce(&state, .disconnected(.roomEnded(by: "bob", reason: nil, locked: true)))
        #expect(state.connection == .disconnected(.roomEnded(by: "bob", reason: nil, locked: true)))
    }

    @Test("the reducer is deterministic: the same events give the same state")
    func deterministic() {
        let events: [SessionEvent] = [
            joinedAlice, .chatMessage(Fixture.message(3)), .peerJoined(Fixture.peer("zed"), resumed: false),
            .peerVolumeChanged("zed", volume: 0.3),
        ]
        #expect(state(after: events) == state(after: events))
    }
}
