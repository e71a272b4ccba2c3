// Join tokens over the wire: each kind of bad token has its own code, and
// the server closes with 1008 (policy violation, RFC 6455 §7.4.1).

import ConfabProtocol
import ConfabServer
import Crypto
import Foundation
import NIOWebSocket
import Testing

@Suite("Join tokens")
struct TokenTests {
    enum BadToken: String, CaseIterable, CustomTestStringConvertible {
        case missing, empty, malformed, forged, expired, wrongRoom, wrongRole
        // Signed with the server's secret, a claim left out.
        case noSub, noRole, noExp, userToken
        // Valid HS256 signatures under headers that must still be refused.
        case algNone, algHS512, algRS256, noAlg, unknownCrit

        var testDescription: String { rawValue }

        var expected: ErrorCode {
            switch self {
            case .missing: .tokenMissing
            case .empty, .malformed, .noAlg, .unknownCrit, .noSub, .noRole, .noExp: .tokenMalformed
            case .forged, .algNone, .algHS512, .algRS256: .tokenSignatureInvalid
            case .expired: .tokenExpired
            case .wrongRoom, .userToken: .tokenWrongRoom
            case .wrongRole: .tokenWrongRole
            }
        }

        func joinMessage(_ server: TestServer) async throws -> String {
            let tokenMember: String
            switch self {
            case .missing:
                tokenMember = ""
            case .empty:
                tokenMember = #", "token": """#
            case .malformed:
                tokenMember = #", "token": "not.a-jwt""#
            case .algNone:
                tokenMember = #", "token": "\#(try server.signed(header: #"{"alg":"none","typ":"JWT"}"#))""#
            case .algHS512:
                tokenMember = #", "token": "\#(try server.signed(header: #"{"alg":"HS512","typ":"JWT"}"#))""#
            case .algRS256:
                tokenMember = #", "token": "\#(try server.signed(header: #"{"alg":"RS256","typ":"JWT"}"#))""#
            case .noAlg:
                tokenMember = #", "token": "\#(try server.signed(header: #"{"typ":"JWT"}"#))""#
            case .unknownCrit:
                tokenMember =
                    #", "token": "\#(try server.signed(header: #"{"alg":"HS256","crit":["exp-ext"],"exp-ext":1}"#))""#
            case .noSub:
                tokenMember = #", "token": "\#(try server.signed(claims: #"{"room":"standup","role":"host","iat":1,"exp":\#(Self.later)}"#))""#
            case .noRole:
                tokenMember = #", "token": "\#(try server.signed(claims: #"{"room":"standup","sub":"alice","exp":\#(Self.later)}"#))""#
            case .noExp:
                tokenMember = #", "token": "\#(try server.signed(claims: #"{"room":"standup","sub":"alice","role":"host"}"#))""#
            case .userToken:
                tokenMember = #", "token": "\#(try server.signed(claims: #"{"sub":"alice","exp":\#(Self.later)}"#))""#
            case .forged:
                let other = [UInt8](repeating: 7, count: 32)
                tokenMember = #", "token": "\#(try await server.token(user: "mallory", role: "host", secret: other))""#
            case .expired:
                tokenMember = #", "token": "\#(try await server.token(user: "alice", role: "host", ttlSeconds: -10))""#
            case .wrongRoom:
                tokenMember = #", "token": "\#(try await server.token(room: "other", user: "alice", role: "host"))""#
            case .wrongRole:
                tokenMember = #", "token": "\#(try await server.token(user: "alice", role: "admin"))""#
            }
            return #"{"v": 1, "type": "join", "id": "j1", "room": "standup"\#(tokenMember)}"#
        }

        /// Ten minutes from now, seconds since the epoch.
        static var later: Int64 { Int64(Date().timeIntervalSince1970) + 600 }
    }

    @Test("a bad token is refused with its code and the connection closes", arguments: BadToken.allCases)
    func refused(_ bad: BadToken) async throws {
        let server = try await TestServer.start()  // its own: the room must be untouched
        let client = try await server.connect()
        client.send(try await bad.joinMessage(server))
        let reply = try await client.next()
        #expect(reply.id?.rawValue == "j1")
        #expect(errorCode(reply) == bad.expected)
        let close = try await client.closeFrame()
        #expect(close?.closeCode == .policyViolation)
        #expect(close?.reason?.hasPrefix("\(bad.expected.rawValue) ") == true)
        // Nobody was admitted: a good join sees an empty room.
        let (_, joined) = try await server.join("bob", role: "speaker")
        #expect(joined.peers.isEmpty)
        await server.stop()
    }

    @Test("a well-formed token under a plain HS256 header is accepted (the header cases above differ only in it)")
    func plainHeaderAccepted() async throws {
        let server = try await TestServer.start()
        let client = try await server.connect()
        let token = try server.signed(header: #"{"alg":"HS256","typ":"JWT"}"#)
        client.send(#"{"v": 1, "type": "join", "id": "j1", "room": "standup", "token": "\#(token)"}"#)
        let reply = try await client.next()
        #expect(reply.type == .joined)
        await server.stop()
    }

    @Test("a token without the optional claims (iat, name, nbf) is accepted: RFC 7519 §4.1.6 makes iat optional")
    func leanTokenAccepted() async throws {
        let server = try await TestServer.start()
        let client = try await server.connect()
        let token = try server.signed(claims: #"{"room":"standup","sub":"alice","role":"host","exp":\#(BadToken.later)}"#)
        client.send(#"{"v": 1, "type": "join", "id": "j1", "room": "standup", "token": "\#(token)"}"#)
        guard case .joined(let joined) = try await client.next().body else {
            Issue.record("no joined")
            return
        }
        #expect(joined.you.id == "alice" && joined.you.role == "host")
        await server.stop()
    }

    @Test("a token's name wins; without one the join's name is used")
    func displayNames() async throws {
        let server = try await TestServer.start()
        let client = try await server.connect()
        let token = try await server.token(user: "alice", role: "host")
        client.send(#"{"v": 1, "type": "join", "id": "j1", "room": "standup", "token": "\#(token)", "name": "Alice A."}"#)
        guard case .joined(let joined) = try await client.next().body else {
            Issue.record("no joined")
            return
        }
        #expect(joined.you.name == "Alice A.")
        let (_, bob) = try await server.join("bob", role: "speaker")  // token names him "Bob"
        #expect(bob.you.name == "Bob")
        await server.stop()
    }

    @Test("`confab token` output verifies with the server's secret")
    func signedTokenVerifies() async throws {
        let authority = await TokenAuthority(secret: [UInt8](repeating: 1, count: 32))
        let now = Int64(Date().timeIntervalSince1970)
        let claims = TokenClaims(room: "standup", peer: "alice", name: "Alice", role: "host", issuedAt: now, expiresAt: now + 60)
        let token = try await authority.sign(claims)
        #expect(token.split(separator: ".").count == 3)
        let verified = try await authority.verify(token, room: "standup", now: Timestamp(millisecondsSince1970: now * 1_000))
        #expect(verified.room == "standup" && verified.peer == "alice" && verified.name == "Alice" && verified.role == "host")
    }

    @Test("durations for --ttl", arguments: [("90s", 90), ("30m", 1_800), ("2h", 7_200), ("7d", 604_800), ("45", 45)])
    func durations(_ text: String, _ seconds: Int64) {
        #expect(parseDuration(text) == .seconds(seconds))
    }

    @Test("bad durations", arguments: ["", "h", "-2h", "0s", "2 h", "2w"])
    func badDurations(_ text: String) {
        #expect(parseDuration(text) == nil)
    }
}

extension TestServer {
    /// A token signed HS256 with this server's secret, with `header` as its
    /// JOSE header and `claims` as its payload (by default alice, host of
    /// `standup`, for ten minutes): only what the caller changes is wrong.
    func signed(header: String = #"{"alg":"HS256","typ":"JWT"}"#, claims: String? = nil) throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        let claims = claims ?? #"{"room":"standup","sub":"alice","role":"host","iat":\#(now),"exp":\#(now + 600)}"#
        let signingInput = Self.base64URL(Data(header.utf8)) + "." + Self.base64URL(Data(claims.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: secret))
        return signingInput + "." + Self.base64URL(Data(mac))
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
