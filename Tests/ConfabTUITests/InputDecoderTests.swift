import Curses
import ConfabClient
import Testing
@testable import ConfabTUI

@Suite("terminal input: kitty keyboard protocol and legacy sequences")
struct InputDecoderTests {
    /// Decodes a whole input chunk as the loop does: every scalar, then the end of what was available.
    func decode(_ text: String, decoder: inout TerminalInputDecoder) -> [TerminalInput] {
        decoder.feed(text.unicodeScalars) + decoder.endOfInput()
    }

    func decode(_ text: String) -> [TerminalInput] {
        var decoder = TerminalInputDecoder()
        return decode(text, decoder: &decoder)
    }

    func keys(_ characters: String) -> [TerminalInput] {
        characters.map { .key(.character($0)) }
    }

    @Test("plain typing passes through, UTF-8 included")
    func plainText() {
        #expect(decode("hé 日本") == keys("hé 日本"))
    }

    @Test("the answer to the query says the protocol is there, with its flags")
    func queryAnswer() {
        #expect(decode("\u{1B}[?0u") == [.keyboardFlags(0)])
        #expect(decode("\u{1B}[?27u") == [.keyboardFlags(27)])
    }

    @Test("device attributes and other private replies are not keys")
    func otherReplies() {
        #expect(decode("\u{1B}[?62;22c").isEmpty)
        #expect(decode("\u{1B}[>1;4000;15c").isEmpty)
    }

    @Test("Space: press, repeat and release", arguments: [
        ("\u{1B}[32u", [TerminalInput.key(.character(" "))]),
        ("\u{1B}[32;;32u", [.key(.character(" "))]),
        ("\u{1B}[32;1u", [.key(.character(" "))]),
        ("\u{1B}[32;1:1u", [.key(.character(" "))]),
        ("\u{1B}[32;1:2;32u", [.key(.character(" "))]),
        ("\u{1B}[32;1:3u", [.key(.released(" "))]),
    ])
    func space(sequence: String, expected: [TerminalInput]) {
        #expect(decode(sequence) == expected)
    }

    @Test("text keys type their text, shifted or not", arguments: [
        // Flag 16 sends the text; without it the shifted key, else shift on ASCII.
        ("\u{1B}[109;;109u", "m"),
        ("\u{1B}[109;2;77u", "M"),
        ("\u{1B}[109:77;2u", "M"),
        ("\u{1B}[109;2u", "M"),
        ("\u{1B}[49;2;33u", "!"),
        ("\u{1B}[47:63;2u", "?"),  // flags 4 without 16: the shifted key
        ("\u{1B}[47:63;2;63u", "?"),
        ("\u{1B}[113u", "q"),
        ("\u{1B}[63;;63u", "?"),
        ("\u{1B}[233;;233u", "é"),
        ("\u{1B}[97;;104:105u", "hi"),
        // Caps lock (64) and num lock (128) are not modifiers of ours.
        ("\u{1B}[97;65;65u", "A"),
        ("\u{1B}[49;129;49u", "1"),
    ])
    func textKeys(sequence: String, expected: String) {
        #expect(decode(sequence) == keys(expected))
    }

    @Test("releases of text keys carry the key as pressed; functional releases are dropped")
    func releases() {
        #expect(decode("\u{1B}[109;1:3u") == [.key(.released("m"))])
        #expect(decode("\u{1B}[109;2:3u") == [.key(.released("M"))])
        #expect(decode("\u{1B}[47:63;2:3u") == [.key(.released("?"))])
        #expect(decode("\u{1B}[13;1:3u").isEmpty)
        #expect(decode("\u{1B}[1;1:3A").isEmpty)
        #expect(decode("\u{1B}[5;1:3~").isEmpty)
    }

    @Test("Ctrl with a letter is a control key; Alt and Super combinations are dropped")
    func modifiers() {
        #expect(decode("\u{1B}[99;5u") == [.key(.control("c"))])
        #expect(decode("\u{1B}[97;6u") == [.key(.control("a"))])
        #expect(decode("\u{1B}[108;5:2u") == [.key(.control("l"))])
        #expect(decode("\u{1B}[120;3u").isEmpty)
        #expect(decode("\u{1B}[120;9u").isEmpty)
        #expect(decode("\u{1B}[49;5u").isEmpty)
    }

    @Test("named keys in CSI-u form", arguments: [
        ("\u{1B}[13u", Key.enter), ("\u{1B}[9u", .tab), ("\u{1B}[9;2u", .backTab), ("\u{1B}[27u", .escape),
        ("\u{1B}[127u", .backspace), ("\u{1B}[57414u", .enter), ("\u{1B}[57399;;48u", .character("0")),
        ("\u{1B}[57419u", .up),
    ])
    func namedKeys(sequence: String, expected: Key) {
        #expect(decode(sequence) == [.key(expected)])
    }

    @Test("modifier keys alone (reported with flag 8) do nothing")
    func modifierKeys() {
        #expect(decode("\u{1B}[57441u\u{1B}[57441;2:3u\u{1B}[57442;5u").isEmpty)
    }

    @Test("cursor and editing keys, legacy and kitty forms", arguments: [
        ("\u{1B}[A", Key.up), ("\u{1B}[B", .down), ("\u{1B}[C", .right), ("\u{1B}[D", .left),
        ("\u{1B}[H", .home), ("\u{1B}[F", .end), ("\u{1B}OA", .up), ("\u{1B}OH", .home),
        ("\u{1B}[1;1:2A", .up), ("\u{1B}[1;5C", .right), ("\u{1B}[5~", .pageUp), ("\u{1B}[6;1:1~", .pageDown),
        ("\u{1B}[3~", .delete), ("\u{1B}[1~", .home), ("\u{1B}[4~", .end), ("\u{1B}[Z", .backTab),
    ])
    func cursorKeys(sequence: String, expected: Key) {
        #expect(decode(sequence) == [.key(expected)])
    }

    @Test("function keys decode in every form (F2 answers a question); unknown finals vanish without a trace")
    func functionAndUnknownKeys() {
        #expect(decode("\u{1B}[200~x") == keys("x"))
        #expect(decode("\u{1B}OQ") == [.key(.function(2))])
        #expect(decode("\u{1B}[12~") == [.key(.function(2))])
        #expect(decode("\u{1B}[Q") == [.key(.function(2))])
        #expect(decode("\u{1B}[15~\u{1B}[24~") == [.key(.function(5)), .key(.function(12))])
        // A function key types nothing into the input line.
        var model = MeetingModel()
        model.focus = .input
        for number in [1, 3, 5, 12] { #expect(model.handle(.function(number), state: RoomState()).isEmpty) }
        #expect(model.editor.isEmpty)
    }

    @Test("focus reporting: losing focus is told, regaining it is not a key")
    func focus() {
        #expect(decode("\u{1B}[O") == [.focusLost])
        #expect(decode("\u{1B}[I").isEmpty)
        #expect(decode("\u{1B}[Ox") == [.focusLost, .key(.character("x"))])
        #expect(decode("\u{1B}OA") == [.key(.up)], "SS3 A is a cursor key, not focus")
    }

    @Test("a lone ESC is the Escape key; ESC ESC is two; ESC and a letter is Escape then the letter")
    func escape() {
        #expect(decode("\u{1B}") == [.key(.escape)])
        #expect(decode("\u{1B}\u{1B}") == [.key(.escape), .key(.escape)])
        #expect(decode("\u{1B}x") == [.key(.escape), .key(.character("x"))])
    }

    @Test("C0 controls are named keys or Ctrl-letters, as before")
    func controls() {
        #expect(decode("\r\t\u{7F}\u{01}") == [.key(.enter), .key(.tab), .key(.backspace), .key(.control("a"))])
    }

    @Test("a sequence split across reads is put together")
    func split() {
        var decoder = TerminalInputDecoder()
        #expect(decode("\u{1B}[32;1", decoder: &decoder).isEmpty)
        #expect(decoder.isPending)
        #expect(decode(":3u", decoder: &decoder) == [.key(.released(" "))])
        #expect(!decoder.isPending)
    }

    @Test("an unfinished sequence that never completes is dropped at the second tick, not typed")
    func stale() {
        var decoder = TerminalInputDecoder()
        #expect(decode("\u{1B}[32;", decoder: &decoder).isEmpty)
        decoder.expireStale()
        #expect(decoder.isPending)  // one tick: it may still come
        decoder.expireStale()
        #expect(!decoder.isPending)
        #expect(decode("q", decoder: &decoder) == keys("q"))
    }

    @Test("malformed sequences are dropped and the keys after them still decode", arguments: [
        "\u{1B}[3!2u",
        "\u{1B}[32;-1u",
        "\u{1B}[;;u",
        "\u{1B}[u",
        "\u{1B}[1114112u",  // beyond Unicode
        "\u{1B}[55296u",  // a surrogate
        "\u{1B}[9999999999999999999999u",  // overflows Int
        "\u{1B}[32;1:9u",  // an event type that does not exist counts as a press
    ])
    func malformed(sequence: String) {
        let decoded = decode(sequence + "q")
        #expect(decoded.last == .key(.character("q")))
        #expect(!decoded.contains(.key(.released(" "))))
        #expect(!decoded.contains(.keyboardFlags(0)))
        #expect(decoded.count <= 2)
    }

    @Test("a control byte inside a sequence breaks it and counts as itself")
    func controlInside() {
        #expect(decode("\u{1B}[32\r") == [.key(.enter)])
        #expect(decode("\u{1B}[32\u{1B}[32;1:3u") == [.key(.released(" "))])
    }

    @Test("a non-ASCII scalar inside a sequence breaks it and is typed")
    func nonASCIIInside() {
        #expect(decode("\u{1B}[3é") == keys("é"))
    }

    @Test("a runaway sequence is dropped without growing forever")
    func runaway() {
        let long = "\u{1B}[" + String(repeating: "1;", count: 200) + "u" + "q"
        #expect(decode(long) == keys("q"))
    }

    @Test("the push and pop sequences ask for releases and give the mode back")
    func sequences() {
        #expect(KittyKeyboard.query == "\u{1B}[?u")
        #expect(KittyKeyboard.push(.holdToTalk) == "\u{1B}[>31u")
        #expect(KittyKeyboard.pop == "\u{1B}[<u")
        #expect(KittyKeyboard.Flags.holdToTalk.contains(.reportEventTypes))
        #expect(KittyKeyboard.Flags.holdToTalk.contains(.reportAllKeysAsEscapeCodes))
    }

    @Test("keys curses decoded that we do not use (Ctrl-Up) type nothing; the ones we use map, F-keys included")
    func cursesKeys() {
        #expect(NcursesBackend.key(from: .code(265)) == .function(1))  // KEY_F(1)
        #expect(NcursesBackend.key(from: .code(266)) == .function(2))
        #expect(NcursesBackend.key(from: .code(566)) == nil)  // kUP5, Ctrl-Up in xterm's terminfo
        #expect(NcursesBackend.key(from: .up) == .up)
        #expect(NcursesBackend.key(from: .pageDown) == .pageDown)
        #expect(NcursesBackend.key(from: .character("x")) == .character("x"))
    }
}
