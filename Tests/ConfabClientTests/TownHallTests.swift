// A town hall through the real server: real SDK sessions, one room whose
// template makes listeners quiet. What each store shows is what a user sees.

import ConfabClient
import ConfabProtocol
import ConfabRooms
import Foundation
import Testing

@Suite("Town hall: quiet listeners, counts and the roster, end to end", .timeLimit(.minutes(3)))
struct TownHallTests {
    static let listeners = 120

    static func template() -> RoomTemplate {
        var template = RoomTemplate.townHall
        template.audience?.countsIntervalMs = 200
        return template
    }

    /// alice (host) and bob (speaker), then `count` listeners joined eight at a time.
    static func townHall(_ server: LiveServer, room: String, count: Int = listeners) async throws -> (
        alice: Participant, bob: Participant, listeners: [Participant]
    ) {
        let alice = try await server.participant("alice", role: "host", room: room)
        let bob = try await server.participant("bob", role: "speaker", room: room)
        try await alice.session.join()
        try await bob.session.join()
        var listeners: [Participant] = []
        for batch in stride(from: 0, to: count, by: 8) {
            let joined = try await withThrowingTaskGroup(of: Participant.self) { group in
                for index in batch..<min(batch + 8, count) {
                    group.addTask {
                        let listener = try await server.participant(
                            PeerID(uncheckedRawValue: "listener\(index)"), role: "listener", room: room)
                        try await listener.session.join()
                        return listener
                    }
                }
                return try await group.reduce(into: [Participant]()) { $0.append($1) }
            }
            listeners += joined
        }
        return (alice, bob, listeners.sorted { $0.id < $1.id })
    }

    /// A town-hall server with alice (host), bob (speaker) and `count` listeners in `room`.
    static func townHall(room: String, count: Int = listeners) async throws -> (
        server: LiveServer, alice: Participant, bob: Participant, listeners: [Participant]
    ) {
        let server = try await LiveServer.start(template: template())
        let (alice, bob, listeners) = try await townHall(server, room: room, count: count)
        return (server, alice, bob, listeners)
    }

    @Test("nobody but the hosts hears of listeners; everyone's counts converge; a raised hand reaches the host")
    func quietListeners() async throws {
        let server = try await LiveServer.start(template: Self.template())
        let started = ContinuousClock.now
        let (alice, bob, listeners) = try await Self.townHall(server, room: "hall")
        let total = Self.listeners + 2

        await alice.until("every listener seen by the host") { $0.peers.count == total - 1 }
        await bob.until("counts converge for the speaker") { $0.counts?.total == total }
        // Coalesced: at most one room.counts per interval (200 ms here), however many joined.
        let elapsedMs = Int((ContinuousClock.now - started) / .milliseconds(1))
        let countUpdates = bob.events.filter { if case .countsUpdated = $0 { true } else { false } }.count
        #expect(countUpdates >= 1 && countUpdates <= elapsedMs / 200 + 2, "\(countUpdates) in \(elapsedMs) ms")
        #expect(bob.state.counts?.count(of: "listener") == Self.listeners)
        #expect(Set(bob.state.peers.keys) == ["alice"], "a speaker hears of no listener")
        #expect(bob.peerEvents.allSatisfy { !$0.contains("listener") })
        for listener in listeners {
            await listener.until("counts converge for \(listener.id)") { $0.headCount == total }
            #expect(Set(listener.state.peers.keys) == ["alice", "bob"], "\(listener.id) sees the stage only")
        }
        #expect(listeners[0].state.peers.count == 2)

        // A hand goes up: the host sees it at once; the speaker still hears nothing of the listener.
        let raiser = listeners[7]
        try await raiser.session.raiseHand()
        await alice.until("the hand is up for the host") { $0.raisedHands.map(\.id) == [raiser.id] }
        #expect(bob.state.peers[raiser.id] == nil)

        // Promoted, the listener is announced to everyone, with its microphone.
        try await alice.session.changeRole(of: raiser.id, to: "speaker", force: true)
        await bob.until("the promoted listener appears with a microphone") {
            $0.peers[raiser.id]?.tracks.map(\.id) == [.microphone(of: raiser.id)]
        }
        await listeners[0].until("the new speaker appears for a listener") { $0.peers[raiser.id]?.role == "speaker" }
        await raiser.until("a microphone of its own") { $0.yourMicrophone != nil }

        // A listener leaves: the host sees it go, the others only the count.
        await listeners[3].session.leave()
        await alice.until("the host sees the listener leave") { $0.peers[listeners[3].id] == nil }
        await bob.until("the speaker's count drops") { $0.counts?.count(of: "listener") == Self.listeners - 2 }
        #expect(bob.peerEvents == ["+\(raiser.id)"])

        for participant in [alice, bob] + listeners { await participant.session.leave() }
        await server.stop()
    }

    @Test("a direct message introduces a listener to the speaker who writes to it")
    func directMessage() async throws {
        let (server, alice, bob, listeners) = try await Self.townHall(room: "dm", count: 3)
        let lee = listeners[1]
        _ = try await bob.session.send("welcome", toPeers: [lee.id])
        await lee.until("the message arrives") { $0.chat.map(\.text) == ["welcome"] }
        await bob.until("the listener is known to the speaker") { $0.peers[lee.id] != nil }
        await lee.session.leave()
        await bob.until("and its leaving too") { $0.peers[lee.id] == nil }
        #expect(bob.peerEvents == ["+\(lee.id)", "-\(lee.id)(left)"])
        #expect(listeners[0].state.peers[lee.id] == nil)
        for participant in [alice, bob] + listeners { await participant.session.leave() }
        await server.stop()
    }

    @Test("paging the roster lists every peer present throughout exactly once while others come and go")
    func rosterUnderChurn() async throws {
        let (server, alice, bob, listeners) = try await Self.townHall(room: "roster", count: 60)
        await alice.until("every listener seen") { $0.peers.count == 61 }
        var leaving = Array(listeners.suffix(20))
        let staying = Set([alice.id, bob.id] + listeners.prefix(40).map(\.id))

        // Between pages (seven peers each), one listener leaves and a newcomer joins.
        var newcomers: [Participant] = []
        var seen: [PeerID] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await alice.session.listRoster(RosterRequest(cursor: cursor, limit: 7))
            seen += page.peers.map(\.id)
            cursor = page.next
            pages += 1
            if let listener = leaving.popLast() {
                await listener.session.leave()
                await alice.until("\(listener.id) gone") { $0.peers[listener.id] == nil }
            }
            let newcomer = try await server.participant(
                PeerID(uncheckedRawValue: "late\(pages)"), role: "listener", room: "roster")
            try await newcomer.session.join()
            newcomers.append(newcomer)
        } while cursor != nil
        #expect(seen.count == Set(seen).count, "no peer twice")
        #expect(staying.isSubset(of: Set(seen)), "missing: \(staying.subtracting(Set(seen)).sorted())")
        let listedNewcomers = Set(newcomers.dropLast().map(\.id))
        #expect(listedNewcomers.isSubset(of: Set(seen)), "newcomers come on later pages")
        #expect(pages >= 9)
        #expect(alice.events.contains { if case .rosterPage = $0 { true } else { false } }, "listeners hear of pages")

        let hands = try await alice.session.listRoster(RosterRequest(handRaised: true))
        #expect(hands.peers.isEmpty && hands.total == 0)
        await #expect(throws: SessionError.self) { try await bob.session.listRoster() }
        for participant in [alice, bob] + listeners + newcomers { await participant.session.leave() }
        await server.stop()
    }
}
