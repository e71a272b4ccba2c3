// A scratch directory per test, so tests running in parallel never share files.

import Foundation

/// A uniquely named directory under /tmp, removed in `deinit` or by `remove()`.
public final class TempDirectory: Sendable {
    /// The directory's absolute path.
    public let path: String

    /// Creates `/tmp/<prefix>-<UUID>`.
    public init(prefix: String = "confab-test") throws {
        path = "/tmp/\(prefix)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    deinit {
        remove()
    }

    /// The path of `name` inside the directory (the file is not created).
    public func file(_ name: String) -> String {
        path + "/" + name
    }

    /// Deletes the directory and everything in it; safe to call twice.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
