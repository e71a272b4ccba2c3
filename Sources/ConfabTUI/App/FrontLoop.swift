// The one loop of the full-screen fronts, generic over the terminal (curses,
// or memory in tests and benchmarks) and the screen it hosts (the meeting;
// the home and call screens of `confab connect`). Everything that can change
// the screen arrives as one message stream; the loop reads and decodes keys,
// hands them, the messages and the ticks to the screen, and renders (which
// writes nothing when nothing changed).
//
//   terminal input ready ─┐  (TerminalInputDecoder: kitty key events, its answer)
//   tick (250 ms) ────────┤
//   SIGINT/TERM/HUP ──────┼─▶ FrontLoop.step ─▶ FrontScreen (keys, messages, tick) ─▶ commands ─▶ the host
//   screen's messages ────┘                        └─▶ render ─▶ Renderer ─▶ FrontTerminal
//
// ncurses is not thread-safe, so only this loop touches the terminal; the
// input thread only waits for input and hands over (then waits until drained).
import Foundation

/// What reaches the loop.
public enum FrontInput<Message: Sendable>: Sendable {
    /// The terminal has input (or poll was interrupted: maybe a resize).
    case inputReady
    /// Time passed (four times a second): clocks, countdowns, expiring notices.
    case tick
    /// SIGINT, SIGTERM or SIGHUP, delivered as a message.
    case signal(Int32)
    /// Something for the screen: a store update, a command's result.
    case message(Message)
}

/// A terminal the loop can host a screen on: it shows cells and reads keys.
public protocol FrontTerminal: TerminalBackend {
    /// Everything the terminal sent since the last read, decoded.
    func readInput(_ decoder: inout TerminalInputDecoder) -> [TerminalInput]
    /// Asks whether the terminal speaks the kitty keyboard protocol.
    func queryKeyboardProtocol()
    /// Switches on key releases (and focus reporting) once the terminal said it can.
    func enableKeyReleases()
}

/// What a screen asks of the terminal besides a frame.
public struct FrontRequests: Hashable, Sendable {
    public var bells = 0
    /// Write the next frame whole (the screen was replaced by another).
    public var repaint = false

    public init() {}

    /// The requests so far, leaving none.
    public mutating func take() -> FrontRequests {
        defer { self = FrontRequests() }
        return self
    }
}

/// A screen the loop hosts: it takes keys, messages and ticks, renders, and
/// says when it is done.
public protocol FrontScreen: AnyObject {
    associatedtype Message: Sendable
    associatedtype Outcome
    /// A key (or the window losing the focus), read at `time`.
    func handle(_ input: TerminalInput, at time: Date)
    /// A message; returns whether the screen changed (worth a frame).
    func handle(_ message: Message, at time: Date) -> Bool
    /// Time passed; returns whether the screen changed.
    func tick(at time: Date) -> Bool
    func render(into frame: inout Frame, at time: Date)
    /// SIGINT, SIGTERM or SIGHUP arrived.
    func interrupted()
    /// The terminal reports key releases from now on (hold to talk).
    func keyReleasesReported()
    /// Set once the screen is done: the loop stops and returns it.
    var outcome: Outcome? { get }
    /// Bells and repaints asked for since the last call.
    func takeRequests() -> FrontRequests
}

public final class FrontLoop<Terminal: FrontTerminal, Screen: FrontScreen> {
    public let terminal: Terminal
    public let screen: Screen
    public let renderer: Renderer<Terminal>
    /// The time keys, ticks and frames are stamped with (tests pass a fixed one).
    var clock: () -> Date
    private var decoder = TerminalInputDecoder()
    public private(set) var keyReleasesOn = false

    public init(terminal: Terminal, screen: Screen, clock: @escaping () -> Date = Date.init) {
        self.terminal = terminal
        self.screen = screen
        self.clock = clock
        renderer = Renderer(backend: terminal)
    }

    /// The first frame, and the question whether the terminal reports key releases.
    public func start() {
        draw(at: clock())
        terminal.queryKeyboardProtocol()
    }

    /// Runs until the screen is done or `inputs` ends; `drained` is called
    /// after each `inputReady` (the input thread waits for it).
    public func run(_ inputs: AsyncStream<FrontInput<Screen.Message>>, drained: () -> Void = {}) async -> Screen.Outcome? {
        start()
        for await input in inputs {
            let outcome = step(input)
            if case .inputReady = input { drained() }
            if let outcome { return outcome }
        }
        return screen.outcome
    }

    /// One input: the screen takes it, and a frame is drawn when it is worth
    /// one. Returns the screen's outcome once it is done.
    @discardableResult
    public func step(_ input: FrontInput<Screen.Message>) -> Screen.Outcome? {
        let now = clock()
        var worthAFrame: Bool
        switch input {
        case .inputReady:
            _ = readInput(at: now)
            worthAFrame = true
        case .tick:
            // ncurses notices a window resize (SIGWINCH) only when asked for
            // a key, and the signal may wake no thread of ours. An idle tick
            // draws nothing at all.
            decoder.expireStale()
            let read = readInput(at: now)
            worthAFrame = screen.tick(at: now) || read
        case .signal:
            screen.interrupted()
            worthAFrame = true
        case .message(let message):
            worthAFrame = screen.handle(message, at: now)
        }
        let requests = screen.takeRequests()
        for _ in 0..<requests.bells { terminal.bell() }
        if requests.repaint { renderer.invalidate() }
        if let outcome = screen.outcome { return outcome }
        if worthAFrame || requests.repaint { draw(at: clock()) }
        return nil
    }

    /// Reads and hands over every waiting key; returns whether there was any input.
    private func readInput(at time: Date) -> Bool {
        let inputs = terminal.readInput(&decoder)
        for input in inputs {
            switch input {
            case .keyboardFlags:
                // The terminal answered the query: it reports key releases once asked.
                guard !keyReleasesOn else { continue }
                keyReleasesOn = true
                terminal.enableKeyReleases()
                screen.keyReleasesReported()
            case .key(let key):
                if key == .resize || key == .control("l") { renderer.invalidate() }
                screen.handle(input, at: time)
            case .focusLost:
                screen.handle(input, at: time)
            }
        }
        return !inputs.isEmpty
    }

    private func draw(at time: Date) {
        renderer.render { frame in screen.render(into: &frame, at: time) }
    }
}

/// Runs `screen` on the real terminal until it is done: curses, the input
/// thread, signals and ticks around the loop, all undone on return (the
/// terminal restored). `finish` runs before the terminal is given back
/// (leaving the room, going offline).
func runFrontInTerminal<Screen: FrontScreen>(
    _ screen: Screen, theme: Theme, noColor: Bool,
    inputs: AsyncStream<FrontInput<Screen.Message>>, continuation: AsyncStream<FrontInput<Screen.Message>>.Continuation,
    finish: (Screen.Outcome?) async -> Void
) async throws -> Screen.Outcome? {
    let signals = FrontSignals { continuation.yield(.signal($0)) }
    defer { signals.cancel() }
    let backend = try NcursesBackend(theme: theme, noColor: noColor)
    defer { backend.end() }
    let watcher = InputWatcher { continuation.yield(.inputReady) } hangUp: { continuation.yield(.signal(SIGHUP)) }
    watcher.start()
    defer { watcher.stop() }
    let ticker = startFrontTicker { continuation.yield(.tick) }
    defer { ticker.cancel() }
    let outcome = await FrontLoop(terminal: backend, screen: screen).run(inputs) { watcher.drained() }
    await finish(outcome)
    return outcome
}
