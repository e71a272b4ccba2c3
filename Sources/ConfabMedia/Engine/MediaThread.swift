// The loop shape shared by the capture, network and play-out threads
// (`MediaThread` and `MonotonicClock` live in ConfabSocket, shared with the
// server's forwarder).
import ConfabSocket
import Synchronization

/// A loop on its own thread that runs until `stop()`: the shape shared by the
/// capture, network and play-out loops.
final class StoppableLoop: Sendable {
    private let running = Atomic<Bool>(true)
    private let thread: Mutex<MediaThread?> = Mutex(nil)

    /// Starts `body`, which should return soon after `isRunning` turns false.
    init(name: String, realtime: Bool, body: @escaping @Sendable (StoppableLoop) -> Void) {
        // The thread keeps the loop alive until it returns, even if its owner lets go first.
        let started = MediaThread(name: name, realtime: realtime) { [self] in body(self) }
        thread.withLock { $0 = started }
    }

    var isRunning: Bool { running.load(ordering: .relaxed) }

    /// Asks the loop to finish and waits for its thread.
    func stop() {
        running.store(false, ordering: .relaxed)
        let started = thread.withLock { current in
            defer { current = nil }
            return current
        }
        started?.join()
    }
}
