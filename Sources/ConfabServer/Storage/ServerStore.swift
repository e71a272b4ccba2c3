// What the server keeps durably, behind one interface with two engines:
//
//   ServerStore ─▶ ChatStore      (SQLite in the data directory: one server, the default)
//               ─▶ PostgresStore  (PostgreSQL: several nodes share one database)
//
// Both number a room's chat messages in the database, in the transaction
// that commits the message: whichever node writes, the numbers have no gaps
// and no repeats, and a message is acknowledged only after its commit.

import ConfabMacros
import ConfabProtocol

/// A failure of the database; requests that needed it get `9004
/// storageUnavailable` when it is retryable, `9002 storageFailure` otherwise.
@PublicMemberwiseInit
public struct StorageError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// The database could not be reached or did not answer in time: nothing
    /// was committed that the caller was not told about, and the same request
    /// may succeed later (a chat message resent with its idempotency key is
    /// never stored twice).
    public var isRetryable: Bool = false
}

/// How an append ended.
public enum ChatAppend: Sendable, Hashable {
    /// Committed now, with the sequence number the database gave it.
    case committed(ChatMessage)
    /// The sender had already committed a message with this idempotency key:
    /// that one, unchanged, and nothing new was stored.
    case duplicate(ChatMessage)

    public var message: ChatMessage {
        switch self {
        case .committed(let message), .duplicate(let message): message
        }
    }
}

/// The chat log, the room and peer history and the call history.
public protocol ServerStore: Sendable {
    /// Commits `draft` (its `seq` and `id` are ignored) as the room's next message, with
    /// its readers, and returns it as committed.
    func appendChat(_ draft: ChatMessage, room: RoomName, recipients: Set<PeerID>, idempotencyKey: RequestID?)
        async throws(StorageError) -> ChatAppend
    /// The message `sender` committed with this idempotency key, if any.
    func committedChat(room: RoomName, from sender: PeerID, idempotencyKey: RequestID) async throws(StorageError)
        -> ChatMessage?
    /// The highest sequence number committed in a room (0 for none).
    func lastSequence(room: RoomName) async throws(StorageError) -> Int
    /// A page of what `reader` may read (see `ChatStore.history`).
    func history(room: RoomName, reader: PeerID, after: Int?, before: Int?, limit: Int) async throws(StorageError)
        -> ChatPage
    func isLocked(room: RoomName) async throws(StorageError) -> Bool
    func roomStarted(_ room: RoomName, at time: Timestamp) async throws(StorageError)
    func roomEnded(_ room: RoomName, at time: Timestamp, by: PeerID?, reason: String?, locked: Bool)
        async throws(StorageError)
    func peerJoined(_ room: RoomName, peer: PeerInfo) async throws(StorageError) -> Int64
    func peerLeft(session: Int64, at time: Timestamp, reason: String) async throws(StorageError)
    func peerSessions(room: RoomName) async throws(StorageError) -> [PeerSessionRow]
    func recordCall(_ record: CallRecord, user: PeerID) async throws(StorageError)
    func callHistory(user: PeerID, limit: Int) async throws(StorageError) -> [CallRecord]
    /// Ends the store's use (graceful shutdown): SQLite checkpoints, PostgreSQL closes its connections.
    func close()
}

/// One peer session in a room's history: who, and why it ended (nil while it lasts).
@PublicMemberwiseInit
public struct PeerSessionRow: Sendable, Hashable {
    public var peer: String
    public var reason: String?
}
