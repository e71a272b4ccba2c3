// The time source of the signalling channel: request timeouts, keepalive
// ticks, reconnection delays. The system clock in use; tests pass a clock
// they advance by hand, so timeouts and back-off run without waiting.

/// Monotonic milliseconds and a cancellable sleep.
public protocol SignalClock: Sendable {
    /// Milliseconds since some fixed point; only differences matter.
    var nowMs: Int64 { get }
    /// Returns after `milliseconds`; throws `CancellationError` when the task is cancelled first.
    func sleep(milliseconds: Int) async throws
}

/// The real clock (`ContinuousClock`).
public struct SystemSignalClock: SignalClock {
    private let origin = ContinuousClock.now

    public init() {}

    public var nowMs: Int64 { (ContinuousClock.now - origin).milliseconds }

    public func sleep(milliseconds: Int) async throws {
        try await Task.sleep(for: .milliseconds(milliseconds))
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
