// The server's bookkeeping of whom each publisher must seal its key to,
// stepped without sockets: a town hall's Room, changes noted, flushes read.

@testable import ConfabServer
import ConfabProtocol
import ConfabRooms
import Foundation
import Testing

@Suite("Quiet hearers: what each publisher is told of its audience")
struct QuietHearersTests {
    static let t0 = Timestamp(millisecondsSince1970: 1_763_000_000_000)

    static func key(_ byte: UInt8) -> X25519PublicKey { X25519PublicKey(rawRepresentation: Data(repeating: byte, count: 32))! }

    struct Hall {
        var room = Room(name: "hall", template: .townHall, now: QuietHearersTests.t0)
        var book = QuietHearers()
        var sessions: [PeerID: Int] = [:]
        var clock = 0

        mutating func join(_ peer: PeerID, as role: RoleName, key: UInt8? = 1) throws {
            clock += 1
            let events = try room.join(
                Admission(peer: peer, name: peer.rawValue, role: role, publicKey: key.map(QuietHearersTests.key)),
                now: QuietHearersTests.t0.adding(milliseconds: clock)
            ).events
            sessions[peer] = clock
            book.note(events)
            book.note(peer, arrived: true)
        }

        mutating func apply(_ action: PeerAction, by peer: PeerID) throws {
            clock += 1
            book.note(try room.apply(action, from: peer, now: QuietHearersTests.t0.adding(milliseconds: clock)).events)
        }

        mutating func flush() -> [PeerID: [HearersUpdate]] {
            let sessions = self.sessions
            return Dictionary(grouping: book.flush(room: room) { sessions[$0] }, by: \.to).mapValues { $0.map(\.update) }
        }
    }

    @Test("a speaker joining gets its whole quiet audience once; later arrivals and departures come batched")
    func wholeListThenChanges() throws {
        var hall = Hall()
        try hall.join("hana", as: "host")
        for index in 0..<3 { try hall.join(PeerID(uncheckedRawValue: "lee\(index)"), as: "listener") }
        try hall.join("lou", as: "listener", key: nil)
        #expect(hall.flush().isEmpty == false)  // hana, a host, publishes too
        try hall.join("sam", as: "speaker")
        let first = hall.flush()
        #expect(first["sam"] == [HearersUpdate(reset: true, added: ["lee0", "lee1", "lee2"].map { Hearer(peer: $0, publicKey: Self.key(1)) })],
            "every quiet listener with a key, none without")
        #expect(first["hana"] == nil, "nothing changed for hana")
        #expect(hall.flush().isEmpty, "nothing new, nothing sent")

        try hall.join("lee3", as: "listener", key: 2)
        try hall.apply(.leave, by: "lee0")
        hall.book.note(hall.room.connectionLost("lee1", now: Self.t0.adding(milliseconds: 99)))
        let batch = hall.flush()
        let expected = HearersUpdate(added: [Hearer(peer: "lee3", publicKey: Self.key(2))], removed: ["lee0", "lee1"])
        #expect(batch["sam"] == [expected])
        #expect(batch["hana"] == [expected], "the same update to every publisher of a role that the listeners hear")
    }

    @Test("a listener promoted to speaker leaves the quiet lists and gets its own")
    func promotion() throws {
        var hall = Hall()
        try hall.join("sam", as: "speaker")
        try hall.join("lee", as: "listener")
        try hall.join("lina", as: "listener")
        _ = hall.flush()
        try hall.join("hana", as: "host")
        _ = hall.flush()
        try hall.apply(.changeRole(peer: "lee", role: "speaker", force: true), by: "hana")
        let updates = hall.flush()
        #expect(updates["sam"] == [HearersUpdate(removed: ["lee"])], "announced now: sam knows lee from peer.joined")
        #expect(updates["lee"] == [HearersUpdate(reset: true, added: [Hearer(peer: "lina", publicKey: Self.key(1))])])
    }

    @Test("a thousand quiet arrivals are pages of 500 to a publisher, not a thousand messages")
    func paged() throws {
        var hall = Hall()
        try hall.join("sam", as: "speaker")
        _ = hall.flush()
        for index in 0..<1_001 { try hall.join(PeerID(uncheckedRawValue: "l\(index)"), as: "listener") }
        let pages = try #require(hall.flush()["sam"])
        #expect(pages.map(\.added.count) == [500, 500, 1])
        #expect(pages.map(\.more) == [true, true, false])
        #expect(pages.allSatisfy { !$0.reset })
    }
}
