import ConfabProtocol
import ConfabTestSupport
import Testing

/// One hostile (or merely unusual) input and what must be left of it.
struct SanitizerCase: Sendable, CustomTestStringConvertible {
    let name: String
    let input: String
    let expected: String
    var testDescription: String { name }
}

private func scalar(_ value: UInt32) -> String {
    Unicode.Scalar(value).map { String(Character($0)) } ?? ""
}

@Suite("Untrusted text: the attack corpus")
struct TextSanitizerTests {
    static let names: [SanitizerCase] = [
        .init(name: "OSC 52 clipboard write ended by BEL", input: "Eve\u{1B}]52;c;cm0gLXJmIH4=\u{07}", expected: "Eve"),
        .init(
            name: "OSC 52 clipboard write ended by ST", input: "Eve\u{1B}]52;c;cm0gLXJmIH4=\u{1B}\\ Smith",
            expected: "Eve Smith"),
        .init(
            name: "OSC 8 hyperlink", input: "\u{1B}]8;;https://evil.example/\u{1B}\\click me\u{1B}]8;;\u{1B}\\",
            expected: "click me"),
        .init(name: "window title set ESC ] 0 ;", input: "\u{1B}]0;pwned\u{07}Bob", expected: "Bob"),
        .init(name: "icon and title ESC ] 2 ;", input: "Bob\u{1B}]2;pwned\u{1B}\\", expected: "Bob"),
        .init(
            name: "CSI clear screen and cursor moves", input: "\u{1B}[2J\u{1B}[H\u{1B}[10;20HMallory\u{1B}[1A",
            expected: "Mallory"),
        .init(name: "CSI colours", input: "\u{1B}[31;1mRed\u{1B}[0m", expected: "Red"),
        .init(name: "CSI private mode (hide cursor)", input: "x\u{1B}[?25ly", expected: "xy"),
        .init(name: "8-bit CSI U+009B", input: "A\u{9B}2JB", expected: "AB"),
        .init(name: "8-bit OSC U+009D ended by 8-bit ST", input: "A\u{9D}0;title\u{9C}B", expected: "AB"),
        .init(name: "DCS (DECRQSS)", input: "\u{1B}P$qm\u{1B}\\Dee", expected: "Dee"),
        .init(name: "8-bit DCS U+0090", input: "D\u{90}1$r0m\u{9C}ee", expected: "Dee"),
        .init(name: "APC", input: "\u{1B}_Gf=100;payload\u{1B}\\x", expected: "x"),
        .init(name: "PM", input: "\u{1B}^private\u{1B}\\x", expected: "x"),
        .init(name: "SOS", input: "\u{1B}Xstring\u{1B}\\x", expected: "x"),
        .init(name: "8-bit APC, PM and SOS", input: "a\u{9F}x\u{9C}b\u{9E}y\u{9C}c\u{98}z\u{9C}d", expected: "abcd"),
        .init(
            name: "bracketed paste end and restart", input: "text\u{1B}[201~rm -rf ~\u{1B}[200~",
            expected: "textrm -rf ~"),
        .init(name: "lone ESC at the end", input: "Bob\u{1B}", expected: "Bob"),
        .init(name: "ESC before a non-ASCII letter", input: "Bob\u{1B}é", expected: "Bobé"),
        .init(name: "full reset ESC c", input: "\u{1B}cHello", expected: "Hello"),
        .init(name: "charset designation ESC ( 0", input: "\u{1B}(0lqqk\u{1B}(B", expected: "lqqk"),
        .init(name: "DEC screen alignment ESC # 8", input: "\u{1B}#8Ok", expected: "Ok"),
        .init(name: "unterminated OSC swallows the rest", input: "Bob\u{1B}]0;everything after", expected: "Bob"),
        .init(name: "ESC inside OSC starts a new sequence", input: "\u{1B}]0;t\u{1B}[31mX", expected: "X"),
        .init(name: "CAN cancels a control string", input: "\u{1B}]0;t\u{18}X", expected: "X"),
        .init(name: "bare CR cannot overwrite", input: "Good\rEvil", expected: "GoodEvil"),
        .init(name: "CR LF is a line break, a space on one line", input: "Ann\r\nLee", expected: "Ann Lee"),
        .init(name: "backspaces cannot erase", input: "Bob\u{08}\u{08}\u{08}Eve", expected: "BobEve"),
        .init(name: "BEL, NUL, DEL, NEL", input: "a\u{07}b\u{00}c\u{7F}d\u{85}e", expected: "abcde"),
        .init(name: "Trojan Source: right-to-left override", input: "admin\u{202E}nimda", expected: "adminnimda"),
        .init(name: "Trojan Source: isolates", input: "\u{2067}x\u{2066}y\u{2068}z\u{2069}", expected: "xyz"),
        .init(name: "embeddings and pop", input: "\u{202A}a\u{202B}b\u{202C}c\u{202D}d", expected: "abcd"),
        .init(name: "LRM, RLM and ALM", input: "a\u{200E}b\u{200F}c\u{061C}d", expected: "abcd"),
        .init(name: "zero-width space and word joiner", input: "ad\u{200B}mi\u{2060}n", expected: "admin"),
        .init(name: "BOM and soft hyphen", input: "\u{FEFF}ro\u{AD}ot", expected: "root"),
        .init(name: "ASCII smuggling in tag characters", input: "hi\u{E0041}\u{E0042}\u{E007F}", expected: "hi"),
        .init(
            name: "ASCII smuggling after a flag", input: "🏴\u{E0067}\u{E0062}\u{E0049}\u{E0067}\u{E007F}",
            expected: "🏴\u{E0067}\u{E0062}"),
        .init(name: "interlinear annotation", input: "a\u{FFF9}hidden\u{FFFA}shown\u{FFFB}", expected: "ahiddenshown"),
        .init(name: "Hangul fillers", input: "x\u{3164}\u{115F}\u{1160}\u{FFA0}y", expected: "xy"),
        // Built at run time: Swift string literals may not spell noncharacters.
        .init(
            name: "noncharacters", input: "a" + scalar(0xFFFF) + "b" + scalar(0xFDD0) + "c" + scalar(0x10FFFE),
            expected: "abc"),
        .init(name: "whitespace runs collapse, ends trimmed", input: "  Alice \t  Smith \n", expected: "Alice Smith"),
        .init(name: "unicode spaces become plain spaces", input: "A\u{2003}\u{3000}B\u{00A0}C", expected: "A B C"),
        .init(name: "leading combining mark", input: "\u{0301}\u{0302}Bob", expected: "Bob"),
        .init(name: "leading combining mark before a space", input: "\u{0301} Bob", expected: "Bob"),
        .init(name: "emoji with ZWJ and skin tone kept", input: "👩🏽‍💻 Dev", expected: "👩🏽‍💻 Dev"),
        .init(
            name: "flag tag sequence kept", input: "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F} fan",
            expected: "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F} fan"),
        .init(name: "Arabic kept, its bidi override not", input: "\u{202E}محمد", expected: "محمد"),
        .init(name: "Hebrew kept", input: "שלום", expected: "שלום"),
        .init(name: "Persian ZWNJ kept", input: "می\u{200C}خواهم", expected: "می\u{200C}خواهم"),
        .init(name: "Devanagari conjunct kept", input: "क्षत्रिय", expected: "क्षत्रिय"),
        .init(name: "Arabic number sign kept", input: "\u{0600}١٢", expected: "\u{0600}١٢"),
    ]

    @Test("display names lose every attack and keep real text", arguments: names)
    func displayName(_ sample: SanitizerCase) throws {
        #expect(try TextSanitizer.sanitize(sample.input, policy: .displayName) == sample.expected)
    }

    @Test("the same corpus leaves no control or format character in chat", arguments: names)
    func chatHasNoControls(_ sample: SanitizerCase) {
        let cleaned = TextSanitizer.clean(sample.input, lineBreaks: .multiline(maximumLines: 40))
        for scalar in cleaned.unicodeScalars {
            let value = scalar.value
            #expect(value == 0x0A || !(value < 0x20 || (0x7F...0x9F).contains(value)))
            #expect(!(0x202A...0x202E).contains(value) && !(0x2066...0x2069).contains(value))
        }
    }

    static let empties: [SanitizerCase] = [
        .init(name: "only controls", input: "\u{1B}[2J\u{07}\u{08}\r\u{00}\u{7F}\u{9B}m", expected: ""),
        .init(name: "only an OSC", input: "\u{1B}]0;x\u{07}", expected: ""),
        .init(
            name: "only invisible characters", input: "\u{200B}\u{2060}\u{3164}\u{115F}\u{FEFF}\u{202E}", expected: ""),
        .init(name: "only blank braille", input: "\u{2800}\u{2800}", expected: ""),
        .init(name: "only spaces and newlines", input: " \n\t \u{3000}", expected: ""),
        .init(name: "empty", input: "", expected: ""),
        .init(name: "only combining marks", input: "\u{0301}\u{0302}\u{0303}", expected: ""),
    ]

    @Test("a name made only of controls or invisibles is rejected as empty", arguments: empties)
    func emptyName(_ sample: SanitizerCase) {
        #expect(throws: TextRejection.empty) { try TextSanitizer.sanitize(sample.input, policy: .displayName) }
    }

    @Test("an empty reason is acceptable")
    func emptyReason() throws {
        #expect(try TextSanitizer.sanitize("\u{1B}[2J", policy: .reason) == "")
    }

    @Test("names are cut at 64 grapheme clusters, not bytes or scalars")
    func nameTruncation() throws {
        let long = String(repeating: "e\u{0301}", count: 70)
        let cut = try TextSanitizer.sanitize(long, policy: .displayName)
        #expect(cut.count == 64)
        #expect(cut.unicodeScalars.count == 128)
        let family = String(repeating: "👨‍👩‍👧‍👦", count: 65)
        #expect(try TextSanitizer.sanitize(family, policy: .displayName).count == 64)
    }

    @Test("a cut never leaves trailing space")
    func truncationTrims() throws {
        let text = String(repeating: "a", count: 63) + "    b"
        #expect(try TextSanitizer.sanitize(text, policy: .displayName) == String(repeating: "a", count: 63))
    }

    @Test("combining marks are capped at 8 per character (no Zalgo towers)")
    func zalgo() throws {
        let tower = "Z" + String(repeating: "\u{0301}", count: 30) + "ok"
        let cleaned = try TextSanitizer.sanitize(tower, policy: .displayName)
        #expect(cleaned == "Z" + String(repeating: "\u{0301}", count: 8) + "ok")
        #expect(cleaned.count == 3)
    }

    static let chat: [SanitizerCase] = [
        .init(name: "line breaks kept", input: "line one\nline two", expected: "line one\nline two"),
        .init(name: "CR LF becomes LF", input: "a\r\nb", expected: "a\nb"),
        .init(name: "bare CR removed", input: "a\rb", expected: "ab"),
        .init(name: "line and paragraph separators become LF", input: "a\u{2028}b\u{2029}c", expected: "a\nb\nc"),
        .init(name: "blank-line runs shrink to one blank line", input: "a\n\n\n\n\nb", expected: "a\n\nb"),
        .init(name: "indentation kept", input: "code:\n    let x = 1", expected: "code:\n    let x = 1"),
        .init(name: "tab becomes one space", input: "a\tb", expected: "a b"),
        .init(
            name: "fake line drawn with cursor up", input: "hi\u{1B}[1A\u{1B}[2K\rAlice: fake",
            expected: "hiAlice: fake"),
        .init(name: "outer blank lines trimmed", input: "\n\n  hello  \n\n", expected: "hello"),
        .init(
            name: "combining marks on the leading blank lines dropped (found by fuzzing)",
            input: "\n\u{0301}\n\u{0301}\n \u{0302}hi", expected: "hi"),
    ]

    @Test("chat keeps its line structure, safely", arguments: chat)
    func chatText(_ sample: SanitizerCase) throws {
        #expect(try TextSanitizer.sanitize(sample.input, policy: .chat) == sample.expected)
    }

    @Test("chat lines past 40 are joined with ⏎")
    func chatLineLimit() throws {
        let text = (1...45).map { "l\($0)" }.joined(separator: "\n")
        let cleaned = try TextSanitizer.sanitize(text, policy: .chat)
        let lines = cleaned.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 40)
        #expect(lines.last == "l40⏎l41⏎l42⏎l43⏎l44⏎l45")
    }

    @Test("chat over 4,000 characters is refused, not cut")
    func chatTooLong() throws {
        #expect(throws: TextRejection.tooLong(characters: 4_001, limit: 4_000)) {
            try TextSanitizer.sanitize(String(repeating: "x", count: 4_001), policy: .chat)
        }
        #expect(try TextSanitizer.sanitize(String(repeating: "x", count: 4_000), policy: .chat).count == 4_000)
        // Counted after cleaning: escape sequences do not count against the sender.
        let padded = String(repeating: "\u{1B}[0m", count: 2_000) + String(repeating: "y", count: 4_000)
        #expect(try TextSanitizer.sanitize(padded, policy: .chat).count == 4_000)
    }

    @Test("blank chat is refused as empty")
    func chatEmpty() {
        #expect(throws: TextRejection.empty) { try TextSanitizer.sanitize(" \n \u{1B}[2J ", policy: .chat) }
    }

    @Test("a one-line view shows line breaks as ⏎")
    func singleLineDisplay() {
        #expect(TextSanitizer.singleLineDisplay("a\nb\n\nc") == "a⏎b⏎⏎c")
    }

    @Test("sanitising is idempotent", arguments: names + chat)
    func idempotent(_ sample: SanitizerCase) {
        let once = TextSanitizer.clean(sample.input, lineBreaks: .multiline(maximumLines: 40))
        #expect(TextSanitizer.clean(once, lineBreaks: .multiline(maximumLines: 40)) == once)
        let line = TextSanitizer.clean(sample.input, lineBreaks: .singleLine)
        #expect(TextSanitizer.clean(line, lineBreaks: .singleLine) == line)
    }

    @Test("random scalars never leave a control, escape or bidi character behind")
    func randomScalars() {
        var generator = SeededRandom(seed: 0xB1D1_C0DE)
        let interesting: [UInt32] = [
            0x1B, 0x9B, 0x9C, 0x9D, 0x90, 0x07, 0x0D, 0x0A, 0x5B, 0x5D, 0x5C, 0x202E, 0x2066, 0x200B, 0x0301, 0xE0041,
            0xE0067, 0xE007F, 0x1F3F4,
        ]
        for _ in 0..<2_000 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...40, using: &generator) {
                let value =
                    Bool.random(using: &generator)
                    ? interesting.randomElement(using: &generator)!
                    : UInt32.random(in: 0...0x2FFF, using: &generator)
                if let scalar = Unicode.Scalar(value) { scalars.append(scalar) }
            }
            let cleaned = TextSanitizer.clean(String(scalars), lineBreaks: .singleLine)
            for scalar in cleaned.unicodeScalars {
                let value = scalar.value
                #expect(value >= 0x20 && !(0x7F...0x9F).contains(value))
                // The format characters kept on purpose: joiners, visible
                // Arabic signs, and tags (which only survive inside a flag).
                let keptOnPurpose: Set<UInt32> = [
                    0x200C, 0x200D, 0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x0890, 0x0891,
                    0x08E2,
                ]
                if scalar.properties.generalCategory == .format, !keptOnPurpose.contains(value),
                    !(0xE0030...0xE0039).contains(value), !(0xE0061...0xE007A).contains(value), value != 0xE007F
                {
                    Issue.record("format character U+\(String(value, radix: 16, uppercase: true)) survived")
                }
            }
        }
    }
}
