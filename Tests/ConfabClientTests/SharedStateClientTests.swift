// The room's shared state in the SDK: the reducer's rules, the store and the
// listener over a real server (a host sets, a peer sees it live, a late joiner
// finds it, a listener is refused), and the headless command and lines.

import ConfabClient
import ConfabProtocol
import Synchronization
import Testing

@Suite("Shared state in the SDK", .timeLimit(.minutes(2)))
struct SharedStateClientTests {
    private static let at = Fixture.t0

    @Test("joined fills the state, state.changed sets and deletes, a rejoin's snapshot replaces it")
    func reducer() {
        var joined = Fixture.joined()
        joined.state = [StateEntry(key: "agenda", value: "Q3", by: "bob", at: Self.at)]
        var state = RoomState()
        reduce(&state, .joined(joined, roundTripMs: 1))
        #expect(state.sharedState["agenda"]?.value == "Q3")
        reduce(&state, .stateChanged(StateChanged(key: "pinned", value: "slides", by: .server, at: Self.at)))
        reduce(&state, .stateChanged(StateChanged(key: "agenda", value: nil, by: "bob", at: Self.at)))
        #expect(state.sharedState.keys.sorted() == ["pinned"])
        #expect(state.sharedState["pinned"]?.by == .server)
        // A rejoin (the room may have ended meanwhile) shows only what the server has now.
        reduce(&state, .joined(Fixture.joined(resumed: false), roundTripMs: 1))
        #expect(state.sharedState.isEmpty)
    }

    @Test("the headless client takes {\"cmd\":\"set\"} and prints state.changed")
    func headless() throws {
        let set = try HeadlessCommand.parse(#"{"cmd":"set","key":"agenda","value":"Q3","id":"a"}"#).get()
        #expect(set.action == .setState(key: "agenda", value: "Q3") && set.id == "a")
        #expect(try HeadlessCommand.parse(#"{"cmd":"set","key":"agenda","value":null}"#).get().action
            == .setState(key: "agenda", value: nil))
        if case .success = HeadlessCommand.parse(#"{"cmd":"set","value":"x"}"#) { Issue.record("a set without a key parsed") }
        let line = HeadlessEvents.line(for: .stateChanged(StateChanged(key: "agenda", value: "Q3", by: "ana", at: Self.at)))
        #expect(line.hasPrefix(#"{"event":"state.changed","key":"agenda","value":"Q3","by":"ana","at":"#), "\(line)")
        let deleted = HeadlessEvents.line(for: .stateChanged(StateChanged(key: "agenda", value: nil, by: "ana", at: Self.at)))
        #expect(!deleted.contains("value"), "\(deleted)")
    }

    @Test("over a real server: the host sets, the store and listener of a peer show it, a late joiner has it")
    func overRealServer() async throws {
        let server = try await LiveServer.start()
        let host = try await server.joined(room: "plan", user: "ana", role: "host")
        let listener = try await server.joined(room: "plan", user: "lee", role: "listener")
        let heard = StateChanges()
        listener.addListener(heard)

        try await host.setState("agenda", to: "Q3 review\u{1b}[2J")
        #expect(await eventually { listener.store.state.sharedState["agenda"]?.value == "Q3 review" })
        #expect(heard.changes.map(\.key) == ["agenda"] && heard.changes.first?.by == "ana")
        #expect(host.store.state.sharedState["agenda"]?.by == "ana", "the setter's own store shows it too")

        do {
            try await listener.setState("pinned", to: "mine")
            Issue.record("a listener set the shared state")
        } catch {
            #expect(error.code == .cannotSetState)
        }

        let late = try await server.joined(room: "plan", user: "carl", role: "listener")
        #expect(late.store.state.sharedState["agenda"]?.value == "Q3 review")
        try await host.setState("agenda", to: nil)
        #expect(await eventually { late.store.state.sharedState.isEmpty })
        for session in [host, listener, late] { await session.leave() }
        await server.stop()
    }
}

/// Records `didChangeState` calls.
private final class StateChanges: RoomListener {
    private let recorded = Mutex<[StateChanged]>([])
    var changes: [StateChanged] { recorded.withLock { $0 } }

    func room(_ session: ConfabSession, didChangeState change: StateChanged) {
        recorded.withLock { $0.append(change) }
    }
}
