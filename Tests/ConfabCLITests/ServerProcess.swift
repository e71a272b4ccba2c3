// `confab serve` and `confab join --headless --events` as a user runs them:
// child processes of the built binary, talking JSON lines.
//
//   test ─▶ ServerProcess: confab serve --data TMP --port 0 ─▶ stdout: URL, fingerprint
//        ─▶ confab token --data TMP ─▶ token
//   test ─▶ HeadlessBot: stdin (JSON command lines) ─▶ confab join … --headless --events ─▶ stdout (JSON event lines)

import ConfabTestSupport
import Foundation
import Testing

/// What the headless client prints, one value a line.
typealias JSON = JSONValue

/// A `confab serve` child on a free port with a scratch data directory.
final class ServerProcess {
    let data: TempDirectory
    let process: ChildProcess
    let port: Int
    /// As printed by `confab serve`: `SHA256:` and 64 hex digits.
    let fingerprint: String
    /// `--database URL`: PostgreSQL instead of the data directory.
    let database: String?

    /// Starts the server with `config` (TOML) and waits until it prints
    /// where it listens and its certificate fingerprint. With
    /// `descriptorLimit` it runs under `prlimit --nofile` (soft and hard).
    /// With `database`, a node of that PostgreSQL cluster: given as
    /// `--database`, or in `CONFAB_DATABASE_URL` with `databaseInEnvironment`.
    /// `arguments`: more options for `confab serve`.
    init(
        config: String = ServerProcess.shortKeepalive, descriptorLimit: Int? = nil, database: String? = nil,
        databaseInEnvironment: Bool = false, arguments: [String] = []
    ) async throws {
        data = try TempDirectory(prefix: "confab-serve")
        self.database = database
        let configPath = data.file("config.toml")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let dataPath = data.file("data")
        var serve = ["serve", "--data", dataPath, "--port", "0", "--config", configPath] + arguments
        if let database, databaseInEnvironment {
            var environment = ProcessInfo.processInfo.environment
            environment["CONFAB_DATABASE_URL"] = database
            process = try ChildProcess(BuiltProducts.confab, serve, environment: environment)
        } else if let database {
            serve += ["--database", database]
            process = try ChildProcess(BuiltProducts.confab, serve)
        } else if let descriptorLimit {
            process = try ChildProcess(
                "/usr/bin/prlimit", ["--nofile=\(descriptorLimit):\(descriptorLimit)", BuiltProducts.confab] + serve)
        } else {
            process = try ChildProcess(BuiltProducts.confab, serve)
        }
        (port, fingerprint) = try await Self.waitUntilListening(process)
    }

    /// `previous`, stopped, started again on its port with its data directory
    /// (so its certificate and token key), as a restart for an upgrade does.
    init(restarting previous: ServerProcess) async throws {
        precondition(previous.database == nil, "a cluster node restarts with its database")
        data = previous.data
        database = nil
        process = try ChildProcess(
            BuiltProducts.confab,
            ["serve", "--data", previous.dataPath, "--port", "\(previous.port)", "--config", previous.data.file("config.toml")])
        (port, fingerprint) = try await Self.waitUntilListening(process)
    }

    /// The port and fingerprint a starting `confab serve` prints: "listening on
    /// wss://HOST:PORT/ROOM (…)" (HOST maybe "[V6]") and "certificate fingerprint: …".
    static func waitUntilListening(_ process: ChildProcess) async throws -> (port: Int, fingerprint: String) {
        var port: Int?
        var fingerprint: String?
        let started = await waitUntil(timeout: .seconds(60)) {
            for line in process.standardOutput.split(separator: "\n") {
                if let start = line.range(of: "listening on wss://"), let end = line.range(of: "/ROOM") {
                    let authority = line[start.upperBound..<end.lowerBound]
                    port = authority.lastIndex(of: ":").flatMap { Int(authority[authority.index(after: $0)...]) }
                }
                if line.hasPrefix("certificate fingerprint: ") {
                    fingerprint = String(line.dropFirst("certificate fingerprint: ".count))
                }
            }
            // A server that exits at start (a port taken, a bad config) is said at once, not after a minute.
            return port != nil && fingerprint != nil || process.hasExited()
        }
        guard started, let port, let fingerprint else {
            let ended = process.hasExited() ? "exited with \(await process.wait(seconds: 0))" : "did not start in 60 s"
            throw ToolError("confab serve \(ended): \(process.standardError)")
        }
        return (port, fingerprint)
    }

    /// Pings twice a second, drops a connection silent for 3 s.
    static let shortKeepalive = """
        [keepalive]
        pingIntervalMs = 500
        deadAfterMs = 3000
        """

    var dataPath: String { data.file("data") }

    /// Where `confab token` and `confab fingerprint` find the secret and certificate.
    var storeArguments: [String] { database.map { ["--database", $0] } ?? ["--data", dataPath] }

    func url(_ room: String) -> String { "wss://127.0.0.1:\(port)/\(room)" }

    /// `confab token --data DIR …`, as an operator mints one.
    func token(room: String, user: String, role: String, name: String? = nil) async throws -> String {
        var arguments = ["token"] + storeArguments + ["--room", room, "--user", user, "--role", role]
        if let name { arguments += ["--name", name] }
        let run = try ChildProcess(BuiltProducts.confab, arguments)
        guard await run.wait(seconds: 30) == 0 else { throw ToolError("confab token failed: \(run.standardError)") }
        return run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `confab token --data DIR --user ID`: a user token, for `confab connect` and `confab calls`.
    func userToken(user: String, name: String? = nil) async throws -> String {
        var arguments = ["token"] + storeArguments + ["--user", user]
        if let name { arguments += ["--name", name] }
        let run = try ChildProcess(BuiltProducts.confab, arguments)
        guard await run.wait(seconds: 30) == 0 else { throw ToolError("confab token failed: \(run.standardError)") }
        return run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `wss://127.0.0.1:PORT`: the server root, where users go online.
    var serverURL: String { "wss://127.0.0.1:\(port)" }

    /// Stops it as Ctrl-C would; returns its exit status.
    func stop() async -> Int32 {
        process.interrupt()
        return await process.wait(seconds: 30)
    }
}

/// The end of a test with child processes: interrupts `bots` and waits for them
/// to exit, then expects each of `servers` to stop cleanly.
func finish(_ bots: [HeadlessBot], stopping servers: [ServerProcess]) async {
    for bot in bots { bot.process.interrupt() }
    for bot in bots { _ = await bot.process.wait(seconds: 30) }
    for server in servers { #expect(await server.stop() == 0, "the server on port \(server.port)") }
}

/// A `confab join … --headless --events` child with a stdin pipe.
final class HeadlessBot {
    let name: String
    let process: ChildProcess
    private let home: TempDirectory

    /// `arguments`: more options for `confab join` (`--input`, `--output`, `--duration`).
    convenience init(_ name: String, server: ServerProcess, room: String, role: String, arguments: [String] = []) async throws {
        let token = try await server.token(room: room, user: name, role: role, name: name.capitalized)
        try self.init(name, server: server, room: room, token: token, arguments: arguments)
    }

    /// As `init(_:server:room:role:arguments:)` with a token minted beforehand:
    /// the process starts at once (bots meant to arrive at the same moment).
    init(_ name: String, server: ServerProcess, room: String, token: String, arguments: [String] = []) throws {
        self.name = name
        home = try TempDirectory(prefix: "confab-bot-home")
        process = try ChildProcess(
            BuiltProducts.confab,
            [
                "join", server.url(room), "--token", token, "--fingerprint", server.fingerprint,
                "--known-servers", home.file("known_servers"), "--headless", "--events",
            ] + arguments,
            environment: ProcessInfo.processInfo.environment.merging(["HOME": home.path]) { $1 },
            standardInput: .pipe)
    }

    /// A bot started as `init(_:server:room:role:arguments:)`, once it has said it joined.
    static func joined(
        _ name: String, server: ServerProcess, room: String, role: String, arguments: [String] = []
    ) async throws -> HeadlessBot {
        let bot = try await HeadlessBot(name, server: server, room: room, role: role, arguments: arguments)
        try await bot.expectEvent("joined", ["you.id": name])
        return bot
    }

    /// A `confab connect … --headless --events` child: online on the server, placing and taking calls.
    init(online name: String, server: ServerProcess, arguments: [String] = []) async throws {
        self.name = name
        home = try TempDirectory(prefix: "confab-bot-home")
        let token = try await server.userToken(user: name, name: name.capitalized)
        process = try ChildProcess(
            BuiltProducts.confab,
            [
                "connect", server.serverURL, "--token", token, "--fingerprint", server.fingerprint,
                "--known-servers", home.file("known_servers"), "--headless", "--events",
            ] + arguments,
            environment: ProcessInfo.processInfo.environment.merging(["HOME": home.path]) { $1 },
            standardInput: .pipe)
    }

    /// `confab join URL --token … --fingerprint … --headless --events ARGUMENTS`
    /// run through `launcher` (e.g. `ip netns exec NS`), as a person on another machine runs it.
    init(
        _ name: String, launcher: [String], url: String, token: String, fingerprint: String, arguments: [String] = []
    ) throws {
        self.name = name
        home = try TempDirectory(prefix: "confab-bot-home")
        let join = [
            BuiltProducts.confab, "join", url, "--token", token, "--fingerprint", fingerprint,
            "--known-servers", home.file("known_servers"), "--headless", "--events",
        ] + arguments
        process = try ChildProcess(
            launcher.first ?? join[0], Array((launcher + join).dropFirst()),
            environment: ProcessInfo.processInfo.environment.merging(["HOME": home.path]) { $1 },
            standardInput: .pipe)
    }

    /// Every complete line printed so far, parsed.
    var lines: [JSON] {
        let output = process.standardOutput
        // A line still being written has no newline yet.
        let complete = output.hasSuffix("\n") ? output : String(output[..<(output.lastIndex(of: "\n") ?? output.startIndex)])
        return complete.split(separator: "\n").compactMap { line in
            try? JSONDecoder().decode(JSON.self, from: Data(line.utf8))
        }
    }

    /// Sends one command line.
    func send(_ command: String) throws {
        try process.writeLine(command)
    }

    /// The index and line of the first line at or after `from` that
    /// matches; fails the test (and throws) if none comes within `timeout`.
    @discardableResult
    func expect(
        _ what: String, from: Int = 0, timeout: Duration = .seconds(30),
        sourceLocation: SourceLocation = #_sourceLocation, _ matches: (JSON) -> Bool
    ) async throws -> (index: Int, line: JSON) {
        var found: (index: Int, line: JSON)?
        await waitUntil(timeout: timeout) {
            let lines = self.lines
            if from < lines.count, let index = lines[from...].firstIndex(where: matches) { found = (index, lines[index]) }
            return found != nil
        }
        guard let found else {
            Issue.record(
                "\(name): no \(what) within \(timeout). stdout:\n\(process.standardOutput)\nstderr:\n\(process.standardError)",
                sourceLocation: sourceLocation)
            throw ToolError("\(name): no \(what)")
        }
        return found
    }

    /// Waits for an event line of type `event` whose members include `members` (compared as text).
    @discardableResult
    func expectEvent(
        _ event: String, _ members: [String: String] = [:], from: Int = 0, timeout: Duration = .seconds(30),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (index: Int, line: JSON) {
        try await expect(
            "\(event) \(members)", from: from, timeout: timeout, sourceLocation: sourceLocation
        ) { line in
            line["event"]?.text == event && members.allSatisfy { key, value in line[key]?.text == value }
        }
    }
}
