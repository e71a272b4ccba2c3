import ArgumentParser
import ConfabServer
import Foundation
import Logging

/// `--database URL` (or `CONFAB_DATABASE_URL`), shared by serve, token and fingerprint.
struct DatabaseOption: ParsableArguments {
    @Option(
        name: .customLong("database"),
        help: """
            postgresql://USER[:PASSWORD]@HOST[:PORT]/DB: keep everything in PostgreSQL instead of the data \
            directory; nodes given one database are one cluster (default: $CONFAB_DATABASE_URL, which keeps \
            the password out of the process list).
            """)
    var text: String?

    /// The database to use, or nil for the data directory. The password is never shown.
    func url() throws -> DatabaseURL? {
        guard let text = text ?? ProcessInfo.processInfo.environment["CONFAB_DATABASE_URL"], !text.isEmpty else {
            return nil
        }
        do {
            return try DatabaseURL(parsing: text)
        } catch {
            throw ValidationError("--database: \(error.description)")
        }
    }

    /// The cluster's identity, read (never made: that is the first node's start).
    func clusterIdentity(_ url: DatabaseURL) async throws -> ClusterIdentity {
        do {
            return try await ClusterIdentity.load(
                url: url, createFor: nil, logger: Logger(label: "confab", factory: { _ in SwiftLogNoOpLogHandler() }))
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
