import Synchronization

/// The session's listeners and event streams, reachable without awaiting the
/// session actor so a client can subscribe before it joins.
final class EventFanOut: Sendable {
    private let listeners = ListenerList<any RoomListener>()

    private struct Contents {
        var streams: [Int: AsyncStream<SessionEvent>.Continuation] = [:]
        var nextStreamID = 0
        var finished = false
    }

    private let contents = Mutex(Contents())

    func add(_ listener: any RoomListener) { listeners.add(listener) }

    func remove(_ listener: any RoomListener) { listeners.remove(listener) }

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
        (listeners.live(), contents.withLock { Array($0.streams.values) })
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

/// Listeners held weakly (a released listener drops out), in no particular
/// order: the room session's RoomListeners and the call client's CallListeners.
final class ListenerList<Listener>: Sendable {
    private struct Entry: @unchecked Sendable {
        // A class-bound listener, stored as AnyObject so that it can be weak.
        weak var object: AnyObject?
    }

    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    func add(_ listener: Listener) {
        let object = listener as AnyObject
        entries.withLock { $0[ObjectIdentifier(object)] = Entry(object: object) }
    }

    func remove(_ listener: Listener) {
        _ = entries.withLock { $0.removeValue(forKey: ObjectIdentifier(listener as AnyObject)) }
    }

    /// The listeners still alive; forgets the others.
    func live() -> [Listener] {
        entries.withLock { entries in
            entries = entries.filter { $0.value.object != nil }
            return entries.values.compactMap { $0.object as? Listener }
        }
    }
}
