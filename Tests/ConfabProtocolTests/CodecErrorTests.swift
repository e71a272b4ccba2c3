import ConfabProtocol
import ConfabTestSupport
import Foundation
import Testing

@Suite("Bad input becomes a typed error, never a crash")
struct CodecErrorTests {
    /// The error decoding `text` throws; nil when it decodes.
    static func error<Message>(
        decoding text: String, with decode: (String) throws(ProtocolError) -> Message
    ) -> ProtocolError? {
        do {
            _ = try decode(text)
            return nil
        } catch {
            return error
        }
    }

    static func clientError(_ text: String) -> ProtocolError? { error(decoding: text, with: decodeClient) }

    static func serverError(_ text: String) -> ProtocolError? { error(decoding: text, with: decodeServer) }

    @Test("an unknown client type names the type and keeps the request id")
    func unknownClientType() {
        let error = Self.clientError(#"{"v":1,"type":"room.explode","id":"c9"}"#)
        #expect(error == ProtocolError(.unknownType("room.explode"), requestID: "c9"))
        #expect(error?.code == .unknownType)
        #expect(error?.codedError.code.rawValue == 1003)
    }

    @Test("an unknown server type is a typed error a client can skip")
    func unknownServerType() {
        #expect(
            Self.serverError(#"{"v":1,"type":"peer.teleported","peer":"a"}"#)
                == ProtocolError(.unknownType("peer.teleported")))
    }

    @Test("a member named twice in one object: the first counts, at every level (PROTOCOL.md, The envelope)")
    func repeatedMemberFirstCounts() throws {
        let chat = try codec.decode(
            Data(#"{"v":1,"type":"chat.send","id":"c1","id":"c2","type":"leave","target":{"kind":"broadcast","kind":"role","roles":["host"]},"text":"one","text":"two"}"#.utf8),
            as: ClientMessage.self)
        #expect(chat.id == "c1")
        #expect(chat.body == .sendChat(SendChatRequest(target: .broadcast, text: "one")))
    }

    @Test("a value the decoder cannot read is 1004 with the request id and a reason: a number that does not fit its field, or a string that is not JSON",
          arguments: [
              (#""type": "chat.history", "limit": 12.5"#, "a number out of range, or not whole where a whole number is wanted"),
              (#""type": "chat.history", "limit": 1e19"#, "a number out of range, or not whole where a whole number is wanted"),
              (#""type": "chat.history", "limit": 12, "before": 9223372036854775808"#, "a number out of range, or not whole where a whole number is wanted"),
              (#""type": "chat.history", "limit": 1e400"#, "a value that is not JSON (a bad escape, a lone surrogate, a number beyond any range)"),
              (#""type": "chat.send", "target": {"kind": "broadcast"}, "text": "\uZZZZ""#, "a value that is not JSON (a bad escape, a lone surrogate, a number beyond any range)"),
          ])
    func unreadableValue(_ payload: String, _ detail: String) {
        let error = Self.clientError(#"{"v": 1, "id": "h7", \#(payload)}"#)
        #expect(error == ProtocolError(.invalidMessage(field: "", detail: detail), requestID: "h7"))
        #expect(error?.code == .invalidMessage)
    }

    static let notObjects = [
        "", "   ", "{", "nonsense", "[]", "[1,2]", "\"join\"", "42", "null", "true", "{\"v\":1,", "\u{FEFF}\u{1B}[2J",
    ]

    @Test("input that is not a JSON object is malformed", arguments: notObjects)
    func malformed(text: String) {
        #expect(Self.clientError(text) == ProtocolError(.malformed))
        #expect(Self.serverError(text) == ProtocolError(.malformed))
    }

    @Test("bytes that are not UTF-8 are malformed")
    func notUTF8() {
        let bytes = Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D])
        #expect(throws: ProtocolError(.malformed)) { try codec.decode(bytes, as: ClientMessage.self) }
    }

    @Test("JSON in UTF-16 or UTF-32 (NUL bytes, no BOM) is malformed, though its bytes are valid UTF-8",
          arguments: [String.Encoding.utf16LittleEndian, .utf16BigEndian, .utf32LittleEndian, .utf32BigEndian])
    func notUTF8Encoded(_ encoding: String.Encoding) throws {
        let ping = #"{"v":1,"type":"ping","id":"p1"}"#
        #expect(throws: Never.self) { try codec.decode(Data(ping.utf8), as: ClientMessage.self) }
        let encoded = try #require(ping.data(using: encoding))
        #expect(String(validating: [UInt8](encoded), as: UTF8.self) != nil, "a WebSocket text message could carry it")
        #expect(throws: ProtocolError(.malformed)) { try codec.decode(encoded, as: ClientMessage.self) }
        #expect(Self.clientError("{\"v\":1,\"type\":\"ping\",\"id\":\"p\u{0}\"}") == ProtocolError(.malformed))
    }

    @Test("a control character unescaped in a string is malformed (RFC 8259 §7); escaped, or tab, LF and CR between values, it is read",
          arguments: [0x00, 0x07, 0x09, 0x0A, 0x0D, 0x1B, 0x1F] as [UInt8])
    func rawControlCharacter(_ control: UInt8) throws {
        func chat(_ text: String) -> Data {
            Data(#"{"v":1,"type":"chat.send","id":"c1","target":{"kind":"broadcast"},"text":"\#(text)"}"#.utf8)
        }
        let raw = String(decoding: [UInt8(ascii: "a"), control, UInt8(ascii: "b")], as: UTF8.self)
        #expect(throws: ProtocolError(.malformed)) { try codec.decode(chat(raw), as: ClientMessage.self) }
        let escaped = try codec.decode(chat(String(format: "a\\u%04x\\\\b", control)), as: ClientMessage.self)
        guard case .sendChat(let request) = escaped.body else { Issue.record("not a chat send: \(escaped)"); return }
        #expect(request.text.hasPrefix("a") && request.text.hasSuffix("\\b"), "\(request.text.debugDescription)")
        let between = String(decoding: [UInt8(ascii: "{"), control] + Array(#""v":1,"type":"ping","id":"p1"}"#.utf8), as: UTF8.self)
        if [0x09, 0x0A, 0x0D].contains(control) {
            #expect(throws: Never.self) { try codec.decode(Data(between.utf8), as: ClientMessage.self) }
        } else {
            #expect(throws: ProtocolError(.malformed)) { try codec.decode(Data(between.utf8), as: ClientMessage.self) }
        }
    }

    @Test("a refusal quotes no control character or bidi override the sender put in a value")
    func refusalQuotesPrintably() {
        let error = Self.clientError(
            #"{"v":1,"type":"chat.send","id":"c1","target":{"kind":"r\u001b[2J\u202e\noles"},"text":"x"}"#)
        #expect(error?.code == .invalidMessage)
        #expect(error?.requestID == "c1")
        let message = error?.codedError.message ?? ""
        #expect(message.hasPrefix("target.kind: "), "\(message)")
        #expect(message.contains("r[2Joles"), "\(message)")
        #expect(message.unicodeScalars.allSatisfy { (0x20..<0x7F).contains($0.value) }, "\(message.debugDescription)")
    }

    @Test("deep nesting is refused, not a stack overflow")
    func deepNesting() {
        let deep =
            "{\"v\":1,\"type\":\"ping\",\"id\":\"d\",\"x\":" + String(repeating: "[", count: 30_000)
            + String(repeating: "]", count: 30_000) + "}"
        #expect(deep.utf8.count < ProtocolLimits.maximumClientMessageBytes)
        #expect(Self.clientError(deep)?.code == .malformedMessage)
    }

    @Test("a client message over 64 KiB is refused before parsing")
    func oversized() {
        let padding = String(repeating: "a", count: ProtocolLimits.maximumClientMessageBytes)
        let text = #"{"v":1,"type":"chat.send","id":"big","target":{"kind":"broadcast"},"text":"\#(padding)"}"#
        let error = Self.clientError(text)
        #expect(error == ProtocolError(.tooLarge(byteCount: text.utf8.count, limit: 65_536)))
        #expect(error?.code == .messageTooLarge)
        // Refused unparsed, so even garbage of that size gets the same answer.
        let garbage = Data(repeating: 0x5B, count: 65_537)
        #expect(throws: ProtocolError(.tooLarge(byteCount: 65_537, limit: 65_536))) {
            try codec.decode(garbage, as: ClientMessage.self)
        }
    }

    @Test("a client message of exactly 64 KiB is accepted")
    func exactlyAtLimit() throws {
        let head = #"{"v":1,"type":"ping","id":"edge"}"#
        let text = head + String(repeating: " ", count: ProtocolLimits.maximumClientMessageBytes - head.utf8.count)
        #expect(text.utf8.count == 65_536)
        #expect(try decodeClient(text) == ClientMessage(id: "edge", .ping))
    }

    @Test("server messages may be larger than client ones")
    func serverLimit() throws {
        let peers = (0..<1_000).map { index in
            PeerInfo(
                id: PeerID(rawValue: "peer-\(index)")!, name: "Participant number \(index)", role: "listener",
                joinedAt: Samples.t0, tracks: [TrackInfo(id: TrackID(rawValue: "peer-\(index):mic")!, muted: true)])
        }
        var joined = Samples.joined
        joined.peers = peers
        let data = codec.encode(ServerMessage(id: "c1", .joined(joined)))
        #expect(data.count > ProtocolLimits.maximumClientMessageBytes)
        let decoded: ServerMessage = try codec.decode(data)
        #expect(decoded == ServerMessage(id: "c1", .joined(joined)))
    }

    @Test("another protocol version is refused with the request id")
    func unsupportedVersion() {
        #expect(
            Self.clientError(#"{"v":2,"type":"ping","id":"c1"}"#)
                == ProtocolError(.unsupportedVersion(2), requestID: "c1"))
        #expect(Self.clientError(#"{"v":0,"type":"ping","id":"c1"}"#)?.code == .unsupportedVersion)
    }

    static let envelopeFaults: [(String, String)] = [
        (#"{"type":"ping","id":"c1"}"#, "v"),
        (#"{"v":"1","type":"ping","id":"c1"}"#, "v"),
        (#"{"v":1.5,"type":"ping","id":"c1"}"#, "v"),
        (#"{"v":1,"id":"c1"}"#, "type"),
        (#"{"v":1,"type":7,"id":"c1"}"#, "type"),
        (#"{"v":1,"type":null,"id":"c1"}"#, "type"),
    ]

    @Test("a missing or mistyped v or type is an invalid message naming the field", arguments: envelopeFaults)
    func envelopeFault(text: String, field: String) {
        Self.expectInvalidMessage(text, naming: field)
    }

    /// `text` is refused as an invalid message that names `field`, with the request id.
    static func expectInvalidMessage(_ text: String, naming field: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = clientError(text)
        #expect(error?.code == .invalidMessage, sourceLocation: sourceLocation)
        #expect(error?.requestID == "c1", sourceLocation: sourceLocation)
        if case .invalidMessage(let reportedField, _) = error?.reason {
            #expect(reportedField == field, sourceLocation: sourceLocation)
        } else {
            Issue.record("expected invalidMessage, got \(String(describing: error))", sourceLocation: sourceLocation)
        }
    }

    @Test("a client message without an id is refused")
    func missingID() {
        #expect(Self.clientError(#"{"v":1,"type":"ping"}"#) == ProtocolError(.missingRequestID))
        #expect(Self.clientError(#"{"v":1,"type":"ping","id":null}"#) == ProtocolError(.missingRequestID))
    }

    static let badIDs = [
        #""""#, #""has space""#, #""\u001b[31m""#, "42", "{}", #""\#(String(repeating: "x", count: 65))""#,
    ]

    @Test("an id of the wrong form is invalid and not echoed", arguments: badIDs)
    func badID(id: String) {
        let error = Self.clientError(#"{"v":1,"type":"ping","id":\#(id)}"#)
        #expect(error?.code == .invalidMessage)
        #expect(error?.requestID == nil)
    }

    static let payloadFaults: [(String, String)] = [
        (#"{"v":1,"type":"join","id":"c1","token":"t"}"#, "room"),
        (#"{"v":1,"type":"join","id":"c1","room":"../etc","token":"t"}"#, "room"),
        (#"{"v":1,"type":"join","id":"c1","room":"..","token":"t"}"#, "room"),
        (#"{"v":1,"type":"join","id":"c1","room":"r","token":"t","historyLimit":201}"#, "historyLimit"),
        (#"{"v":1,"type":"join","id":"c1","room":"r","publicKey":"c2hvcnQ="}"#, "publicKey"),
        (#"{"v":1,"type":"chat.send","id":"c1","text":"hi"}"#, "target"),
        (#"{"v":1,"type":"chat.send","id":"c1","target":{"kind":"everyone"},"text":"hi"}"#, "target.kind"),
        (
            #"{"v":1,"type":"chat.send","id":"c1","target":{"kind":"peers","peers":["ok","bad id"]},"text":"x"}"#,
            "target.peers[1]"
        ),
        (#"{"v":1,"type":"chat.send","id":"c1","target":{"kind":"roles"},"text":"x"}"#, "target.roles"),
        (#"{"v":1,"type":"chat.send","id":"c1","target":{"kind":"broadcast"},"text":5}"#, "text"),
        (#"{"v":1,"type":"chat.history","id":"c1","limit":0}"#, "limit"),
        (#"{"v":1,"type":"chat.history","id":"c1","after":-1}"#, "after"),
        (#"{"v":1,"type":"track.mute","id":"c1"}"#, "track"),
        (#"{"v":1,"type":"prompt.answer","id":"c1","prompt":"p1","accept":"yes"}"#, "accept"),
        (#"{"v":1,"type":"peer.update","id":"c1"}"#, ""),
        (#"{"v":1,"type":"resume","id":"c1","room":"r","resumeToken":"t","lastSeenSequence":-5}"#, "lastSeenSequence"),
        (
            #"{"v":1,"type":"keys.publish","id":"c1","track":"a:mic","epoch":1,"keys":[{"peer":"b","sealed":"!!"}]}"#,
            "keys[0].sealed"
        ),
    ]

    @Test("a bad payload is an invalid message naming the field, with the request id", arguments: payloadFaults)
    func payloadFault(text: String, field: String) {
        Self.expectInvalidMessage(text, naming: field)
    }

    @Test("chat targets are bounded: at most 100 peers, 16 roles")
    func targetBounds() {
        let peers = (0...100).map { "\"p\($0)\"" }.joined(separator: ",")
        let error = Self.clientError(
            #"{"v":1,"type":"chat.send","id":"c1","target":{"kind":"peers","peers":[\#(peers)]},"text":"x"}"#)
        #expect(error?.code == .invalidMessage)
        let roles = (0...16).map { "\"r\($0)\"" }.joined(separator: ",")
        #expect(
            Self.clientError(
                #"{"v":1,"type":"chat.send","id":"c1","target":{"kind":"roles","roles":[\#(roles)]},"text":"x"}"#)?.code
                == .invalidMessage)
    }

    @Test("speaker levels outside 0...100 are refused")
    func speakerLevelRange() {
        #expect(
            Self.serverError(#"{"v":1,"type":"speakers","speakers":[{"peer":"a","track":"a:mic","level":101}]}"#)?.code
                == .invalidMessage)
    }

    @Test("a sequence number beyond 0...2^53 is refused (a client adds to it); within, the same message is read",
          arguments: [
            (#"{"v":1,"type":"chat.message","message":{"id":"m1","seq":SEQ,"sentAt":1,"from":"a","fromName":"A","fromRole":"host","target":{"kind":"broadcast"},"text":"x"}}"#,
             "9223372036854775807"),
            (#"{"v":1,"type":"chat.ack","id":"c1","message":"m1","seq":SEQ,"sentAt":1}"#, "-1"),
          ])
    func sequenceRange(_ template: String, _ outOfRange: String) {
        #expect(Self.serverError(template.replacingOccurrences(of: "SEQ", with: outOfRange))?.code == .invalidMessage)
        #expect(Self.serverError(template.replacingOccurrences(of: "SEQ", with: "43")) == nil)
    }

    @Test("a rate figure outside 1...1,000,000 is refused where a rate is read")
    func rateRange() throws {
        let decoder = JSONDecoder()
        #expect(throws: DecodingError.self) {
            try decoder.decode(RateLimit.self, from: Data(#"{"perSecond":1,"burst":10000000000000000}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try decoder.decode(RateLimit.self, from: Data(#"{"perSecond":0,"burst":1}"#.utf8))
        }
        #expect(try decoder.decode(RateLimit.self, from: Data(#"{"perSecond":1000000,"burst":1}"#.utf8)).perSecond == 1_000_000)
    }

    @Test("an error message names only printable text from the input")
    func errorMessageIsPrintable() {
        let error = Self.clientError(#"{"v":1,"type":"\u001b]52;c;aGk=\u0007x","id":"c1"}"#)
        let message = error?.codedError.message ?? ""
        #expect(message.unicodeScalars.allSatisfy { (0x20..<0x7F).contains($0.value) })
        #expect(error?.code == .unknownType)
    }

    @Test("a random mutation of valid messages never crashes the decoder")
    func mutations() {
        var generator = SeededRandom(seed: 0x5EED_C0FFEE)
        var decoded = 0
        var refused = 0
        for message in Samples.client {
            let original = [UInt8](codec.encode(message))
            for _ in 0..<200 {
                var bytes = original
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    let index = Int.random(in: 0..<bytes.count, using: &generator)
                    bytes[index] = UInt8.random(in: 0...255, using: &generator)
                }
                do {
                    _ = try codec.decode(Data(bytes), as: ClientMessage.self)
                    decoded += 1
                } catch {
                    refused += 1
                }
            }
        }
        // Both outcomes must be common, or the mutations are not reaching the decoder.
        #expect(decoded > 30)
        #expect(refused > 1_000)
    }
}
