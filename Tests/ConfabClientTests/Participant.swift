// One participant in an end-to-end test: a real ConfabSession over the real
// pinned transport, with every event its store applied recorded in order.
//
//   server ─▶ WebSocketTransport ─▶ CuttableTransport ─▶ ConfabSession ─▶ RoomStore ─▶ recorder (events, in order)

import ConfabClient
import ConfabProtocol
import Synchronization
import Testing

final class Participant: Sendable {
    let id: PeerID
    let session: ConfabSession
    let transport: CuttableTransport
    private let recorded: RecordedEvents

    init(id: PeerID, session: ConfabSession, transport: CuttableTransport) {
        self.id = id
        self.session = session
        self.transport = transport
        recorded = RecordedEvents(session.store)
    }

    var state: RoomState { session.state }
    var events: [SessionEvent] { recorded.events }

    /// Peer arrivals and departures in the order the store applied them:
    /// `+bob`, `+carol(resumed)`, `-carol(timeout)`, `-bob(removed by alice)`.
    var peerEvents: [String] {
        events.compactMap { event in
            switch event {
            case .peerJoined(let peer, let resumed):
                return "+\(peer.id)" + (resumed ? "(resumed)" : "")
            case .peerLeft(let peer, let reason, let by):
                return "-\(peer)(\(reason.rawValue)" + (by.map { " by \($0)" } ?? "") + ")"
            default:
                return nil
            }
        }
    }

    /// The texts of the chat in this participant's store, in `seq` order.
    var chatTexts: [String] { state.chat.map(\.text) }

    /// Waits until the events recorded so far satisfy `condition`.
    @discardableResult
    func until(
        _ what: String, timeoutMs: Int = 20_000, sourceLocation: SourceLocation = #_sourceLocation,
        events condition: @Sendable ([SessionEvent]) -> Bool
    ) async -> Bool {
        await waitFor(what, timeoutMs: timeoutMs, sourceLocation: sourceLocation) { condition(events) }
    }

    /// Waits until the state satisfies `condition`; records an issue naming
    /// `what` (and returns false) if it does not within `timeoutMs`. Generous
    /// by default: the whole package's tests share two cores.
    @discardableResult
    func until(
        _ what: String, timeoutMs: Int = 20_000, sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: @Sendable (RoomState) -> Bool
    ) async -> Bool {
        await waitFor(what, timeoutMs: timeoutMs, sourceLocation: sourceLocation) { condition(state) }
    }

    private func waitFor(
        _ what: String, timeoutMs: Int, sourceLocation: SourceLocation, _ holds: () -> Bool
    ) async -> Bool {
        if await eventually(timeoutMs: timeoutMs, holds) { return true }
        Issue.record("\(id): \(what) did not happen within \(timeoutMs) ms", sourceLocation: sourceLocation)
        return false
    }
}

/// The events a store applied, in order.
final class EventLog: Sendable {
    private let log = Mutex<[SessionEvent]>([])
    func append(_ event: SessionEvent) { log.withLock { $0.append(event) } }
    var events: [SessionEvent] { log.withLock { $0 } }
}

/// Every event a store applies from now on, in order, until cancelled or released.
final class RecordedEvents: Sendable {
    private let log = EventLog()
    private let observation: StoreObservation

    init(_ store: RoomStore) {
        let log = self.log
        observation = store.observe { update in log.append(update.event) }
    }

    deinit {
        observation.cancel()
    }

    var events: [SessionEvent] { log.events }

    /// What `pick` takes from the events, in order.
    func picked<Value>(_ pick: (SessionEvent) -> Value?) -> [Value] { log.events.compactMap(pick) }

    func cancel() { observation.cancel() }
}

extension LiveServer {
    /// A participant (not joined yet) with its own cuttable, pinned transport.
    func participant(
        _ user: PeerID, role: String, room: String, receives: AudioPayloadFormats = .all
    ) async throws -> Participant {
        let transport = try LiveSession.cuttableTransport(fingerprint: fingerprint)
        let session = try await session(
            room: room, user: user.rawValue, role: role, transport: transport, receives: receives)
        return Participant(id: user, session: session, transport: transport)
    }

    /// Joins alice (host), bob (speaker) and carol (listener), in that
    /// order, and waits until everyone's store shows the other two; returns
    /// this server with the three.
    func withThreeJoined(room: String) async throws -> (LiveServer, Participant, Participant, Participant) {
        let alice = try await participant("alice", role: "host", room: room)
        let bob = try await participant("bob", role: "speaker", room: room)
        let carol = try await participant("carol", role: "listener", room: room)
        for participant in [alice, bob, carol] {
            try await participant.session.join()
        }
        for participant in [alice, bob, carol] {
            let others = Set<PeerID>(["alice", "bob", "carol"]).subtracting([participant.id])
            await participant.until("seeing \(others.sorted())") { Set($0.peers.keys) == others }
        }
        return (self, alice, bob, carol)
    }
}

/// Leaves every session still connected (a test's clean-up).
func leaveAll(_ participants: Participant...) async {
    for participant in participants {
        await participant.session.leave()
    }
}
