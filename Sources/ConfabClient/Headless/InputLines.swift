// Command lines from a byte stream (a bot's pipe into stdin), with a bound on
// what one line may hold in memory.
//
//   chunks ─▶ split at LF (a CR before it goes too) ─▶ lines
//            a line past `maximumBytes`: its first maximumBytes + 1 bytes come
//            out (so the parser can say it is too long), the rest is skipped
//            up to the next LF
//
// A bot that writes a runaway line (a binary file piped by mistake, a loop
// without a newline) gets one error line and goes on; the client never holds
// more than one line's limit of it.

import Dispatch
import Synchronization

/// Splits bytes into lines as they arrive.
public struct InputLineSplitter: Sendable {
    /// The longest line kept whole, in bytes (without its line break).
    public let maximumBytes: Int
    private var pending: [UInt8] = []
    /// Inside a line already cut: skip until its LF.
    private var skipping = false

    public init(maximumBytes: Int = HeadlessCommand.maximumLineBytes) {
        self.maximumBytes = maximumBytes
    }

    /// Feeds the next bytes; calls `line` for every line they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>, line: (String) -> Void) {
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if !skipping { line(Self.text(pending)) }
                pending.removeAll(keepingCapacity: pending.count <= 64 * 1024)
                skipping = false
            } else if !skipping {
                pending.append(byte)
                if pending.count > maximumBytes {
                    // One byte over the limit, as it came: the parser refuses it as too long.
                    line(String(decoding: pending, as: UTF8.self))
                    pending.removeAll()
                    skipping = true
                }
            }
        }
    }

    /// The input ended: the last line, if it had no line break.
    public mutating func finish(line: (String) -> Void) {
        if !skipping, !pending.isEmpty { line(Self.text(pending)) }
        pending.removeAll()
        skipping = false
    }

    /// As `readLine` reads it: invalid UTF-8 repaired, a CR before the LF dropped.
    private static func text(_ bytes: [UInt8]) -> String {
        let content = bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes[...]
        return String(decoding: content, as: UTF8.self)
    }
}

/// Lines handed from a reading thread to the commands' task, at most
/// `capacity` waiting: a bot that writes faster than its commands complete
/// is held up in its own `write` (the pipe fills) instead of the client
/// queueing its lines without end.
///
///   reader thread ─▶ put (blocks while `capacity` lines wait) ─▶ next() ◀─ commands' task
///
/// Ending the commands' task (the room ended) ends `next()` at once and
/// makes every later `put` return false, so neither side waits on the other.
public final class InputLineQueue: Sendable {
    private struct State {
        var waiting: [String] = []
        var inputEnded = false
        var takerGone = false
        var taker: CheckedContinuation<String?, Never>?
    }

    private let state = Mutex(State())
    /// Free places in the queue; `put` waits for one.
    private let places: DispatchSemaphore

    public init(capacity: Int = 64) {
        places = DispatchSemaphore(value: capacity)
    }

    deinit {
        // libdispatch traps when a semaphore is freed with fewer places than
        // it began with: give back those of the lines nobody took.
        let held = state.withLock { $0.waiting.count }
        for _ in 0..<held { places.signal() }
    }

    /// Hands over a line, waiting while the queue is full. Blocks the calling
    /// thread: call it from a reading thread. False once the taker is gone.
    public func put(_ line: String) -> Bool {
        enum Handover {
            case refused
            case queued
            case direct(CheckedContinuation<String?, Never>)
        }
        places.wait()
        let handover: Handover = state.withLock { state in
            guard !state.takerGone else { return .refused }
            guard let taker = state.taker else {
                state.waiting.append(line)
                return .queued
            }
            state.taker = nil
            return .direct(taker)
        }
        switch handover {
        case .refused:
            places.signal()  // wake any other put blocked behind this one
            return false
        case .queued:
            return true
        case .direct(let taker):
            places.signal()  // handed over at once: the place stays free
            taker.resume(returning: line)
            return true
        }
    }

    /// No more lines will come.
    public func finish() {
        let taker = state.withLock { state in
            state.inputEnded = true
            defer { state.taker = nil }
            return state.taker
        }
        taker?.resume(returning: nil)
    }

    /// The next line; nil when the input ended or the calling task was cancelled.
    public func next() async -> String? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
                let line: String?? = state.withLock { state in
                    if state.takerGone || Task.isCancelled { return .some(nil) }
                    if !state.waiting.isEmpty { return .some(state.waiting.removeFirst()) }
                    if state.inputEnded { return .some(nil) }
                    state.taker = continuation
                    return .none
                }
                guard let line else { return }
                if line != nil { places.signal() }
                continuation.resume(returning: line)
            }
        } onCancel: {
            let taker = state.withLock { state in
                state.takerGone = true
                defer { state.taker = nil }
                return state.taker
            }
            places.signal()
            taker?.resume(returning: nil)
        }
    }

    /// The lines as a stream for one consumer.
    public var lines: AsyncStream<String> {
        AsyncStream(unfolding: { await self.next() })
    }
}
