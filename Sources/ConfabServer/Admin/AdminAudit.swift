// The audit log of the management API: one JSON line per change request
// (create, end, remove, mute, role, message), appended to
// DATA/admin-audit.jsonl (mode 0600) and logged at `notice`:
//
//   {"at":1763000000000,"method":"DELETE","path":"/api/v1/rooms/standup","status":204,"subject":"ops"}
//
// Refused requests are recorded too (their status says so): who tried what
// matters as much as what happened. A line that cannot be written is logged
// as an error and the request goes on: the log is a record, not a gate.

import ConfabProtocol
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One line of the audit log.
public struct AdminAuditEntry: Codable, Hashable, Sendable {
    public var at: Timestamp
    /// The admin token's `sub`.
    public var subject: String
    public var method: String
    public var path: String
    /// The HTTP status the request was answered with.
    public var status: Int
}

final class AdminAuditLog: Sendable {
    let path: String
    private let descriptor: Mutex<Int32>
    private let logger: Logger

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
        descriptor = Mutex(open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600))
        if descriptor.withLock({ $0 }) < 0 {
            logger.error("cannot open the admin audit log", metadata: ["path": "\(path)", "errno": "\(errno)"])
        }
    }

    deinit {
        descriptor.withLock { if $0 >= 0 { close($0) } }
    }

    func record(_ entry: AdminAuditEntry) {
        logger.notice(
            "admin api",
            metadata: [
                "subject": "\(entry.subject)", "method": "\(entry.method)", "path": "\(entry.path)",
                "status": "\(entry.status)",
            ])
        let line = AdminJSON.encode(entry) + [UInt8(ascii: "\n")]
        let written = descriptor.withLock { descriptor -> Int in
            guard descriptor >= 0 else { return -1 }
            // O_APPEND: every line goes to the end of the file in one write, even
            // with another process (logrotate's copytruncate) at work on it.
            return line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        }
        if written != line.count {
            logger.error("cannot write the admin audit log", metadata: ["path": "\(path)"])
        }
    }
}
