import Foundation

/// Checks `condition` every `interval` until it holds or `timeout` has
/// passed, and says whether it held: a test waits for what it expects to
/// happen, never a fixed time that assumes it happened.
@discardableResult
public func waitUntil(
    timeout: Duration, every interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: interval)
    }
    return true
}

/// Whether some socket on this machine (in this network namespace) is bound
/// to UDP `port`, from the kernel's tables (/proc/net/udp and udp6): how a
/// test knows a child process is listening before it sends to it.
public func isUDPPortBound(_ port: Int) -> Bool {
    let hexPort = String(format: ":%04X", port)
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
        // Each row: "sl local_address rem_address st …", the local address as HEXADDR:HEXPORT.
        for row in text.split(separator: "\n").dropFirst() {
            let columns = row.split(separator: " ", omittingEmptySubsequences: true)
            if columns.count > 1, columns[1].hasSuffix(hexPort) { return true }
        }
    }
    return false
}

/// Waits until a child process binds UDP `port`; throws if it does not within `timeout`.
public func waitUntilUDPPortBound(_ port: Int, by process: ChildProcess, timeout: Duration = .seconds(15)) async throws {
    guard await waitUntil(timeout: timeout, { isUDPPortBound(port) }) else {
        throw ToolError("nothing listens on UDP \(port) after \(timeout): \(process.standardError)")
    }
}

/// The size of the file at `path` in bytes; 0 when it does not exist (yet).
public func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
}
