// Running the built `confab` binary and independent peers (GStreamer) from tests.
import Foundation
import Glibc

/// A process started by a test, with its output collected to files (so a
/// chatty child can never block on a full pipe) and a hard time limit.
///
/// Spawned with posix_spawn and an empty signal mask: Foundation's `Process`
/// on Linux starts children with most signals blocked, so SIGINT (how
/// GStreamer's `-e` and confab finish cleanly) would never arrive.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let outputPath: String
    private let errorPath: String
    private var exitStatus: Int32?

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        let id = UUID().uuidString
        outputPath = NSTemporaryDirectory() + "confab-child-\(id).out"
        errorPath = NSTemporaryDirectory() + "confab-child-\(id).err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, &attributes, argv, env)
        guard status == 0 else { throw ToolError("cannot start \(executable): \(String(cString: strerror(status)))") }
        pid = child
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
    }

    /// Sends SIGINT (how GStreamer's `-e` and confab finish cleanly).
    public func interrupt() {
        if exitStatus == nil { kill(pid, SIGINT) }
    }

    /// Waits up to `seconds`; kills the process if it is still running then.
    /// Returns its exit status, or -signal if a signal ended it. Polls with
    /// Task.sleep: a blocked cooperative thread would starve other tests.
    @discardableResult
    public func wait(seconds: Double) async -> Int32 {
        if let exitStatus { return exitStatus }
        let deadline = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if Date() >= deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                exitStatus = -9
                return -9
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG by hand: they are macros.
        let result = status & 0x7f == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
        exitStatus = result
        return result
    }

    public var standardOutput: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    public var standardError: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
}

/// Where the built products are: the test bundle sits next to the `confab` binary.
public enum BuiltProducts {
    public static var confab: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // swift-testing runs the bundle from .build/<triple>/debug/…xctest; walk up to the binary.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("confab").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return FileManager.default.currentDirectoryPath + "/.build/debug/confab"
    }
}

/// A free UDP port on loopback (bound and released; good enough for a test).
public func freeUDPPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}
