// What both full-screen fronts (the meeting, MeetingApp; the home and call
// screens, CallApp) set up around their loop: signals turned into messages
// and a steady tick for clocks and countdowns.
import Dispatch
import Foundation

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
