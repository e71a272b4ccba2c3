// An operation raced against its deadline, where the caller returns when the
// first of them ends. A task group would not do: it returns only once every
// child has ended, so an operation that ignores cancellation (a request
// queued on a connection pool that is being replaced) held its caller — and
// a room's chat turn behind it — past any deadline.

import Synchronization

/// The first result of an operation and its timer; the other is cancelled and left behind.
final class DeadlineRace<Result: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result, any Error>?
        var early: Swift.Result<Result, any Error>?
        var tasks: [Task<Void, Never>] = []
        var done = false
    }

    private let state = Mutex(State())

    /// Runs `operation` and `deadline` (which throws when time is up); returns
    /// or throws the first to end.
    static func run(
        _ operation: @escaping @Sendable () async throws -> Result,
        deadline: @escaping @Sendable () async throws -> Void
    ) async throws -> Result {
        let race = DeadlineRace()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation, tasks: [
                    Task {
                        do {
                            race.finish(.success(try await operation()))
                        } catch {
                            race.finish(.failure(error))
                        }
                    },
                    Task {
                        do {
                            try await deadline()
                        } catch {
                            race.finish(.failure(error))
                        }
                    },
                ])
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    private func start(_ continuation: CheckedContinuation<Result, any Error>, tasks: [Task<Void, Never>]) {
        let early = state.withLock { state -> Swift.Result<Result, any Error>? in
            state.tasks = tasks
            guard let early = state.early else {
                state.continuation = continuation
                return nil
            }
            return early
        }
        if let early {
            for task in tasks { task.cancel() }
            continuation.resume(with: early)
        }
    }

    private func finish(_ result: Swift.Result<Result, any Error>) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<Result, any Error>?, [Task<Void, Never>]) in
            guard !state.done else { return (nil, []) }
            state.done = true
            guard let continuation = state.continuation else {
                state.early = result
                return (nil, [])
            }
            state.continuation = nil
            return (continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        continuation?.resume(with: result)
    }
}
