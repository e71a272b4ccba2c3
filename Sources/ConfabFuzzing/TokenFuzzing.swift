// Tokens a stranger presents: at `join` (room tokens), on the presence
// connection (user tokens) and to the management API (admin tokens). Each
// input is either a token of its own or an edit of a token this server signed,
// checked at a moment the input chooses around the token's lifetime.
//
//   input ─▶ [kind, mode, clock] ─▶ raw text, or edits of a signed token ─▶ verify
//         ─▶ accepted: the signature is HMAC-SHA256 of its own header and payload
//            under the right key (RFC 7515 §5.2), the header says HS256 and no
//            crit, the moment is before exp and not before nbf, what the
//            verifier returns is what the payload says (RFC 7519 §7.2)
//         ─▶ refused:  one of the token family's codes (2001–2006, 2009)
//         ─▶ unchanged and in its lifetime: accepted
//
// The acceptance check is written here against swift-crypto and Foundation,
// not through jwt-kit or the verifier's own helpers, so that it is a second
// opinion rather than the same code run twice.
import ConfabProtocol
import ConfabServer
import Crypto
import Foundation
import Synchronization

enum TokenFuzzing {
    /// Who presents the token.
    enum Kind: CaseIterable {
        case room, user, admin
    }

    private static let secret = [UInt8]("confab fuzzing secret: 32 bytes.".utf8)
    private static let issuedAt: Int64 = 1_800_000_000
    private static let lifetime: Int64 = 3_600
    private static let room = RoomName(rawValue: "standup")!

    /// The verifiers and one signed token of each kind, made once.
    private struct Fixture: Sendable {
        let rooms: TokenAuthority
        let admins: AdminTokenAuthority
        let signed: [String]  // room, user, admin
    }

    private static let fixture: Fixture = blocking {
        let rooms = await TokenAuthority(secret: secret)
        let admins = await AdminTokenAuthority(secret: secret)
        let expiresAt = issuedAt + lifetime
        let roomToken = TokenClaims(
            room: room, peer: PeerID(rawValue: "alice")!, name: "Alice", role: RoleName(rawValue: "host")!,
            issuedAt: issuedAt, expiresAt: expiresAt, notBefore: issuedAt)
        let userToken = TokenClaims(user: PeerID(rawValue: "bob")!, name: "Bob", issuedAt: issuedAt, expiresAt: expiresAt)
        let adminToken = AdminTokenClaims(subject: "ops", issuedAt: issuedAt, expiresAt: expiresAt, id: "0123456789abcdef")
        do {
            let signed = [
                try await rooms.sign(roomToken), try await rooms.sign(userToken), try await admins.sign(adminToken),
            ]
            return Fixture(rooms: rooms, admins: admins, signed: signed)
        } catch {
            fatalError("token fuzzing: cannot sign the seed tokens: \(error)")
        }
    }

    /// The admin key, derived from the secret as the server derives it (docs/ADMIN.md).
    private static let adminKey = SymmetricKey(
        data: Data(HMAC<SHA256>.authenticationCode(for: Data("confab admin token v1".utf8), using: SymmetricKey(data: secret))))

    /// One input's token, who presented it, when, and what the verifier said.
    struct Trial {
        let kind: Kind
        let token: String
        let nowSeconds: Int64
        let outcome: Result<Accepted, CodedError>
    }

    static func trial(_ input: UnsafeRawBufferPointer) -> Trial {
        var reader = ByteReader(input)
        let control = reader.byte() ?? 0
        let kind = Kind.allCases[Int(control & 0x7F) % 3]
        let editsSignedToken = control & 0x80 != 0
        // The moment: from about 18 hours before issue to 18 after expiry, two seconds a step.
        let offset = Int64(Int16(bitPattern: UInt16(reader.byte() ?? 0) << 8 | UInt16(reader.byte() ?? 0)))
        let nowSeconds = issuedAt + lifetime / 2 + offset * 2
        let now = Timestamp(millisecondsSince1970: nowSeconds * 1_000 + 999)
        let token =
            editsSignedToken
            ? edit(signedToken(kind), with: &reader)
            : String(decoding: reader.bytes(ProtocolLimits.maximumTokenBytes), as: UTF8.self)
        return Trial(kind: kind, token: token, nowSeconds: nowSeconds, outcome: verify(token, as: kind, now: now))
    }

    static func signedToken(_ kind: Kind) -> String { fixture.signed[Kind.allCases.firstIndex(of: kind)!] }

    static func run(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        let trial = trial(input)
        let (kind, token, nowSeconds) = (trial.kind, trial.token, trial.nowSeconds)
        let original = signedToken(kind)
        switch trial.outcome {
        case .success(let claims):
            try checkAccepted(token, kind: kind, claims: claims, nowSeconds: nowSeconds)
        case .failure(let error):
            let family: Set<ErrorCode> = [
                .tokenMissing, .tokenMalformed, .tokenSignatureInvalid, .tokenExpired, .tokenNotYetValid,
                .tokenWrongRoom, .notAdminToken,
            ]
            guard family.contains(error.code) else {
                throw FuzzViolation("\(kind) token refused with \(error.code), outside the token codes: \(token.debugDescription)")
            }
            if token == original, nowSeconds >= issuedAt, nowSeconds < issuedAt + lifetime {
                throw FuzzViolation("the \(kind) token this server signed was refused in its lifetime: \(error)")
            }
        }
    }

    /// Edits of the signed token: two bytes each, a position and what happens there.
    private static func edit(_ token: String, with reader: inout ByteReader) -> String {
        var bytes = Array(token.utf8)
        while let position = reader.byte(), let value = reader.byte() {
            let index = bytes.isEmpty ? 0 : Int(position) * bytes.count / 256
            switch value >> 6 {
            case 0 where !bytes.isEmpty: bytes[index] = 0x20 + value % 0x5F  // printable ASCII
            case 1: bytes.insert(value & 0x01 == 0 ? UInt8(ascii: ".") : UInt8(ascii: "="), at: index)
            case 2 where !bytes.isEmpty: bytes.remove(at: index)
            default: bytes = Array(bytes.prefix(index))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// What a verifier says the token holds, as the payload would spell it.
    struct Accepted: Sendable {
        var subject: String
        var room, role, name: String?
        /// Admin tokens only: the expiry and the `jti` a revocation records.
        var expiresAt: Int64?
        var id: String?
    }

    private static func verify(_ token: String, as kind: Kind, now: Timestamp) -> Result<Accepted, CodedError> {
        let fixture = fixture
        return blocking {
            do throws(CodedError) {
                switch kind {
                case .room:
                    let verified = try await fixture.rooms.verify(token, room: room, now: now)
                    return .success(Accepted(
                        subject: verified.peer.rawValue, room: verified.room.rawValue, role: verified.role.rawValue,
                        name: verified.name))
                case .user:
                    let verified = try await fixture.rooms.verifyUser(token, now: now)
                    return .success(Accepted(subject: verified.user.rawValue, name: verified.name))
                case .admin:
                    let identity = try await fixture.admins.verify(authorization: "Bearer " + token, now: now)
                    return .success(Accepted(
                        subject: identity.subject, expiresAt: identity.expiresAt, id: identity.tokenID))
                }
            } catch {
                return .failure(error)
            }
        }
    }

    /// An accepted token, checked from first principles.
    static func checkAccepted(_ token: String, kind: Kind, claims: Accepted, nowSeconds: Int64)
        throws(FuzzViolation)
    {
        // An Authorization header may put more than one space after "Bearer"
        // (RFC 6750 §2.1: 1*SP) and surrounding white space is not the field's
        // (RFC 9110 §5.5): the admin token is what is left.
        let presented = kind == .admin ? token.trimmingCharacters(in: .whitespaces) : token
        let parts = presented.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = object(parts[0]), let payload = object(parts[1]),
            let signature = base64URL(parts[2])
        else {
            throw FuzzViolation("accepted a \(kind) token that is not three base64url JSON parts: \(token.debugDescription)")
        }
        guard header["alg"] as? String == "HS256", header["crit"] == nil else {
            throw FuzzViolation("accepted a \(kind) token whose header is \(header)")
        }
        let key = kind == .admin ? adminKey : SymmetricKey(data: secret)
        let signingInput = Data("\(parts[0]).\(parts[1])".utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key) else {
            throw FuzzViolation("accepted a \(kind) token whose signature is not its HMAC: \(token.debugDescription)")
        }
        guard let expiresAt = integer(payload["exp"]), nowSeconds < expiresAt else {
            throw FuzzViolation("accepted a \(kind) token at \(nowSeconds), expired at \(String(describing: payload["exp"]))")
        }
        if let notBefore = payload["nbf"], let notBefore = integer(notBefore), nowSeconds < notBefore {
            throw FuzzViolation("accepted a \(kind) token at \(nowSeconds), not valid before \(notBefore)")
        }
        var said = Accepted(subject: payload["sub"] as? String ?? "", name: payload["name"] as? String)
        switch kind {
        case .room:
            said.room = payload["room"] as? String
            said.role = payload["role"] as? String
            guard said.room == room.rawValue else { throw FuzzViolation("accepted a token for room \(said.room ?? "none")") }
        case .user:
            guard payload["room"] == nil else { throw FuzzViolation("accepted a room token as a user token") }
        case .admin:
            guard payload["kind"] as? String == AdminTokenClaims.kindAdmin else {
                throw FuzzViolation("accepted an admin token whose kind is \(String(describing: payload["kind"]))")
            }
            said.name = nil
            said.expiresAt = expiresAt
            said.id = payload["jti"] as? String
        }
        guard said.subject == claims.subject, said.room == claims.room, said.role == claims.role,
            said.name == claims.name, said.expiresAt == claims.expiresAt, said.id == claims.id
        else {
            throw FuzzViolation("the \(kind) verifier returned \(claims), the payload says \(said)")
        }
    }

    private static func base64URL(_ text: Substring) -> Data? {
        guard text.utf8.allSatisfy({ byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "="):
                true
            default: false
            }
        }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    private static func object(_ part: Substring) -> [String: Any]? {
        guard let data = base64URL(part) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// A JSON number that is a whole number of seconds.
    private static func integer(_ value: Any?) -> Int64? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9e15 else { return nil }
        return Int64(double)
    }
}

/// Runs async work to its end from synchronous code (the fuzzer's callback, a
/// test). The work runs on a thread of its own: blocking a thread of the
/// cooperative pool while the work waits for one would deadlock a test run
/// on a machine with few cores.
func blocking<Value: Sendable>(_ work: @escaping @Sendable () async -> Value) -> Value {
    let result = Mutex<Value?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task(executorPreference: OwnThreadExecutor.shared) {
        let value = await work()
        result.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    return result.withLock { $0! }
}

/// A task executor with one thread, for `blocking`: tasks that prefer it, and
/// the default actors they call, run there (SE-0417).
final class OwnThreadExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = OwnThreadExecutor()

    private let ready = NSCondition()
    private var jobs: [UnownedJob] = []  // guarded by `ready`

    private init() {
        let thread = Thread { [unowned self] in self.runJobs() }
        thread.name = "confab-fuzz blocking"
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        ready.lock()
        jobs.append(job)
        ready.signal()
        ready.unlock()
    }

    private func runJobs() -> Never {
        while true {
            ready.lock()
            while jobs.isEmpty { ready.wait() }
            let job = jobs.removeFirst()
            ready.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
