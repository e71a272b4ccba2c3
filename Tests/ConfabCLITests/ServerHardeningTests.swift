// `confab serve` as an operator runs it, under attack and at shutdown.
//
//   test ─▶ prlimit --nofile=1024 confab serve ◀── 1,100 silent TCP connections (from 127.0.0.2, 100 at a time)
//                                              ◀── confab join --headless (from 127.0.0.1): joins within seconds
//        ─▶ /proc/PID/stat utime+stime over the window: under half a core
//   test ─▶ confab serve, SIGTERM ─▶ exit 0, nothing logged at error level

import ConfabTestSupport
import Foundation
import Glibc
import Testing

@Suite("Server hardening")
struct ServerHardeningTests {
    @Test("with 1,100 silent connections against 1,024 descriptors a real client still joins and the server stays under half a core")
    func silentFlood() async throws {
        try await floodThenJoin(config: ServerProcess.shortKeepalive, joinWithin: .seconds(5))
    }

    @Test("with the caps off, the server stops accepting near its descriptor limit instead of spinning, and a client joins once deadlines free descriptors")
    func descriptorBudget() async throws {
        let config =
            ServerProcess.shortKeepalive + """

            [connections]
            tlsHandshakeTimeoutMs = 2000
            maxUnauthenticated = 100000
            maxUnauthenticatedPerSource = 100000
            """
        try await floodThenJoin(config: config, joinWithin: .seconds(10))
    }

    /// 1,100 silent connections from 127.0.0.2 against `confab serve` with
    /// 1,024 descriptors, then `confab join` from 127.0.0.1; checks the join
    /// time, the server's CPU share over the join and that nothing was logged as an error.
    private func floodThenJoin(config: String, joinWithin limit: Duration) async throws {
        try raiseOwnDescriptorLimit(to: 4_096)
        let server = try await ServerProcess(config: config, descriptorLimit: 1_024)
        var attackers: [Int32] = []
        defer { for descriptor in attackers { close(descriptor) } }
        // In batches the accept queue can take, each answered (held, or
        // closed to make room) before the next: every connection lands.
        for _ in 0..<11 {
            var batch: [Int32] = []
            for _ in 0..<100 { batch.append(try connectNonBlocking(from: "127.0.0.2", port: server.port)) }
            attackers += batch
            await waitUntil(timeout: .seconds(3)) {
                batch = batch.filter { !connectFinished($0) }
                return batch.isEmpty
            }
        }

        let started = ContinuousClock.now
        let cpuBefore = try cpuSeconds(of: server.process.pid)
        let bot = try await HeadlessBot("alice", server: server, room: "flood", role: "host")
        try await bot.expectEvent("joined", timeout: limit + .seconds(5))
        let joinTime = ContinuousClock.now - started
        #expect(joinTime < limit, "the join took \(joinTime)")
        // At least three seconds of window, so the figure is not a blip.
        let minimum = started + .seconds(3)
        if ContinuousClock.now < minimum { try await Task.sleep(until: minimum) }
        let cpu = try cpuSeconds(of: server.process.pid) - cpuBefore
        let wall = ContinuousClock.now - started
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        let share = cpu / wallSeconds
        #expect(share < 0.5, "the server used \(share) of a core for \(wallSeconds) s")
        bot.process.kill()
        #expect(await server.stop() == 0)
        // Closing an attacker's connection is routine, not an error to log 1,100 times.
        let errorLines = server.process.standardError.split(separator: "\n").filter { $0.contains(" error ") }
        #expect(errorLines.isEmpty, "\(errorLines.count) error lines, e.g. \(errorLines.first ?? "")")
    }

    @Test("SIGTERM stops the server with exit 0 and nothing logged at error level")
    func cleanShutdown() async throws {
        let server = try await ServerProcess()
        let bot = try await HeadlessBot("alice", server: server, room: "standup", role: "host")
        try await bot.expectEvent("joined")
        server.process.terminate()
        let status = await server.process.wait(seconds: 30)
        #expect(status == 0)
        let levels = [" error ", " critical "]
        let errorLines = server.process.standardError.split(separator: "\n").filter { line in
            levels.contains { line.contains($0) }
        }
        #expect(errorLines.isEmpty, "logged at error level: \(errorLines)")
        bot.process.kill()
    }
}

/// The soft RLIMIT_NOFILE raised to `target` (within the hard limit): the test
/// itself holds more sockets than the server may.
private func raiseOwnDescriptorLimit(to target: Int) throws {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw ToolError("getrlimit failed") }
    let wanted = rlim_t(target)
    guard limit.rlim_cur < wanted else { return }
    guard limit.rlim_max >= wanted else {
        throw ToolError("the hard descriptor limit \(limit.rlim_max) is below \(target)")
    }
    limit.rlim_cur = wanted
    guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw ToolError("setrlimit failed") }
}

/// A non-blocking TCP socket bound to `source` (a loopback address) and
/// connecting to 127.0.0.1:`port`; it never sends anything.
private func connectNonBlocking(from source: String, port: Int) throws -> Int32 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    guard descriptor >= 0 else { throw ToolError("socket: \(String(cString: strerror(errno)))") }
    func address(_ host: String, _ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        address.sin_port = UInt16(port).bigEndian
        return address
    }
    var local = address(source, 0)
    var remote = address("127.0.0.1", port)
    let size = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, size) } }
    let connected = withUnsafePointer(to: &remote) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, size) }
    }
    guard bound == 0, connected == 0 || errno == EINPROGRESS else {
        let error = String(cString: strerror(errno))
        close(descriptor)
        throw ToolError("connect from \(source): \(error)")
    }
    return descriptor
}

/// Whether a non-blocking connect has an outcome: connected, refused or reset.
private func connectFinished(_ descriptor: Int32) -> Bool {
    var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
    return poll(&entry, 1, 0) > 0
}

/// User plus system CPU time of a process so far (/proc/PID/stat fields 14 and 15).
private func cpuSeconds(of pid: pid_t) throws -> Double {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // The command name (field 2) may hold spaces; count fields after its ')'.
    guard let end = stat.lastIndex(of: ")") else { throw ToolError("unreadable /proc/\(pid)/stat") }
    let fields = stat[stat.index(after: end)...].split(separator: " ")
    // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12].
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
        throw ToolError("unreadable /proc/\(pid)/stat")
    }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}
