// One pass over JSON text that sees only its structure: the bytes outside
// string literals (RFC 8259 §7: a string runs from `"` to the next `"` not
// escaped by a backslash). The codec uses it to put the envelope first, the
// server to refuse deep nesting before parsing. No allocation.

/// Scans JSON text outside its strings.
public enum JSONStructure {
    /// Calls `visit(index, byte)` for every byte outside string literals (the
    /// quotes themselves included), in order; stops early when `visit`
    /// returns false. Malformed text is scanned all the same.
    @inlinable
    public static func scan(_ bytes: UnsafeRawBufferPointer, _ visit: (_ index: Int, _ byte: UInt8) -> Bool) {
        var inString = false
        var escaped = false
        for index in bytes.indices {
            let byte = bytes[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if !visit(index, byte) { return }
                }
                continue
            }
            if byte == UInt8(ascii: "\"") { inString = true }
            if !visit(index, byte) { return }
        }
    }
}
