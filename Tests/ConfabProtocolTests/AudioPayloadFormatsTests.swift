import ConfabProtocol
import ConfabTestSupport
import Foundation
import Testing

@Suite("receives: the audio formats a client plays, on the wire")
struct AudioPayloadFormatsTests {
    static let key = X25519PublicKey(rawRepresentation: Data(repeating: 7, count: 32))!

    @Test("join declares red; a name this version does not know is ignored, not refused")
    func joinDeclares() throws {
        let message = try decodeClient(#"{"v":1,"type":"join","id":"j","room":"r","token":"t","receives":["red","lyra"]}"#)
        guard case .join(let join) = message.body else { throw ToolError("not a join") }
        #expect(join.receives == .red)
        #expect(join.receives.playsRED)
        let unknownOnly = try decodeClient(#"{"v":1,"type":"join","id":"j","room":"r","token":"t","receives":["lyra"]}"#)
        guard case .join(let other) = unknownOnly.body else { throw ToolError("not a join") }
        #expect(other.receives == [])
        #expect(!other.receives.playsRED)
    }

    @Test("a join without receives (an older or outside client) plays no RED, and encodes without the field")
    func absentMeansOpusOnly() throws {
        let message = try decodeClient(#"{"v":1,"type":"join","id":"j","room":"r","token":"t"}"#)
        guard case .join(let join) = message.body else { throw ToolError("not a join") }
        #expect(join.receives == nil)
        #expect(!join.receives.playsRED)
        let text = String(decoding: codec.encode(message), as: UTF8.self)
        #expect(!text.contains("receives"))
    }

    @Test("peers and quiet hearers carry what they declared, and round-trip")
    func peerAndHearer() throws {
        let text =
            #"{"v":1,"type":"hearers","added":[{"peer":"lee","publicKey":"\#(Self.key.base64)","receives":["red"]},{"peer":"kim","publicKey":"\#(Self.key.base64)"}]}"#
        let message = try decodeServer(text)
        guard case .hearers(let update) = message.body else { throw ToolError("not hearers") }
        #expect(update.added.map(\.receives.playsRED) == [true, false])
        let encoded = String(decoding: codec.encode(message), as: UTF8.self)
        #expect(encoded.contains(#""receives":["red"]"#))
        #expect(try decodeServer(encoded) == message)
    }

    @Test("a resume may declare again", arguments: [
        (#""receives":["red"],"#, AudioPayloadFormats?.some(.red)), (#""receives":[],"#, .some([])), ("", nil),
    ])
    func resume(field: String, expected: AudioPayloadFormats?) throws {
        let message = try decodeClient(
            #"{"v":1,"type":"resume","id":"j","room":"r",\#(field)"resumeToken":"x","lastSeenSequence":0}"#)
        guard case .resume(let resume) = message.body else { throw ToolError("not a resume") }
        #expect(resume.receives == expected)
    }

    @Test("receives must be a list of at most 16 names", arguments: [
        #"{"v":1,"type":"join","id":"j","room":"r","token":"t","receives":"red"}"#,
        #"{"v":1,"type":"join","id":"j","room":"r","token":"t","receives":[1]}"#,
        #"{"v":1,"type":"join","id":"j","room":"r","token":"t","receives":[\#(Array(repeating: #""red""#, count: 17).joined(separator: ","))]}"#,
    ])
    func refused(text: String) {
        #expect(CodecErrorTests.clientError(text)?.code == .invalidMessage)
    }
}
