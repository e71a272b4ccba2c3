import ConfabMacros
import Synchronization

// The observer store: holds the current state (a RoomState, a CallState),
// applies events through a pure reducer, and tells every observer about each
// new state.
//
//   session ─▶ store.apply(event) ─▶ reduce ─▶ state ─▶ closure observers (in order, synchronously)
//                                                   └─▶ AsyncStreams of updates / states
//
// The session applies events one at a time from its actor, so observers see
// them in the order they happened.

/// One step of a store: the event and the state it produced.
@PublicMemberwiseInit
public struct StoreUpdate<Event: Sendable, State: Sendable>: Sendable {
    public let event: Event
    public let state: State
}

extension StoreUpdate: Equatable where Event: Equatable, State: Equatable {}
extension StoreUpdate: Hashable where Event: Hashable, State: Hashable {}

/// One step of a room session's store.
public typealias RoomUpdate = StoreUpdate<SessionEvent, RoomState>
/// Holds a room session's RoomState (the pure reducer in RoomReducer.swift).
public typealias RoomStore = ObservableStore<RoomState, SessionEvent>

extension ObservableStore where State == RoomState, Event == SessionEvent {
    public convenience init(state: RoomState = RoomState()) {
        self.init(state: state, reduce: { state, event in ConfabClient.reduce(&state, event) })
    }
}

/// Holds a state, reduces events into it, and tells observers of every
/// change: the one store under the room session (RoomStore) and the call
/// client (CallStore).
public final class ObservableStore<State: Sendable, Event: Sendable>: Sendable {
    public typealias Update = StoreUpdate<Event, State>

    private struct Contents {
        var state: State
        var nextObserverID = 0
        var observers: [Int: @Sendable (Update) -> Void] = [:]
        var streams: [Int: AsyncStream<Update>.Continuation] = [:]
        var stateStreams: [Int: AsyncStream<State>.Continuation] = [:]
    }

    private let contents: Mutex<Contents>
    private let reducer: @Sendable (inout State, Event) -> Void

    public init(state: State, reduce: @escaping @Sendable (inout State, Event) -> Void) {
        contents = Mutex(Contents(state: state))
        reducer = reduce
    }

    /// The current state.
    public var state: State {
        contents.withLock { $0.state }
    }

    /// Reduces `event` into the state and notifies observers. Returns the new state.
    @discardableResult
    public func apply(_ event: Event) -> State {
        let (state, observers, streams, stateStreams) = contents.withLock { contents in
            reducer(&contents.state, event)
            return (
                contents.state,
                contents.observers.sorted { $0.key < $1.key }.map(\.value),
                Array(contents.streams.values),
                Array(contents.stateStreams.values)
            )
        }
        // Observers run outside the lock so they may read the store again.
        let update = Update(event: event, state: state)
        for observer in observers { observer(update) }
        for stream in streams { stream.yield(update) }
        for stream in stateStreams { stream.yield(state) }
        return state
    }

    /// Calls `observer` after every change, on the thread that applied it,
    /// until the returned observation is cancelled.
    @discardableResult
    public func observe(_ observer: @escaping @Sendable (Update) -> Void) -> StoreObservation {
        let id = contents.withLock { contents in
            let id = contents.nextObserverID
            contents.nextObserverID += 1
            contents.observers[id] = observer
            return id
        }
        return StoreObservation { [weak self] in
            _ = self?.contents.withLock { $0.observers.removeValue(forKey: id) }
        }
    }

    /// Every change from now on, as events with their resulting states.
    /// The stream ends when the consumer stops iterating.
    public func updates() -> AsyncStream<Update> {
        let (stream, continuation) = AsyncStream<Update>.makeStream(bufferingPolicy: .unbounded)
        let id = contents.withLock { contents in
            let id = contents.nextObserverID
            contents.nextObserverID += 1
            contents.streams[id] = continuation
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.contents.withLock { $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    /// The current state, then every new state, until `finishStreams`. Slow
    /// consumers skip to the newest state rather than queue old ones (a
    /// screen only needs the latest).
    public func states() -> AsyncStream<State> {
        let (stream, continuation) = AsyncStream<State>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = contents.withLock { contents in
            let id = contents.nextObserverID
            contents.nextObserverID += 1
            contents.stateStreams[id] = continuation
            continuation.yield(contents.state)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.contents.withLock { $0.stateStreams.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every update and state stream (when the session is over for good).
    public func finishStreams() {
        let (streams, stateStreams) = contents.withLock { contents in
            defer {
                contents.streams = [:]
                contents.stateStreams = [:]
            }
            return (Array(contents.streams.values), Array(contents.stateStreams.values))
        }
        for stream in streams { stream.finish() }
        for stream in stateStreams { stream.finish() }
    }
}

/// Keeps a closure observer registered until `cancel()`.
public final class StoreObservation: Sendable {
    private let cancellation: Mutex<(@Sendable () -> Void)?>

    init(_ cancel: @escaping @Sendable () -> Void) {
        cancellation = Mutex(cancel)
    }

    /// Stops the observer; safe to call more than once.
    public func cancel() {
        let cancel = cancellation.withLock { stored in
            let cancel = stored
            stored = nil
            return cancel
        }
        cancel?()
    }
}
