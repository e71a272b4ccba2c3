import ConfabProtocol
import Foundation
import Testing

@Suite("hearers and paged keys.publish on the wire")
struct HearersCodecTests {
    static let key = X25519PublicKey(rawRepresentation: Data(repeating: 7, count: 32))!

    static func hearers(_ count: Int, prefix: String = "listener") -> [Hearer] {
        (0..<count).map { Hearer(peer: PeerID(uncheckedRawValue: "\(prefix)\($0)"), publicKey: key) }
    }

    @Test("a hearers message decodes, and round-trips")
    func decodes() throws {
        let text =
            #"{"v":1,"type":"hearers","reset":true,"more":true,"added":[{"peer":"lee","publicKey":"\#(Self.key.base64)"}],"removed":["kim"]}"#
        let message = try decodeServer(text)
        let expected = HearersUpdate(reset: true, more: true, added: [Hearer(peer: "lee", publicKey: Self.key)], removed: ["kim"])
        #expect(message == ServerMessage(.hearers(expected)))
        #expect(try decodeServer(String(decoding: codec.encode(message), as: UTF8.self)) == message)
        // Absent members are false and empty.
        #expect(try decodeServer(#"{"v":1,"type":"hearers","removed":["kim"]}"#) == ServerMessage(.hearers(HearersUpdate(removed: ["kim"]))))
    }

    @Test("more than 500 entries in one message are refused as an invalid message (1004)", arguments: [(501, 0), (300, 201), (0, 501)])
    func tooMany(added: Int, removed: Int) throws {
        let update = HearersUpdate(
            added: Self.hearers(added), removed: (0..<removed).map { PeerID(uncheckedRawValue: "gone\($0)") })
        let text = String(decoding: codec.encode(ServerMessage(.hearers(update))), as: UTF8.self)
        let error = CodecErrorTests.serverError(text)
        #expect(error?.code == .invalidMessage)
        #expect(error?.codedError.code.rawValue == 1004)
    }

    @Test("a bad public key or peer id is refused, naming the field", arguments: [
        #"{"v":1,"type":"hearers","added":[{"peer":"lee","publicKey":"c2hvcnQ="}]}"#,
        #"{"v":1,"type":"hearers","added":[{"peer":"lee"}]}"#,
        #"{"v":1,"type":"hearers","removed":["no spaces allowed"]}"#,
        #"{"v":1,"type":"hearers","removed":"kim"}"#,
        #"{"v":1,"type":"hearers","reset":"yes"}"#,
    ])
    func badInput(text: String) {
        let error = CodecErrorTests.serverError(text)
        #expect(error?.code == .invalidMessage, "\(text)")
    }

    @Test("a long list is cut into pages of 500: reset on the first, more on all but the last")
    func pages() throws {
        let pages = HearersUpdate.pages(added: Self.hearers(1_100), removed: ["gone"], reset: true)
        #expect(pages.map(\.added.count) == [500, 500, 100])
        #expect(pages.map(\.removed.count) == [0, 0, 1])
        #expect(pages.map(\.reset) == [true, false, false])
        #expect(pages.map(\.more) == [true, true, false])
        #expect(Set(pages.flatMap(\.added)).count == 1_100)
        // Every page decodes (within the limit).
        for page in pages { #expect(try decodeServer(String(decoding: codec.encode(ServerMessage(.hearers(page))), as: UTF8.self)).type == .hearers) }
        // An empty whole list is still said (it clears the old one); no change says nothing.
        #expect(HearersUpdate.pages(added: [], removed: [], reset: true) == [HearersUpdate(reset: true)])
        #expect(HearersUpdate.pages(added: [], removed: [], reset: false).isEmpty)
    }

    @Test("a key sealed to thousands is cut into keys.publish pages each within 64 KiB", arguments: [1, 399, 2_000, 10_000])
    func keysPages(recipients: Int) throws {
        // HPKE's sealed SRTP key: 32 bytes encapsulated, 30 of key and salt, 16 of tag.
        let keys = (0..<recipients).map {
            SealedKey(
                peer: PeerID(uncheckedRawValue: "listener-with-a-long-identity-of-64-characters-\(String(format: "%016d", $0))"),
                sealed: Data(repeating: UInt8($0 % 251), count: 78))
        }
        let one = ClientMessage(id: "k1", .publishKeys(PublishKeysRequest(track: "alice:mic", epoch: 7, keys: keys, ssrc: 99)))
        let pages = PublishKeysRequest.pages(track: "alice:mic", epoch: 7, ssrc: 99, keys: keys)
        var delivered: [SealedKey] = []
        for (index, page) in pages.enumerated() {
            let bytes = codec.encode(ClientMessage(id: RequestID(rawValue: "k\(index)")!, .publishKeys(page)))
            #expect(bytes.count <= ProtocolLimits.maximumClientMessageBytes)
            // The server's decoder takes it, epoch and SSRC the same on every page.
            let decoded: ClientMessage = try codec.decode(bytes)
            #expect(decoded.body == .publishKeys(page))
            #expect(page.epoch == 7 && page.ssrc == 99)
            delivered += page.keys
        }
        #expect(delivered == keys, "every recipient exactly once, in order")
        if codec.encode(one).count > ProtocolLimits.maximumClientMessageBytes {
            #expect(pages.count > 1)
        } else {
            #expect(pages.count == 1)
        }
        #expect(recipients < 2_000 || pages.count >= 6, "an entry is about 170 bytes here: under 400 a page")
    }
}
