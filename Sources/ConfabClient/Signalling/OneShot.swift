import Synchronization

/// A value delivered once, from any thread, to one waiter that may start
/// waiting before or after it arrives. Later deliveries are ignored, so a
/// reply, a timeout and a dropped connection can all race to finish a
/// request and the first one wins.
final class OneShot<Value: Sendable>: Sendable {
    private enum Stage {
        case waiting(CheckedContinuation<Value, any Error>?)
        case done(Result<Value, SessionError>)
    }

    private let stage = Mutex<Stage>(.waiting(nil))

    func succeed(_ value: Value) { finish(.success(value)) }

    func fail(_ error: SessionError) { finish(.failure(error)) }

    func finish(_ result: Result<Value, SessionError>) {
        let waiter: CheckedContinuation<Value, any Error>? = stage.withLock { stage in
            guard case .waiting(let waiter) = stage else { return nil }
            stage = .done(result)
            return waiter
        }
        waiter?.resume(with: result.mapError { $0 as any Error })
    }

    /// Waits for the value (returns at once if it already came).
    func value() async throws(SessionError) -> Value {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let ready: Result<Value, SessionError>? = stage.withLock { stage in
                    switch stage {
                    case .waiting:
                        stage = .waiting(continuation)
                        return nil
                    case .done(let result):
                        return result
                    }
                }
                if let ready { continuation.resume(with: ready.mapError { $0 as any Error }) }
            }
        } catch let error as SessionError {
            throw error
        } catch {
            throw .transport("\(error)")
        }
    }
}
