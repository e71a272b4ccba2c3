// A node of a cluster (`confab serve --database`): its name, the address it
// advertises, and its heartbeat in the database's `node` table.
//
//   ConfabServer.init ─▶ NodeRegistration.claim (refused when a live node has the id)
//   ConfabServer.run  ─▶ NodeRegistration.beat every 2 s: the registry's rooms and peers
//   ConfabServer.run  ─▶ … and renews the leases of the rooms live here (RoomPlacement.swift)
//   graceful shutdown ─▶ NodeRegistration.release (the leases and the row are deleted)
//
// A heartbeat that fails is logged once and tried again on the next tick;
// it never stops the server (rooms go on without the database).

import ConfabProtocol
import Foundation
import Glibc
import Logging

/// `--node-id` and `--advertise`, checked.
public enum NodeSettings {
    /// 1–64 printable ASCII characters, no spaces.
    public static let validForm = "1 to 64 printable ASCII characters, no spaces"

    public static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// `HOSTNAME:PORT`, unique per host and port; with port 0 (a port picked
    /// when it binds) `HOSTNAME:any-` and six random hex digits.
    /// `value` (below 2^24) as six hex digits, zeros in front.
    static func sixHexDigits(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    public static func defaultID(port: Int) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let named = gethostname(&buffer, buffer.count) == 0
        let host = named ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "localhost"
        let suffix = ":" + (port == 0 ? "any-" + Self.sixHexDigits(UInt32.random(in: 0..<(1 << 24))) : String(port))
        let printable = String(host.unicodeScalars.filter { (0x21...0x7E).contains($0.value) })
        return String((printable.isEmpty ? "localhost" : printable).prefix(64 - suffix.count)) + suffix
    }

    /// A `wss://HOST[:PORT]` URL (no path, query or user), or why not.
    public static func checkAdvertisedURL(_ text: String) -> String? {
        guard let components = URLComponents(string: text), components.scheme == "wss",
            let host = components.host, !host.isEmpty
        else { return "\(text): not a wss://HOST:PORT URL" }
        guard components.user == nil, components.query == nil, components.fragment == nil,
            components.path.isEmpty || components.path == "/"
        else { return "\(text): only wss://HOST:PORT, without a path, query or user" }
        return nil
    }

    /// `--advertise`, else the URL `confab serve` prints: `wss://HOST:PORT`
    /// (an IPv6 host in brackets); empty while a port 0 is not bound yet.
    static func advertisedURL(_ configuration: ServerConfiguration, boundPort: Int?) -> String {
        if let url = configuration.advertisedURL { return url }
        let host = configuration.host
        guard let port = boundPort ?? (configuration.port == 0 ? nil : configuration.port) else { return "" }
        return "wss://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}

/// This process's row in the `node` table.
actor NodeRegistration {
    let id: String
    /// Tells this process's row from another process's with the same id.
    private let instance = UUID().uuidString
    private let store: PostgresStore
    private let logger: Logger
    private var failing = false
    private var released = false
    /// The other nodes were told this one is live (after its first heartbeat, which writes its address).
    private var announced = false

    /// How often the heartbeat is written (a node is stale after `NodeStatus.staleAfterSeconds`).
    static let heartbeatInterval: Duration = .seconds(2)

    private init(id: String, store: PostgresStore, logger: Logger) {
        self.id = id
        self.store = store
        self.logger = logger
    }

    /// Registers the node; refused with a clear error when a live node already has the id.
    static func claim(id: String, advertisedURL: String, store: PostgresStore, logger: Logger) async throws(SetupError)
        -> NodeRegistration
    {
        let node = NodeRegistration(id: id, store: store, logger: logger)
        let claimed: Bool
        do {
            claimed = try await store.claimNode(id: id, instance: node.instance, advertisedURL: advertisedURL)
        } catch {
            throw SetupError(error.description)
        }
        guard claimed else {
            throw SetupError(
                "node id \(id) is in use by a live node (a heartbeat in the last \(NodeStatus.staleAfterSeconds) s): "
                    + "give this node another --node-id, or stop the other first")
        }
        return node
    }

    /// Writes one heartbeat; a failure is logged once (and the recovery once).
    func beat(advertisedURL: String, rooms: Int, peers: Int) async {
        guard !released else { return }
        do throws(StorageError) {
            let ours = try await store.heartbeat(
                id: id, instance: instance, advertisedURL: advertisedURL, rooms: rooms, peers: peers)
            if !ours {
                if !failing && !released {
                    logger.error("node heartbeat: the row of node \(id) belongs to another process now (same --node-id)")
                }
                failing = true
            } else if failing {
                logger.info("node heartbeat: written again", metadata: ["node": "\(id)"])
                failing = false
            }
            if ours, !announced, !advertisedURL.isEmpty {
                // Lost, the others see this node at their next heartbeat.
                announced = (try? await announceChange()) != nil
            }
        } catch {
            if !failing { logger.error("node heartbeat failed; retrying every 2 s", metadata: ["error": "\(error)"]) }
            failing = true
        }
    }

    /// Tells the other nodes at once that the live nodes changed, rather than at their next heartbeat.
    private func announceChange() async throws(StorageError) {
        for payload in ClusterMessage.nodesChanged(by: id).payloads() { try await store.notify(payload) }
    }

    /// Releases the node's room leases, then removes its row (graceful stop);
    /// no heartbeat is written after it.
    func release(_ placement: RoomPlacement?) async {
        released = true
        await placement?.releaseAll()
        do throws(StorageError) {
            try await store.releaseNode(id: id, instance: instance)
            try await announceChange()
        } catch {
            logger.error("cannot remove this node from the database", metadata: ["error": "\(error)"])
        }
    }
}

extension ConfabServer {
    /// This node's name in the cluster's node table; nil without a database.
    public var nodeID: String? { node?.id }

    /// The heartbeat, every 2 s until cancelled, from the moment the server listens.
    func heartbeat(_ node: NodeRegistration) async throws {
        while port == nil { try await Task.sleep(for: .milliseconds(20)) }
        let url = NodeSettings.advertisedURL(configuration, boundPort: port)
        while true {
            let load = await registry.load()
            await node.beat(advertisedURL: url, rooms: load.rooms, peers: load.peers)
            if let placement = await registry.placement {
                if let lost = await placement.renew(await registry.liveRoomNames), !lost.isEmpty {
                    await registry.moveAway(lost)
                }
                await registry.saveKeptSessions()
                await placement.refreshNodes()
                await calls.announceNodesIfChanged()
            }
            try await Task.sleep(for: NodeRegistration.heartbeatInterval)
        }
    }
}

extension RoomRegistry {
    /// Live rooms and their connected peers, for the heartbeat.
    func load() async -> (rooms: Int, peers: Int) {
        var rooms = 0
        var peers = 0
        for host in hosts.values where !host.isRetired {
            if let summary = await host.adminSummary(node: "") {
                rooms += 1
                peers += summary.peers
            }
        }
        return (rooms, peers)
    }
}
