// What a cluster's kept-session writes cost in a room of 500 peers joined on
// one node (docs/CLUSTER.md, "Failover"; figures in BENCHMARKS.md), read from
// the node's own metrics.
//
//   test ─▶ PostgresServer ◀─ node (in process) ◀─ 500 RawClients joining one room, one after another
//        ─▶ confab_kept_session_write_seconds / _rows_total: the writes of the joins
//        ─▶ one peer unmutes (written off the room's path), mutes (written before the answer), 10 times:
//           each write is one row, whatever the room's size

import ConfabProtocol
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("A cluster's kept-session writes cost what changed, not the room's size", .serialized, .timeLimit(.minutes(10)))
struct KeptSessionWriteCostTests {
    /// The node's kept-session figures: writes, their total time, rows.
    struct Figures {
        var writes = 0
        var seconds = 0.0
        var rows = 0

        init(_ server: ConfabServer) {
            for line in server.metrics.render().split(separator: "\n") where line.hasPrefix("confab_kept_session_") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let value = Double(parts[1]) else { continue }
                switch parts[0] {
                case "confab_kept_session_write_seconds_count": writes = Int(value)
                case "confab_kept_session_write_seconds_sum": seconds = value
                case "confab_kept_session_rows_total": rows = Int(value)
                default: break
                }
            }
        }
    }

    static func milliseconds(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1_000) }

    @Test("500 peers join one room of a node: the writes keep up, and one peer's change then writes one row")
    func fiveHundredPeers() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        // Silent raw clients must not be taken for dead while the others join.
        let node = try await ClusterNode.start(
            database, keepalive: KeepaliveInfo(pingIntervalMs: 60_000, deadAfterMs: 600_000))
        let server = node.running.server
        let room = TestServer.uniqueRoom("kept500")
        let peers = 500
        var clients: [RawClient] = []
        let joining = ContinuousClock.now
        for index in 0..<peers {
            clients.append(try await node.join("p\(index)", role: "speaker", room: room).0)
        }
        let joinsTook = ContinuousClock.now - joining
        // Every peer's row written (joins are written off the room's path, a few at a time).
        let allWritten = await waitUntil(timeout: .seconds(30), every: .milliseconds(50)) { Figures(server).rows >= peers }
        let joined = Figures(server)
        #expect(allWritten, "\(joined.rows) rows written for \(peers) peers")
        print(
            "\(peers) joins in \(joinsTook): \(joined.writes) kept-session writes, \(joined.rows) rows, "
                + "\(Self.milliseconds(joined.seconds / Double(max(joined.writes, 1)))) a write on average")
        // One peer's change with the room full: an unmute (off the room's path) and a
        // mute (written before it is answered), ten of each.
        let speaker = clients[7]
        var times: [Double] = []
        for round in 0..<20 {
            let before = Figures(server)
            let verb = round.isMultiple(of: 2) ? "track.unmute" : "track.mute"
            speaker.send(#"{"v": 1, "type": "\#(verb)", "id": "m\#(round)", "track": "p7:mic"}"#)
            let reply = try await speaker.next { $0.id?.rawValue == "m\(round)" }
            guard case .ok = reply.body else {
                Issue.record("\(verb): \(reply)")
                return
            }
            let written = await waitUntil(timeout: .seconds(10), every: .milliseconds(10)) {
                Figures(server).writes > before.writes
            }
            #expect(written)
            // No other change is under way: the write made for this one, alone.
            try await Task.sleep(for: .milliseconds(50))
            let after = Figures(server)
            #expect(after.rows - before.rows == 1, "round \(round): \(after.rows - before.rows) rows for one peer's change")
            times.append((after.seconds - before.seconds) / Double(max(after.writes - before.writes, 1)))
        }
        let sorted = times.sorted()
        print(
            "one peer's change in a room of \(peers): one row a write, median \(Self.milliseconds(sorted[sorted.count / 2])), "
                + "max \(Self.milliseconds(sorted.last ?? 0)) (\(times.count) writes)")
        for client in clients { client.close() }
        await node.stop()
    }
}
