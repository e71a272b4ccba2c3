// Untrusted text is sanitised again before it reaches the screen (the SDK
// already did; a client never trusts the server with its terminal). Every
// frame shows the same fifty names and twenty messages again, so this is the
// frame's hot path:
//
//   text ─▶ printable ASCII already in clean shape? ─▶ itself
//        └▶ memo (text, policy) ─▶ hit: the cleaned text
//                                └▶ miss: TextSanitizer.clean, remembered
import ConfabProtocol
import Synchronization

enum ScreenText {
    private struct Key: Hashable {
        var text: String
        var lineBreaks: TextPolicy.LineBreaks
    }

    /// Cleaned texts seen recently; emptied when it grows past `memoLimit`.
    private static let memo = Mutex<[Key: String]>([:])
    static let memoLimit = 4_096

    /// `TextSanitizer.clean(text, lineBreaks:)`, without the work when it would change nothing.
    static func clean(_ text: String, lineBreaks: TextPolicy.LineBreaks) -> String {
        if isAlreadyClean(text, singleLine: lineBreaks == .singleLine) { return text }
        let key = Key(text: text, lineBreaks: lineBreaks)
        if let known = memo.withLock({ $0[key] }) { return known }
        let cleaned = TextSanitizer.clean(text, lineBreaks: lineBreaks)
        memo.withLock { memo in
            if memo.count >= memoLimit { memo.removeAll(keepingCapacity: true) }
            memo[key] = cleaned
        }
        return cleaned
    }

    /// Printable ASCII, not starting or ending with a space and (on one
    /// line) without a run of spaces: the sanitiser returns such text as it is.
    static func isAlreadyClean(_ text: String, singleLine: Bool) -> Bool {
        guard let first = text.utf8.first, first != 0x20 else { return false }
        var previous: UInt8 = 0
        for byte in text.utf8 {
            guard byte >= 0x20, byte < 0x7F else { return false }
            if singleLine, byte == 0x20, previous == 0x20 { return false }
            previous = byte
        }
        return previous != 0x20
    }
}
