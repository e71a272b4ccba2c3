// Meeting codes through the management API (docs/ADMIN.md, "Meeting codes"):
//
//   admin ─▶ POST   /api/v1/rooms/{room}/codes        {role, uses?, expiresInSeconds?} ─▶ 201 the code
//         ─▶ GET    /api/v1/rooms/{room}/codes        ─▶ every code of the room, with its state
//         ─▶ DELETE /api/v1/rooms/{room}/codes/{code} ─▶ 204 revoked
//   anyone with the code (no admin token) ─▶ POST /api/v1/rooms/{room}/join {code, name}
//         ─▶ one use taken in the store ─▶ 200 a room token for the code's role, a fresh identity
//         ─▶ 404 2010 codeNotFound │ 410 2011 codeRevoked, 2012 codeExpired, 2013 codeUsedUp
//
// A code is 12 characters from a 31-letter alphabet (about 59 bits): far too
// many to guess through HTTPS requests. Failed exchanges are still limited per
// source address (CodeExchangeLimiter.swift), so a guesser is slowed to a
// crawl and shows up as 429s.

import ConfabProtocol
import ConfabRooms
import Foundation

extension AdminAPI {
    /// How long a token from a code lasts: a meeting's length, as `confab token`'s
    /// default. A rejoin after that (not a resume) needs the code again.
    static let codeTokenSeconds: Int64 = 2 * 3_600
    /// The longest a code may last, and the most uses it may allow.
    static let maximumCodeSeconds = 366 * 86_400
    static let maximumCodeUses = 1_000_000

    func createCode(_ call: Call) async throws(CodedError) -> Reply {
        let room = try Self.room(call)
        guard !CallRoomDirectory.isCallRoomName(room) else {
            throw CodedError(.invalidMessage, "room names starting with \(CallRoomDirectory.prefix) are kept for calls")
        }
        let request = try AdminJSON.decode(AdminCreateCode.self, from: call.body)
        let template = await registry.existingHost(for: room)?.roomTemplate ?? configuration.template(for: room)
        guard template.roles.contains(where: { $0.name == request.role }) else {
            let roles = template.roles.map(\.name.rawValue).joined(separator: ", ")
            throw CodedError(.roleNotFound, "room \(room) has no role \(request.role) (its roles: \(roles))")
        }
        if let uses = request.uses, !(1...Self.maximumCodeUses).contains(uses) {
            throw CodedError(.invalidMessage, "uses must be 1 to \(Self.maximumCodeUses)")
        }
        if let seconds = request.expiresInSeconds, !(1...Self.maximumCodeSeconds).contains(seconds) {
            throw CodedError(.invalidMessage, "expiresInSeconds must be 1 to \(Self.maximumCodeSeconds) (a year)")
        }
        let store = try codeStore()
        let now = Timestamp.now()
        // A clash of 59 random bits is all but impossible; a few tries settle it anyway.
        for _ in 0..<3 {
            let code = StoredMeetingCode(
                code: Self.makeCode(), room: room, role: request.role, maxUses: request.uses, used: 0,
                expiresAt: request.expiresInSeconds.map { now.adding(milliseconds: $0 * 1_000) }, createdAt: now,
                createdBy: call.admin?.subject ?? "", revokedAt: nil)
            if try await Self.storing({ () async throws(StorageError) in try await store.insertCode(code) }) {
                return .json(.created, code.info(at: now))
            }
        }
        throw CodedError(.internalError, "cannot make a unique code")
    }

    func listCodes(_ call: Call) async throws(CodedError) -> Reply {
        let room = try Self.room(call)
        let store = try codeStore()
        let codes = try await Self.storing { () async throws(StorageError) in try await store.codes(room: room) }
        let now = Timestamp.now()
        return .json(.ok, MeetingCodeList(codes: codes.map { $0.info(at: now) }))
    }

    func revokeCode(_ call: Call) async throws(CodedError) -> Reply {
        let room = try Self.room(call)
        guard let code = call.parameters["code"].flatMap(MeetingCodeFormat.normalize) else {
            throw CodedError(.codeNotFound, "no meeting code \(call.parameters["code"] ?? "") for room \(room)")
        }
        let store = try codeStore()
        let now = Timestamp.now()
        let revoked = try await Self.storing { () async throws(StorageError) in
            try await store.revokeCode(code, room: room, at: now)
        }
        guard revoked else {
            let existing = try await Self.storing { () async throws(StorageError) in try await store.code(code) }
            guard let existing, existing.room == room else {
                throw CodedError(.codeNotFound, "no meeting code \(MeetingCodeFormat.display(code)) for room \(room)")
            }
            throw CodedError(.codeRevoked, "the code was revoked already")
        }
        return .noContent
    }

    /// The exchange: a code (no admin token) for a room token.
    func exchangeCode(_ call: Call) async throws(CodedError) -> Reply {
        let now = Timestamp.now()
        try exchangeLimiter.check(call.source, now: now)
        do throws(CodedError) {
            return try await exchange(call, now: now)
        } catch {
            if error.code == .codeNotFound { exchangeLimiter.recordFailure(call.source, now: now) }
            throw error
        }
    }

    private func exchange(_ call: Call, now: Timestamp) async throws(CodedError) -> Reply {
        let room = try Self.room(call)
        let request = try AdminJSON.decode(CodeExchangeRequest.self, from: call.body)
        let name: String
        do {
            name = try TextSanitizer.sanitize(request.name, policy: .displayName)
        } catch {
            throw CodedError(.emptyName, "the name is empty once sanitised")
        }
        guard let code = MeetingCodeFormat.normalize(request.code) else {
            throw CodedError(.codeNotFound, "no meeting code \(request.code) for room \(room)")
        }
        let store = try codeStore()
        let taken = try await Self.storing { () async throws(StorageError) in
            try await store.takeUse(of: code, room: room, now: now)
        }
        guard let taken else { throw try await refusal(of: code, room: room, now: now, store: store) }
        let peer = Self.guestIdentity(name)
        let issuedAt = now.millisecondsSince1970 / 1_000
        let claims = TokenClaims(
            room: room, peer: peer, name: name, role: taken.role, issuedAt: issuedAt,
            expiresAt: issuedAt + Self.codeTokenSeconds)
        let token: String
        do {
            token = try await tokens.sign(claims)
        } catch {
            throw CodedError(.internalError, error.description)
        }
        return .json(
            .ok,
            CodeExchangeReply(
                token: token, room: room, role: taken.role, peer: peer,
                expiresAt: Timestamp(millisecondsSince1970: (issuedAt + Self.codeTokenSeconds) * 1_000)))
    }

    /// Why a code gave no use: the numbered error for its state.
    private func refusal(of code: String, room: RoomName, now: Timestamp, store: any MeetingCodeStore)
        async throws(CodedError) -> CodedError
    {
        let existing = try await Self.storing { () async throws(StorageError) in try await store.code(code) }
        guard let existing, existing.room == room else {
            return CodedError(.codeNotFound, "no meeting code \(MeetingCodeFormat.display(code)) for room \(room)")
        }
        // Read by whoever tried to join, who cannot fix it but can ask.
        let ask = "; ask whoever sent it for a new one"
        switch existing.state(at: now) {
        case .revoked: return CodedError(.codeRevoked, "this meeting code was revoked" + ask)
        case .expired: return CodedError(.codeExpired, "this meeting code has expired" + ask)
        // Active now but not a moment ago means the last use went to someone else.
        case .usedUp, .active: return CodedError(.codeUsedUp, "this meeting code has been used as often as it allows" + ask)
        }
    }

    private func codeStore() throws(CodedError) -> any MeetingCodeStore {
        guard let store = store as? any MeetingCodeStore else {
            throw CodedError(.storageFailure, "this server's store keeps no meeting codes")
        }
        return store
    }

    private static func room(_ call: Call) throws(CodedError) -> RoomName {
        guard let room = call.parameters["room"].flatMap(RoomName.init(rawValue:)) else {
            throw CodedError(.invalidMessage, "the room name is not valid: \(RoomName.validForm)")
        }
        return room
    }

    private static func storing<T>(_ operation: () async throws(StorageError) -> T) async throws(CodedError) -> T {
        do {
            return try await operation()
        } catch {
            throw CodedError(error.isRetryable ? .storageUnavailable : .storageFailure, "the meeting codes cannot be read or written")
        }
    }

    static func makeCode() -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = MeetingCodeFormat.alphabet
        return String((0..<MeetingCodeFormat.length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// A fresh identity for someone who came with a code: their name's letters
    /// and digits (up to 16) and 6 random ones, so two people of one name differ.
    static func guestIdentity(_ name: String) -> PeerID {
        var stem = ""
        for scalar in name.lowercased().unicodeScalars where stem.unicodeScalars.count < 16 {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) { stem.unicodeScalars.append(scalar) }
        }
        var generator = SystemRandomNumberGenerator()
        let alphabet = MeetingCodeFormat.alphabet
        let suffix = String((0..<6).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
        return PeerID(uncheckedRawValue: (stem.isEmpty ? "guest" : stem) + "-" + suffix)
    }
}

extension RoomHost {
    /// The room's template (roles), for codes made while it is live.
    var roomTemplate: RoomTemplate { room.template }
}

extension ConfabServer {
    /// Makes the meeting code table if the store lacks it; closes the store when it cannot.
    /// Also the revoked admin tokens' table (AdminTokenRevocation.swift).
    static func prepareMeetingCodes(in store: any ServerStore) async throws(SetupError) {
        do {
            if let codes = store as? any MeetingCodeStore { try await codes.prepareMeetingCodes() }
            if let revoked = store as? any AdminTokenDenyList { try await revoked.prepareRevokedTokens() }
        } catch {
            store.close()
            throw SetupError(error.description)
        }
    }
}
