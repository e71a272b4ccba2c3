// Calls end to end: CallClients (the SDK) online on an in-process server,
// ringing, answering, refusing and hanging up, with real rooms and, in the
// first test, real audio both ways.

import ConfabClient
import ConfabMedia
import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Calls through a real server: ringing, outcomes, rooms, history", .timeLimit(.minutes(3)))
struct CallTests {
    @Test("1:1: bob is rung and accepts; they hear each other; alice hangs up; both get the duration and a history entry")
    func acceptTalkHangUp() async throws {
        let server = try await LiveServer.start()
        let aliceAudio = CallAudio(say: SpeechLikeSource(seed: 3, durationSeconds: 4))
        let bobAudio = CallAudio(say: SpeechLikeSource(seed: 8, durationSeconds: 4))
        let alice = try await Caller.online(server, "alice", audio: aliceAudio)
        let bob = try await Caller.online(server, "bob", audio: bobAudio)

        let placed = try await alice.client.call(["bob"])
        #expect(placed.participant("bob")?.state == .ringing)
        #expect(!placed.group)
        let invitation = try await bob.waitForInvitation()
        #expect(invitation.from == "alice")
        #expect(invitation.call.caller == "alice")

        let session = try await bob.client.accept()
        #expect(session.configuration.endpoint.room?.rawValue.hasPrefix("call-") == true)
        await alice.until("alice sees bob accept") { $0.call?.participant("bob")?.state == .accepted }
        await alice.until("bob enters alice's room") { $0.inRoom.contains("bob") }
        await bob.until("alice enters bob's room") { $0.inRoom.contains("alice") }

        // Audio both ways, end to end encrypted through the call's room.
        try await aliceAudio.waitUntilSent()
        try await bobAudio.waitUntilSent()
        try await letAudioFlow(forMs: 600)
        let bobHeard = SignalComparison.segmentedMatch(
            reference: try pcmOf(SpeechLikeSource(seed: 3, durationSeconds: 4)), received: bobAudio.sink.samples,
            maxLagSamples: 48_000 * 6)
        let aliceHeard = SignalComparison.segmentedMatch(
            reference: try pcmOf(SpeechLikeSource(seed: 8, durationSeconds: 4)), received: aliceAudio.sink.samples,
            maxLagSamples: 48_000 * 6)
        print("call audio: bob hears alice at \(bobHeard.correlation), alice hears bob at \(aliceHeard.correlation)")
        #expect(bobHeard.correlation >= 0.8)
        #expect(aliceHeard.correlation >= 0.8)

        try await alice.client.hangup()
        let aliceEnd = try await alice.waitForEnd()
        let bobEnd = try await bob.waitForEnd()
        #expect(aliceEnd.reason == .hangup && bobEnd.reason == .hangup)
        #expect(aliceEnd.durationMs >= 3_000)
        #expect(abs(aliceEnd.durationMs - bobEnd.durationMs) < 1_000)
        #expect(await alice.client.session == nil)

        let aliceHistory = try await alice.client.history()
        let bobHistory = try await bob.client.history()
        #expect(aliceHistory.count == 1 && bobHistory.count == 1, "one record per user per call")
        #expect(aliceHistory.first?.direction == .outgoing)
        #expect(aliceHistory.first?.outcome == .answered)
        #expect(aliceHistory.first?.peers == ["bob"])
        #expect((aliceHistory.first?.durationMs ?? 0) >= 3_000)
        #expect(bobHistory.first?.direction == .incoming)
        #expect(bobHistory.first?.outcome == .answered)
        #expect(bobHistory.first?.peers == ["alice"])
        await Caller.end(alice, bob)
        await server.stop()
    }

    @Test("bob rejects: alice sees rejected, the call ends unanswered, both histories say rejected")
    func reject() async throws {
        let server = try await LiveServer.start()
        let (alice, bob) = try await Caller.online(server, "alice", "bob")
        let listener = RecordingCallListener()
        alice.client.addListener(listener)
        try await alice.rings(bob)
        let bobListener = RecordingCallListener()
        bob.client.addListener(bobListener)
        try await bob.client.reject()
        #expect(bob.store.state.invitations.isEmpty)
        #expect(bobListener.calls.isEmpty, "his own reject is not news to bob: \(bobListener.calls)")
        #expect(await alice.sawState("bob", .rejected))
        let end = try await alice.waitForEnd()
        #expect(end.reason == .unanswered && end.durationMs == 0)
        // The listener heard the same story, one callback per outcome.
        #expect(listener.calls == ["ringing bob", "rejected bob", "ended unanswered"])
        #expect(try await alice.client.history().first?.outcome == .rejected)
        #expect(try await bob.client.history().first?.outcome == .rejected)
        await Caller.end(alice, bob)
        await server.stop()
    }

    @Test("nobody answers: after the server's configured ring timeout the call ends with noResponse on both sides")
    func noResponse() async throws {
        var calls = CallSettings()
        calls.ringTimeoutMs = 1_500
        let server = try await LiveServer.start(calls: calls)
        let (alice, bob) = try await Caller.online(server, "alice", "bob")
        let started = ContinuousClock.now
        try await alice.client.call(["bob"])
        let invitation = try await bob.waitForInvitation()
        #expect(invitation.ringTimeoutMs == 1_500)
        #expect(await bob.sawInvitationEnd(.noResponse))
        #expect(await alice.sawState("bob", .noResponse))
        let end = try await alice.waitForEnd()
        let waited = ContinuousClock.now - started
        #expect(end.reason == .unanswered)
        #expect(waited >= .milliseconds(1_400) && waited < .seconds(10))
        #expect(try await alice.client.history().first?.outcome == .noResponse)
        #expect(try await bob.client.history().first?.outcome == .noResponse)
        await Caller.end(alice, bob)
        await server.stop()
    }

    @Test("a per-call ring timeout overrides the server's")
    func perCallTimeout() async throws {
        let server = try await LiveServer.start()
        let (alice, bob) = try await Caller.online(server, "alice", "bob")
        try await alice.client.call(["bob"], ringTimeoutMs: 1_000)
        #expect(try await bob.waitForInvitation().ringTimeoutMs == 1_000)
        #expect(await alice.sawState("bob", .noResponse, timeoutMs: 8_000))
        await Caller.end(alice, bob)
        await server.stop()
    }

    @Test("busy: carol rings bob while he is in a call with alice")
    func busy() async throws {
        let server = try await LiveServer.start()
        let (alice, bob, carol) = try await Caller.online(server, "alice", "bob", "carol")
        try await alice.rings(bob)
        try await bob.client.accept()
        await carol.until("carol sees bob busy") { $0.online["bob"]?.busy == true }
        let placed = try await carol.client.call(["bob"])
        #expect(placed.participant("bob")?.state == .busy)
        #expect(try await carol.waitForEnd().reason == .unanswered)
        #expect(try await carol.client.history().first?.outcome == .busy)
        #expect(bob.store.state.invitations.isEmpty)
        try await alice.client.hangup()
        await carol.until("carol sees bob free again") { $0.online["bob"]?.busy == false }
        await Caller.end(alice, bob, carol)
        await server.stop()
    }

    @Test("the caller goes offline while it rings: the invitation is cancelled")
    func callerDisconnects() async throws {
        let server = try await LiveServer.start()
        let (alice, bob) = try await Caller.online(server, "alice", "bob")
        try await alice.rings(bob)
        await alice.client.disconnect()
        #expect(await bob.sawInvitationEnd(.cancelled))
        await bob.until("bob sees alice offline") { $0.online["alice"] == nil }
        #expect(try await bob.client.history().first?.outcome == .cancelled)
        await Caller.end(bob)
        await server.stop()
    }

    @Test("bob's connection drops while he is rung: he comes back by himself, the invitation still rings, he answers")
    func reconnectWhileRinging() async throws {
        let server = try await LiveServer.start()
        let alice = try await Caller.online(server, "alice")
        let transport = try LiveSession.cuttableTransport(fingerprint: server.fingerprint)
        let bob = Caller(
            "bob",
            client: CallClient(
                endpoint: ServerEndpoint(host: "127.0.0.1", port: server.port, room: nil),
                token: try await server.userToken("bob"), transport: transport, reconnect: LiveSession.testReconnect))
        try await bob.client.connect()
        try await alice.rings(bob)
        await transport.cut()
        await bob.until("bob reconnects") { state in
            state.connection == .online && transport.connectCount == 2
        }
        #expect(bob.events.contains { if case .reconnecting = $0 { true } else { false } })
        #expect(bob.store.state.invitations.map(\.call.id) == [alice.store.state.call?.id].compactMap { $0 })
        try await bob.client.accept()
        await alice.until("bob enters alice's room") { $0.inRoom.contains("bob") }
        try await bob.client.hangup()
        #expect(try await alice.waitForEnd().reason == .hangup)
        await Caller.end(alice, bob)
        await server.stop()
    }

    @Test("alice's presence connection drops during a call: she comes back by herself and still hears it end")
    func reconnectDuringCall() async throws {
        let server = try await LiveServer.start()
        let transport = try LiveSession.cuttableTransport(fingerprint: server.fingerprint)
        let alice = Caller(
            "alice",
            client: CallClient(
                endpoint: ServerEndpoint(host: "127.0.0.1", port: server.port, room: nil),
                token: try await server.userToken("alice"), transport: transport, reconnect: LiveSession.testReconnect))
        try await alice.client.connect()
        let bob = try await Caller.online(server, "bob")
        try await alice.rings(bob)
        try await bob.client.accept()
        await alice.until("bob enters alice's room") { $0.inRoom.contains("bob") }
        await transport.cutServerRoot()
        await alice.until("alice is back online") { state in
            state.connection == .online && alice.events.contains { if case .reconnecting = $0 { true } else { false } }
        }
        #expect(alice.store.state.call != nil, "the call came back in connected")
        await bob.until("alice is still in bob's room") { $0.inRoom.contains("alice") }
        try await bob.client.hangup()
        #expect(try await alice.waitForEnd().reason == .hangup)
        await Caller.end(alice, bob)
        await server.stop()
    }

    @Test("a server shutting down ends calls in progress for everyone in them; their clients try to come back")
    func shutdownEndsCalls() async throws {
        let server = try await LiveServer.start()
        let (alice, bob) = try await Caller.online(server, "alice", "bob")
        try await alice.rings(bob)
        try await bob.client.accept()
        await server.stop()
        #expect(try await alice.waitForEnd().reason == .shutdown)
        #expect(try await bob.waitForEnd().reason == .shutdown)
        await alice.until("alice's client reconnects, as after a restart") {
            if case .reconnecting = $0.connection { true } else { false }
        }
        await Caller.end(alice, bob)
    }

    @Test("offline: ringing someone not connected says offline and ends the call; the caller is told at once")
    func offline() async throws {
        let server = try await LiveServer.start()
        let alice = try await Caller.online(server, "alice")
        let placed = try await alice.client.call(["zed"])
        #expect(placed.participant("zed")?.state == .offline)
        #expect(try await alice.waitForEnd().reason == .unanswered)
        #expect(try await alice.client.history().first?.outcome == .offline)
        await Caller.end(alice)
        await server.stop()
    }

    @Test("cancel: alice cancels while bob's phone rings; bob sees cancelled; both histories say cancelled")
    func cancel() async throws {
        let server = try await LiveServer.start()
        let (alice, bob) = try await Caller.online(server, "alice", "bob")
        try await alice.rings(bob)
        try await alice.client.cancel()
        #expect(await bob.sawInvitationEnd(.cancelled))
        #expect(try await alice.waitForEnd().reason == .cancelled)
        #expect(bob.store.state.invitations.isEmpty)
        #expect(try await alice.client.history().first?.outcome == .cancelled)
        #expect(try await bob.client.history().first?.outcome == .cancelled)
        await Caller.end(alice, bob)
        await server.stop()
    }

    @Test("bob signed in twice: both devices ring; accepting on one tells the other it was answered elsewhere")
    func answeredElsewhere() async throws {
        let server = try await LiveServer.start()
        let (alice, phone, laptop) = try await Caller.online(server, "alice", "bob", "bob")
        try await alice.rings(phone, laptop)
        let listener = RecordingCallListener()
        phone.client.addListener(listener)
        try await laptop.client.accept()
        #expect(await phone.sawInvitationEnd(.answeredElsewhere))
        #expect(listener.calls.contains("answeredElsewhere"))
        #expect(phone.store.state.invitations.isEmpty)
        // The phone cannot take it any more.
        await #expect(throws: SessionError.self) { try await phone.client.accept(alice.store.state.call?.id) }
        await Caller.end(alice, phone, laptop)
        await server.stop()
    }

    @Test("group call: a member invites a late invitee, everyone sees the list change; it ends when fewer than two remain")
    func groupCall() async throws {
        let server = try await LiveServer.start()
        let (alice, bob, carol) = try await Caller.online(server, "alice", "bob", "carol")
        let dave = try await Caller.online(server, "dave")
        let placed = try await alice.client.call(["bob", "carol"])
        #expect(placed.group)
        let bobInvitation = try await bob.waitForInvitation()
        #expect(bobInvitation.call.group)
        #expect(Set(bobInvitation.call.participants.map(\.user)) == ["alice", "bob", "carol"])
        try await bob.client.accept()
        // Bob, in the call, rings dave; alice and carol (still ringing) see him appear.
        try await bob.client.call(["dave"])
        #expect(await alice.sawState("dave", .ringing))
        #expect(await carol.until("carol sees dave invited") { state in
            state.invitations.first?.call.participant("dave")?.state == .ringing
        })
        let daveInvitation = try await dave.waitForInvitation()
        #expect(daveInvitation.from == "bob")
        try await dave.client.accept()
        try await carol.client.reject()
        await alice.until("alice's room holds bob and dave") { $0.inRoom.isSuperset(of: ["bob", "dave"]) }
        #expect(await alice.sawState("carol", .rejected))

        try await bob.client.hangup()
        #expect(await alice.sawState("bob", .left))
        await bob.until("bob is in no call") { $0.call == nil }
        #expect(alice.store.state.call != nil, "two remain: the call goes on")
        try await dave.client.hangup()
        #expect(try await alice.waitForEnd().reason == .hangup)
        #expect(try await dave.waitForEnd().reason == .hangup)
        #expect(try await carol.client.history().first?.outcome == .rejected)
        #expect(try await dave.client.history().map(\.outcome) == [.answered])
        #expect(try await alice.client.history().map(\.outcome) == [.answered])
        #expect(try await bob.client.history().map(\.outcome) == [.answered])
        await Caller.end(alice, bob, carol, dave)
        await server.stop()
    }

    @Test("the caller may leave a group call: the others go on talking until fewer than two remain")
    func callerLeavesGroupCall() async throws {
        let server = try await LiveServer.start()
        let (alice, bob, carol) = try await Caller.online(server, "alice", "bob", "carol")
        try await alice.rings(bob, carol)
        try await bob.client.accept()
        try await carol.client.accept()
        await bob.until("carol enters bob's room") { $0.inRoom.contains("carol") }
        try await alice.client.hangup()
        #expect(await bob.sawState("alice", .left))
        // For alice the call is over, though it goes on.
        #expect(try await alice.waitForEnd().reason == .hangup)
        await alice.until("alice is in no call") { $0.call == nil }
        await bob.until("alice leaves bob's room") { !$0.inRoom.contains("alice") }
        #expect(bob.store.state.call != nil, "bob and carol remain")
        try await carol.client.hangup()
        #expect(try await bob.waitForEnd().reason == .hangup)
        // One record for alice, written when she left: she placed the call and talked.
        let history = try await alice.client.history()
        #expect(history.count == 1)
        #expect(history.first?.direction == .outgoing && history.first?.outcome == .answered)
        await Caller.end(alice, bob, carol)
        await server.stop()
    }

    @Test("leaving the call's room hangs up: a 1:1 call ends for the other side")
    func leavingTheRoomHangsUp() async throws {
        let server = try await LiveServer.start()
        let (alice, bob) = try await Caller.online(server, "alice", "bob")
        try await alice.rings(bob)
        let room = try await bob.client.accept()
        await alice.until("bob enters") { $0.inRoom.contains("bob") }
        await room.leave()
        #expect(try await alice.waitForEnd().reason == .hangup)
        await Caller.end(alice, bob)
        await server.stop()
    }

    @Test("an invitation flood is cut off with 6002 callRateLimited")
    func invitationFlood() async throws {
        let server = try await LiveServer.start()
        let alice = try await Caller.online(server, "alice")
        var refusals = 0
        for index in 0..<12 {
            do {
                // Offline users: each call ends at once, so alice is never busy.
                try await alice.client.call([PeerID(uncheckedRawValue: "ghost\(index)")])
            } catch {
                #expect(error.code == .callRateLimited)
                refusals += 1
            }
        }
        #expect(refusals >= 5, "bursts of \(CallLimits.invitationRate.burst), then 1 a second")
        await Caller.end(alice)
        await server.stop()
    }

    @Test("a call holds 16 people: ringing 16 others is refused with 6006 callFull, 15 are rung")
    func callFull() async throws {
        let server = try await LiveServer.start()
        let alice = try await Caller.online(server, "alice")
        let others = (1...16).map { PeerID(uncheckedRawValue: "user\($0)") }
        do {
            try await alice.client.call(others)
            Issue.record("a call of 17 was placed")
        } catch {
            #expect(error.code == .callFull)
        }
        let placed = try await alice.client.call(Array(others.prefix(15)))
        #expect(placed.participants.count == 16)
        await Caller.end(alice)
        await server.stop()
    }

    @Test("the call policy: with an allow list, an unlisted pair is refused with 6001 callForbidden")
    func policy() async throws {
        var calls = CallSettings()
        calls.policy = .allowList(["alice": ["bob"]])
        let server = try await LiveServer.start(calls: calls)
        let (alice, bob, carol) = try await Caller.online(server, "alice", "bob", "carol")
        do {
            try await carol.client.call(["bob"])
            Issue.record("carol rang bob against the policy")
        } catch {
            #expect(error.code == .callForbidden)
        }
        #expect(bob.store.state.invitations.isEmpty)
        // Listed either way round: bob may ring alice.
        try await bob.rings(alice)
        await Caller.end(alice, bob, carol)
        await server.stop()
    }

    @Test("presence: others see you come online and go offline; names are sanitised")
    func presence() async throws {
        let server = try await LiveServer.start()
        let alice = try await Caller.online(server, "alice")
        let token = try await server.userToken("bob", name: "Bob\u{1B}[31m\u{202E}")
        let bob = try CallClient(url: server.serverURL, token: token, fingerprint: server.fingerprint, knownServersPath: nil)
        let connected = try await bob.connect()
        #expect(connected.online.map(\.user) == ["alice"])
        await alice.until("alice sees bob online") { $0.online["bob"] != nil }
        let shown = alice.store.state.online["bob"]?.name ?? ""
        #expect(shown.hasPrefix("Bob"))
        #expect(!shown.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
        await bob.disconnect()
        await alice.until("alice sees bob go offline") { $0.online["bob"] == nil }
        await Caller.end(alice)
        await server.stop()
    }

    @Test("the presence connection takes user tokens only, and no room messages")
    func presenceRefusals() async throws {
        let server = try await LiveServer.start()
        let roomToken = try await server.token(room: "standup", user: "alice", role: "host")
        let client = try CallClient(
            url: server.serverURL, token: roomToken, fingerprint: server.fingerprint, knownServersPath: nil)
        do {
            try await client.connect()
            Issue.record("a room token went online")
        } catch {
            #expect(error.code == .tokenWrongRoom)
        }
        // And a user token admits to no room.
        let userToken = try await server.userToken("alice")
        let session = try LiveSession.session(url: server.url("standup"), token: userToken, fingerprint: server.fingerprint)
        do {
            _ = try await session.join()
            Issue.record("a user token joined a room")
        } catch {
            #expect(error.code == .tokenWrongRoom)
        }
        await server.stop()
    }
}

/// One user's CallClient with its events recorded, and waits on its state.
final class Caller: Sendable {
    /// The user this client is online as.
    let user: PeerID
    let client: CallClient
    private let log = CallEventLog()
    private let observation: StoreObservation

    var store: CallStore { client.store }

    init(_ user: PeerID, client: CallClient) {
        self.user = user
        self.client = client
        let log = self.log
        observation = client.store.observe { update in log.append(update.event) }
    }

    deinit { observation.cancel() }

    static func online(_ server: LiveServer, _ user: String, audio: CallAudio? = nil) async throws -> Caller {
        let caller = Caller(
            PeerID(uncheckedRawValue: user), client: try await server.callClient(user, prepareRoom: audio?.preparation))
        try await caller.client.connect()
        return caller
    }

    static func online(_ server: LiveServer, _ first: String, _ second: String) async throws -> (Caller, Caller) {
        (try await online(server, first), try await online(server, second))
    }

    static func online(
        _ server: LiveServer, _ first: String, _ second: String, _ third: String
    ) async throws -> (Caller, Caller, Caller) {
        (try await online(server, first), try await online(server, second), try await online(server, third))
    }

    /// Rings the users of `callees` (one call; a group call for more than one
    /// user) and waits until every one of them has the invitation.
    @discardableResult
    func rings(_ callees: Caller...) async throws -> CallInfo {
        var users: [PeerID] = []
        for callee in callees where !users.contains(callee.user) { users.append(callee.user) }
        let placed = try await client.call(users)
        for callee in callees { _ = try await callee.waitForInvitation() }
        return placed
    }

    var events: [CallEvent] { log.events }

    @discardableResult
    func until(
        _ what: String, timeoutMs: Int = 15_000, sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: @Sendable (CallState) -> Bool
    ) async -> Bool {
        if await eventually(timeoutMs: timeoutMs, pollMs: 20, { condition(store.state) }) { return true }
        Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
        return false
    }

    private func waitFor<Value>(
        _ what: String, timeoutMs: Int = 15_000, _ pick: ([CallEvent]) -> Value?
    ) async throws -> Value {
        var found: Value?
        _ = await eventually(timeoutMs: timeoutMs, pollMs: 20) {
            found = pick(events)
            return found != nil
        }
        guard let found else { throw E2EError("timed out waiting for \(what)") }
        return found
    }

    func waitForInvitation() async throws -> CallInvitation {
        try await waitFor("an invitation") { events in
            events.lazy.compactMap { if case .invited(let invitation) = $0 { invitation } else { nil } }.last
        }
    }

    func waitForEnd() async throws -> CallEnded {
        try await waitFor("the call to end") { events in
            events.lazy.compactMap { if case .ended(let ended) = $0 { ended } else { nil } }.last
        }
    }

    func sawState(_ user: PeerID, _ state: CallParticipantState, timeoutMs: Int = 15_000) async -> Bool {
        (try? await waitFor("\(user) \(state.rawValue)", timeoutMs: timeoutMs) { events in
            events.contains { event in
                switch event {
                case .participantChanged(_, let who, let what): who == user && what == state
                case .placed(let info): info.participant(user)?.state == state
                default: false
                }
            } ? true : nil
        }) ?? false
    }

    func sawInvitationEnd(_ reason: InvitationEndReason) async -> Bool {
        (try? await waitFor("invitation \(reason.rawValue)") { events in
            events.contains { if case .invitationEnded(_, reason) = $0 { true } else { false } } ? true : nil
        }) ?? false
    }

    static func end(_ callers: Caller...) async {
        for caller in callers { await caller.client.disconnect() }
    }
}

/// Audio for a call's room: a timed source that says something, a sink that records.
final class CallAudio: Sendable {
    let source: TimedSource
    let sink = RecordingSink()
    private let controller = Mutex<MediaController?>(nil)

    init(say: AudioSource) {
        source = TimedSource(say)
    }

    var preparation: CallClient.RoomPreparation {
        { [self] session in
            let media = MediaController(session: session, source: source, sink: sink)
            controller.withLock { $0 = media }
            await media.start()
            return { await media.stop() }
        }
    }

    func waitUntilSent(seconds: Double = 4) async throws {
        _ = await eventually(timeoutMs: Int((seconds + 15) * 1_000), pollMs: 50) { source.ended }
        guard source.ended else { throw E2EError("the source was not sent") }
    }
}

/// Events in the order the store applied them, appended from any thread.
final class CallEventLog: Sendable {
    private let entries = Mutex<[CallEvent]>([])
    func append(_ event: CallEvent) { entries.withLock { $0.append(event) } }
    var events: [CallEvent] { entries.withLock { $0 } }
}

/// A CallListener that writes down each callback.
final class RecordingCallListener: CallListener {
    private let log = Mutex<[String]>([])
    var calls: [String] { log.withLock { $0 } }
    private func note(_ text: String) { log.withLock { $0.append(text) } }

    func callClient(_ client: CallClient, userIsRinging user: PeerID, in call: CallInfo) { note("ringing \(user)") }
    func callClient(_ client: CallClient, userAccepted user: PeerID, in call: CallInfo) { note("accepted \(user)") }
    func callClient(_ client: CallClient, userRejected user: PeerID, in call: CallInfo) { note("rejected \(user)") }
    func callClient(_ client: CallClient, answeredElsewhere call: CallID) { note("answeredElsewhere") }
    func callClient(_ client: CallClient, callEnded ended: CallEnded) { note("ended \(ended.reason.rawValue)") }
}
