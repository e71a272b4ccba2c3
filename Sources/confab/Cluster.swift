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
        abstract: "List the nodes (id, address, last heartbeat, rooms, peers, live or stale), which runs presence and calls, and which holds which room.",
        discussion: """
            A node is stale when its last heartbeat (every 2 s) is older than \(NodeStatus.staleAfterSeconds) s: \
            killed, hung or cut off from the database. A node stopped gracefully removes itself. A room's lease \
            is live while its node renews it (with the heartbeat); a stale one is taken over by the next join. \
            Exits 1 with one line on stderr when the database cannot be reached.
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
        let leases: [RoomLeaseStatus]
        do {
            let store = try await PostgresStore(
                url: url, logger: Logger(label: "confab", factory: { _ in SwiftLogNoOpLogHandler() }))
            defer { store.close() }
            nodes = try await store.nodes()
            leases = try await store.leases()
        } catch {
            throw CommandFailure(error.description)
        }
        print(json ? Self.json(nodes, leases: leases) : Self.table(nodes) + Self.table(leases), terminator: "")
    }

    struct Listing: Encodable {
        var staleAfterMs: Int
        var nodes: [Node]
        var rooms: [Room]
        /// The node running presence and calls (absent until one does).
        var switchboard: Room?

        struct Room: Encodable {
            var room: String
            var node: String
            var renewedAgeMs: Int
            var state: String

            init(_ lease: RoomLeaseStatus) {
                room = lease.room
                node = lease.node
                renewedAgeMs = lease.renewedAgeMs
                state = lease.isLive ? "live" : "stale"
            }
        }

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

    static func json(_ nodes: [NodeStatus], leases: [RoomLeaseStatus]) -> String {
        let listing = Listing(
            staleAfterMs: NodeStatus.staleAfterSeconds * 1_000,
            nodes: nodes.map { node in
                Listing.Node(
                    id: node.id, advertise: node.advertisedURL, startedAt: node.startedAt,
                    heartbeatAgeMs: node.heartbeatAgeMs, rooms: node.rooms, peers: node.peers, state: state(node))
            },
            rooms: leases.filter { !$0.isSwitchboard }.map(Listing.Room.init),
            switchboard: leases.first(where: \.isSwitchboard).map(Listing.Room.init))
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
        // Counts right-aligned, the rest left.
        return columns(rows, rightAligned: 3...4)
    }

    /// Which node runs presence and calls, then which holds which room, after a
    /// blank line; nothing without leases.
    static func table(_ leases: [RoomLeaseStatus]) -> String {
        var text = ""
        if let switchboard = leases.first(where: \.isSwitchboard) {
            text += "\npresence and calls: \(switchboard.node) (renewed \(age(switchboard.renewedAgeMs)), "
                + "\(switchboard.isLive ? "live" : "stale"))\n"
        }
        let rooms = leases.filter { !$0.isSwitchboard }
        guard !rooms.isEmpty else { return text }
        let rows = [["ROOM", "NODE", "RENEWED", "STATE"]]
            + rooms.map { [$0.room, $0.node, age($0.renewedAgeMs), $0.isLive ? "live" : "stale"] }
        return text + "\n" + columns(rows, rightAligned: 4..<4)
    }

    private static func columns(_ rows: [[String]], rightAligned: some RangeExpression<Int>) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + padding
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
