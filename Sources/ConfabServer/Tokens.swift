// Join tokens: HS256 JSON Web Tokens (RFC 7519) signed with the data
// directory's secret, minted by `confab token`, checked on every `join`.
//
//   header  {"alg": "HS256", "typ": "JWT"}
//   claims  {"room": "standup", "sub": "alice", "name": "Alice", "role": "host",
//            "iat": 1763000000, "exp": 1763007200}
//
// jwt-kit does the JOSE work (base64url, HMAC-SHA256, constant-time compare).
// The claim checks are done here, after the signature, so that each failure
// gets its own catalog code (2002 malformed, 2003 forged, 2004 expired,
// 2005 not yet valid, 2006 wrong room; the role is checked by the room, 2007).
//
// A user token (`confab token --user alice`) has no room and no role: it
// admits to the server-root presence connection, where calls are placed,
// and to no room. A room token does not admit to the presence connection.
// The server mints room tokens itself for the rooms of calls.

import ConfabProtocol
import Crypto
import Foundation
import JWTKit

/// Claims whose times are checked by the authority that verifies them, where
/// each failure gets its own error code, not by jwt-kit's `verify(using:)`.
public protocol ConfabClaims: JWTPayload {}

extension ConfabClaims {
    /// jwt-kit calls this after the signature checks out; see `ConfabClaims`.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// The claims of a Confab join token.
public struct TokenClaims: ConfabClaims, Hashable {
    /// The room the token admits to (private claim); nil in a user token.
    public var room: String?
    /// The peer id (RFC 7519 §4.1.2 `sub`).
    public var subject: String
    /// Display name (private claim); optional.
    public var name: String?
    /// The role in the room's template (private claim); nil in a user token.
    public var role: String?
    /// Issued at, seconds since the epoch (RFC 7519 §4.1.6); optional, as
    /// there: `confab token` always sets it, a token minted elsewhere may leave it out.
    public var issuedAt: Int64?
    /// Expiry, seconds since the epoch (RFC 7519 §4.1.4).
    public var expiresAt: Int64
    /// Not before, seconds since the epoch (RFC 7519 §4.1.5); optional, never minted by `confab token`.
    public var notBefore: Int64?

    public init(
        room: RoomName, peer: PeerID, name: String?, role: RoleName, issuedAt: Int64, expiresAt: Int64,
        notBefore: Int64? = nil
    ) {
        self.room = room.rawValue
        subject = peer.rawValue
        self.name = name
        self.role = role.rawValue
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.notBefore = notBefore
    }

    /// A user token: no room, no role; it admits to the presence connection only.
    public init(user: PeerID, name: String?, issuedAt: Int64, expiresAt: Int64) {
        room = nil
        subject = user.rawValue
        self.name = name
        role = nil
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        notBefore = nil
    }

    private enum CodingKeys: String, CodingKey {
        case room
        case subject = "sub"
        case name
        case role
        case issuedAt = "iat"
        case expiresAt = "exp"
        case notBefore = "nbf"
    }
}

/// What a verified token says, in protocol types.
public struct VerifiedToken: Hashable, Sendable {
    public var room: RoomName
    public var peer: PeerID
    public var name: String?
    public var role: RoleName
}

/// What a verified user token says.
public struct VerifiedUser: Hashable, Sendable {
    public var user: PeerID
    public var name: String?
}

/// Signs and checks tokens with one secret.
public struct TokenAuthority: Sendable {
    private let keys: JWTKeyCollection

    public init(secret: [UInt8]) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(key: SymmetricKey(data: secret)), digestAlgorithm: .sha256)
        self.keys = keys
    }

    /// A signed token (`confab token`).
    public func sign(_ claims: TokenClaims) async throws(SetupError) -> String {
        do {
            return try await keys.sign(claims)
        } catch {
            throw SetupError("cannot sign the token: \(error)")
        }
    }

    /// The token's identity, or the coded reason it is refused.
    public func verify(_ token: String?, room expectedRoom: RoomName, now: Timestamp) async throws(CodedError)
        -> VerifiedToken
    {
        let claims = try await verifiedClaims(token, now: now)
        guard let roomClaim = claims.room else {
            throw CodedError(.tokenWrongRoom, "this is a user token: it admits to no room")
        }
        guard let roleClaim = claims.role else {
            throw CodedError(.tokenMalformed, "the token lacks the role claim")
        }
        guard let room = RoomName(rawValue: roomClaim), let peer = PeerID(rawValue: claims.subject),
            let role = RoleName(rawValue: roleClaim)
        else {
            throw CodedError(.tokenMalformed, "the token's room, sub or role is not a valid identifier")
        }
        guard room == expectedRoom else {
            throw CodedError(.tokenWrongRoom, "the token is for another room")
        }
        return VerifiedToken(room: room, peer: peer, name: claims.name, role: role)
    }

    /// A user token's identity (the presence connection), or the coded reason it is refused.
    public func verifyUser(_ token: String?, now: Timestamp) async throws(CodedError) -> VerifiedUser {
        let claims = try await verifiedClaims(token, now: now)
        guard claims.room == nil else {
            throw CodedError(
                .tokenWrongRoom, "this token is for a room; connecting to the server needs a user token (confab token --user)")
        }
        guard let user = PeerID(rawValue: claims.subject) else {
            throw CodedError(.tokenMalformed, "the token's sub is not a valid identifier")
        }
        return VerifiedUser(user: user, name: claims.name)
    }

    /// The claims of a token whose signature and times check out.
    private func verifiedClaims(_ token: String?, now: Timestamp) async throws(CodedError) -> TokenClaims {
        guard let token else { throw CodedError(.tokenMissing, "a token is required") }
        let claims: TokenClaims
        switch try await Self.verifyJWT(token, as: TokenClaims.self, with: keys) {
        case .success(let verified):
            claims = verified
        case .failure(.signature):
            throw CodedError(
                .tokenSignatureInvalid,
                Self.saysAdmin(token)
                    ? "this is an admin token: it is for the management API (/api/v1/) only; joining takes a room or user token (confab token)"
                    : "the token's signature does not match this server's secret")
        case .failure(.malformed):
            throw CodedError(.tokenMalformed, "the token is not a well-formed Confab token")
        case .failure(.claims):
            // A JWT whose signature matched but whose claims are not ours (missing sub or exp).
            throw CodedError(.tokenMalformed, "the token lacks the sub or exp claims")
        }
        let nowSeconds = now.millisecondsSince1970 / 1_000
        // RFC 7519 §4.1.4: reject on or after the expiry time.
        guard nowSeconds < claims.expiresAt else { throw CodedError(.tokenExpired, "the token has expired") }
        if let notBefore = claims.notBefore, nowSeconds < notBefore {
            throw CodedError(.tokenNotYetValid, "the token is not valid yet")
        }
        return claims
    }

    /// Why a JWT failed before its claims were looked at.
    enum JWTFailure: Error {
        /// Signed with another key, or an algorithm this key does not do: 2003.
        case signature
        /// Not a JWT jwt-kit can read: 2002.
        case malformed
        /// The signature matched but the claims do not decode as the kind asked for: 2002.
        case claims
    }

    /// The header check, then jwt-kit's signature check with `keys` and the
    /// claims' decoding, with jwt-kit's errors sorted into what the callers
    /// answer differently (room and user tokens here, admin tokens in AdminTokens.swift).
    /// A header that fails `checkHeader` throws its coded error.
    static func verifyJWT<Claims: ConfabClaims>(_ token: String, as type: Claims.Type, with keys: JWTKeyCollection)
        async throws(CodedError) -> Result<Claims, JWTFailure>
    {
        try checkHeader(of: token)
        do {
            return .success(try await keys.verify(token, as: type))
        } catch let error as JWTError {
            switch error.errorType {
            case .signatureVerificationFailed, .unknownKID, .noKeyProvided, .unsupportedAlgorithm,
                .signingAlgorithmFailure:
                return .failure(.signature)
            default:
                return .failure(.malformed)
            }
        } catch {
            return .failure(.claims)
        }
    }

    /// Checks the JOSE header before the signature: jwt-kit verifies with our
    /// one HMAC key whatever `alg` says, so a token claiming `none`, `HS512`
    /// or `RS256` would otherwise pass on a valid HS256 signature.
    /// RFC 7515 §4.1.1 (`alg` is required), §4.1.11 (a `crit` extension the
    /// recipient does not understand makes the token invalid; we understand none).
    static func checkHeader(of token: String) throws(CodedError) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = base64URLDecoded(parts[0]),
            let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any]
        else {
            throw CodedError(.tokenMalformed, "the token is not a well-formed Confab token")
        }
        guard let algorithm = header["alg"] as? String else {
            throw CodedError(.tokenMalformed, "the token's header names no algorithm (alg)")
        }
        guard algorithm == "HS256" else {
            throw CodedError(.tokenSignatureInvalid, "the token is not signed with HS256 (its header names another algorithm)")
        }
        if header["crit"] != nil {
            throw CodedError(.tokenMalformed, "the token's header has critical extensions (crit) this server does not know")
        }
    }

    /// Whether an (unverified) token's claims say `"kind": "admin"`: only to
    /// word the refusal, so someone who pasted the wrong token learns why.
    private static func saysAdmin(_ token: String) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = base64URLDecoded(parts[1]),
            let claims = try? JSONSerialization.jsonObject(with: payload) as? [String: Any]
        else { return false }
        return claims["kind"] as? String == "admin"
    }

    private static func base64URLDecoded(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}

/// Parses durations like `90s`, `30m`, `2h`, `7d` or a bare number of seconds.
public func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Int64)] = [("ms", 0), ("s", 1), ("m", 60), ("h", 3_600), ("d", 86_400)]
    for (suffix, seconds) in units where text.hasSuffix(suffix) {
        guard let value = Int64(text.dropLast(suffix.count)), value > 0 else { return nil }
        return seconds == 0 ? .milliseconds(value) : .seconds(value * seconds)
    }
    guard let value = Int64(text), value > 0 else { return nil }
    return .seconds(value)
}
