import Synchronization

/// The session's listeners and event streams, reachable without awaiting the
/// session actor so a client can subscribe before it joins.
final class EventFanOut: Sendable {
    private struct WeakListener {
        weak var listener: (any RoomListener)?
    }

    private struct Contents {
        var listeners: [ObjectIdentifier: WeakListener] = [:]
        var streams: [Int: AsyncStream<SessionEvent>.Continuation] = [:]
        var nextStreamID = 0
        var finished = false
    }

    private let contents = Mutex(Contents())

    func add(_ listener: any RoomListener) {
        contents.withLock { $0.listeners[ObjectIdentifier(listener)] = WeakListener(listener: listener) }
    }

    func remove(_ listener: any RoomListener) {
        _ = contents.withLock { $0.listeners.removeValue(forKey: ObjectIdentifier(listener)) }
    }

    func stream() -> AsyncStream<SessionEvent> {
        let (stream, continuation) = AsyncStream<SessionEvent>.makeStream(bufferingPolicy: .unbounded)
        let id: Int? = contents.withLock { contents in
            guard !contents.finished else { return nil }
            let id = contents.nextStreamID
            contents.nextStreamID += 1
            contents.streams[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.contents.withLock { $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    /// The live listeners (forgetting those that were released) and streams.
    func targets() -> (listeners: [any RoomListener], streams: [AsyncStream<SessionEvent>.Continuation]) {
        contents.withLock { contents in
            contents.listeners = contents.listeners.filter { $0.value.listener != nil }
            return (contents.listeners.values.compactMap(\.listener), Array(contents.streams.values))
        }
    }

    /// Ends every stream; later `stream()` calls return finished streams.
    func finish() {
        let streams = contents.withLock { contents in
            contents.finished = true
            let streams = Array(contents.streams.values)
            contents.streams = [:]
            return streams
        }
        for stream in streams { stream.finish() }
    }
}
