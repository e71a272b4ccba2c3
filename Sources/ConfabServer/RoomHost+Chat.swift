// A room's chat, through the store (SQLite, or PostgreSQL shared by nodes).
//
//   chat.send ─▶ take the room's turn ─▶ Room.apply (checks; a draft, unnumbered)
//             ─▶ store.appendChat: numbered in its transaction, COMMIT
//             ─▶ committed: chat.message to the recipients, then chat.ack   ─┐
//             ─▶ duplicate (idempotency key seen): the original's chat.ack  ├─▶ pass the turn
//             ─▶ failed: 9004 (retry) or 9002, no ack, nothing delivered   ─┘
//   join / resume ─▶ take the turn ─▶ read history ─▶ admit ─▶ pass the turn
//   chat.history ─▶ store.history (no turn: it changes nothing)
//
// The turn is why the awaits are safe: while a message is being committed no
// other message of this room is numbered here, so messages are delivered in
// sequence order, and no join reads a history that lacks a message it will
// not be sent live either. Other requests (hands, unmutes, leaves) do not
// wait for it; in a cluster a role change, a mute or a removal takes it ahead
// of the queue (RoomHost+Turn.swift, RoomHost+KeptPrivileges.swift).

import ConfabProtocol
import ConfabRooms

extension RoomHost {
    /// Sends a chat message: `chat.message` to its recipients and `chat.ack`
    /// only after the store committed it. Returns whether the session goes on.
    func sendChat(_ request: SendChatRequest, id: RequestID, from peer: PeerID, sink: ConnectionSink) async -> Bool {
        await takeChatTurn()
        defer { passChatTurn() }
        guard connections[peer] === sink else {
            sink.send(CodedError(.notJoined, "this connection's session has ended"), id: id)
            return false
        }
        let action = PeerAction.sendChat(target: request.target, text: request.text)
        switch await postChat(action, from: peer, idempotencyKey: request.idempotencyKey) {
        case .success(let reply): sink.send(ServerMessage(id: id, reply))
        case .failure(let error): sink.send(error, id: id)
        }
        return true
    }

    /// Checks, commits and delivers a chat message of `actor` (a peer, or the
    /// server's operator); the answer is the `chat.ack` to send. The caller
    /// holds the room's turn.
    func postChat(_ action: PeerAction, from actor: PeerID, idempotencyKey: RequestID?) async
        -> Result<ServerBody, CodedError>
    {
        let delivery: ChatDelivery
        do throws(CodedError) {
            // In place: a refused message leaves the room as it was, and the
            // sender's rate allowance is spent now, before the await (other
            // requests may change the room meanwhile).
            let outcome = try room.apply(action, from: actor, now: .now())
            guard let chat = outcome.chat else { return .success(outcome.reply) }
            delivery = chat
        } catch {
            return await refusal(error, resendOf: idempotencyKey, from: actor)
        }
        let append: ChatAppend
        do throws(StorageError) {
            append = try await store.appendChat(
                delivery.message, room: name, recipients: delivery.recipients, idempotencyKey: idempotencyKey)
        } catch {
            return .failure(failure(Self.chatFailure(error), cause: error))
        }
        switch append {
        case .committed(let message):
            metrics.chatCommitted()
            let sent = delivery.outcome(committed: message)
            deliver(sent.events)
            return .success(sent.reply)
        case .duplicate(let original):
            // A resend of a message already committed: acknowledge the original, deliver nothing.
            return .success(.chatAck(ChatAck(message: original.id, seq: original.seq, sentAt: original.sentAt)))
        }
    }

    /// A message the room refuses now may be the resend of one committed
    /// before (say, just before a role change or past the rate limit): that
    /// one is acknowledged. Anything else gets the refusal.
    private func refusal(_ error: CodedError, resendOf key: RequestID?, from peer: PeerID) async
        -> Result<ServerBody, CodedError>
    {
        if let key {
            do throws(StorageError) {
                if let original = try await store.committedChat(room: name, from: peer, idempotencyKey: key) {
                    return .success(.chatAck(ChatAck(message: original.id, seq: original.seq, sentAt: original.sentAt)))
                }
            } catch {
                return .failure(failure(Self.chatFailure(error), cause: error))
            }
        }
        metrics.error(error.code)
        return .failure(error)
    }

    /// Logs and counts a failure of the store; returns the error to send.
    private func failure(_ error: CodedError, cause: StorageError) -> CodedError {
        logger.error("\(error.message)", metadata: ["error": "\(cause)"])
        metrics.error(error.code)
        return error
    }

    /// Answers `chat.history` with a page of what the peer may read.
    func sendHistory(_ request: HistoryRequest, id: RequestID, to peer: PeerID, sink: ConnectionSink) async {
        do throws(StorageError) {
            let page = try await store.history(
                room: name, reader: peer, after: request.after, before: request.after == nil ? request.before : nil,
                limit: request.limit)
            sink.send(ServerMessage(id: id, .chatPage(page)))
        } catch {
            let coded =
                error.isRetryable
                ? CodedError(.storageUnavailable, "the chat log cannot be reached now; ask again")
                : CodedError(.storageFailure, "the chat log cannot be read")
            fail(coded, id: id, sink: sink, cause: error)
        }
    }

    /// The history a join or resume carries. The join itself goes on without
    /// it: the client can page with `chat.history` later.
    func readHistory(for peer: PeerID, after: Int?, limit: Int) async -> ChatPage {
        do {
            return try await store.history(room: name, reader: peer, after: after, before: nil, limit: limit)
        } catch {
            logger.error("cannot read history", metadata: ["error": "\(error)"])
            return ChatPage(messages: [], hasMore: true)
        }
    }

    /// What a sender is told when its message could not be committed: not posted either way.
    static func chatFailure(_ error: StorageError) -> CodedError {
        error.isRetryable
            ? CodedError(
                .storageUnavailable, "the chat log cannot be reached now; not posted: send it again with the same idempotencyKey")
            : CodedError(.storageFailure, "the chat log cannot be written; not posted")
    }
}
