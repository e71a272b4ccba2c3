import Foundation

/// Files of this repository that tests read: the documents that are a
/// contract (README.md, docs/*.md) and the built-in themes.
public enum RepositoryFile {
    /// The repository's root (this file is Tests/ConfabTestSupport/RepositoryFile.swift).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The text of `path`, relative to the root (`README.md`, `docs/SECURITY.md`).
    public static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }
}
