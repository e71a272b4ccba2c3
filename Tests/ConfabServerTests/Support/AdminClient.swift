// The management API from a test: HTTPS requests to the real server over the
// pinned TLS connection, admin tokens signed with its secret, and every
// reply checked against the OpenAPI document the server serves
// (OpenAPISchema.swift) for the operation and status it came with.

import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

struct AdminReply {
    var status: Int
    var json: JSONValue?
    var raw: String
    /// The status line and the header fields, as sent.
    var head: String = ""

    /// A header field's value (names are case-insensitive, RFC 9110 §5.1).
    func header(_ name: String) -> String? {
        for line in head.split(separator: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// The catalog number of an error reply.
    var errorCode: Int? { json?["error.code"]?.text.flatMap { Int($0) } }
}

struct AdminClient {
    let server: TestServer
    let token: String?
    /// The served document, fetched once per client.
    let document: JSONValue

    static func make(_ server: TestServer, subject: String = "ops", ttlSeconds: Int64 = 600) async throws -> AdminClient {
        let token = try await adminToken(server, subject: subject, ttlSeconds: ttlSeconds)
        let response = try await raw(server, "GET", "/api/v1/openapi.json", token: nil, body: nil)
        guard response.status == 200, let document = response.json else {
            throw ToolError("the OpenAPI document is not served: \(response.status) \(response.raw)")
        }
        return AdminClient(server: server, token: token, document: document)
    }

    func with(token: String?) -> AdminClient {
        AdminClient(server: server, token: token, document: document)
    }

    static func adminToken(_ server: TestServer, subject: String = "ops", ttlSeconds: Int64 = 600) async throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        return try await AdminTokenAuthority(secret: server.secret)
            .sign(AdminTokenClaims(subject: subject, issuedAt: now, expiresAt: now + ttlSeconds))
    }

    /// `method template` with the path parameters filled in; the reply is
    /// validated against the document's schema for that operation and status.
    func call(
        _ method: String, _ template: String, _ parameters: [String: String] = [:], query: String = "",
        body: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> AdminReply {
        var path = template
        for (name, value) in parameters { path = path.replacingOccurrences(of: "{\(name)}", with: value) }
        let reply = try await Self.raw(server, method, path + query, token: token, body: body)
        let problems = OpenAPISchema(document: document).check(
            reply: reply.json, status: reply.status, method: method, template: template)
        for problem in problems {
            Issue.record("\(method) \(path) → \(reply.status): \(problem)", sourceLocation: sourceLocation)
        }
        return reply
    }

    static func raw(
        _ server: TestServer, _ method: String, _ path: String, token: String?, body: String?,
        contentType: String = "application/json"
    ) async throws -> AdminReply {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        let bytes = body.map { Array($0.utf8) } ?? []
        if body != nil { request += "Content-Type: \(contentType)\r\n" }
        request += "Content-Length: \(bytes.count)\r\n\r\n" + (body ?? "")
        let response = try await FingerprintClient.exchange(
            port: server.port, fingerprint: server.server.identity.fingerprint, request: request)
        let statusLine = response.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        let headEnd = response.range(of: "\r\n\r\n")
        let text = headEnd.map { String(response[$0.upperBound...]) } ?? ""
        let head = headEnd.map { String(response[..<$0.lowerBound]) } ?? response
        return AdminReply(status: status, json: text.isEmpty ? nil : try? JSONValue(parsing: text), raw: text, head: head)
    }
}
