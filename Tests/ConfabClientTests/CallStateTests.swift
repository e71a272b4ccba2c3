// The call store's reducer and the headless call commands: pure, no server.

import ConfabClient
import ConfabProtocol
import Testing

@Suite("CallState: what a UI shows of presence and calls")
struct CallStateTests {
    static let t0 = Timestamp(millisecondsSince1970: 1_763_000_000_000)

    static func call(_ states: [(PeerID, CallParticipantState)], id: CallID = "k1") -> CallInfo {
        CallInfo(
            id: id, caller: "alice", group: states.count > 2, createdAt: t0,
            participants: states.map { CallParticipant(user: $0.0, name: $0.0.rawValue.capitalized, state: $0.1) })
    }

    @Test("an invitation rings until it ends; accepting makes it the current call")
    func invitationLifecycle() {
        var state = CallState()
        state.apply(
            .connected(
                Connected(you: OnlineUser(user: "bob", name: "Bob"), online: [OnlineUser(user: "alice", name: "Alice")])))
        #expect(state.connection == .online)
        #expect(state.onlineUsers.map(\.user) == ["alice"])
        let ringing = Self.call([("alice", .accepted), ("bob", .ringing)])
        state.apply(.invited(CallInvitation(call: ringing, from: "alice", ringTimeoutMs: 30_000)))
        #expect(state.invitations.map(\.call.id) == ["k1"])
        #expect(state.call == nil)
        state.apply(.answered(Self.call([("alice", .accepted), ("bob", .accepted)])))
        #expect(state.invitations.isEmpty)
        #expect(state.call?.participant("bob")?.state == .accepted)
        state.apply(.roomReady(CallRoom(call: "k1", room: "call-k1", token: "t")))
        state.apply(.userEntered("alice"))
        #expect(state.room == "call-k1" && state.inRoom == ["alice"])
        state.apply(.ended(CallEnded(call: "k1", reason: .hangup, durationMs: 5_000)))
        #expect(state.call == nil && state.room == nil && state.inRoom.isEmpty)
        #expect(state.lastEnded?.durationMs == 5_000)
    }

    @Test("connected's names are sanitised again: you, who is online, your calls and the calls on your other devices")
    func connectedIsCleaned() {
        let evil = "Al\u{1B}]0;pwned\u{07}ice\u{202E}"
        var elsewhere = Self.call([("alice", .accepted), ("bob", .accepted)])
        elsewhere.participants[0].name = evil
        let connected = Connected(
            you: OnlineUser(user: "bob", name: "Bob\u{1B}[2J"), online: [OnlineUser(user: "alice", name: evil)],
            calls: [elsewhere], elsewhere: [elsewhere])
        let clean = IncomingCall.connected(connected)
        #expect(clean.you.name == "Bob" && clean.online.map(\.name) == ["Alice"])
        #expect(clean.calls.first?.participants.map(\.name) == ["Alice", "Bob"])
        #expect(clean.elsewhere?.first?.participants.map(\.name) == ["Alice", "Bob"])
    }

    @Test("a call that ended before its reply was read does not come back")
    func endedBeforePlaced() {
        var state = CallState()
        state.apply(.ended(CallEnded(call: "k2", reason: .unanswered, durationMs: 0)))
        state.apply(.placed(Self.call([("alice", .accepted), ("zed", .offline)], id: "k2")))
        #expect(state.call == nil)
        state.apply(.placed(Self.call([("alice", .accepted), ("bob", .ringing)], id: "k3")))
        #expect(state.call?.id == "k3")
    }

    @Test("participant changes update the current call, or the invitation they belong to")
    func participantChanges() {
        var state = CallState()
        let ringing = Self.call([("alice", .accepted), ("bob", .ringing)])
        state.apply(.invited(CallInvitation(call: ringing, from: "alice", ringTimeoutMs: 1_000)))
        let grown = Self.call([("alice", .accepted), ("bob", .ringing), ("dave", .ringing)])
        state.apply(.participantChanged(grown, user: "dave", state: .ringing))
        #expect(state.invitations.first?.call.participant("dave")?.state == .ringing)
        state.apply(.invitationEnded(call: "k1", reason: .cancelled))
        #expect(state.invitations.isEmpty)
        state.apply(.disconnected(reason: "gone"))
        #expect(state.connection == .disconnected(reason: "gone"))
    }
}

@Suite("Headless call commands")
struct HeadlessCallCommandTests {
    @Test("words and JSON give the same commands", arguments: [
        ("call bob carol", HeadlessCallCommand.Action.call(users: ["bob", "carol"], ringTimeoutMs: nil)),
        (#"{"cmd":"call","users":["bob"],"ringTimeoutMs":5000}"#, .call(users: ["bob"], ringTimeoutMs: 5_000)),
        ("accept", .accept(nil)), ("accept k1", .accept("k1")), (#"{"cmd":"reject","call":"k1"}"#, .reject("k1")),
        ("cancel", .cancel), ("hangup", .hangup), ("history 10", .history(limit: 10)), ("quit", .quit),
        // JSON white space (RFC 8259 §2) before the object, a CR included, is still JSON.
        ("\r\t {\"cmd\":\"accept\",\"call\":\"k2\"}", .accept("k2")), ("\r hangup", .hangup),
    ])
    func parses(line: String, action: HeadlessCallCommand.Action) throws {
        let command = try HeadlessCallCommand.parse(line).get()
        #expect(command.action == action)
    }

    @Test("bad lines are errors naming the command", arguments: [
        "call", "call b@d!user", "dial bob", #"{"cmd":"call","users":["bob"],"ringTimeoutMs":5}"#, "history 900", "{",
    ])
    func refuses(line: String) {
        guard case .failure(let error) = HeadlessCallCommand.parse(line) else {
            Issue.record("\(line) parsed")
            return
        }
        #expect(!error.message.isEmpty)
    }

    @Test("an error for a JSON line names its id, whatever white space comes first")
    func errorNamesTheID() {
        guard case .failure(let error) = HeadlessCallCommand.parse("\r\r{\"cmd\":\"dial\",\"id\":\"x5\"}") else {
            Issue.record("dial parsed")
            return
        }
        #expect(error.id == "x5" && error.command == "dial")
    }

    @Test("event lines never print the room token")
    func noSecrets() throws {
        let line = try #require(
            HeadlessCallEvents.line(for: .roomReady(CallRoom(call: "k1", room: "call-k1", token: "SECRET.token"))))
        #expect(line == #"{"event":"call.room","call":"k1","room":"call-k1"}"#)
    }
}

extension CallStateTests {
    @Test("invited back into a call you left, accepting makes it your call again")
    func invitedBack() {
        var state = CallState()
        state.apply(.answered(Self.call([("alice", .accepted), ("bob", .accepted), ("carol", .accepted)])))
        state.apply(.ended(CallEnded(call: "k1", reason: .hangup, durationMs: 1_000)))
        #expect(state.call == nil)
        let again = Self.call([("alice", .accepted), ("bob", .ringing), ("carol", .accepted)])
        state.apply(.invited(CallInvitation(call: again, from: "alice", ringTimeoutMs: 30_000)))
        state.apply(.answered(Self.call([("alice", .accepted), ("bob", .accepted), ("carol", .accepted)])))
        #expect(state.call?.id == "k1")
    }
}

extension HeadlessCallCommandTests {
    @Test("the connected line names calls on another device only when there are some")
    func connectedElsewhere() throws {
        let you = OnlineUser(user: "bob", name: "Bob", busy: true)
        let plain = try #require(HeadlessCallEvents.line(for: .connected(Connected(you: you, online: []))))
        #expect(!plain.contains("elsewhere"))
        let call = CallStateTests.call([("alice", .accepted), ("bob", .accepted)])
        let line = try #require(
            HeadlessCallEvents.line(for: .connected(Connected(you: you, online: [], elsewhere: [call]))))
        #expect(line.contains(#""elsewhere":[{"#) && line.contains(#""id":"k1""#))
        #expect(HeadlessCallEvents.line(for: .hungUp("k1")) == #"{"event":"call.hungUp","call":"k1"}"#)
    }
}
