// The columns both storage engines keep, and how they become protocol values
// again: one definition, so SQLite and PostgreSQL read back the same thing.

import ConfabProtocol
import Foundation

enum StoredColumns {
    /// Compact JSON with sorted keys (a chat target, a call's peers). The
    /// values stored this way hold only identifiers: encoding cannot fail.
    static func json<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    /// A chat message row; nil when a column no longer parses (never dropped silently by callers that count).
    static func chatMessage(
        id: String, seq: Int, sentAtMs: Int64, sender: String, senderName: String, senderRole: String, target: String,
        text: String
    ) -> ChatMessage? {
        guard let id = MessageID(rawValue: id), let from = PeerID(rawValue: sender),
            let role = RoleName(rawValue: senderRole),
            let target = try? JSONDecoder().decode(ChatTarget.self, from: Data(target.utf8))
        else { return nil }
        return ChatMessage(
            id: id, seq: seq, sentAt: Timestamp(millisecondsSince1970: sentAtMs), from: from, fromName: senderName,
            fromRole: role, target: target, text: text)
    }

    /// A call history row.
    static func callRecord(
        call: String, direction: String, peers: String, outcome: String, startedAtMs: Int64, durationMs: Int
    ) -> CallRecord? {
        guard let call = CallID(rawValue: call), let direction = CallDirection(rawValue: direction),
            let outcome = CallOutcome(rawValue: outcome),
            let peers = try? JSONDecoder().decode([PeerID].self, from: Data(peers.utf8))
        else { return nil }
        return CallRecord(
            call: call, direction: direction, peers: peers, outcome: outcome,
            startedAt: Timestamp(millisecondsSince1970: startedAtMs), durationMs: durationMs)
    }
}
