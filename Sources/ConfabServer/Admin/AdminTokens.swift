// Admin tokens: what the management API (`/api/v1/`) requires, as
// `Authorization: Bearer TOKEN` (RFC 6750 §2.1). An HS256 JWT of its own
// kind, minted by `confab token --admin`:
//
//   header  {"alg": "HS256", "typ": "JWT"}
//   claims  {"kind": "admin", "sub": "ops", "iat": 1763000000, "exp": 1763003600, "jti": "…"}
//
// It is signed with a key derived from the server's token secret,
// HMAC-SHA256(secret, "confab admin token v1"), not with the secret itself.
// So no room or presence connection can accept one (their check fails on
// the signature: 2003), and a room or user token never passes as an admin
// token. A room or user token that reaches the API is still recognised, to
// answer 403 rather than 401: it is valid, just not for this.

import ConfabProtocol
import Crypto
import Foundation
import JWTKit

/// The claims of an admin token.
public struct AdminTokenClaims: ConfabClaims, Hashable {
    /// Always `admin`: the token's kind, checked on every request.
    public var kind: String
    /// Who acts (RFC 7519 §4.1.2): the name the audit log records.
    public var subject: String
    public var issuedAt: Int64
    public var expiresAt: Int64
    /// The token's own id (RFC 7519 §4.1.7 `jti`): what revoking it records.
    /// Absent in tokens made before revocation existed; those cannot be revoked.
    public var id: String?

    public static let kindAdmin = "admin"

    public init(subject: String, issuedAt: Int64, expiresAt: Int64, id: String? = AdminTokenClaims.newID()) {
        kind = Self.kindAdmin
        self.subject = subject
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.id = id
    }

    /// 128 random bits, hex.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    private enum CodingKeys: String, CodingKey {
        case kind
        case subject = "sub"
        case issuedAt = "iat"
        case expiresAt = "exp"
        case id = "jti"
    }
}

/// Who an accepted admin token names.
public struct AdminIdentity: Hashable, Sendable {
    public var subject: String
    /// The token's `jti`, checked against the revoked tokens; nil in an old token.
    public var tokenID: String? = nil
    /// The token's expiry, seconds since 1970: how long a revocation must be kept.
    public var expiresAt: Int64 = 0
}

/// Signs and checks admin tokens.
public struct AdminTokenAuthority: Sendable {
    private let adminKeys: JWTKeyCollection
    /// The room and user tokens' key: only to tell them apart (403).
    private let peerKeys: JWTKeyCollection

    /// The longest subject kept (it reaches the audit log).
    public static let maximumSubjectLength = 64

    public init(secret: [UInt8]) async {
        let derived = HMAC<SHA256>.authenticationCode(
            for: Data("confab admin token v1".utf8), using: SymmetricKey(data: secret))
        adminKeys = JWTKeyCollection()
        await adminKeys.add(hmac: HMACKey(key: SymmetricKey(data: Data(derived))), digestAlgorithm: .sha256)
        peerKeys = JWTKeyCollection()
        await peerKeys.add(hmac: HMACKey(key: SymmetricKey(data: secret)), digestAlgorithm: .sha256)
    }

    /// Whether `subject` may name an admin: printable ASCII without spaces, 1 to 64 characters.
    public static func isValidSubject(_ subject: String) -> Bool {
        !subject.isEmpty && subject.utf8.count <= maximumSubjectLength
            && subject.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
    }

    /// A signed admin token (`confab token --admin`).
    public func sign(_ claims: AdminTokenClaims) async throws(SetupError) -> String {
        do {
            return try await adminKeys.sign(claims)
        } catch {
            throw SetupError("cannot sign the token: \(error)")
        }
    }

    /// The identity of an `Authorization` header's admin token, or the coded
    /// reason it is refused: 2001 to 2005 (HTTP 401), or 2009 (HTTP 403) for a
    /// valid room or user token.
    public func verify(authorization: String?, now: Timestamp) async throws(CodedError) -> AdminIdentity {
        guard let authorization, !authorization.isEmpty else {
            throw CodedError(.tokenMissing, "an admin token is required: Authorization: Bearer TOKEN")
        }
        // RFC 6750 §2.1: the scheme is case-insensitive.
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw CodedError(.tokenMissing, "the Authorization header must be: Bearer TOKEN")
        }
        // Only HTTP's own white space (RFC 9110 §5.6.3: space and tab) is
        // trimmed: a token with a no-break space or the like is not the token.
        let token = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
        let claims: AdminTokenClaims
        switch try await TokenAuthority.verifyJWT(token, as: AdminTokenClaims.self, with: adminKeys) {
        case .success(let verified):
            claims = verified
        case .failure(let failure):
            if failure != .claims, (try? await peerKeys.verify(token, as: TokenClaims.self)) != nil {
                throw CodedError(.notAdminToken, "this is a room or user token; the management API needs an admin token (confab token --admin)")
            }
            switch failure {
            case .signature: throw CodedError(.tokenSignatureInvalid, "the token's signature does not match this server's admin key")
            case .malformed: throw CodedError(.tokenMalformed, "the token is not a well-formed admin token")
            case .claims: throw CodedError(.tokenMalformed, "the token lacks the kind, sub or exp claims")
            }
        }
        guard claims.kind == AdminTokenClaims.kindAdmin, Self.isValidSubject(claims.subject) else {
            throw CodedError(.tokenMalformed, "the token is not an admin token (kind) or its sub is not valid")
        }
        // RFC 7519 §4.1.4: reject on or after the expiry time.
        guard now.millisecondsSince1970 / 1_000 < claims.expiresAt else {
            throw CodedError(.tokenExpired, "the admin token has expired")
        }
        return AdminIdentity(subject: claims.subject, tokenID: claims.id, expiresAt: claims.expiresAt)
    }
}
