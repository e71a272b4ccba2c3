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
