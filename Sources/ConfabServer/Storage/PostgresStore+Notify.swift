// Messages between the nodes of a cluster: PostgreSQL's NOTIFY and LISTEN
// on one channel (docs/CLUSTER.md, "Presence and calls across nodes").
//
//   sender ─▶ SELECT pg_notify('confab_cluster', payload) ─▶ delivered at COMMIT,
//             in commit order, to every session listening ─▶ each node keeps what is addressed to it
//
// A notification is not stored: a node that is not listening when it is
// sent never gets it. PostgreSQL refuses payloads of 8000 bytes or more.

import PostgresNIO

extension PostgresStore {
    /// The one channel the nodes talk on.
    static let clusterChannel = "confab_cluster"
    /// The largest payload PostgreSQL takes (it refuses 8000 bytes and more).
    static let notifyPayloadLimit = 7_999

    /// Sends one notification on the cluster's channel (within the deadline).
    func notify(_ payload: String) async throws(StorageError) {
        guard payload.utf8.count <= Self.notifyPayloadLimit else {
            throw StorageError(
                description: "a cluster message of \(payload.utf8.count) bytes is over the 8000-byte limit",
                isRetryable: false)
        }
        try await execute("send a message to the cluster", "SELECT pg_notify(\(Self.clusterChannel), \(payload))")
    }

    /// Listens on the cluster's channel on a connection of its own, calling
    /// `receive` with each payload in order, until the connection drops
    /// (throws) or the task is cancelled. `ready` runs once LISTEN is in place.
    func listen(ready: @Sendable () async -> Void, receive: @Sendable (String) async -> Void) async throws {
        try await client.withConnection { connection in
            try await connection.listen(on: Self.clusterChannel) { notifications in
                await ready()
                for try await notification in notifications {
                    await receive(notification.payload)
                }
            }
        }
    }
}
