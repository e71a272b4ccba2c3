import ConfabProtocol
import Testing
@testable import ConfabTUI

@Suite("screen text: the sanitiser's fast path and memo")
struct ScreenTextTests {
    static let policies: [TextPolicy.LineBreaks] = [.singleLine, .multiline(maximumLines: 8)]

    @Test("random ASCII (spaces at the ends and in runs included) cleans exactly as the sanitiser does", arguments: policies)
    func asciiMatchesSanitiser(policy: TextPolicy.LineBreaks) {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab Z9  ~!\t\n\u{1B}[".unicodeScalars)
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...12, using: &generator)
            var text = String.UnicodeScalarView()
            for _ in 0..<length { text.append(alphabet.randomElement(using: &generator) ?? "a") }
            let string = String(text)
            #expect(ScreenText.clean(string, lineBreaks: policy) == TextSanitizer.clean(string, lineBreaks: policy), "\(string.debugDescription)")
        }
    }

    @Test("hostile and non-ASCII text goes through the sanitiser, and again the same from the memo", arguments: [
        "\u{1B}]8;;http://evil\u{07}click\u{1B}]8;;\u{07}", "a\u{202E}gnp.exe", "名前 🎤", "  spaced  out  ", "e\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}x",
        "\u{9B}31mred", "line\r\nbreak",
    ])
    func hostile(text: String) {
        for policy in Self.policies {
            let expected = TextSanitizer.clean(text, lineBreaks: policy)
            #expect(ScreenText.clean(text, lineBreaks: policy) == expected)
            #expect(ScreenText.clean(text, lineBreaks: policy) == expected)
        }
    }

    @Test("a name in clean shape is taken as it is; any doubt goes the long way")
    func fastPath() {
        #expect(ScreenText.isAlreadyClean("Ada Lovelace", singleLine: true))
        #expect(!ScreenText.isAlreadyClean("Ada  Lovelace", singleLine: true))
        #expect(ScreenText.isAlreadyClean("Ada  Lovelace", singleLine: false))
        #expect(!ScreenText.isAlreadyClean(" Ada", singleLine: true))
        #expect(!ScreenText.isAlreadyClean("Ada ", singleLine: false))
        #expect(!ScreenText.isAlreadyClean("Ada\u{1B}[2J", singleLine: true))
        #expect(!ScreenText.isAlreadyClean("Zoë", singleLine: true))
        #expect(!ScreenText.isAlreadyClean("", singleLine: true))
    }
}
