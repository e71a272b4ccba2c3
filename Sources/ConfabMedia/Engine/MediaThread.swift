// The loop and thread shapes shared by the capture, network and play-out threads
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

/// The thread of one part of the engine (capture, network or play-out):
/// started and stopped by its owner's `start()` and `stop()`, which the
/// engine calls from one place at a time.
final class EngineThread: @unchecked Sendable {
    private let name: String
    private var loop: StoppableLoop?

    init(name: String) { self.name = name }

    var isStarted: Bool { loop != nil }

    /// Runs `body` on a new thread; it should return soon after its loop's `isRunning` turns false.
    func start(configuration: MediaConfiguration, _ body: @escaping @Sendable (StoppableLoop) -> Void) {
        loop = StoppableLoop(name: name, realtime: configuration.realtimeThreads, body: body)
    }

    /// Runs `frame` once a frame until it returns false or `stop()`, then
    /// `finish`. A device with a clock of its own (a sound card) paces the
    /// loop by blocking in `frame`; for the others (files, generators, the
    /// null sink) the monotonic clock releases one frame per frame time.
    func startFrames(
        configuration: MediaConfiguration, deviceIsClocked: Bool,
        frame: @escaping @Sendable () -> Bool, finish: @escaping @Sendable () -> Void
    ) {
        let frameNanoseconds = configuration.frameNanoseconds
        start(configuration: configuration) { loop in
            var pacer = FramePacer(frameNanoseconds: frameNanoseconds)
            while loop.isRunning {
                if !deviceIsClocked { pacer.waitForNextFrame() }
                guard frame() else { break }
            }
            finish()
        }
    }

    /// Stops the loop and waits for its thread.
    func stop() {
        loop?.stop()
        loop = nil
    }
}
