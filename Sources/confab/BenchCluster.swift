// `confab bench cluster`: what a cluster costs a join, and how long a room's
// clients are away when its node is killed, with separate node processes on
// one PostgreSQL.
//
//   confab serve --database URL (children: node 1, then 2 and 3) ◀── ConfabSessions (the whole SDK)
//     phase 1, one node:    --samples sequential joins, each of a fresh room (placed on the node)
//     phase 2, three nodes: as many again, each through the next node in turn: a fresh room is
//                           placed on the least-loaded node, so some joins are redirected
//     phase 3, failover:    --clients sessions in rooms on node 1 (through every node), kill -9 of
//                           node 1, timed until the last is back (a `reconnected`), failures counted
//
// Join time runs from opening the connection to `joined` applied (TCP + TLS
// + upgrade + join, and a redirect's second connection). The three nodes
// share this machine's cores with the single node's figure taken in the same
// run, so the ratio is what to read.

import ArgumentParser
import ConfabClient
import ConfabProtocol
import ConfabServer
import Foundation
import Glibc
import Logging
import Synchronization

struct BenchCluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Join time with one node and three (a ratio), and kill -9 to the last client back.",
        discussion: """
            Starts `confab serve` nodes in child processes on the given PostgreSQL database (rows it adds: \
            nodes named bench-…, rooms bench-…; graceful stops remove them). Targets: three nodes' join p50 \
            ≤ 1.3 × one node's; every client back within 10 s of kill -9.
            """)

    @OptionGroup var database: DatabaseOption

    @Option(help: "Sequential joins per phase.")
    var samples = 100

    @Option(help: "Sessions in the killed node's rooms.")
    var clients = 10

    @OptionGroup var output: BenchOutput

    func validate() throws {
        guard samples >= 10 else { throw ValidationError("--samples must be at least 10") }
        guard (1...200).contains(clients) else { throw ValidationError("--clients must be 1...200") }
    }

    func run() async throws {
        guard let url = try database.url() else {
            throw ValidationError("give --database postgresql://… (or CONFAB_DATABASE_URL): the cluster's database")
        }
        let bench = ClusterBenchmark(
            database: url, databaseText: database.text ?? ProcessInfo.processInfo.environment["CONFAB_DATABASE_URL"] ?? "",
            samples: samples, clients: clients,
            progress: output.progress)
        try output.print(await bench.run(secret: { try await database.clusterIdentity(url).tokenSecret }))
    }
}

struct ClusterResults: Codable, Sendable, BenchReport {
    var machine: String
    var oneNodeJoin: SignalingResults.Latency
    var threeNodeJoin: SignalingResults.Latency
    /// Three nodes' join p50 over one node's.
    var joinRatio: Double
    /// The three nodes' joins whose room was placed on the node asked, and
    /// those redirected to another (a second connection): where the ratio comes from.
    var threeNodeDirectJoin: SignalingResults.Latency
    var threeNodeRedirectedJoin: SignalingResults.Latency
    var joinFailures: Int
    var failoverClients: Int
    /// From kill -9 to the last client back; nil when not all came back.
    var failoverMs: Double?
    /// Clients not back within 60 s.
    var failoverFailures: Int

    var table: String {
        func ms(_ value: Double) -> String { String(format: "%.1f ms", value) }
        return """
            machine: \(machine)
            join, one node:    p50 \(ms(oneNodeJoin.p50Ms))  p99 \(ms(oneNodeJoin.p99Ms))  (\(oneNodeJoin.count))
            join, three nodes: p50 \(ms(threeNodeJoin.p50Ms))  p99 \(ms(threeNodeJoin.p99Ms))  (\(threeNodeJoin.count))
            ratio (p50):       \(String(format: "%.2f", joinRatio)) ×  (goal ≤ 1.3)   failed joins: \(joinFailures)
              placed on the node asked: p50 \(ms(threeNodeDirectJoin.p50Ms))  (\(threeNodeDirectJoin.count))
              redirected:               p50 \(ms(threeNodeRedirectedJoin.p50Ms))  (\(threeNodeRedirectedJoin.count))
            kill -9 → last of \(failoverClients) clients back: \(failoverMs.map(ms) ?? "not all back")  \
            (goal ≤ 10 s)   failures: \(failoverFailures)
            """
    }
}

struct ClusterBenchmark {
    let database: DatabaseURL
    /// As given: the nodes get it in their environment.
    let databaseText: String
    let samples: Int
    let clients: Int
    let progress: @Sendable (String) -> Void
    private let runID = String(UInt32.random(in: 0..<(1 << 24)), radix: 16)

    init(
        database: DatabaseURL, databaseText: String, samples: Int, clients: Int,
        progress: @escaping @Sendable (String) -> Void
    ) {
        self.database = database
        self.databaseText = databaseText
        self.samples = samples
        self.clients = clients
        self.progress = progress
    }

    func run(secret: () async throws -> [UInt8]) async throws -> ClusterResults {
        var nodes: [BenchNode] = []
        defer { for node in nodes { node.kill() } }
        nodes.append(try await BenchNode(database: databaseText, id: "bench-\(runID)-1"))
        let authority = await TokenAuthority(secret: try await secret())
        var failures = 0
        progress("phase 1: \(samples) joins on one node")
        let one = SignalingResults.Latency(
            try await joins(through: [nodes[0]], label: "one", authority: authority, failures: &failures))
        nodes.append(try await BenchNode(database: databaseText, id: "bench-\(runID)-2"))
        nodes.append(try await BenchNode(database: databaseText, id: "bench-\(runID)-3"))
        // Both new nodes live in the node table (their first heartbeat) before joins go through them.
        try await Task.sleep(for: .seconds(3))
        progress("phase 2: \(samples) joins through three nodes in turn")
        let threeTimes = try await joins(through: nodes, label: "three", authority: authority, failures: &failures)
        let three = SignalingResults.Latency(threeTimes)
        let redirected = try await redirectedJoins(through: nodes, label: "three")
        progress("phase 3: \(clients) clients, kill -9 of their rooms' node")
        let (failoverMs, watched, lost) = try await failover(nodes, authority: authority)
        for node in nodes { await node.stop() }
        return ClusterResults(
            machine: SignalingBenchmark.machine(), oneNodeJoin: one, threeNodeJoin: three,
            joinRatio: three.p50Ms / max(one.p50Ms, 0.001),
            threeNodeDirectJoin: SignalingResults.Latency(
                threeTimes.indices.filter { !redirected.contains($0) }.map { threeTimes[$0] }),
            threeNodeRedirectedJoin: SignalingResults.Latency(redirected.sorted().map { threeTimes[$0] }),
            joinFailures: failures, failoverClients: watched,
            failoverMs: failoverMs, failoverFailures: lost)
    }

    /// Sequential joins of fresh rooms, each through the next node; each session leaves after.
    private func joins(through nodes: [BenchNode], label: String, authority: TokenAuthority, failures: inout Int)
        async throws -> [Duration]
    {
        var times: [Duration] = []
        for index in 0..<samples {
            let node = nodes[index % nodes.count]
            let session = try await session(
                room: "bench-\(runID)-\(label)-\(index)", user: "peer\(index)", node: node, authority: authority)
            let start = ContinuousClock.now
            do {
                try await session.join()
                times.append(ContinuousClock.now - start)
            } catch {
                failures += 1
                times.append(ContinuousClock.now - start)
            }
            await session.leave()
        }
        return times
    }

    /// The cluster's database, read by the benchmark itself (quietly).
    private func openStore() async throws -> PostgresStore {
        try await PostgresStore(url: database, logger: Logger(label: "confab", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// The samples of `joins` whose room's lease names another node than the
    /// one asked: those joins were redirected (read while the rooms still live).
    private func redirectedJoins(through nodes: [BenchNode], label: String) async throws -> Set<Int> {
        let store = try await openStore()
        defer { store.close() }
        let holders = Dictionary(uniqueKeysWithValues: try await store.leases().map { ($0.room, $0.node) })
        return Set((0..<samples).filter { index in
            holders["bench-\(runID)-\(label)-\(index)"].map { $0 != nodes[index % nodes.count].id } ?? false
        })
    }

    /// Clients in rooms of two (one joined through each node in turn), then
    /// the node holding most of their rooms killed: the time until every
    /// client of its rooms is back, and how many never came back.
    private func failover(_ nodes: [BenchNode], authority: TokenAuthority) async throws -> (Double?, Int, Int) {
        var sessions: [(room: String, session: ConfabSession)] = []
        for index in 0..<clients {
            let room = "bench-\(runID)-failover-\(index / 2)"
            let session = try await session(
                room: room, user: "client\(index)", node: nodes[index % nodes.count], authority: authority)
            try await session.join()
            sessions.append((room, session))
        }
        let store = try await openStore()
        defer { store.close() }
        let holders = Dictionary(uniqueKeysWithValues: try await store.leases().map { ($0.room, $0.node) })
        let counts = Dictionary(grouping: sessions.compactMap { holders[$0.room] }, by: { $0 }).mapValues(\.count)
        guard let victimID = counts.max(by: { $0.value < $1.value })?.key,
            let victim = nodes.first(where: { $0.id == victimID })
        else { throw CommandFailure("the failover rooms have no live leases") }
        let watched = sessions.filter { holders[$0.room] == victimID }.map(\.session)
        let back = Back()
        var watches: [Task<Void, Never>] = []
        for session in watched {
            let updates = session.store.updates()
            watches.append(Task {
                for await update in updates {
                    if case .reconnected = update.event {
                        back.arrived()
                        return
                    }
                }
            })
        }
        let killed = ContinuousClock.now
        victim.kill()
        let deadline = killed + .seconds(60)
        while back.count < watched.count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let elapsed = back.last.map { ($0 - killed).inMilliseconds }
        for watch in watches { watch.cancel() }
        for (_, session) in sessions { await session.leave() }
        return (back.count == watched.count ? elapsed : nil, watched.count, watched.count - back.count)
    }

    private func session(room: String, user: String, node: BenchNode, authority: TokenAuthority) async throws
        -> ConfabSession
    {
        let now = Int64(Date().timeIntervalSince1970)
        let token = try await authority.sign(
            TokenClaims(
                room: RoomName(uncheckedRawValue: room), peer: PeerID(uncheckedRawValue: user), name: user,
                role: "speaker", issuedAt: now, expiresAt: now + 3_600))
        var configuration = SessionConfiguration(
            endpoint: try ServerEndpoint(url: "wss://127.0.0.1:\(node.port)/\(room)"), token: token)
        configuration.historyLimit = 0
        guard let pin = CertificateFingerprint(node.fingerprint) else {
            throw CommandFailure("cannot read the node's fingerprint \(node.fingerprint)")
        }
        return ConfabSession(
            configuration: configuration, transport: WebSocketTransport(trust: .pinned(pin, knownServersPath: nil)))
    }
}

/// Counts clients back, and when the last came.
private final class Back: Sendable {
    private let arrivals = Mutex<[ContinuousClock.Instant]>([])
    func arrived() { arrivals.withLock { $0.append(.now) } }
    var count: Int { arrivals.withLock { $0.count } }
    var last: ContinuousClock.Instant? { arrivals.withLock { $0.max() } }
}

extension Duration {
    fileprivate var inMilliseconds: Double { Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15 }
}

/// A `confab serve --database` child on a free loopback port.
final class BenchNode: @unchecked Sendable {
    let id: String
    let process: Process
    let port: Int
    let fingerprint: String
    private let data: String

    init(database: String, id: String) async throws {
        self.id = id
        data = "/tmp/confab-bench-\(id)"
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["serve", "--port", "0", "--host", "127.0.0.1", "--data", data, "--node-id", id]
        var environment = ProcessInfo.processInfo.environment
        environment["CONFAB_DATABASE_URL"] = database
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        var port: Int?
        var fingerprint: String?
        let deadline = ContinuousClock.now + .seconds(60)
        while port == nil || fingerprint == nil {
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw CommandFailure("node \(id) did not start")
            }
            let chunk = output.fileHandleForReading.availableData
            text += String(decoding: chunk, as: UTF8.self)
            for line in text.split(separator: "\n") {
                if let start = line.range(of: "listening on wss://"), let end = line.range(of: "/ROOM") {
                    let authority = line[start.upperBound..<end.lowerBound]
                    port = authority.lastIndex(of: ":").flatMap { Int(authority[authority.index(after: $0)...]) }
                }
                if line.hasPrefix("certificate fingerprint: ") {
                    fingerprint = String(line.dropFirst("certificate fingerprint: ".count))
                }
            }
        }
        self.port = port ?? 0
        self.fingerprint = fingerprint ?? ""
    }

    /// kill -9.
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: data)
    }

    /// SIGTERM, and wait for the graceful stop.
    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        try? FileManager.default.removeItem(atPath: data)
    }
}
