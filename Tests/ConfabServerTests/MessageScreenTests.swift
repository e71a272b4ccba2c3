// The checks a message passes before the JSON decoder: UTF-8, nesting depth,
// and the request id of a message refused unparsed.

import ConfabProtocol
@testable import ConfabServer
import Testing

@Suite("Message screen")
struct MessageScreenTests {
    @Test(
        "UTF-8 is checked as RFC 3629 defines it",
        arguments: [
            (Array("{\"text\": \"héllo ☕ 🎧\"}".utf8), true),
            ([0x7b, 0xc3, 0x28, 0x7d], false),  // a lead byte without its continuation
            ([0xc0, 0xaf], false),  // an overlong "/"
            ([0xed, 0xa0, 0x80], false),  // a UTF-16 surrogate
            ([0xf4, 0x90, 0x80, 0x80], false),  // past U+10FFFF
            ([0xe2, 0x98], false),  // cut short
        ] as [([UInt8], Bool)])
    func utf8(bytes: [UInt8], valid: Bool) {
        #expect(MessageScreen.isValidUTF8(bytes) == valid)
    }

    @Test("nesting is counted outside strings only")
    func depth() {
        let deep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        let limit = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        let inString = "{\"x\": \"" + String(repeating: "[", count: 100) + "\"}"
        let escapedQuote = "{\"x\": \"\\\"" + String(repeating: "[", count: 100) + "\"}"
        #expect(MessageScreen.nestsTooDeep(Array(deep.utf8)))
        #expect(!MessageScreen.nestsTooDeep(Array(limit.utf8)))
        #expect(!MessageScreen.nestsTooDeep(Array(inString.utf8)))
        #expect(!MessageScreen.nestsTooDeep(Array(escapedQuote.utf8)))
    }

    @Test(
        "the top-level id of a refused message is found without parsing it",
        arguments: [
            (#"{"v": 1, "type": "ping", "id": "p1"}"#, "p1"),
            (#"{"id":"first","type":"x"}"#, "first"),
            (#"{"v": 1, "x": {"id": "inner"}, "id": "outer"}"#, "outer"),
            (#"{"v": 1, "x": ["id", "no"], "type": "ping"}"#, nil),
            (#"{"v": 1, "id": 7}"#, nil),
            (#"{"v": 1, "id": "bad id with spaces"}"#, nil),
            (#"{"v": 1, "text": "\"id\": \"fake\"", "id": "real"}"#, "real"),
            (#"[1, 2, 3]"#, nil),
        ] as [(String, String?)])
    func requestID(text: String, id: String?) {
        #expect(MessageScreen.requestID(in: Array(text.utf8))?.rawValue == id)
    }

    @Test("an id past the first KiB is not looked for")
    func idScanIsBounded() {
        let padding = String(repeating: "x", count: 2_000)
        let late = #"{"v": 1, "pad": "\#(padding)", "id": "late"}"#
        #expect(MessageScreen.requestID(in: Array(late.utf8)) == nil)
    }
}
