// Running the built `confab` binary and independent peers (GStreamer) from tests.
import Foundation
import Glibc

/// A process started by a test, with its output collected to files (so a
/// chatty child can never block on a full pipe) and a hard time limit.
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    private let outputPath: String
    private let errorPath: String

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        let id = UUID().uuidString
        outputPath = NSTemporaryDirectory() + "confab-child-\(id).out"
        errorPath = NSTemporaryDirectory() + "confab-child-\(id).err"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
    }

    /// Sends SIGINT (how GStreamer's `-e` and confab finish cleanly).
    public func interrupt() {
        if process.isRunning { kill(process.processIdentifier, SIGINT) }
    }

    /// Waits up to `seconds`; kills the process if it is still running then. Returns its exit status.
    @discardableResult
    public func wait(seconds: Double) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -9
        }
        return process.terminationStatus
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
