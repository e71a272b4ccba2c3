// `confab bench signaling`, phase 2, in a child process of its own, so that
// the server is measured rather than the light clients sharing its process
// (its resident memory per peer, above all).
//
//   parent: confab bench signaling ─ server in this process ─ phase 1 (SDK joins)
//     └ spawns ─▶ confab bench signaling-peers --port … --fingerprint … --data …
//                  light peers join in steps, chat flowing ─▶ one JSON line per step
//                  (the parent adds its own RSS: the server's) ─▶ hold ─▶ a last line
//
// A broadcast's text carries the monotonic time it was sent at: every peer
// that receives it (in the same child, so on the same clock) counts the
// delivery time.

import ArgumentParser
import ConfabClient
import ConfabProtocol
import ConfabServer
import ConfabSocket
import Foundation
import Synchronization

/// One line of the child's output.
struct SignalingPeersReport: Codable, Sendable {
    struct Hold: Codable, Sendable {
        var dropped: Int
        var chatAck: SignalingResults.Latency?
        var delivery: SignalingResults.Latency?
        var secondsToJoin1000: Double?
        /// When the hold began and ended (monotonic nanoseconds).
        var window: Range<UInt64>?
    }

    var step: SignalingResults.Step?
    var hold: Hold?
}

struct BenchSignalingPeers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signaling-peers", abstract: "The light peers of `confab bench signaling` (started by it).",
        shouldDisplay: false)

    @OptionGroup var server: BenchServerOptions
    @Option var speakers: Int?
    @OptionGroup var steps: PeerSteps
    @Option var firstIndex: Int

    func run() async throws {
        BenchSignaling.raiseDescriptorLimit()
        let context = try await server.context(townHallSpeakers: speakers)
        let peers = SignalingPeers(context: context, steps: steps, firstIndex: firstIndex)
        let hold = await peers.run { step in Self.emit(SignalingPeersReport(step: step)) }
        Self.emit(SignalingPeersReport(hold: hold))
    }

    static func emit(_ report: SignalingPeersReport) { emitLine(report) }

    /// One JSON line on standard output (short enough to be written at once).
    static func emitLine(_ report: some Encodable) {
        guard var data = try? JSONEncoder().encode(report) else { return }
        data.append(0x0A)
        FileHandle.standardOutput.write(data)
    }
}

/// Phase 2: light peers joining in steps while chat flows, then a hold.
struct SignalingPeers: Sendable {
    let context: BenchContext
    let steps: PeerSteps
    let firstIndex: Int

    func run(onStep: (SignalingResults.Step) -> Void) async -> SignalingPeersReport.Hold {
        let counters = BenchCounters()
        let peers = PeerList()
        let pingEveryTicks = context.townHallSpeakers == nil ? 10 : 50
        let traffic = Task { await Self.keepTraffic(peers: peers, pingEveryTicks: pingEveryTicks) }
        defer { traffic.cancel() }
        var secondsToJoin1000: Double?
        var joinSeconds = 0.0
        var nextIndex = firstIndex
        while peers.count < steps.maxPeers {
            let first = nextIndex
            nextIndex += steps.step
            let stepStart = ContinuousClock.now
            let startedAtNs = MonotonicClock.nanoseconds()
            let before = counters.snapshot()
            let outcome = await joinStep(indices: first..<nextIndex, counters: counters, peers: peers)
            let seconds = (ContinuousClock.now - stepStart).seconds
            let after = counters.snapshot()
            if secondsToJoin1000 == nil, let thousandth = outcome.thousandth(previous: peers.count - outcome.joined) {
                secondsToJoin1000 = joinSeconds + (thousandth - stepStart).seconds
            }
            joinSeconds += seconds
            var result = SignalingResults.Step(
                peers: peers.count, join: SignalingResults.Latency(outcome.times + outcome.failedTimes),
                failures: outcome.failures, largestJoinedBytes: counters.takeLargestJoined(), residentKiB: nil,
                seconds: seconds, chatPerSecond: Double(after.acks - before.acks) / max(seconds, 0.001),
                chatAck: counters.takeAckTimes().map(SignalingResults.Latency.init),
                delivery: counters.takeDeliveryTimes().map(SignalingResults.Latency.init),
                receivedPerSecond: Double(after.received - before.received) / max(seconds, 0.001))
            (result.startedAtNs, result.endedAtNs) = (startedAtNs, MonotonicClock.nanoseconds())
            onStep(result)
            guard result.join.p99Ms <= Double(steps.p99LimitMs), result.failures == 0 else { break }
        }
        // Hold: everyone stays while chat flows; count who dropped.
        let droppedBefore = counters.snapshot().dropped
        _ = counters.takeAckTimes()
        _ = counters.takeDeliveryTimes()
        let holdStartedAtNs = MonotonicClock.nanoseconds()
        try? await Task.sleep(for: .seconds(steps.holdSeconds))
        var hold = SignalingPeersReport.Hold(
            dropped: counters.snapshot().dropped - droppedBefore,
            chatAck: counters.takeAckTimes().map(SignalingResults.Latency.init),
            delivery: counters.takeDeliveryTimes().map(SignalingResults.Latency.init), secondsToJoin1000: secondsToJoin1000)
        hold.window = holdStartedAtNs..<MonotonicClock.nanoseconds()
        traffic.cancel()
        for peer in peers.all { await peer.connection.close() }
        return hold
    }

    private struct StepOutcome {
        var times: [Duration] = []
        var finishedAt: [ContinuousClock.Instant] = []
        /// Time to failure of each failed or timed-out join.
        var failedTimes: [Duration] = []
        var failures: Int { failedTimes.count }
        var joined: Int { times.count }

        /// When the 1,000th peer overall finished joining, if it did in this step.
        func thousandth(previous: Int) -> ContinuousClock.Instant? {
            guard previous < 1_000, previous + finishedAt.count >= 1_000 else { return nil }
            return finishedAt.sorted()[1_000 - previous - 1]
        }
    }

    /// Joins the peers of `indices`, `concurrency` at a time.
    private func joinStep(indices: Range<Int>, counters: BenchCounters, peers: PeerList) async -> StepOutcome {
        await withTaskGroup(of: (BenchPeer?, Duration).self) { group in
            var outcome = StepOutcome()
            var pending = indices.makeIterator()
            func collect(_ result: (BenchPeer?, Duration)) {
                if let peer = result.0 {
                    peers.append(peer)
                    outcome.times.append(result.1)
                    outcome.finishedAt.append(.now)
                } else {
                    outcome.failedTimes.append(result.1)
                }
            }
            for _ in 0..<steps.concurrency {
                guard let index = pending.next() else { break }
                group.addTask { await BenchPeer.join(index: index, context: context, counters: counters) }
            }
            while let result = await group.next() {
                collect(result)
                if let index = pending.next() {
                    group.addTask { await BenchPeer.join(index: index, context: context, counters: counters) }
                }
            }
            return outcome
        }
    }

    /// Every 100 ms: a tenth of the chatters send (so each chats once a
    /// second), and one in `pingEveryTicks` of the others pings (each once
    /// every `pingEveryTicks` ticks; the server's default keepalive drops a
    /// peer silent for 15 s).
    private static func keepTraffic(peers: PeerList, pingEveryTicks: Int) async {
        var tick = 0
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                return
            }
            let slot = tick % 10
            // Chatters are every tenth peer; spread them over the ten slots so
            // the chat flows evenly rather than in one burst a second.
            for peer in peers.all {
                if peer.isChatter {
                    if (peer.index / 10) % 10 == slot { await peer.sendChat() }
                } else if peer.index % pingEveryTicks == tick % pingEveryTicks {
                    await peer.ping()
                }
            }
            tick += 1
        }
    }
}

/// A child process of the benchmark that reports one JSON line at a time,
/// read on a thread of its own (the server's tasks keep the cooperative pool).
final class BenchChild<Report: Decodable & Sendable>: Sendable {
    private let process: Process
    let reports: AsyncStream<Report>

    init(command: String, arguments: [String]) throws {
        let process = Process()
        process.executableURL = try thisExecutable()
        process.arguments = ["bench", command] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        self.process = process
        let (reports, continuation) = AsyncStream<Report>.makeStream()
        self.reports = reports
        let descriptor = output.fileHandleForReading.fileDescriptor
        Thread.detachNewThread {
            let lines = LineReader(descriptor: descriptor)
            while let line = lines.next() {
                if let report = try? JSONDecoder().decode(Report.self, from: Data(line.utf8)) {
                    continuation.yield(report)
                }
            }
            continuation.finish()
        }
    }

    /// The child's process id (to raise its priority beside the server's, say).
    var processIdentifier: Int32 { process.processIdentifier }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// How a child process of `confab bench signaling` reaches the parent's
/// server and mints its tokens.
struct BenchServerOptions: ParsableArguments, Sendable {
    @Option var port: Int
    @Option var fingerprint: String
    @Option(help: "The server's data directory (its token secret).") var data: String
    @Option var roomSize: Int

    func context(townHallSpeakers: Int?) async throws -> BenchContext {
        guard let pin = CertificateFingerprint(fingerprint) else { throw CommandFailure("not a fingerprint: \(fingerprint)") }
        let authority = await TokenAuthority(secret: try DataDirectory(path: data).tokenSecret(create: false))
        return BenchContext(
            port: port, fingerprint: pin, authority: authority, roomSize: roomSize, townHallSpeakers: townHallSpeakers)
    }

    /// The command line a child reads these from.
    static func arguments(port: Int, fingerprint: CertificateFingerprint, data: String, roomSize: Int) -> [String] {
        ["--port", "\(port)", "--fingerprint", fingerprint.description, "--data", data, "--room-size", "\(roomSize)"]
    }
}

/// Phase 2's settings: the parent reads them from its command line and hands
/// them on to the child's.
struct PeerSteps: ParsableArguments, Sendable {
    @Option(help: "Phase 2: peers joined per step.")
    var step = 250

    @Option(help: "Phase 2: stop after this many peers.")
    var maxPeers = 4_000

    @Option(help: "Joins in flight at once.")
    var concurrency = 8

    @Option(help: "Phase 2 stops at the first step whose join p99 exceeds this.")
    var p99LimitMs = 100

    @Option(help: "After the last step, keep everyone connected (chat flowing) this long and count drops.")
    var holdSeconds = 10

    func validate() throws {
        guard step >= 10, maxPeers >= step else { throw ValidationError("--step must be at least 10 and at most --max-peers") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be 1...256") }
        guard p99LimitMs > 0, holdSeconds >= 0 else { throw ValidationError("--p99-limit-ms must be positive") }
    }

    /// The same settings as the child's command line.
    var arguments: [String] {
        [
            "--step", "\(step)", "--max-peers", "\(maxPeers)", "--concurrency", "\(concurrency)",
            "--p99-limit-ms", "\(p99LimitMs)", "--hold-seconds", "\(holdSeconds)",
        ]
    }
}
