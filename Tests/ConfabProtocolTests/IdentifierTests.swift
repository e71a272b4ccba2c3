import ConfabProtocol
import Foundation
import Testing

@Suite("Identifiers are validated on the way in")
struct IdentifierTests {
    static let validRooms = ["standup", "a", "Team-42", "q3.planning", "x_y", String(repeating: "r", count: 64), "..."]
    static let invalidRooms = [
        "", ".", "..", "has space", "slash/inside", "ünïcode", "tab\t", String(repeating: "r", count: 65), "a:b",
        "\u{1B}[2J", "semi;colon",
    ]

    @Test("room names of [A-Za-z0-9._-]{1,64} are valid", arguments: validRooms)
    func validRoom(name: String) {
        #expect(RoomName(rawValue: name)?.rawValue == name)
    }

    @Test("other room names, and . and .., are not", arguments: invalidRooms)
    func invalidRoom(name: String) {
        #expect(RoomName(rawValue: name) == nil)
    }

    @Test("peer ids allow e-mail addresses but not the track separator")
    func peerIDs() {
        #expect(PeerID(rawValue: "alice@example.com") != nil)
        #expect(PeerID(rawValue: "bob+test") != nil)
        #expect(PeerID(rawValue: "a:b") == nil)
        #expect(PeerID(rawValue: String(repeating: "p", count: 64)) != nil)
        #expect(PeerID(rawValue: String(repeating: "p", count: 65)) == nil)
    }

    @Test("a microphone track id is the peer id and :mic, and is itself valid")
    func microphoneTrack() {
        let track = TrackID.microphone(of: "alice@example.com")
        #expect(track.rawValue == "alice@example.com:mic")
        #expect(TrackID(rawValue: track.rawValue) == track)
        let longest = TrackID.microphone(of: PeerID(rawValue: String(repeating: "p", count: 64))!)
        #expect(TrackID.isValid(longest.rawValue))
    }

    @Test("role names are at most 32 characters")
    func roleNames() {
        #expect(RoleName(rawValue: String(repeating: "r", count: 32)) != nil)
        #expect(RoleName(rawValue: String(repeating: "r", count: 33)) == nil)
        #expect(RoleName(rawValue: "co-host") != nil)
    }

    @Test("request ids fit counters and UUIDs")
    func requestIDs() {
        #expect(RequestID(rawValue: "c1") != nil)
        #expect(RequestID(rawValue: UUID().uuidString) != nil)
        #expect(RequestID(rawValue: "c 1") == nil)
    }

    @Test("identifiers encode as bare JSON strings")
    func encoding() throws {
        let data = try JSONEncoder().encode(["room": RoomName("standup")])
        #expect(String(decoding: data, as: UTF8.self) == #"{"room":"standup"}"#)
    }

    @Test("an invalid identifier fails decoding without echoing the input")
    func decodingFailure() {
        do {
            _ = try JSONDecoder().decode([PeerID].self, from: Data(#"["\u001b]0;pwned\u0007"]"#.utf8))
            Issue.record("decoded an invalid peer id")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(!context.debugDescription.contains("pwned"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("timestamps are non-negative integers up to 2^53")
    func timestamps() throws {
        let decoder = JSONDecoder()
        #expect(try decoder.decode([Timestamp].self, from: Data("[0, 1763000000000]".utf8)).count == 2)
        #expect(throws: DecodingError.self) { try decoder.decode([Timestamp].self, from: Data("[-1]".utf8)) }
        #expect(throws: DecodingError.self) {
            try decoder.decode([Timestamp].self, from: Data("[9007199254740993]".utf8))
        }
        #expect(
            Timestamp(millisecondsSince1970: 10).adding(milliseconds: 5).milliseconds(
                since: Timestamp(millisecondsSince1970: 10)) == 5)
    }

    @Test("X25519 public keys are base64 of exactly 32 bytes")
    func publicKeys() {
        #expect(X25519PublicKey(base64: Data(count: 32).base64EncodedString()) != nil)
        #expect(X25519PublicKey(base64: Data(count: 31).base64EncodedString()) == nil)
        #expect(X25519PublicKey(base64: "not base64!") == nil)
    }
}
