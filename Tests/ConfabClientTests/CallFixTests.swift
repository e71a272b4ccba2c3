// Calls through a real server: rejoining a call you left, a second device of
// the same user, the call metrics and what the server tracks per user.

import ConfabClient
import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("Calls: leaving for good, several devices, metrics, bookkeeping", .timeLimit(.minutes(3)))
struct CallFixTests {
    /// The room token a caller was handed for a call's room.
    func roomToken(of caller: Caller) throws -> CallRoom {
        let rooms = caller.events.compactMap { if case .roomReady(let room) = $0 { room } else { nil } }
        guard let room = rooms.last else { throw E2EError("no call.room") }
        return room
    }

    /// Joining the call's room again with `room`'s token is refused with 6007 leftCall.
    func expectRejoinRefused(
        _ room: CallRoom, on server: LiveServer, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        do {
            _ = try await LiveSession.join(url: server.url(room.room.rawValue), token: room.token, fingerprint: server.fingerprint)
            Issue.record("rejoined: \(what)", sourceLocation: sourceLocation)
        } catch {
            #expect((error as? SessionError)?.code == .leftCall, "\(what)", sourceLocation: sourceLocation)
        }
    }

    @Test("a member who hung up, or left the room, cannot rejoin with the old token (6007); invited again, they can")
    func leftIsFinal() async throws {
        let server = try await LiveServer.start()
        let (alice, bob, carol) = try await Caller.online(server, "alice", "bob", "carol")
        let dave = try await Caller.online(server, "dave")
        try await alice.rings(bob, carol, dave)
        try await bob.client.accept()
        let carolRoom = try await carol.client.accept()
        try await dave.client.accept()
        await alice.until("everyone is in alice's room") { $0.inRoom.isSuperset(of: ["bob", "carol", "dave"]) }
        let bobsRoom = try roomToken(of: bob)
        let carolsRoom = try roomToken(of: carol)

        // Bob hangs up, then tries his old token.
        try await bob.client.hangup()
        #expect(await alice.sawState("bob", .left))
        await expectRejoinRefused(bobsRoom, on: server, "bob, to a call he hung up")
        // Carol leaves the room itself and comes straight back: also refused.
        await carolRoom.leave()
        await expectRejoinRefused(carolsRoom, on: server, "carol, to a call she left")
        #expect(await alice.sawState("carol", .left))
        await alice.until("bob and carol are out of alice's room") { $0.inRoom.isDisjoint(with: ["bob", "carol"]) }
        #expect(alice.store.state.call?.participant("bob")?.state == .left)

        // Invited again, bob is counted back in and enters with a fresh token.
        try await alice.client.call(["bob"])
        await bob.until("bob is rung again") { !$0.invitations.isEmpty }
        try await bob.client.accept()
        await alice.until("bob is back in alice's room") { $0.inRoom.contains("bob") }
        #expect(alice.store.state.call?.participant("bob")?.state == .accepted)
        try await bob.client.hangup()
        try await dave.client.hangup()
        #expect(try await alice.waitForEnd().reason == .hangup)
        await Caller.end(alice, bob, carol, dave)
        await server.stop()
    }

    @Test("a second device of a user in a call is told the call is elsewhere, not its own; both are free when it ends")
    func secondDevice() async throws {
        let server = try await LiveServer.start()
        let (alice, phone, tablet) = try await Caller.online(server, "alice", "bob", "bob")
        try await alice.rings(phone, tablet)
        try await phone.client.accept()
        await alice.until("bob enters") { $0.inRoom.contains("bob") }
        // Online before the call was answered: the tablet knows it was answered elsewhere.
        await tablet.until("the tablet knows bob is in a call on another device") { $0.inCallElsewhere }
        #expect(tablet.store.state.call == nil)

        // Connected during the call: the laptop gets it as elsewhere.
        let laptop = try await Caller.online(server, "bob")
        let state = laptop.store.state
        #expect(state.call == nil, "the call is the phone's")
        #expect(state.elsewhere.map(\.id) == [alice.store.state.call?.id].compactMap { $0 })
        #expect(state.inCallElsewhere)
        await #expect(throws: SessionError.self) { try await laptop.client.hangup() }
        do {
            try await laptop.client.call(["alice"])
            Issue.record("bob placed a second call from the laptop")
        } catch {
            #expect(error.code == .alreadyInCall)
        }
        // The phone still has the call, and its room.
        let phoneSession = await phone.client.session
        #expect(phone.store.state.call != nil && phoneSession != nil)
        #expect(alice.store.state.inRoom.contains("bob"))

        try await alice.client.hangup()
        #expect(try await phone.waitForEnd().reason == .hangup)
        await laptop.until("the laptop is free again") { !$0.inCallElsewhere }
        await tablet.until("the tablet is free again") { !$0.inCallElsewhere }
        #expect(!phone.store.state.inCallElsewhere)
        await Caller.end(alice, phone, tablet, laptop)
        await server.stop()
    }

    /// /metrics, as the server renders it, by sample name (with labels).
    func scrape(_ server: LiveServer) -> [String: Int] {
        var samples: [String: Int] = [:]
        for line in server.server.metrics.render().split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = Int(value)
        }
        return samples
    }

    func waitForMetrics(_ server: LiveServer, _ what: String, _ condition: ([String: Int]) -> Bool) async -> [String: Int] {
        var samples = scrape(server)
        _ = await eventually(timeoutMs: 10_000, pollMs: 20) {
            samples = scrape(server)
            return condition(samples)
        }
        #expect(condition(samples), "metrics: \(what): \(samples.filter { $0.key.contains("call") || $0.key.contains("users") })")
        return samples
    }

    @Test("/metrics counts users online, calls in progress, invitations, each outcome and rate-limited invitations")
    func callMetrics() async throws {
        let server = try await LiveServer.start()
        let before = scrape(server)
        #expect(before["confab_users_online"] == 0)
        #expect(before["confab_calls_in_progress"] == 0)
        #expect(before[#"confab_call_invitation_outcomes_total{outcome="accepted"}"#] == 0)
        let (alice, bob, carol) = try await Caller.online(server, "alice", "bob", "carol")
        _ = await waitForMetrics(server, "3 online") { $0["confab_users_online"] == 3 }

        // accepted, then busy (carol rings bob in the call) and offline (zed).
        try await alice.rings(bob)
        try await bob.client.accept()
        _ = await waitForMetrics(server, "a call in progress") { $0["confab_calls_in_progress"] == 1 }
        try await carol.client.call(["bob", "zed"])
        _ = try await carol.waitForEnd()
        try await alice.client.hangup()
        _ = try await bob.waitForEnd()
        _ = await waitForMetrics(server, "no call in progress") { $0["confab_calls_in_progress"] == 0 }
        // rejected
        try await alice.rings(carol)
        try await carol.client.reject()
        await alice.until("alice's call is over") { $0.call == nil }
        // noResponse
        try await alice.client.call(["bob"], ringTimeoutMs: 1_000)
        #expect(await alice.sawState("bob", .noResponse, timeoutMs: 8_000))
        await alice.until("alice's call is over") { $0.call == nil }
        // cancelled: carol (1 invitation left of her burst of 5 after 2).
        try await carol.rings(alice)
        try await carol.client.cancel()
        await carol.until("carol's call is over") { $0.call == nil }
        // Rate-limited: bob floods (each call ends at once: the ghosts are offline).
        var limited = 0
        var placed = 0
        for index in 0..<8 {
            do {
                try await bob.client.call([PeerID(uncheckedRawValue: "ghost\(index)")])
                placed += 1
            } catch {
                #expect(error.code == .callRateLimited)
                limited += 1
            }
        }
        #expect(limited >= 2)
        let after = await waitForMetrics(server, "every outcome") {
            $0[#"confab_call_invitation_outcomes_total{outcome="cancelled"}"#] == 1
        }
        #expect(after[#"confab_call_invitation_outcomes_total{outcome="accepted"}"#] == 1)
        #expect(after[#"confab_call_invitation_outcomes_total{outcome="busy"}"#] == 1)
        #expect(after[#"confab_call_invitation_outcomes_total{outcome="offline"}"#] == 1 + placed)
        #expect(after[#"confab_call_invitation_outcomes_total{outcome="rejected"}"#] == 1)
        #expect(after[#"confab_call_invitation_outcomes_total{outcome="noResponse"}"#] == 1)
        #expect(after["confab_call_invitations_total"] == 6 + placed, "each invitee once: every invitation has one outcome")
        #expect(after["confab_call_invitations_rate_limited_total"] == limited)
        #expect(after["confab_calls_in_progress"] == 0)
        await Caller.end(alice, bob)
        _ = await waitForMetrics(server, "1 online") { $0["confab_users_online"] == 1 }
        await Caller.end(carol)
        await server.stop()
    }

    func eventuallyBookkeeping(_ server: LiveServer, _ condition: (CallBookkeeping) -> Bool) async -> CallBookkeeping {
        var bookkeeping = await server.server.callBookkeeping()
        _ = await eventually(timeoutMs: 10_000, pollMs: 20) {
            bookkeeping = await server.server.callBookkeeping()
            return condition(bookkeeping)
        }
        return bookkeeping
    }

    @Test("many connects, calls and disconnects: everything the call manager tracks returns to zero")
    func bookkeepingReturnsToZero() async throws {
        var calls = CallSettings()
        // Buckets refill in a tenth of a second, so the offline users' are pruned soon.
        calls.invitationRate = RateLimit(perSecond: 50, burst: 5)
        let server = try await LiveServer.start(calls: calls)
        // One device stays online throughout while the same user's others come and go.
        let keeper = try await Caller.online(server, "keeper")
        for _ in 0..<10 {
            let other = try await Caller.online(server, "keeper")
            _ = try? await other.client.call(["ghost"])  // some may be rate-limited: fine
            await Caller.end(other)
        }
        let kept = await eventuallyBookkeeping(server) { $0.connections == 1 }
        #expect(kept.connections == 1 && kept.deviceInstances == 1 && kept.onlineUsers == 1, "\(kept)")
        #expect(kept.rateBuckets == 1, "keeper is online: the bucket stays (\(kept))")
        for round in 0..<6 {
            let alice = try await Caller.online(server, "alice\(round)")
            let bob = try await Caller.online(server, "bob\(round)")
            let bobAgain = try await Caller.online(server, "bob\(round)")
            let bobID = PeerID(uncheckedRawValue: "bob\(round)")
            try await alice.client.call([bobID])
            _ = try await bob.waitForInvitation()
            try await bob.client.accept()
            await alice.until("bob enters") { $0.inRoom.contains(bobID) }
            try await alice.client.call(["ghost"])
            #expect(await server.server.callBookkeeping().rateBuckets >= 1)
            if round.isMultiple(of: 2) {
                try await bob.client.hangup()
                _ = try await alice.waitForEnd()
            }
            // Odd rounds: everyone just goes away in the middle of the call.
            await Caller.end(alice, bob, bobAgain)
        }
        await Caller.end(keeper)
        var bookkeeping = await server.server.callBookkeeping()
        _ = await eventually(timeoutMs: 20_000, pollMs: 50) {
            bookkeeping = await server.server.callBookkeeping()
            return bookkeeping.total == 0
        }
        #expect(bookkeeping.total == 0, "still tracked: \(bookkeeping)")
        await server.stop()
    }
}
