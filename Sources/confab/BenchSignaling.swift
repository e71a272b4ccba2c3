// `confab bench signaling`: how fast one server admits peers, and how many it
// admits and keeps while chat flows, on loopback.
//
//   in-process ConfabServer (TLS, WebSocket, SQLite chat log, scratch data dir)
//     ▲
//     ├─ phase 1, join time: --samples ConfabSessions (the whole SDK) join one after another;
//     │    each join is timed from opening the connection to `joined` applied (TCP + TLS + upgrade + join)
//     └─ phase 2, capacity, in a child process (BenchSignalingPeers.swift, so the server's memory
//          and CPU are its own): light peers join in steps of --step, --concurrency at a time, into rooms of
//          --room-size, while every tenth joined peer sends one chat message a second (pings keep
//          the rest alive); it stops at the first step whose join p99 exceeds --p99-limit-ms, or at
//          --max-peers; then it holds everyone for --hold-seconds and counts who dropped.
//          A join that fails or times out (10 s) counts as a failure of its step and enters
//          the step's percentiles at its time to failure. Each broadcast's send → receipt time
//          is counted at every peer that receives it.
//     --town-hall: one template with quiet listeners (BenchTownHall.swift): the first --speakers
//          peers of each room are speakers, the rest listeners; one broadcast a second per room.
//
// The light peers use the SDK's transport (WebSocketTransport: TLS with the
// certificate pinned, the same code path as every client) but write raw JSON
// and only look at the type of what arrives, instead of running a
// ConfabSession each: a thousand sessions would decode and reduce every
// peer.joined of their rooms, so the figures would mostly measure the
// clients sharing the server's two cores.

import ArgumentParser
import ConfabClient
import ConfabProtocol
import ConfabRooms
import ConfabServer
import ConfabSocket
import Foundation
import Glibc
import Logging
import ServiceLifecycle
import Synchronization

struct BenchSignaling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signaling",
        abstract: "Join time (p50, p99) and how many peers one server joins and keeps with chat flowing.",
        discussion: """
            Runs a server in this process on a free loopback port with a scratch data directory; phase 2's light \
            peers run in a child process. Run it on a release build. Targets: join p50 ≤ 30 ms; 1,000 peers \
            joined in under 5 s.
            """)

    @Option(help: "Phase 1: sequential joins with the full SDK (ConfabSession).")
    var samples = 200

    @OptionGroup var steps: PeerSteps

    @Option(help: "Peers per room.")
    var roomSize = 50

    @Flag(help: "Rooms with an audience: listeners join quiet; the first --speakers of each room speak.")
    var townHall = false

    @Option(help: "With --town-hall: speakers per room.")
    var speakers = 10

    @OptionGroup var output: BenchOutput

    func validate() throws {
        guard samples >= 10 else { throw ValidationError("--samples must be at least 10") }
        guard roomSize >= 1 else { throw ValidationError("--room-size must be at least 1") }
        guard speakers >= 1, speakers <= roomSize else { throw ValidationError("--speakers must be 1 ... --room-size") }
    }

    /// A descriptor per peer: as many as the hard limit allows.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    func run() async throws {
        Self.raiseDescriptorLimit()
        let benchmark = SignalingBenchmark(
            samples: samples, steps: steps, roomSize: roomSize, townHall: townHall ? speakers : nil,
            progress: output.progress)
        let results: SignalingResults
        do {
            results = try await benchmark.run()
        } catch {
            throw CommandFailure("bench signaling: \(error)")
        }
        try output.print(results)
    }
}

// MARK: - Results

struct SignalingResults: Codable, Sendable, BenchReport {
    struct Latency: Codable, Sendable {
        var count: Int
        var p50Ms: Double
        var p99Ms: Double
        var maxMs: Double
    }

    struct Step: Codable, Sendable {
        /// Peers connected after the step.
        var peers: Int
        /// Every join of the step, failed ones at their time to failure.
        var join: Latency
        var failures: Int
        /// The largest `joined` reply of the step [bytes].
        var largestJoinedBytes: Int?
        /// The server process's resident memory after the step (the light peers run in a child) [KiB].
        var residentKiB: Int?
        /// What the server's allocator had handed out and not taken back after the step [KiB] (glibc's
        /// `mallinfo2`: in-use chunks of every arena plus mapped blocks); RSS above it is allocator overhead.
        var heapInUseKiB: Int?
        /// Wall time of the step's joins.
        var seconds: Double
        /// Chat messages acknowledged per second during the step, and their send → ack time.
        var chatPerSecond: Double
        var chatAck: Latency?
        /// Send → receipt of every broadcast's copy during the step, at every peer that got one.
        var delivery: Latency?
        /// Messages all peers received per second during the step.
        var receivedPerSecond: Double
        /// When the step began and ended (monotonic nanoseconds, shared by the processes).
        var startedAtNs: UInt64?
        var endedAtNs: UInt64?
        /// The probe joins that began during the step (`--town-hall`), failed ones at their time to failure.
        var probe: Latency?
        var probeFailures: Int?
    }

    var date: String
    var machine: String
    var cores: Int
    var roomSize: Int
    var concurrency: Int
    /// Speakers per room when the rooms had quiet listeners (`--town-hall`).
    var townHallSpeakers: Int?
    /// Phase 1: the whole SDK, one join at a time, idle server.
    var sdkJoin: Latency
    /// Phase 2, step by step.
    var steps: [Step]
    /// The most peers joined with every step's join p99 within the limit.
    var peersWithinLimit: Int
    var p99LimitMs: Int
    /// Wall time until 1,000 peers had joined in phase 2 (nil if fewer).
    var secondsToJoin1000: Double?
    /// After holding everyone connected for `holdSeconds`: how many dropped.
    var holdSeconds: Int
    var droppedDuringHold: Int
    var chatAckDuringHold: Latency?
    var deliveryDuringHold: Latency?
    var probeDuringHold: Latency?
    var probeFailuresDuringHold: Int?

    var table: String {
        func ms(_ value: Double) -> String { String(format: "%.1f ms", value) }
        var lines = [
            "confab bench signaling — \(date), \(machine), \(cores) cores; rooms of \(roomSize), \(concurrency) joins in flight",
            "",
            "phase 1, ConfabSession.join (connect + TLS + upgrade + join → joined), \(sdkJoin.count) sequential joins:",
            "  p50 \(ms(sdkJoin.p50Ms))   p99 \(ms(sdkJoin.p99Ms))   max \(ms(sdkJoin.maxMs))   (target p50 ≤ 30 ms)",
            "",
            phase2Title,
            "  (failed or timed-out joins count as failures and enter p50/p99/max at their time to failure)",
            "  peers   join p50   join p99   join max  failed  step s  chat/s  chat ack p50/p99    delivery p50/p99"
                + "    msgs in/s  joined KB  server RSS MiB  heap MiB" + (steps.contains { $0.probe != nil } ? "  probe p50 / p99  failed" : ""),
        ]
        for step in steps {
            let ack = step.chatAck.map { "\(ms($0.p50Ms)) / \(ms($0.p99Ms))" } ?? "—"
            let delivery = step.delivery.map { "\(ms($0.p50Ms)) / \(ms($0.p99Ms))" } ?? "—"
            lines.append(
                String(
                    format: "  %5d  %9.1f  %9.1f  %9.1f  %6d  %6.2f  %6.0f  %-18@  %-18@  %9.0f  %9.1f  %14.0f  %8.0f",
                    step.peers, step.join.p50Ms, step.join.p99Ms, step.join.maxMs, step.failures, step.seconds,
                    step.chatPerSecond, ack, delivery, step.receivedPerSecond, Double(step.largestJoinedBytes ?? 0) / 1_000,
                    Double(step.residentKiB ?? 0) / 1_024, Double(step.heapInUseKiB ?? 0) / 1_024) + probeColumns(step))
        }
        lines.append("")
        lines.append("peers joined with join p99 ≤ \(p99LimitMs) ms at every step: \(peersWithinLimit)")
        lines.append(
            "time to join 1,000 peers: "
                + (secondsToJoin1000.map { String(format: "%.2f s (target < 5 s)", $0) } ?? "not reached"))
        let holdAck = chatAckDuringHold.map { "; chat ack p50 \(ms($0.p50Ms)), p99 \(ms($0.p99Ms))" } ?? ""
        let holdDelivery = deliveryDuringHold.map { "; delivery p50 \(ms($0.p50Ms)), p99 \(ms($0.p99Ms))" } ?? ""
        lines.append(
            "held \(steps.last?.peers ?? 0) peers for \(holdSeconds) s: \(droppedDuringHold) dropped\(holdAck)\(holdDelivery)")
        lines += probeSummary
        return lines.joined(separator: "\n")
    }
}

extension SignalingResults.Latency {
    /// Nearest-rank percentiles of `samples`.
    init(_ samples: [Duration]) {
        let sorted = samples.map { Double($0.components.seconds) * 1_000 + Double($0.components.attoseconds) / 1e15 }
            .sorted()
        func percentile(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let rank = Int((fraction * Double(sorted.count)).rounded(.up))
            return sorted[min(max(rank, 1), sorted.count) - 1]
        }
        self.init(count: sorted.count, p50Ms: percentile(0.5), p99Ms: percentile(0.99), maxMs: sorted.last ?? 0)
    }
}

// MARK: - The benchmark

struct SignalingBenchmark: Sendable {
    let samples: Int
    let steps: PeerSteps
    let roomSize: Int
    /// Speakers per room in a town hall; nil for rooms where everyone is announced.
    let townHall: Int?
    let progress: @Sendable (String) -> Void

    func run() async throws -> SignalingResults {
        let data = "/tmp/confab-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        var logger = Logger(label: "confab.bench.server")
        // Shutdown with a thousand connections open logs cancelled child channels.
        logger.logLevel = .critical
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0, dataDirectory: data)
        // Every peer comes from 127.0.0.1, up to 256 joins in flight.
        configuration.admission.maximumUnauthenticatedPerSource = configuration.admission.maximumUnauthenticated
        if townHall != nil { configuration.defaultTemplate = .townHall }
        let server = try await ConfabServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [server], logger: logger))
        let serverTask = Task { try await group.run() }
        defer { serverTask.cancel() }
        guard let port = await server.waitUntilListening(timeout: .seconds(30)) else {
            throw CommandFailure("the server did not start")
        }
        let authority = await TokenAuthority(secret: try DataDirectory(path: data).tokenSecret(create: false))
        // The server's fingerprint type (ConfabProtocol) and the client's pin
        // type (ConfabClient) are twins; the printed form converts one to the other.
        guard let pin = CertificateFingerprint(server.identity.fingerprint.description) else {
            throw CommandFailure("cannot read the server's fingerprint")
        }
        let context = BenchContext(
            port: port, fingerprint: pin, authority: authority, roomSize: roomSize, townHallSpeakers: townHall)

        let sdkJoin = try await sequentialSDKJoins(context: context)

        // Phase 2: light peers in steps, chat flowing, in a child process.
        let serverArguments = BenchServerOptions.arguments(port: port, fingerprint: pin, data: data, roomSize: roomSize)
        // A town hall's SDK samples joined a room of their own: phase 2 fills rooms from index 0.
        var arguments = serverArguments + ["--first-index", "\(townHall == nil ? samples : 0)"]
        arguments += steps.arguments
        if let townHall { arguments += ["--speakers", "\(townHall)"] }
        progress(
            "phase 2: light peers in a child process, in steps of \(steps.step); then everyone held \(steps.holdSeconds) s")
        let child = try BenchChild<SignalingPeersReport>(command: "signaling-peers", arguments: arguments)
        defer { child.stop() }
        let probes = try townHall.map { speakers in
            try SignalingProbesChild(arguments: serverArguments + ["--speakers", "\(speakers)", "--every-ms", "100"])
        }
        defer { probes?.stop() }
        var measured: [SignalingResults.Step] = []
        var hold: SignalingPeersReport.Hold?
        for await report in child.reports {
            if var result = report.step {
                result.residentKiB = Self.residentKiB()
                result.heapInUseKiB = Self.heapInUseKiB()
                measured.append(result)
                progress(String(format: "  %d peers: join p50 %.1f ms, p99 %.1f ms, %d failed (in the percentiles)",
                                result.peers, result.join.p50Ms, result.join.p99Ms, result.failures))
            }
            if let last = report.hold {
                hold = last
                break
            }
        }
        guard let hold else { throw CommandFailure("the light peers' process ended early") }
        if let probes, let window = hold.window { await probes.settle(before: window.upperBound) }
        probes?.stop()
        let peersWithinLimit =
            measured.prefix { $0.join.p99Ms <= Double(steps.p99LimitMs) && $0.failures == 0 }.last?.peers ?? 0

        await group.triggerGracefulShutdown()
        _ = try? await serverTask.value

        var results = SignalingResults(
            date: ISO8601DateFormatter().string(from: Date()), machine: Self.machine(),
            cores: ProcessInfo.processInfo.activeProcessorCount, roomSize: roomSize, concurrency: steps.concurrency,
            townHallSpeakers: townHall, sdkJoin: sdkJoin, steps: measured, peersWithinLimit: peersWithinLimit,
            p99LimitMs: steps.p99LimitMs, secondsToJoin1000: hold.secondsToJoin1000, holdSeconds: steps.holdSeconds,
            droppedDuringHold: hold.dropped,
            chatAckDuringHold: hold.chatAck, deliveryDuringHold: hold.delivery)
        if let probes { results.addProbes(probes, holdWindow: hold.window) }
        return results
    }

    /// Phase 1: the whole SDK, one join at a time (a town hall's in a room of their own).
    private func sequentialSDKJoins(context: BenchContext) async throws -> SignalingResults.Latency {
        progress("phase 1: \(samples) sequential ConfabSession joins")
        var sessions: [ConfabSession] = []
        var times: [Duration] = []
        for index in 0..<samples {
            let session = try await context.session(index: townHall == nil ? index : -1 - index)
            let start = ContinuousClock.now
            try await session.join()
            times.append(ContinuousClock.now - start)
            sessions.append(session)
        }
        for session in sessions { await session.leave() }
        return SignalingResults.Latency(times)
    }

    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(cpu), Linux \(kernel)"
    }
}

/// What every peer needs to join.
struct BenchContext: Sendable {
    let port: Int
    let fingerprint: CertificateFingerprint
    let authority: TokenAuthority
    let roomSize: Int
    /// Speakers per room in a town hall (the rest are listeners); nil: everyone speaks.
    var townHallSpeakers: Int?

    var transport: WebSocketTransport {
        WebSocketTransport(trust: .pinned(fingerprint, knownServersPath: nil))
    }

    /// The probes' indices (BenchSignalingProbes.swift): listeners of the first room.
    static let firstProbeIndex = 1_000_000_000

    /// Phase 1's samples have negative indices in a town hall: a room of their own.
    func room(of index: Int) -> String {
        if index >= Self.firstProbeIndex { return "bench-0" }
        return index < 0 ? "bench-sdk" : "bench-\(index / roomSize)"
    }

    func role(of index: Int) -> RoleName {
        if index >= Self.firstProbeIndex { return "listener" }
        guard let speakers = townHallSpeakers, index >= 0 else { return "speaker" }
        return index % roomSize < speakers ? "speaker" : "listener"
    }

    /// Every tenth peer chats once a second; in a town hall, the first speaker of each room.
    func isChatter(_ index: Int) -> Bool {
        townHallSpeakers == nil ? index % 10 == 0 : index % roomSize == 0
    }

    func endpoint(index: Int) throws -> ServerEndpoint {
        try ServerEndpoint(url: "wss://127.0.0.1:\(port)/\(room(of: index))")
    }

    func token(index: Int) async throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        let claims = TokenClaims(
            room: RoomName(uncheckedRawValue: room(of: index)), peer: PeerID(uncheckedRawValue: "peer\(index)"),
            name: "Peer \(index)", role: role(of: index), issuedAt: now, expiresAt: now + 3_600)
        return try await authority.sign(claims)
    }

    /// A full SDK session (phase 1).
    func session(index: Int) async throws -> ConfabSession {
        var configuration = SessionConfiguration(endpoint: try endpoint(index: index), token: try await token(index: index))
        configuration.historyLimit = 0
        return ConfabSession(configuration: configuration, transport: transport)
    }
}

/// Totals across all light peers.
final class BenchCounters: Sendable {
    struct Snapshot {
        var received: Int
        var acks: Int
        var dropped: Int
    }

    private let received = Atomic<Int>(0)
    private let acks = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)
    private let ackTimes = Mutex<[Duration]>([])
    private let deliveryTimes = Mutex<[Duration]>([])
    private let largestJoined = Atomic<Int>(0)

    func messageReceived() { received.add(1, ordering: .relaxed) }
    func peerDropped() { dropped.add(1, ordering: .relaxed) }
    func joinedReceived(bytes: Int) { _ = largestJoined.max(bytes, ordering: .relaxed) }

    /// The largest `joined` since the last call; nil if none came.
    func takeLargestJoined() -> Int? {
        let largest = largestJoined.exchange(0, ordering: .relaxed)
        return largest == 0 ? nil : largest
    }
    func chatAcknowledged(after time: Duration) {
        acks.add(1, ordering: .relaxed)
        ackTimes.withLock { $0.append(time) }
    }

    func broadcastDelivered(after time: Duration) { deliveryTimes.withLock { $0.append(time) } }

    /// The send → receipt times of broadcasts since the last call; nil if none.
    func takeDeliveryTimes() -> [Duration]? {
        let times = deliveryTimes.withLock { times in
            defer { times = [] }
            return times
        }
        return times.isEmpty ? nil : times
    }

    func snapshot() -> Snapshot {
        Snapshot(
            received: received.load(ordering: .relaxed), acks: acks.load(ordering: .relaxed),
            dropped: dropped.load(ordering: .relaxed))
    }

    /// The send → ack times since the last call; nil if none.
    func takeAckTimes() -> [Duration]? {
        let times = ackTimes.withLock { times in
            defer { times = [] }
            return times
        }
        return times.isEmpty ? nil : times
    }
}

/// The joined light peers, appended as they join.
final class PeerList: Sendable {
    private let peers = Mutex<[BenchPeer]>([])
    func append(_ peer: BenchPeer) { peers.withLock { $0.append(peer) } }
    var all: [BenchPeer] { peers.withLock { $0 } }
    var count: Int { peers.withLock { $0.count } }
}

/// A light peer: the SDK's pinned transport, raw JSON out, only the message
/// type looked at on the way in.
final class BenchPeer: Sendable {
    let index: Int
    let connection: any SignallingConnection
    let isChatter: Bool
    private let chatSentAt = Mutex<ContinuousClock.Instant?>(nil)
    private let counter = Atomic<Int>(0)

    private init(index: Int, connection: any SignallingConnection, isChatter: Bool) {
        self.index = index
        self.connection = connection
        self.isChatter = isChatter
    }

    /// Connects and joins; the peer and the time from opening the connection
    /// to reading `joined`, or nil and the time to failure.
    static func join(index: Int, context: BenchContext, counters: BenchCounters) async -> (BenchPeer?, Duration) {
        let start = ContinuousClock.now
        do {
            let token = try await context.token(index: index)
            let endpoint = try context.endpoint(index: index)
            let join = #"{"v":1,"type":"join","id":"j","room":"\#(context.room(of: index))","token":"\#(token)","historyLimit":0}"#
            let began = ContinuousClock.now
            let connection = try await context.transport.connect(to: endpoint)
            let peer = BenchPeer(index: index, connection: connection, isChatter: context.isChatter(index))
            let (admitted, admission) = AsyncStream<Bool>.makeStream()
            Task { await peer.read(counters: counters, admission: admission) }
            let timeout = Task {
                try await Task.sleep(for: .seconds(10))
                admission.yield(false)
            }
            defer { timeout.cancel() }
            try await connection.send(join)
            for await ok in admitted {
                if ok { return (peer, ContinuousClock.now - began) }
                break
            }
            await connection.close()
            return (nil, ContinuousClock.now - start)
        } catch {
            return (nil, ContinuousClock.now - start)
        }
    }

    /// Reads until the connection closes: signals the join, times chat acks, counts the rest.
    private func read(counters: BenchCounters, admission: AsyncStream<Bool>.Continuation) async {
        var joined = false
        for await text in connection.incoming {
            counters.messageReceived()
            if !joined {
                if Self.messageType(text) == "joined" {
                    joined = true
                    counters.joinedReceived(bytes: text.utf8.count)
                    admission.yield(true)
                } else if Self.messageType(text) == "error" {
                    admission.yield(false)
                }
            } else if let sentNs = Self.broadcastSentAt(text) {
                let now = MonotonicClock.nanoseconds()
                if now >= sentNs { counters.broadcastDelivered(after: .nanoseconds(Int64(now - sentNs))) }
            } else if Self.messageType(text) == "chat.ack", let sent = chatSentAt.withLock({ sent in
                defer { sent = nil }
                return sent
            }) {
                counters.chatAcknowledged(after: ContinuousClock.now - sent)
            }
        }
        admission.finish()
        if joined { counters.peerDropped() }
    }

    func sendChat() async {
        let number = counter.add(1, ordering: .relaxed).newValue
        chatSentAt.withLock { $0 = .now }
        let text = "bench message \(number) \(Self.sentMarker)\(MonotonicClock.nanoseconds())"
        try? await connection.send(
            #"{"v":1,"type":"chat.send","id":"c\#(number)","target":{"kind":"broadcast"},"text":"\#(text)"}"#)
    }

    /// What precedes the send time (monotonic ns) in a broadcast's text.
    static let sentMarker = "sent@"

    /// The send time a broadcast from a bench peer carries; nil for anything else.
    static func broadcastSentAt(_ text: String) -> UInt64? {
        guard text.utf8.count < 2_048, let marker = text.range(of: sentMarker) else { return nil }
        let digits = text[marker.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return UInt64(digits)
    }

    func ping() async {
        try? await connection.send(#"{"v":1,"type":"ping","id":"p"}"#)
    }

    /// The message's `type`. The server writes the envelope (`v`, `type`,
    /// `id`) first: look near the start rather than parse the whole message.
    static func messageType(_ text: String) -> String? {
        let head = String(decoding: text.utf8.prefix(64), as: UTF8.self)
        if let start = head.range(of: #""type":""#) {
            let rest = head[start.upperBound...]
            if let end = rest.firstIndex(of: "\"") { return String(rest[..<end]) }
        }
        let tail = String(decoding: text.utf8.suffix(2_048), as: UTF8.self)
        guard let start = tail.range(of: #""type":""#, options: .backwards) else { return nil }
        let rest = tail[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
