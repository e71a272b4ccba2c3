// What a connection checks on a complete text message before the JSON decoder
// sees it: one linear pass each, no allocation but the request id.
//
//   bytes ─▶ valid UTF-8? (else: fail the connection, RFC 6455 §8.1, close 1007)
//         ─▶ nesting ≤ maximumDepth? (else: 1000 malformedMessage, not parsed)
//         ─▶ JSONDecoder
//
// `requestID(in:)` finds the top-level `"id"` in the first KiB of a message
// that is refused unparsed (over the rate limit), so the reply can still name
// the request.

import ConfabProtocol

package enum MessageScreen {
    /// Arrays and objects inside one another; no protocol message needs more than 4.
    package static let maximumDepth = 32
    /// How far into a refused message `requestID(in:)` looks for the id.
    package static let idScanBytes = 1_024

    /// RFC 3629 UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
    package static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        // Plain ASCII, the usual case, is valid byte by byte.
        if bytes.allSatisfy({ $0 < 0x80 }) { return true }
        let failed = transcode(
            bytes.makeIterator(), from: UTF8.self, to: UTF32.self, stoppingOnError: true, into: { _ in })
        return !failed
    }

    /// Whether brackets nest deeper than `maximumDepth`, counting only those
    /// outside strings. Malformed JSON passes: the decoder reports it.
    package static func nestsTooDeep(_ bytes: [UInt8]) -> Bool {
        var depth = 0
        var tooDeep = false
        bytes.withUnsafeBytes { raw in
            JSONStructure.scan(raw) { _, byte in
                switch byte {
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    depth += 1
                    if depth > maximumDepth { tooDeep = true }
                case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
                default: break
                }
                return !tooDeep
            }
        }
        return tooDeep
    }

    /// The value of the top-level `"id"` member when it is a plain string
    /// that is a valid request id; nil otherwise.
    package static func requestID(in bytes: [UInt8]) -> RequestID? {
        var depth = 0
        var index = 0
        // Clients put the envelope first; a refusal must stay cheap however long the message.
        let count = min(bytes.count, idScanBytes)
        /// Where the last top-level string started and ended, and whether it had escapes.
        var lastString: Range<Int>?
        var expectingValueOf: Bool = false
        while index < count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let start = index + 1
                var end = start
                var hasEscape = false
                while end < count, bytes[end] != UInt8(ascii: "\"") {
                    if bytes[end] == UInt8(ascii: "\\") {
                        hasEscape = true
                        end += 1
                    }
                    end += 1
                }
                guard end < count else { return nil }
                if depth == 1 {
                    if expectingValueOf {
                        guard !hasEscape else { return nil }
                        return RequestID(rawValue: String(decoding: bytes[start..<end], as: UTF8.self))
                    }
                    lastString = hasEscape ? nil : start..<end
                }
                index = end + 1
                continue
            case UInt8(ascii: ":"):
                if depth == 1, let key = lastString, bytes[key].elementsEqual("id".utf8) {
                    expectingValueOf = true
                }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                if expectingValueOf { return nil }
                depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                break
            default:
                // A number, true, false or null where the id should be.
                if expectingValueOf { return nil }
            }
            if byte == UInt8(ascii: ",") { lastString = nil }
            index += 1
        }
        return nil
    }
}
