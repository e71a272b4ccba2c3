// The management API in a cluster (docs/ADMIN.md, "In a cluster"): any node
// answers for every room. A request about a room another node holds goes to
// that node over HTTPS and its reply comes back unchanged; the room list asks
// every live node for its own rooms.
//
//   request about ROOM, not live here ─▶ lease holder elsewhere? ─▶ the same request to it,
//                                        marked `Confab-Forwarded-By: THIS-NODE` (one hop, never two)
//   POST /rooms ─▶ placed like a join: this node, or the one the placement chose ─▶ created there
//   GET /rooms  ─▶ this node's rooms + each other live node's (in parallel, 3 s each);
//                  a node that does not answer is named in `unreachable`
//   GET /calls  ─▶ the node that runs the switchboard (where calls are)
//
// Nodes trust each other as clients trust the cluster: by its one certificate
// (a self-signed one is the only trust root, whatever the host name); a
// certificate from a public authority is checked as usual, host name included.

import AsyncHTTPClient
import ConfabProtocol
import Foundation
import HTTPTypes
import NIOCore
import NIOSSL
import X509

/// Sends management requests on to the node that holds a room.
struct AdminClusterForwarder: Sendable {
    /// The header a forwarded request carries: the node that sent it on.
    static let forwardedHeader = HTTPField.Name("Confab-Forwarded-By")!
    static let timeout: TimeAmount = .seconds(3)

    let node: String
    let placement: RoomPlacement
    /// This node's advertised URL (known once its port is bound).
    let ownURL: @Sendable () -> String
    let tls: TLSConfiguration

    init(node: String, placement: RoomPlacement, identity: ServerIdentity, ownURL: @escaping @Sendable () -> String) {
        self.node = node
        self.placement = placement
        self.ownURL = ownURL
        tls = Self.clientTLS(trusting: identity.certificateChain)
    }

    /// What one request to another node needs of the original.
    struct Request: Sendable {
        var method: HTTPRequest.Method
        /// Path and query, as received.
        var target: String
        var authorization: String?
        var body: ByteBuffer
    }

    /// The node that holds the lease (a room's name, or the switchboard's), when that is not this one.
    func holderElsewhere(lease: String) async throws(CodedError) -> RoomHolder? {
        let holder = try await placement.liveHolder(lease: lease)
        return holder?.node == node ? nil : holder
    }

    /// `request` as `holder` answers it.
    func forward(_ request: Request, to holder: RoomHolder) async -> AdminAPI.Reply {
        await withClient { client in
            await send(request, to: holder.advertisedURL, node: holder.node, client: client)
        }
    }

    /// Every other live node's own rooms; the nodes that did not answer.
    func otherNodesRooms(authorization: String?) async -> (rooms: [AdminRoomSummary], unreachable: [String]) {
        let own = ownURL()
        let others = placement.nodeURLs.filter { $0 != own }
        guard !others.isEmpty else { return ([], []) }
        let request = Request(method: .get, target: "/api/v1/rooms", authorization: authorization, body: ByteBuffer())
        return await withClient { client in
            await withTaskGroup(of: (String, AdminRoomList?).self) { group in
                for url in others {
                    group.addTask {
                        let reply = await send(request, to: url, node: url, client: client)
                        guard reply.status == .ok, let body = reply.body else { return (url, nil) }
                        return (url, try? JSONDecoder().decode(AdminRoomList.self, from: Data(buffer: body)))
                    }
                }
                var rooms: [AdminRoomSummary] = []
                var unreachable: [String] = []
                for await (url, list) in group {
                    if let list { rooms += list.rooms } else { unreachable.append(url) }
                }
                return (rooms, unreachable.sorted())
            }
        }
    }

    private func withClient<T: Sendable>(_ body: (HTTPClient) async -> T) async -> T {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: Self.timeout, read: Self.timeout)
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let result = await body(client)
        try? await client.shutdown()
        return result
    }

    private func send(_ request: Request, to advertisedURL: String, node holder: String, client: HTTPClient) async
        -> AdminAPI.Reply
    {
        // The advertised URL is the WebSocket one (wss://HOST:PORT): the API shares its port.
        let base = advertisedURL.hasPrefix("wss://") ? "https://" + advertisedURL.dropFirst(6) : advertisedURL
        var outgoing = HTTPClientRequest(url: base + request.target)
        outgoing.method = .init(rawValue: request.method.rawValue)
        if let authorization = request.authorization { outgoing.headers.add(name: "Authorization", value: authorization) }
        outgoing.headers.add(name: Self.forwardedHeader.rawName, value: node)
        if request.body.readableBytes > 0 {
            outgoing.headers.add(name: "Content-Type", value: "application/json")
            outgoing.body = .bytes(request.body)
        }
        do {
            let response = try await client.execute(outgoing, timeout: Self.timeout)
            let body = try await response.body.collect(upTo: 16 << 20)
            return AdminAPI.Reply(
                status: HTTPResponse.Status(code: Int(response.status.code)), body: body.readableBytes > 0 ? body : nil,
                retryAfter: response.headers.first(name: "Retry-After"))
        } catch {
            let refusal = CodedError(
                .roomUnavailable, "node \(holder) holds this room but does not answer now (\(error)); try again in a moment")
            return .json(.serviceUnavailable, AdminErrorBody(refusal))
        }
    }

    /// A self-signed cluster certificate is the only root a node trusts, with
    /// no name check (it is pinned: nobody else holds its key); one issued by
    /// an authority is checked against the system's roots and the host name.
    static func clientTLS(trusting chain: [NIOSSLCertificate]) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        guard let leaf = chain.first, isSelfSigned(leaf) else { return configuration }
        configuration.trustRoots = .certificates([leaf])
        configuration.certificateVerification = .noHostnameVerification
        return configuration
    }

    private static func isSelfSigned(_ certificate: NIOSSLCertificate) -> Bool {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return false }
        return parsed.issuer == parsed.subject
    }
}

extension AdminAPI {
    /// The request sent on to the room's node when it is not live here: nil
    /// to answer here (a single server, a room live here or nowhere, or a
    /// request that was forwarded once already).
    func forwardedReply(_ call: Call) async throws(CodedError) -> Reply? {
        guard let cluster, !call.forwarded, let name = call.parameters["room"].flatMap(RoomName.init(rawValue:)) else {
            return nil
        }
        if let host = await registry.existingHost(for: name), await host.isOpen { return nil }
        guard let holder = try await cluster.holderElsewhere(lease: name.rawValue) else { return nil }
        return await cluster.forward(call.original, to: holder)
    }

    /// `POST /api/v1/rooms` in a cluster: the room is placed as a join would
    /// place it; nil when that is this node (create it here).
    func forwardedCreation(_ name: RoomName, call: Call) async throws(CodedError) -> Reply? {
        guard let cluster else { return nil }
        if let host = await registry.existingHost(for: name), await host.isOpen { return nil }
        do throws(CodedError) {
            try await cluster.placement.claim(name)
            return nil
        } catch where error.code == .roomOnAnotherNode && !call.forwarded {
            guard let holder = try await cluster.holderElsewhere(lease: name.rawValue) else {
                throw CodedError(.storageUnavailable, "the room's node cannot be looked up now; try again in a moment")
            }
            return await cluster.forward(call.original, to: holder)
        }
    }
}
