import ArgumentParser
import ConfabServer
import Foundation
import Logging

/// `confab cluster`: the nodes that share one database.
struct Cluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The nodes of a cluster on PostgreSQL (confab serve --database).",
        subcommands: [ClusterStatus.self])
}

/// `confab cluster status --database URL [--json]`.
struct ClusterStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List the nodes: id, address, last heartbeat, rooms, peers, live or stale.",
        discussion: """
            A node is stale when its last heartbeat (every 2 s) is older than \(NodeStatus.staleAfterSeconds) s: \
            killed, hung or cut off from the database. A node stopped gracefully removes itself. Exits 1 with \
            one line on stderr when the database cannot be reached.
            """)

    @OptionGroup var database: DatabaseOption

    @Flag(help: "One JSON object on stdout, for scripts.")
    var json = false

    func validate() throws {
        guard try database.url() != nil else {
            throw ValidationError("--database URL (or CONFAB_DATABASE_URL) is required")
        }
    }

    func run() async throws {
        guard let url = try database.url() else { return }
        let nodes: [NodeStatus]
        do {
            let store = try await PostgresStore(
                url: url, logger: Logger(label: "confab", factory: { _ in SwiftLogNoOpLogHandler() }))
            defer { store.close() }
            nodes = try await store.nodes()
        } catch {
            throw CommandFailure(error.description)
        }
        print(json ? Self.json(nodes) : Self.table(nodes), terminator: "")
    }

    struct Listing: Encodable {
        var staleAfterMs: Int
        var nodes: [Node]

        struct Node: Encodable {
            var id: String
            var advertise: String
            var startedAt: Date
            var heartbeatAgeMs: Int
            var rooms: Int
            var peers: Int
            var state: String
        }
    }

    static func json(_ nodes: [NodeStatus]) -> String {
        let listing = Listing(
            staleAfterMs: NodeStatus.staleAfterSeconds * 1_000,
            nodes: nodes.map { node in
                Listing.Node(
                    id: node.id, advertise: node.advertisedURL, startedAt: node.startedAt,
                    heartbeatAgeMs: node.heartbeatAgeMs, rooms: node.rooms, peers: node.peers, state: state(node))
            })
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(listing)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func table(_ nodes: [NodeStatus]) -> String {
        guard !nodes.isEmpty else { return "no nodes: none has started on this database, or all stopped\n" }
        let rows = [["NODE", "ADDRESS", "HEARTBEAT", "ROOMS", "PEERS", "STATE"]]
            + nodes.map { node in
                [node.id, node.advertisedURL.isEmpty ? "-" : node.advertisedURL, age(node.heartbeatAgeMs),
                 String(node.rooms), String(node.peers), state(node)]
            }
        let widths = (0..<6).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                // Counts right-aligned, the rest left.
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return (3...4).contains(column) ? padding + cell : cell + padding
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    static func state(_ node: NodeStatus) -> String { node.isLive ? "live" : "stale" }

    /// "0.8 s ago", "12 s ago", "5 min ago", "3 h ago".
    static func age(_ milliseconds: Int) -> String {
        switch milliseconds {
        case ..<10_000: String(format: "%.1f s ago", Double(milliseconds) / 1_000)
        case ..<120_000: "\(milliseconds / 1_000) s ago"
        case ..<7_200_000: "\(milliseconds / 60_000) min ago"
        default: "\(milliseconds / 3_600_000) h ago"
        }
    }
}
