// A PostgreSQL server of the test's own: Debian's postgresql-15, a fresh data
// directory in a temp folder, a free loopback port, password (SCRAM) auth.
// initdb and pg_ctl refuse to run as root, so they run as the `postgres` user.
// Nothing depends on a server left running: each test starts and stops its own.
import Foundation
import Glibc

public final class PostgresServer: Sendable {
    public static let binaries = "/usr/lib/postgresql/15/bin"
    public let port: Int
    public let user = "confab"
    public let password: String
    public let database = "postgres"
    private let directory: TempDirectory
    private var dataDirectory: String { directory.file("data") }

    /// `postgresql://USER:PASSWORD@127.0.0.1:PORT/DB`.
    public var url: String { "postgresql://\(user):\(password)@127.0.0.1:\(port)/\(database)" }

    /// Creates the cluster and starts it (`pg_ctl start -w` waits until it accepts connections).
    public init() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binaries + "/pg_ctl") else {
            throw ToolError("PostgreSQL 15 is not installed; install it with: apt-get install -y postgresql-15 (make deps)")
        }
        directory = try TempDirectory(prefix: "confab-postgres")
        port = freeTCPPort()
        password = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let passwordFile = directory.file("password")
        try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try Tools.run("/bin/chown", ["-R", "postgres:postgres", directory.path])
        try await Self.asPostgres("initdb", [
            "-D", dataDirectory, "-U", user, "--pwfile=\(passwordFile)", "--auth-host=scram-sha-256",
            "--auth-local=trust", "-E", "UTF8", "--no-sync",
        ])
        try await start()
    }

    /// Starts the server again (after `stop()` or `kill()`), on the same port and data.
    public func start() async throws {
        // Unix sockets in the temp folder, TCP on loopback only; fsync off: a test's data need not survive a power cut.
        try await Self.asPostgres("pg_ctl", [
            "-D", dataDirectory, "-l", directory.file("server.log"), "-w", "-t", "60", "start", "-o",
            "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
        ])
    }

    /// A clean stop (`pg_ctl stop -m fast`): open connections are closed.
    public func stop() async throws {
        try await Self.asPostgres("pg_ctl", ["-D", dataDirectory, "-w", "-t", "60", "stop", "-m", "fast"])
    }

    /// Freezes the server (SIGSTOP to the postmaster and its backends): the
    /// kernel still accepts connections, and nothing answers on them, as when
    /// the database's machine hangs. `thaw()` lets it go on.
    public func freeze() throws { try signalServer(SIGSTOP) }

    /// Lets a frozen server go on (SIGCONT).
    public func thaw() throws { try signalServer(SIGCONT) }

    /// Sends `signal` to this server's postmaster and its children (read from /proc).
    private func signalServer(_ signal: Int32) throws {
        let pidFile = try String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8)
        guard let first = pidFile.split(separator: "\n").first, let postmaster = Int32(first) else {
            throw ToolError("no postmaster pid in \(dataDirectory)")
        }
        var processes = [postmaster]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // "PID (COMMAND) STATE PPID …": the command may hold spaces and parentheses.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == postmaster { processes.append(pid) }
        }
        for pid in processes { Glibc.kill(pid, signal) }
    }

    /// What a statement prints on this server (`psql -tA`, trimmed), run as the superuser.
    public func query(_ sql: String) async throws -> String {
        let run = try ChildProcess(Self.binaries + "/psql", [url, "-tAc", sql])
        guard await run.wait(seconds: 30) == 0 else { throw ToolError("psql failed: \(run.standardError)") }
        return run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The server's log, for a failing test's message.
    public var log: String { (try? String(contentsOfFile: directory.file("server.log"), encoding: .utf8)) ?? "" }

    /// Stops the server (immediately) and removes its files.
    public func remove() {
        try? Tools.run(
            "/usr/sbin/runuser",
            ["-u", "postgres", "--", Self.binaries + "/pg_ctl", "-D", dataDirectory, "-w", "stop", "-m", "immediate"])
        directory.remove()
    }

    /// Runs a PostgreSQL tool as the `postgres` user, its output in files: the
    /// server that `pg_ctl start` leaves running would hold a pipe open for ever.
    private static func asPostgres(_ tool: String, _ arguments: [String]) async throws {
        let process = try ChildProcess("/usr/sbin/runuser", ["-u", "postgres", "--", binaries + "/" + tool] + arguments)
        let status = await process.wait(seconds: 90)
        guard status == 0 else {
            throw ToolError("\(tool) failed (\(status)): \(process.standardError)\(process.standardOutput)")
        }
    }
}
