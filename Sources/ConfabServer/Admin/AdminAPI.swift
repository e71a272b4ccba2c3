// The management API: HTTPS JSON under /api/v1/ on the server's port, for
// the people who run the server (docs/ADMIN.md; the OpenAPI document in
// AdminOpenAPI.swift).
//
//   request ─▶ Authorization: Bearer ADMIN-TOKEN ─▶ AdminTokenAuthority (401 / 403)
//           ─▶ handler ─▶ RoomRegistry / RoomHost.actAsServer (the checked room actions, as @server)
//                       ─▶ CallManager (calls in progress), ServerStore (call history)
//           ─▶ JSON reply, or {"error": {code, name, message}} from the catalog of docs/PROTOCOL.md
//           ─▶ AdminAuditLog (every change: who, when, what, how it ended)

import ConfabProtocol
import ConfabRooms
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

struct AdminAPI: Sendable {
    let registry: RoomRegistry
    let calls: CallManager
    let store: any ServerStore
    let authority: AdminTokenAuthority
    /// Room tokens, for meeting codes exchanged (AdminCodes.swift).
    let tokens: TokenAuthority
    let configuration: ServerConfiguration
    let audit: AdminAuditLog
    /// Failed meeting code exchanges per source (CodeExchangeLimiter.swift).
    let exchangeLimiter = CodeExchangeLimiter()
    /// The node holding this server's rooms: a cluster node's id, or the id a single server would claim.
    let nodeID: @Sendable () -> String
    /// In a cluster: sends requests about rooms held elsewhere to their node (AdminClusterForwarding.swift).
    var cluster: AdminClusterForwarder?

    /// A handler's answer: a status and an optional JSON body.
    struct Reply: Sendable {
        var status: HTTPResponse.Status
        var body: ByteBuffer?
        /// The `Retry-After` header's value (RFC 9110 §10.2.3: whole seconds) of a rate limit.
        var retryAfter: String? = nil

        static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Reply {
            Reply(status: status, body: ByteBuffer(bytes: AdminJSON.encode(value)))
        }
        static let noContent = Reply(status: .noContent, body: nil)
    }

    /// What a handler gets: the request's path parameters, query, body and who asks.
    struct Call: Sendable {
        var parameters: [String: String]
        var query: [String: String]
        var body: ByteBuffer
        /// Who asks; nil on the one route that takes no admin token (a code's exchange).
        var admin: AdminIdentity?
        /// The client's address (IPv6: its /64).
        var source: String = ""
        /// The request as another node of a cluster would get it.
        var original: AdminClusterForwarder.Request
        /// Sent on by another node: answered here, never sent on again.
        var forwarded = false
    }

    typealias Handler = @Sendable (AdminAPI, Call) async throws(CodedError) -> Reply

    /// One route: `path` as in the OpenAPI document; `change` for the ones the audit log records;
    /// `public` for the one that needs no admin token.
    struct Route: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var change: Bool
        var `public` = false
        /// About one room (`{room}` in the path): answered by the node that holds it.
        var followsRoom: Bool { path.hasPrefix("/api/v1/rooms/{room}") && !`public` && !path.contains("/codes") }
        var handler: Handler
    }

    /// Every route of the API but the document itself (served without a token).
    static let routes: [Route] = [
        Route(method: .get, path: "/api/v1/rooms", change: false) { api, call throws(CodedError) in try await api.listRooms(call) },
        Route(method: .post, path: "/api/v1/rooms", change: true) { api, call throws(CodedError) in try await api.createRoom(call) },
        Route(method: .get, path: "/api/v1/rooms/{room}", change: false) { api, call throws(CodedError) in
            try await api.roomDetail(call)
        },
        Route(method: .patch, path: "/api/v1/rooms/{room}", change: true) { api, call throws(CodedError) in
            try await api.updateRoom(call)
        },
        Route(method: .delete, path: "/api/v1/rooms/{room}", change: true) { api, call throws(CodedError) in
            try await api.endRoom(call)
        },
        Route(method: .delete, path: "/api/v1/rooms/{room}/peers/{peer}", change: true) { api, call throws(CodedError) in
            try await api.removePeer(call)
        },
        Route(method: .post, path: "/api/v1/rooms/{room}/peers/{peer}/mute", change: true) { api, call throws(CodedError) in
            try await api.mutePeer(call)
        },
        Route(method: .post, path: "/api/v1/rooms/{room}/peers/{peer}/role", change: true) { api, call throws(CodedError) in
            try await api.changeRole(call)
        },
        Route(method: .post, path: "/api/v1/rooms/{room}/messages", change: true) { api, call throws(CodedError) in
            try await api.postMessage(call)
        },
        Route(method: .get, path: "/api/v1/rooms/{room}/state", change: false) { api, call throws(CodedError) in
            try await api.readState(call)
        },
        Route(method: .put, path: "/api/v1/rooms/{room}/state/{key}", change: true) { api, call throws(CodedError) in
            try await api.setState(call)
        },
        Route(method: .delete, path: "/api/v1/rooms/{room}/state/{key}", change: true) { api, call throws(CodedError) in
            try await api.deleteState(call)
        },
        Route(method: .post, path: "/api/v1/rooms/{room}/codes", change: true) { api, call throws(CodedError) in
            try await api.createCode(call)
        },
        Route(method: .get, path: "/api/v1/rooms/{room}/codes", change: false) { api, call throws(CodedError) in
            try await api.listCodes(call)
        },
        Route(method: .delete, path: "/api/v1/rooms/{room}/codes/{code}", change: true) { api, call throws(CodedError) in
            try await api.revokeCode(call)
        },
        Route(method: .post, path: "/api/v1/rooms/{room}/join", change: false, public: true) { api, call throws(CodedError) in
            try await api.exchangeCode(call)
        },
        Route(method: .post, path: "/api/v1/tokens/revoke", change: true) { api, call throws(CodedError) in
            try await api.revokeToken(call)
        },
        Route(method: .get, path: "/api/v1/calls", change: false) { api, call throws(CodedError) in try await api.listCalls(call) },
        Route(method: .get, path: "/api/v1/users/{user}/calls", change: false) { api, call throws(CodedError) in
            try await api.callHistory(call)
        },
    ]

    static let documentPath = "/api/v1/openapi.json"

    /// The largest request body read, in bytes.
    static let maximumBodyBytes = 65_536

    func register(on router: Router<AdminRequestContext>) {
        router.add(
            middleware: AdminUnknownEndpoint(
                endpoints: [(.get, Self.documentPath)] + Self.routes.map { ($0.method, $0.path) }))
        router.get(RouterPath(Self.documentPath)) { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: AdminOpenAPI.document)))
        }
        for route in Self.routes {
            router.on(RouterPath(route.path), method: route.method) { request, context -> Response in
                await respond(to: request, context: context, route: route)
            }
        }
    }

    private func respond(to request: Request, context: AdminRequestContext, route: Route) async -> Response {
        var request = request
        let reply: Reply
        var admin: AdminIdentity?
        var sentOn = false
        var parameters: [String: String] = [:]
        for (key, value) in context.parameters { parameters[String(key)] = String(value) }
        do throws(CodedError) {
            if !route.public {
                let identity = try await authority.verify(authorization: request.headers[.authorization], now: .now())
                try await checkNotRevoked(identity)
                admin = identity
            }
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: Self.maximumBodyBytes)
            } catch {
                throw CodedError(.messageTooLarge, "the request body is over \(Self.maximumBodyBytes) bytes")
            }
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let original = AdminClusterForwarder.Request(
                method: route.method, target: request.uri.description, authorization: request.headers[.authorization],
                body: body)
            let call = Call(
                parameters: parameters, query: query, body: body, admin: admin, source: context.source, original: original,
                forwarded: request.headers[AdminClusterForwarder.forwardedHeader] != nil)
            if route.followsRoom, let elsewhere = try await forwardedReply(call) {
                // The node that holds the room acts, and records it in its audit log.
                sentOn = true
                reply = elsewhere
            } else {
                reply = try await route.handler(self, call)
            }
        } catch {
            // Retry-After rounded up: a client that waits the whole seconds is let through.
            reply = Reply(
                status: error.httpStatus, body: ByteBuffer(bytes: AdminJSON.encode(AdminErrorBody(error))),
                retryAfter: error.retryAfterMs.map { "\(($0 + 999) / 1_000)" })
        }
        if route.change, let admin, !sentOn {
            audit.record(
                AdminAuditEntry(
                    at: .now(), subject: admin.subject, method: route.method.rawValue, path: request.uri.path,
                    status: reply.status.code))
        }
        var headers: HTTPFields = [:]
        if reply.body != nil { headers[.contentType] = "application/json" }
        if let retryAfter = reply.retryAfter { headers[.retryAfter] = retryAfter }
        return Response(
            status: reply.status, headers: headers, body: reply.body.map { ResponseBody(byteBuffer: $0) } ?? ResponseBody())
    }
}

/// JSON as the API writes and reads it: sorted keys, so replies diff well.
enum AdminJSON {
    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every body type here encodes; a failure would be a bug, answered as one.
        return (try? Array(encoder.encode(value)))
            ?? Array(#"{"error":{"code":9000,"name":"internalError","message":"cannot encode the reply"}}"#.utf8)
    }

    static func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer) throws(CodedError) -> T {
        guard body.readableBytes > 0 else { throw CodedError(.invalidMessage, "a JSON body is required") }
        let data = Data(buffer: body)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw notFitting(data)
            }
            throw CodedError(.invalidMessage, "the body does not fit: \(AdminJSON.describe(error))")
        } catch {
            throw notFitting(data)
        }
    }

    /// JSONDecoder says "not valid JSON", with no field, also of JSON whose
    /// number does not fit its field: `JSONRefusal` tells the two apart.
    private static func notFitting(_ data: Data) -> CodedError {
        switch JSONRefusal(of: data) {
        case .notJSON: CodedError(.malformedMessage, "the body is not JSON")
        case .numberDoesNotFit: CodedError(.invalidMessage, "the body does not fit: \(JSONRefusal.numberDoesNotFit.explanation)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "the body" : codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(path(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context): return "\(path(context.codingPath)) is not valid"
        @unknown default: return "not valid"
        }
    }
}
