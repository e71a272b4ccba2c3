// What the management API answers where it has no endpoint: the catalog's
// JSON error like every other refusal (docs/ADMIN.md, Errors), not the
// router's empty 404.
//
//   request under /api/ ─▶ router ─▶ no route ─▶ the path exists for other methods?
//        yes ─▶ 405, Allow: those methods (RFC 9110 §15.5.6), 1013 unknownEndpoint
//        no  ─▶ 404, 1013 unknownEndpoint

import ConfabProtocol
import HTTPTypes
import Hummingbird
import NIOCore

struct AdminUnknownEndpoint: RouterMiddleware {
    typealias Context = AdminRequestContext

    /// Every endpoint's method and path template (`{name}` stands for one segment).
    let endpoints: [(method: HTTPRequest.Method, path: String)]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            guard path == "/api" || path.hasPrefix("/api/") else { throw error }
            return answer(request.method, path)
        }
    }

    /// The refusal of `method` on `path`, which no route took.
    func answer(_ method: HTTPRequest.Method, _ path: String) -> Response {
        let segments = Self.segments(path)
        var allowed: [HTTPRequest.Method] = []
        for endpoint in endpoints where Self.matches(segments, template: endpoint.path) && !allowed.contains(endpoint.method) {
            allowed.append(endpoint.method)
        }
        let status: HTTPResponse.Status
        let message: String
        var headers: HTTPFields = [.contentType: "application/json"]
        if allowed.isEmpty {
            status = .notFound
            message = "no endpoint \(method.rawValue) \(path); the API is described at \(AdminAPI.documentPath)"
        } else {
            // HEAD comes with GET (the router answers it), so it is allowed too.
            if allowed.contains(.get) { allowed.append(.head) }
            let names = allowed.map(\.rawValue).joined(separator: ", ")
            status = .methodNotAllowed
            message = "\(path) takes \(names), not \(method.rawValue)"
            headers[.allow] = names
        }
        let body = AdminJSON.encode(AdminErrorBody(CodedError(.unknownEndpoint, message)))
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    private static func segments(_ path: some StringProtocol) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { Substring($0) }
    }

    private static func matches(_ segments: [Substring], template: String) -> Bool {
        let pattern = Self.segments(template)
        guard pattern.count == segments.count else { return false }
        return zip(pattern, segments).allSatisfy { expected, actual in
            expected.hasPrefix("{") ? !actual.isEmpty : expected == actual
        }
    }
}
