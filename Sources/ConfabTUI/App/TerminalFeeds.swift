// What the front loop needs around it on a real terminal: the input thread
// (poll on stdin), signals turned into messages, and a steady tick for
// clocks and countdowns.
import Dispatch
import Foundation
import Glibc
import Synchronization

/// SIGINT, SIGTERM and SIGHUP become messages for the front's loop, so that
/// leaving and restoring the terminal happen in the loop, never inside a
/// signal handler. The default dispositions come back on `cancel()`.
final class FrontSignals {
    private static let numbers: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    private var sources: [any DispatchSourceSignal] = []

    init(deliver: @escaping @Sendable (Int32) -> Void) {
        for number in Self.numbers {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { deliver(number) }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
        sources = []
        for number in Self.numbers { signal(number, SIG_DFL) }
    }
}

/// Calls `tick` four times a second until cancelled: the reconnect countdown,
/// the call timer and dialog guards move without a key or an event.
func startFrontTicker(_ tick: @escaping @Sendable () -> Void) -> Task<Void, Never> {
    Task {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            tick()
        }
    }
}

/// Waits for input on stdin on a thread of its own (poll blocks), tells the
/// loop, and waits until the loop has read it all before polling again.
final class InputWatcher: Sendable {
    private let ready: @Sendable () -> Void
    private let hangUp: @Sendable () -> Void
    private let drainedSignal = DispatchSemaphore(value: 0)
    private let wakePipe: (read: Int32, write: Int32)
    private let stopped = Atomic<Bool>(false)

    init(ready: @escaping @Sendable () -> Void, hangUp: @escaping @Sendable () -> Void) {
        self.ready = ready
        self.hangUp = hangUp
        var fds: [Int32] = [0, 0]
        if pipe(&fds) != 0 { fds = [-1, -1] }
        wakePipe = (fds[0], fds[1])
    }

    func start() {
        let thread = Thread { [self] in
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)]
            while !stopped.load(ordering: .relaxed) {
                fds[0].revents = 0
                fds[1].revents = 0
                let polled = poll(&fds, 2, -1)
                if polled < 0 {
                    guard errno == EINTR else { break }
                    // Likely SIGWINCH: let the loop ask ncurses for KEY_RESIZE now.
                    ready()
                    drainedSignal.wait()
                    continue
                }
                if stopped.load(ordering: .relaxed) || fds[1].revents != 0 { break }
                if fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                    // The terminal went away: treat it as a hang-up.
                    hangUp()
                    break
                }
                ready()
                drainedSignal.wait()
            }
        }
        thread.name = "confab-input"
        thread.start()
    }

    /// The loop has read every waiting key.
    func drained() { drainedSignal.signal() }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        drainedSignal.signal()
    }
}
