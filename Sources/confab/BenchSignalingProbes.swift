// `confab bench signaling --town-hall`: join time as one client sees it.
//
//   parent ─ spawns ─▶ confab bench signaling-probes --port … --every-ms …
//             every --every-ms one fresh connection joins the town hall as a listener,
//             is timed (TCP + TLS + upgrade + join → joined) and leaves; one JSON line per probe
//   parent: each probe goes to the step (or the hold) it started in, by the monotonic clock
//
// The population's joins (signaling-peers) are timed in a process that also
// reads every copy of every broadcast and count update for up to 10,000 peers
// on the same two cores: a `joined` waits in that process's queues behind
// thousands of other peers' messages, which no real client has. The probes'
// process does nothing else, so their times are the server's plus one
// client's. Both are reported; failures count in both.

import ArgumentParser
import ConfabClient
import ConfabProtocol
import ConfabServer
import ConfabSocket
import Foundation
import Synchronization

/// One probe, reported when it starts (`ms` nil) and again when it ends.
struct ProbeReport: Codable, Sendable {
    var number: Int
    /// When it started (monotonic, shared by the processes).
    var startedAtNs: UInt64
    /// Time to `joined`, or to failure; nil when only started.
    var ms: Double?
    var ok: Bool
}

struct BenchSignalingProbes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signaling-probes", abstract: "The probe joins of `confab bench signaling --town-hall`.",
        shouldDisplay: false)

    @OptionGroup var server: BenchServerOptions
    @Option var speakers: Int
    @Option var everyMs: Int

    func run() async throws {
        let context = try await server.context(townHallSpeakers: speakers)
        let counters = BenchCounters()
        // Until the parent stops this process.
        for probe in 0... {
            let startedAtNs = MonotonicClock.nanoseconds()
            BenchSignalingPeers.emitLine(ProbeReport(number: probe, startedAtNs: startedAtNs, ms: nil, ok: false))
            Task {
                let (peer, time) = await BenchPeer.join(
                    index: BenchContext.firstProbeIndex + probe, context: context, counters: counters)
                BenchSignalingPeers.emitLine(
                    ProbeReport(number: probe, startedAtNs: startedAtNs, ms: time.milliseconds, ok: peer != nil))
                await peer?.connection.close()
            }
            try await Task.sleep(for: .milliseconds(everyMs))
        }
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15 }
}

/// The probes' results as they arrive.
final class SignalingProbesChild: Sendable {
    private let child: BenchChild<ProbeReport>
    private let book = ProbeBook()

    /// Every probe by number: its start, then its end.
    private final class ProbeBook: Sendable {
        let probes = Mutex<[Int: ProbeReport]>([:])
    }

    init(arguments: [String]) throws {
        child = try BenchChild(command: "signaling-probes", arguments: arguments)
        let (reports, book) = (child.reports, self.book)
        // About twenty lines a second: collecting them costs the server nothing.
        Task { for await report in reports { book.probes.withLock { $0[report.number] = report } } }
    }

    /// Waits (up to the probes' own 10-s timeout and a little) until every
    /// probe that started before `instant` has ended.
    func settle(before instant: UInt64) async {
        let deadline = ContinuousClock.now + .seconds(12)
        while ContinuousClock.now < deadline,
            book.probes.withLock({ $0.values.contains { $0.startedAtNs < instant && $0.ms == nil } })
        {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The probes that started in `window` (monotonic nanoseconds); one that
    /// never ended is a failure at the time it was given.
    func latency(startedIn window: Range<UInt64>) -> (SignalingResults.Latency, failures: Int)? {
        let inWindow = book.probes.withLock { $0.values.filter { window.contains($0.startedAtNs) } }
        guard !inWindow.isEmpty else { return nil }
        let times = inWindow.map { Duration.nanoseconds(Int64(($0.ms ?? 12_000) * 1e6)) }
        return (SignalingResults.Latency(times), inWindow.count { !$0.ok })
    }

    func stop() { child.stop() }
}

extension SignalingResults {
    /// Puts each probe into the step (or the hold) it started in.
    mutating func addProbes(_ probes: SignalingProbesChild, holdWindow: Range<UInt64>?) {
        for index in steps.indices {
            guard let start = steps[index].startedAtNs, let end = steps[index].endedAtNs, start < end,
                let (latency, failures) = probes.latency(startedIn: start..<end)
            else { continue }
            steps[index].probe = latency
            steps[index].probeFailures = failures
        }
        if let holdWindow, let (latency, failures) = probes.latency(startedIn: holdWindow) {
            probeDuringHold = latency
            probeFailuresDuringHold = failures
        }
    }

    /// The probes' columns of a step's line, when there were probes.
    func probeColumns(_ step: Step) -> String {
        guard let probe = step.probe else { return "" }
        return String(format: "  %7.1f / %-7.1f %3d/%d", probe.p50Ms, probe.p99Ms, step.probeFailures ?? 0, probe.count)
    }

    /// The lines on the probes under the table, when there were probes.
    var probeSummary: [String] {
        guard steps.contains(where: { $0.probe != nil }) else { return [] }
        let within = steps.prefix { ($0.probe?.p99Ms ?? .infinity) <= Double(p99LimitMs) && ($0.probeFailures ?? 1) == 0 }
        var lines = [
            "probe joins (a process of their own that does nothing else; each joins, is timed, leaves): "
                + "p99 ≤ \(p99LimitMs) ms with none failed at every step up to \(within.last?.peers ?? 0) peers"
        ]
        if let hold = probeDuringHold {
            lines.append(
                String(format: "probe joins while held: p50 %.1f ms, p99 %.1f ms, %d of %d failed",
                       hold.p50Ms, hold.p99Ms, probeFailuresDuringHold ?? 0, hold.count))
        }
        return lines
    }
}
