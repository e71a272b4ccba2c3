// Meeting codes in both storage engines: a use is taken once and never past
// the limit, even by many exchanges at once; revoked and expired codes give none.
// Revoked admin tokens are kept in both engines until the tokens expire.

import ConfabProtocol
import ConfabTestSupport
import Foundation
import Testing

@testable import ConfabServer

@Suite("Meeting codes in the store", .serialized)
struct MeetingCodeStoreTests {
    static func code(_ text: String, uses: Int?, expiresAt: Timestamp? = nil) -> StoredMeetingCode {
        StoredMeetingCode(
            code: text, room: room, role: RoleName(uncheckedRawValue: "speaker"), maxUses: uses, used: 0,
            expiresAt: expiresAt, createdAt: Timestamp(millisecondsSince1970: 1_700_000_000_000), createdBy: "ops",
            revokedAt: nil)
    }

    @Test("revoked admin tokens in the store: kept until they expire, then forgotten", arguments: StorageEngine.allCases)
    func revokedAdminTokens(engine: StorageEngine) async throws {
        try await withStore(engine) { store in
            let list = try #require(store as? any AdminTokenDenyList)
            try await list.prepareRevokedTokens()
            try await list.prepareRevokedTokens()
            let now = Timestamp.now()
            let nowSeconds = now.millisecondsSince1970 / 1_000
            #expect(try await list.isAdminTokenRevoked(id: "t1") == false)
            try await list.revokeAdminToken(id: "t1", subject: "mallory", expiresAt: nowSeconds + 60, by: "ops", now: now)
            try await list.revokeAdminToken(id: "t1", subject: "mallory", expiresAt: nowSeconds + 60, by: "ops", now: now)
            try await list.revokeAdminToken(id: "t2", subject: "old", expiresAt: nowSeconds + 1, by: "ops", now: now)
            #expect(try await list.isAdminTokenRevoked(id: "t1"))
            #expect(try await list.isAdminTokenRevoked(id: "t2"))
            // A later revocation forgets those whose tokens expired meanwhile.
            try await list.revokeAdminToken(
                id: "t3", subject: "x", expiresAt: nowSeconds + 60, by: "ops", now: now.adding(milliseconds: 2_000))
            #expect(try await list.isAdminTokenRevoked(id: "t2") == false, "expired: nothing left to refuse")
            #expect(try await list.isAdminTokenRevoked(id: "t1"))
            #expect(try await list.isAdminTokenRevoked(id: "t3"))
        }
    }

    @Test("twenty exchanges at once of a code good for three: exactly three get a use", arguments: StorageEngine.allCases)
    func lastUseOnce(engine: StorageEngine) async throws {
        try await withStore(engine) { store in
            let codes = try #require(store as? any MeetingCodeStore)
            try await codes.prepareMeetingCodes()
            // Preparing twice (a restart) keeps what is there.
            #expect(try await codes.insertCode(Self.code("abcdefghjkmn", uses: 3)))
            try await codes.prepareMeetingCodes()
            #expect(try await codes.insertCode(Self.code("abcdefghjkmn", uses: 9)) == false, "a code is unique")
            let now = Timestamp.now()
            let taken = try await withThrowingTaskGroup(of: Int?.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await codes.takeUse(of: "abcdefghjkmn", room: room, now: now)?.used }
                }
                return try await group.reduce(into: [Int]()) { if let used = $1 { $0.append(used) } }
            }
            #expect(taken.sorted() == [1, 2, 3])
            #expect(try await codes.code("abcdefghjkmn")?.state(at: now) == .usedUp)
        }
    }

    @Test("a revoked, expired, unknown or other room's code gives no use; the room's codes list newest first", arguments: StorageEngine.allCases)
    func noUse(engine: StorageEngine) async throws {
        try await withStore(engine) { store in
            let codes = try #require(store as? any MeetingCodeStore)
            try await codes.prepareMeetingCodes()
            let now = Timestamp.now()
            var older = Self.code("aaaaaaaaaaaa", uses: nil, expiresAt: now.adding(milliseconds: -1))
            older.createdAt = now.adding(milliseconds: -5_000)
            _ = try await codes.insertCode(older)
            var newer = Self.code("bbbbbbbbbbbb", uses: nil)
            newer.createdAt = now
            _ = try await codes.insertCode(newer)
            #expect(try await codes.takeUse(of: "aaaaaaaaaaaa", room: room, now: now) == nil, "expired")
            #expect(try await codes.code("aaaaaaaaaaaa")?.state(at: now) == .expired)
            #expect(try await codes.revokeCode("bbbbbbbbbbbb", room: RoomName(uncheckedRawValue: "other"), at: now) == false)
            #expect(try await codes.takeUse(of: "bbbbbbbbbbbb", room: RoomName(uncheckedRawValue: "other"), now: now) == nil)
            #expect(try await codes.takeUse(of: "bbbbbbbbbbbb", room: room, now: now)?.used == 1)
            #expect(try await codes.revokeCode("bbbbbbbbbbbb", room: room, at: now))
            #expect(try await codes.revokeCode("bbbbbbbbbbbb", room: room, at: now) == false, "once")
            #expect(try await codes.takeUse(of: "bbbbbbbbbbbb", room: room, now: now) == nil, "revoked")
            #expect(try await codes.takeUse(of: "cccccccccccc", room: room, now: now) == nil, "unknown")
            let listed = try await codes.codes(room: room)
            #expect(listed.map(\.code) == ["bbbbbbbbbbbb", "aaaaaaaaaaaa"])
            #expect(listed[0].revokedAt == now && listed[0].used == 1 && listed[0].maxUses == nil)
            #expect(listed[1].expiresAt == now.adding(milliseconds: -1) && listed[1].createdBy == "ops")
        }
    }
}
