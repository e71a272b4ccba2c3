// Joining with a meeting code instead of a token (docs/ADMIN.md, "Meeting codes"):
//
//   confab join wss://HOST:PORT/ROOM --code CODE --name NAME
//   confab join 'confab://HOST:PORT/ROOM?code=CODE&fp=SHA256:…'   (the link form: fp pins the server)
//     ─▶ TLS to HOST:PORT, checked like every connection (the link's fp, --fingerprint, or known_servers)
//     ─▶ POST /api/v1/rooms/ROOM/join {code, name} ─▶ {token, role, peer, expiresAt}
//     ─▶ join wss://HOST:PORT/ROOM with that token, as with one minted by hand
//
// The code goes only to the server whose certificate checked out: the same
// pinned connection the meeting itself then uses.

import ConfabProtocol
import Foundation

/// A meeting link: `confab://HOST:PORT/ROOM?code=CODE&fp=SHA256:…`.
public struct MeetingLink: Hashable, Sendable, CustomStringConvertible {
    public static let scheme = "confab"

    /// The room, as `wss://HOST:PORT/ROOM`.
    public var endpoint: ServerEndpoint
    public var code: String
    /// The server's certificate, pinned; nil when the link carries none (known_servers decides).
    public var fingerprint: CertificateFingerprint?

    public init(endpoint: ServerEndpoint, code: String, fingerprint: CertificateFingerprint?) {
        self.endpoint = endpoint
        self.code = code
        self.fingerprint = fingerprint
    }

    /// Whether `text` is meant as a link (rather than a wss:// URL).
    public static func isLink(_ text: String) -> Bool {
        text.lowercased().hasPrefix(scheme + "://")
    }

    public init(parsing text: String) throws(SessionError) {
        let expected = "confab://HOST:PORT/ROOM?code=CODE&fp=SHA256:…"
        guard Self.isLink(text), var components = URLComponents(string: text) else {
            throw .invalidArgument("not a meeting link: expected \(expected)")
        }
        var code: String?
        var fingerprint: CertificateFingerprint?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "code":
                code = item.value.flatMap(MeetingCodeFormat.normalize)
                guard code != nil else { throw .invalidArgument("the link's code is not a meeting code: \(item.value ?? "")") }
            case "fp":
                fingerprint = item.value.flatMap(CertificateFingerprint.init(parsing:))
                guard fingerprint != nil else {
                    throw .invalidArgument("the link's fp is not SHA256: followed by 64 hex digits")
                }
            default:
                // Unknown parameters are ignored: a newer server's links still work here.
                continue
            }
        }
        guard let code else { throw .invalidArgument("the link has no code: expected \(expected)") }
        components.scheme = "wss"
        components.queryItems = nil
        components.fragment = nil
        guard let url = components.string else { throw .invalidArgument("not a meeting link: expected \(expected)") }
        self.init(endpoint: try ServerEndpoint(url: url), code: code, fingerprint: fingerprint)
    }

    public var description: String {
        let room = endpoint.room?.rawValue ?? ""
        var text = "\(Self.scheme)://\(endpoint.hostAndPort)/\(room)?code=\(MeetingCodeFormat.display(code))"
        if let fingerprint { text += "&fp=\(fingerprint)" }
        return text
    }
}

/// The exchange of a meeting code for a room token.
public enum MeetingCodeExchange {
    /// Asks the server at `endpoint` (which names the room) for a token for
    /// `code`, over TLS checked by `trust`. Throws the server's numbered
    /// refusal (2010 to 2013) or why it could not be asked.
    public static func redeem(
        code: String, name: String, endpoint: ServerEndpoint, trust: ServerTrust, timeout: Duration = .seconds(15)
    ) async throws(SessionError) -> CodeExchangeReply {
        guard let room = endpoint.room else { throw .invalidArgument("the URL names no room: expected wss://HOST:PORT/ROOM") }
        let body: [UInt8]
        do {
            body = Array(try JSONEncoder().encode(CodeExchangeRequest(code: code, name: name)))
        } catch {
            throw .invalidArgument("cannot encode the request: \(error)")
        }
        // No admin token: the code is the credential.
        let client = AdminHTTPClient(endpoint: endpoint.with(room: nil), trust: trust, token: "", timeout: timeout)
        let reply = try await client.send("POST", "/api/v1/rooms/\(room.rawValue)/join", json: body)
        guard let exchanged = try? JSONDecoder().decode(CodeExchangeReply.self, from: Data(reply.body)) else {
            throw .protocolViolation("the server's answer to the code is not a token")
        }
        return exchanged
    }
}
