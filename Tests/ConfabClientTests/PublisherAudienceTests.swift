// Who decides whether a publisher may send RED: every peer that hears it,
// announced (by role) or quiet, must have declared "red" at join.

@testable import ConfabClient
import ConfabProtocol
import Foundation
import Testing

@Suite("Publisher audience: RED only while everyone who hears the publisher plays it")
struct PublisherAudienceTests {
    static let t0 = Timestamp(millisecondsSince1970: 1_763_000_000_000)
    static let room = RoomInfo(
        name: "r", startedAt: t0,
        roles: [
            role("host", publishes: true, hears: ["host", "speaker"]),
            role("speaker", publishes: true, hears: ["host", "speaker"]),
            role("listener", publishes: false, hears: ["host", "speaker"]),
            role("backstage", publishes: false, hears: ["backstage"]),
        ])

    static func role(_ name: RoleName, publishes: Bool, hears: [RoleName]) -> Role {
        Role(name: name, priority: 0, publishAudio: publishes, subscribesTo: hears, chat: .none, permissions: .none)
    }

    static func key(_ byte: UInt8) -> X25519PublicKey { X25519PublicKey(rawRepresentation: Data(repeating: byte, count: 32))! }

    static func peer(_ id: PeerID, _ role: RoleName, key: UInt8? = 1, receives: AudioPayloadFormats? = .red) -> PeerInfo {
        PeerInfo(
            id: id, name: id.rawValue, role: role, joinedAt: t0, handRaisedAt: nil, publicKey: key.map(Self.key),
            receives: receives)
    }

    func audience(_ peers: [PeerInfo], quiet: [Hearer] = [], roomHasAudience: Bool = true) -> PublisherAudience {
        PublisherAudience(
            publisher: "alice", role: "host", room: Self.room, peers: peers,
            quiet: Dictionary(uniqueKeysWithValues: quiet.map { ($0.peer, $0) }), roomHasAudience: roomHasAudience)
    }

    @Test("everyone who hears the host declared red: RED may go out, as the loss calls for")
    func allPlayRED() {
        let audience = audience([Self.peer("bob", "speaker"), Self.peer("carol", "listener")])
        #expect(Set(audience.keys.keys) == ["bob", "carol"])
        #expect(audience.withoutRED.isEmpty)
        #expect(PublisherAudience.redundantFrames(wanted: 2, hearersWithoutRED: audience.withoutRED.count) == 2)
    }

    @Test("one listener that declared nothing (an older client) turns RED off for everyone")
    func oneOldListener() {
        let audience = audience([
            Self.peer("bob", "speaker"), Self.peer("carol", "listener", receives: nil),
            Self.peer("dave", "listener", receives: []),
        ])
        #expect(audience.withoutRED == ["carol", "dave"])
        #expect(PublisherAudience.redundantFrames(wanted: 2, hearersWithoutRED: audience.withoutRED.count) == 0)
        #expect(PublisherAudience.redundantFrames(wanted: 1, hearersWithoutRED: 1) == 0)
        #expect(PublisherAudience.redundantFrames(wanted: 0, hearersWithoutRED: 0) == 0, "no loss, no RED anyway")
    }

    @Test("peers that do not hear the publisher's role, or cannot get its key, do not count")
    func onlyHearersCount() {
        let audience = audience([
            Self.peer("eve", "backstage", receives: nil),
            Self.peer("frank", "listener", key: nil, receives: nil),
            Self.peer("bob", "speaker"),
        ])
        #expect(Set(audience.keys.keys) == ["bob"])
        #expect(audience.withoutRED.isEmpty, "backstage hears no host; a peer without a public key decrypts nothing")
    }

    @Test("a quiet hearer of a large room counts like an announced one")
    func quietHearers() {
        let old = audience([Self.peer("bob", "speaker")], quiet: [Hearer(peer: "q1", publicKey: Self.key(2))])
        #expect(old.withoutRED == ["q1"])
        let new = audience(
            [Self.peer("bob", "speaker")], quiet: [Hearer(peer: "q1", publicKey: Self.key(2), receives: .red)])
        #expect(new.withoutRED.isEmpty)
        #expect(Set(new.keys.keys) == ["bob", "q1"])
    }

    @Test("in a room without an audience a server's hearers list gets no key: no recipient the screen does not show")
    func noHiddenRecipients() {
        let quiet = [Hearer(peer: "mallory", publicKey: Self.key(9), receives: .red)]
        #expect(Set(audience([Self.peer("bob", "speaker")], quiet: quiet, roomHasAudience: false).keys.keys) == ["bob"])
        #expect(Set(audience([Self.peer("bob", "speaker")], quiet: quiet).keys.keys) == ["bob", "mallory"])
    }

    @Test("a newcomer: whether it hears the publisher, and whether it plays RED")
    func newcomer() {
        #expect(PublisherAudience.newcomer(Self.peer("carol", "listener", receives: nil), hears: "host", in: Self.room)?.playsRED == false)
        #expect(PublisherAudience.newcomer(Self.peer("bob", "speaker"), hears: "host", in: Self.room)?.playsRED == true)
        #expect(PublisherAudience.newcomer(Self.peer("eve", "backstage"), hears: "host", in: Self.room) == nil)
    }
}
