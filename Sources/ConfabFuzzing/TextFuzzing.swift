// Untrusted text through the sanitiser, as names, reasons and chat: whatever
// comes out is safe to print in a terminal and already clean.
import ConfabProtocol

enum TextFuzzing {
    static func run(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        let text = String(decoding: input, as: UTF8.self)
        let policies: [(String, TextPolicy)] = [("name", .displayName), ("reason", .reason), ("chat", .chat)]
        for (label, policy) in policies {
            guard let cleaned = try? TextSanitizer.sanitize(text, policy: policy) else { continue }
            try check(cleaned, policy: policy, label: label)
            let again = try? TextSanitizer.sanitize(cleaned, policy: policy)
            guard again == cleaned else {
                throw FuzzViolation("\(label): sanitising \(debug(cleaned)) again gave \(again.map(debug) ?? "a refusal")")
            }
            let preview = TextSanitizer.singleLineDisplay(cleaned)
            guard !preview.contains("\n") else { throw FuzzViolation("\(label): a one-line preview holds a line break") }
        }
    }

    static func check(_ text: String, policy: TextPolicy, label: String) throws(FuzzViolation) {
        let multiline: Bool
        switch policy.lineBreaks {
        case .singleLine: multiline = false
        case .multiline(let maximumLines):
            multiline = true
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            guard lines <= maximumLines else { throw FuzzViolation("\(label): \(lines) lines, limit \(maximumLines)") }
        }
        guard text.count <= policy.maximumCharacters else {
            throw FuzzViolation("\(label): \(text.count) characters, limit \(policy.maximumCharacters)")
        }
        if let first = text.first, let last = text.last, first.isWhitespace || last.isWhitespace {
            throw FuzzViolation("\(label): not trimmed: \(debug(text))")
        }
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            if let why = unsafe(scalar, after: previous, multiline: multiline) {
                throw FuzzViolation("\(label): \(why) U+\(String(scalar.value, radix: 16, uppercase: true)) in \(debug(text))")
            }
            previous = scalar
        }
        for character in text {
            let marks = character.unicodeScalars.count { scalar in
                switch scalar.properties.generalCategory {
                case .nonspacingMark, .spacingMark, .enclosingMark: true
                default: false
                }
            }
            guard marks <= TextSanitizer.maximumCombiningMarks else {
                throw FuzzViolation("\(label): a character with \(marks) combining marks")
            }
        }
    }

    /// Why a scalar must not reach a terminal, or nil when it may.
    private static func unsafe(_ scalar: Unicode.Scalar, after previous: Unicode.Scalar?, multiline: Bool) -> String? {
        switch scalar.value {
        case 0x0A: return multiline ? nil : "a line break on one line:"
        case 0x00...0x1F, 0x7F...0x9F: return "a control character"
        case 0x2028, 0x2029: return "a line or paragraph separator"
        case 0x200C, 0x200D: return nil
        case 0x0600...0x0605, 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD: return nil
        case 0xE0020...0xE007F:
            // Tags only continue a flag (U+1F3F4 followed by tags).
            guard let previous, previous.value == 0x1F3F4 || (0xE0020...0xE007E).contains(previous.value) else {
                return "a tag outside a flag:"
            }
            return nil
        default:
            return scalar.properties.generalCategory == .format ? "an invisible format character" : nil
        }
    }

    private static func debug(_ text: String) -> String {
        "\"" + text.unicodeScalars.map { $0.escaped(asASCII: true) }.joined() + "\""
    }
}
