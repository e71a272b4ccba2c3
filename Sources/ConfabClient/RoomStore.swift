import Synchronization

// The observer store: holds the current RoomState, applies events through the
// pure reducer, and tells every observer about each new state.
//
//   session ─▶ store.apply(event) ─▶ reduce ─▶ state ─▶ closure observers (in order, synchronously)
//                                                   └─▶ AsyncStreams of updates / states
//
// The session applies events one at a time from its actor, so observers see
// them in the order they happened.

/// One step of the store: the event and the state it produced.
public struct RoomUpdate: Hashable, Sendable {
    public let event: SessionEvent
    public let state: RoomState

    public init(event: SessionEvent, state: RoomState) {
        self.event = event
        self.state = state
    }
}

/// Holds a RoomState and tells observers of every change.
public final class RoomStore: Sendable {
    private struct Contents {
        var state: RoomState
        var nextObserverID = 0
        var observers: [Int: @Sendable (RoomUpdate) -> Void] = [:]
        var streams: [Int: AsyncStream<RoomUpdate>.Continuation] = [:]
    }

    private let contents: Mutex<Contents>

    public init(state: RoomState = RoomState()) {
        contents = Mutex(Contents(state: state))
    }

    /// The current state.
    public var state: RoomState {
        contents.withLock { $0.state }
    }

    /// Reduces `event` into the state and notifies observers. Returns the new state.
    @discardableResult
    public func apply(_ event: SessionEvent) -> RoomState {
        let (state, observers, streams) = contents.withLock { contents in
            reduce(&contents.state, event)
            return (
                contents.state,
                contents.observers.sorted { $0.key < $1.key }.map(\.value),
                Array(contents.streams.values)
            )
        }
        // Observers run outside the lock so they may read the store again.
        let update = RoomUpdate(event: event, state: state)
        for observer in observers { observer(update) }
        for stream in streams { stream.yield(update) }
        return state
    }

    /// Calls `observer` after every change, on the thread that applied it,
    /// until the returned observation is cancelled.
    @discardableResult
    public func observe(_ observer: @escaping @Sendable (RoomUpdate) -> Void) -> StoreObservation {
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
    public func updates() -> AsyncStream<RoomUpdate> {
        let (stream, continuation) = AsyncStream<RoomUpdate>.makeStream(bufferingPolicy: .unbounded)
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

    /// The current state, then every new state. Slow consumers skip to the
    /// newest state rather than queue old ones (a screen only needs the latest).
    public func states() -> AsyncStream<RoomState> {
        let (stream, continuation) = AsyncStream<RoomState>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let updates = self.updates()
        continuation.yield(state)
        let forwarding = Task {
            for await update in updates { continuation.yield(update.state) }
            continuation.finish()
        }
        continuation.onTermination = { _ in forwarding.cancel() }
        return stream
    }

    /// Ends every update stream (when the session is over for good).
    public func finishStreams() {
        let streams = contents.withLock { contents in
            let streams = Array(contents.streams.values)
            contents.streams = [:]
            return streams
        }
        for stream in streams { stream.finish() }
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
