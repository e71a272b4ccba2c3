// The OpenAPI document against the server: every documented operation is
// routed to the API (an unrouted path gets the router's bare 404, a routed
// one the API's JSON 401 without a token), every route the server has is
// documented, and the document is OpenAPI 3.1 whose references resolve.
// The replies' bodies are checked against its schemas in AdminAPITests.

@testable import ConfabServer
import ConfabProtocol
import ConfabTestSupport
import Foundation
import Testing

@Suite("Management API: the OpenAPI document")
struct AdminOpenAPITests {
    /// Every operation in the document, as "METHOD /path".
    static func documentedOperations(_ document: JSONValue) -> Set<String> {
        guard case .object(let paths)? = document["paths"] else { return [] }
        var operations: Set<String> = []
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] where item[method] != nil {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    /// Whether the operation ("METHOD /path") needs no token (`"security": []`).
    static func isPublic(_ document: JSONValue, _ operation: String) -> Bool {
        let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
        guard case .object(let paths)? = document["paths"], let item = paths[parts[1]] else { return false }
        return item[parts[0].lowercased()]?["security"] == .array([])
    }

    @Test("served at /api/v1/openapi.json without a token: OpenAPI 3.1, the admin token as its security scheme")
    func served() async throws {
        let server = try await TestServer.start()
        let reply = try await AdminClient.raw(server, "GET", "/api/v1/openapi.json", token: nil, body: nil)
        #expect(reply.status == 200)
        let document = try #require(reply.json)
        #expect(document["openapi"]?.text == "3.1.0")
        #expect(document["components.securitySchemes.adminToken.scheme"]?.text == "bearer")
        #expect(document == (try JSONValue(parsing: AdminOpenAPI.document)))
        await server.stop()
    }

    @Test("every route of the server is documented, and every documented operation is routed")
    func routesMatchTheDocument() async throws {
        let document = try JSONValue(parsing: AdminOpenAPI.document)
        let routed = Set(AdminAPI.routes.map { "\($0.method.rawValue) \($0.path)" } + ["GET \(AdminAPI.documentPath)"])
        #expect(routed == Self.documentedOperations(document))

        let server = try await TestServer.start()
        for operation in Self.documentedOperations(document).sorted() where !operation.hasSuffix("openapi.json") {
            let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
            let path = parts[1].replacingOccurrences(of: "{room}", with: "r").replacingOccurrences(of: "{peer}", with: "p")
                .replacingOccurrences(of: "{user}", with: "u").replacingOccurrences(of: "{code}", with: "c")
            let reply = try await AdminClient.raw(server, parts[0], path, token: nil, body: nil)
            if Self.isPublic(document, operation) {
                // Needs no token: routed, it refuses the missing body with the API's JSON error.
                #expect(reply.status == 400 && reply.errorCode == ErrorCode.invalidMessage.rawValue, "\(operation) is not routed")
            } else {
                #expect(reply.status == 401 && reply.errorCode == ErrorCode.tokenMissing.rawValue, "\(operation) is not routed")
            }
        }
        // Exactly the routes marked public take no token.
        let publicRoutes = Set(AdminAPI.routes.filter { $0.public }.map { "\($0.method.rawValue) \($0.path)" })
        #expect(publicRoutes == Set(Self.documentedOperations(document).filter { Self.isPublic(document, $0) && !$0.hasSuffix("openapi.json") }))
        // The control: a path the document does not have is no route (404), with or without a token.
        let unknown = try await AdminClient.raw(server, "GET", "/api/v1/nothing-here", token: nil, body: nil)
        #expect(unknown.status == 404 && unknown.errorCode == ErrorCode.unknownEndpoint.rawValue)
        await server.stop()
    }

    @Test("every $ref in the document resolves, and every operation that needs a token documents 401 and 403")
    func referencesResolve() throws {
        let text = AdminOpenAPI.document
        let document = try JSONValue(parsing: text)
        let references = Set(text.components(separatedBy: "\"$ref\": \"").dropFirst().compactMap { $0.split(separator: "\"").first })
        #expect(!references.isEmpty)
        for reference in references {
            let parts = reference.split(separator: "/")
            #expect(parts.count == 4 && parts[0] == "#" && parts[1] == "components", "\(reference)")
            #expect(document["components.\(parts[2]).\(parts.last ?? "")"] != nil, "\(reference) does not resolve")
        }
        guard case .object(let paths)? = document["paths"] else { throw ToolError("no paths") }
        for (path, item) in paths where path != AdminAPI.documentPath {
            for method in ["get", "post", "patch", "delete"] {
                guard let operation = item[method], operation["security"] != .array([]) else { continue }
                #expect(operation["responses.401"] != nil && operation["responses.403"] != nil, "\(method) \(path)")
            }
        }
    }

    @Test("the schema checker catches what it is for: a missing member, a wrong type, an undocumented member or status")
    func checkerCanFail() throws {
        let checker = OpenAPISchema(document: try JSONValue(parsing: AdminOpenAPI.document))
        let good = try JSONValue(parsing: #"{"prompt": "p1"}"#)
        #expect(checker.check(reply: good, status: 202, method: "POST", template: "/api/v1/rooms/{room}/peers/{peer}/role").isEmpty)
        let missing = try JSONValue(parsing: #"{}"#)
        #expect(!checker.check(reply: missing, status: 202, method: "POST", template: "/api/v1/rooms/{room}/peers/{peer}/role").isEmpty)
        let wrongType = try JSONValue(parsing: #"{"rooms": [{"name": "a", "startedAt": "soon", "peers": 1, "peersByRole": {}}]}"#)
        #expect(!checker.check(reply: wrongType, status: 200, method: "GET", template: "/api/v1/rooms").isEmpty)
        let extra = try JSONValue(parsing: #"{"rooms": [], "secret": 1}"#)
        #expect(!checker.check(reply: extra, status: 200, method: "GET", template: "/api/v1/rooms").isEmpty)
        #expect(!checker.check(reply: nil, status: 418, method: "GET", template: "/api/v1/rooms").isEmpty)
    }
}
