// Running the built `confab` binary and independent peers (GStreamer) from tests.
import Foundation
import Glibc

/// A process started by a test, with its output collected to files (so a
/// chatty child can never block on a full pipe) and a hard time limit. Its
/// stdin is /dev/null, or a pipe the test writes lines to (`.pipe`).
///
/// Spawned with posix_spawn and an empty signal mask: Foundation's `Process`
/// on Linux starts children with most signals blocked, so SIGINT (how
/// GStreamer's `-e` and confab finish cleanly) would never arrive.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let outputPath: String
    private let errorPath: String
    private var exitStatus: Int32?
    /// The write end of the child's stdin pipe; -1 when there is none or it is closed.
    private var inputDescriptor: Int32 = -1

    /// Where the child's stdin comes from.
    public enum StandardInput: Sendable {
        /// Nothing: end of input at once.
        case null
        /// A pipe: `write(_:)` sends text, `closeInput()` ends it.
        case pipe
    }

    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        standardInput: StandardInput = .null
    ) throws {
        let id = UUID().uuidString
        outputPath = NSTemporaryDirectory() + "confab-child-\(id).out"
        errorPath = NSTemporaryDirectory() + "confab-child-\(id).err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [Int32] = [-1, -1]
        switch standardInput {
        case .null:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .pipe:
            // Both ends close-on-exec from the start, so no other child spawned
            // meanwhile inherits the write end (its stdin would never see EOF);
            // dup2 onto fd 0 clears the flag for this child's copy of the read end.
            guard Self.pipe2(&pipeEnds, O_CLOEXEC) == 0 else {
                throw ToolError("cannot make a pipe: \(String(cString: strerror(errno)))")
            }
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0)
            // Writing to a child that died must fail with EPIPE, not kill the tests.
            signal(SIGPIPE, SIG_IGN)
        }
        defer { if pipeEnds[0] >= 0 { close(pipeEnds[0]) } }
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
        guard status == 0 else {
            if pipeEnds[1] >= 0 { close(pipeEnds[1]) }
            throw ToolError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        pid = child
        inputDescriptor = pipeEnds[1]
    }

    /// pipe2(2), which Swift's Glibc module does not export; looked up once.
    private static let pipe2: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else {
            fatalError("glibc has no pipe2")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32).self)
    }()

    deinit {
        closeInput()
        if exitStatus == nil {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
    }

    /// Writes `text` to the child's stdin (`.pipe` only). Throws when there
    /// is no pipe, it was closed, or the child stopped reading (EPIPE).
    public func write(_ text: String) throws {
        guard inputDescriptor >= 0 else { throw ToolError("the child's stdin is not an open pipe") }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(inputDescriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ToolError("cannot write to the child's stdin: \(String(cString: strerror(errno)))")
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Writes one line (a newline is added).
    public func writeLine(_ line: String) throws {
        try write(line + "\n")
    }

    /// Closes the child's stdin: it reads end of input. Safe to call twice.
    public func closeInput() {
        if inputDescriptor >= 0 {
            close(inputDescriptor)
            inputDescriptor = -1
        }
    }

    /// Sends SIGKILL: the process dies at once, its connections reset by the kernel.
    public func kill() {
        if exitStatus == nil { Glibc.kill(pid, SIGKILL) }
    }

    /// Sends SIGTERM (how a service manager stops a server).
    public func terminate() {
        if exitStatus == nil { Glibc.kill(pid, SIGTERM) }
    }

    /// Sends SIGINT (how GStreamer's `-e` and confab finish cleanly).
    public func interrupt() {
        if exitStatus == nil { Glibc.kill(pid, SIGINT) }
    }

    /// True once the process has ended (it is reaped then; `wait` returns its status at once).
    public func hasExited() -> Bool {
        if exitStatus != nil { return true }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        exitStatus = Self.decode(status)
        return true
    }

    /// WIFEXITED / WEXITSTATUS / WTERMSIG by hand (they are macros): the exit status, or -signal.
    private static func decode(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
    }

    /// Waits up to `seconds`; kills the process if it is still running then.
    /// Returns its exit status, or -signal if a signal ended it. Polls: a
    /// blocked cooperative thread would starve other tests.
    @discardableResult
    public func wait(seconds: Double) async -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let exited = await waitUntil(timeout: .seconds(seconds)) { waitpid(pid, &status, WNOHANG) == pid }
        if !exited {
            Glibc.kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
            exitStatus = -9
            return -9
        }
        let result = Self.decode(status)
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
public func freeUDPPort() -> Int { freePort(type: SOCK_DGRAM) }

/// A TCP port on loopback that nothing listens on right now.
public func freeTCPPort() -> Int { freePort(type: SOCK_STREAM) }

private func freePort(type: __socket_type) -> Int {
    let fd = socket(AF_INET, Int32(type.rawValue), 0)
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
