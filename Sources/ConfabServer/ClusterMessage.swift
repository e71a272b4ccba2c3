// One message between two nodes, as NOTIFY payloads (docs/CLUSTER.md,
// "Presence and calls across nodes"):
//
//   payload = header (one line of JSON) "\n" body (text as is, no escaping)
//   a body too long for one payload ─▶ parts of at most `bodyLimit` bytes,
//   cut between characters, `more: true` on all but the last ─▶ joined again
//   by the receiver, in order (one sender sends one device's messages in turn)

import ConfabProtocol
import Foundation

/// What one node tells another about a presence connection.
struct ClusterMessage: Sendable, Hashable {
    enum Operation: String, Codable, Sendable {
        /// Edge ─▶ switchboard: a user came online (body: their `connect`, token left out).
        case connect
        /// Edge ─▶ switchboard: a message from the connection (body: it, as the client sent it).
        case handle
        /// Edge ─▶ switchboard: the connection closed.
        case disconnect
        /// Switchboard ─▶ edge: send this to the connection (body: the server message).
        case send
        /// Switchboard ─▶ edge: close the connection (body: the reason).
        case close
        /// A node ─▶ every other (`to` is `*`): it started or stopped; read the live nodes again.
        case nodes
    }

    struct Header: Codable, Sendable, Hashable {
        var to: String
        var from: String
        var op: Operation
        /// The connection's id on the edge node.
        var device: UInt64
        /// `connect`: the token's user, its name, and the request's id.
        var user: String?
        var name: String?
        var request: String?
        /// `close`: the WebSocket close code.
        var code: UInt16?
        /// More parts of this body follow.
        var more: Bool?
    }

    var header: Header
    var body: String

    /// Tells every other node that `node` started or stopped.
    static func nodesChanged(by node: String) -> ClusterMessage {
        ClusterMessage(header: Header(to: "*", from: node, op: .nodes, device: 0), body: "")
    }

    /// The most body bytes in one payload: the header (two node ids of up to
    /// 64 characters, a user id and a name of a few hundred bytes at most)
    /// stays well under the rest of PostgreSQL's 8000.
    static let bodyLimit = 6_000

    /// The payloads that carry it, in order.
    func payloads() -> [String] {
        let parts = Self.split(body, limit: Self.bodyLimit)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return parts.enumerated().map { index, part in
            var header = header
            header.more = index < parts.count - 1 ? true : nil
            let line = (try? encoder.encode(header)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return line + "\n" + part
        }
    }

    /// One payload's header and body part; nil when it is not one of ours.
    static func parse(_ payload: String) -> (header: Header, part: String)? {
        guard let newline = payload.firstIndex(of: "\n") else { return nil }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(payload[..<newline].utf8)) else {
            return nil
        }
        return (header, String(payload[payload.index(after: newline)...]))
    }

    /// `text` in pieces of at most `limit` UTF-8 bytes, never inside a character's bytes.
    static func split(_ text: String, limit: Int) -> [String] {
        let bytes = Array(text.utf8)
        guard bytes.count > limit else { return [text] }
        var parts: [String] = []
        var start = 0
        while start < bytes.count {
            var end = min(start + limit, bytes.count)
            // Back off continuation bytes (10xxxxxx): a piece ends before a character starts.
            while end < bytes.count, end > start + 1, bytes[end] & 0xC0 == 0x80 { end -= 1 }
            parts.append(String(decoding: bytes[start..<end], as: UTF8.self))
            start = end
        }
        return parts
    }
}

/// Joins the parts of messages as they arrive, per sender and connection.
struct ClusterMessageAssembler {
    private struct Key: Hashable {
        var from: String
        var device: UInt64
    }
    private var pending: [Key: String] = [:]
    /// A message that grows past this is dropped: no node sends more than
    /// the largest server message, and a node that keeps saying "more" must
    /// not fill this one's memory.
    let maximumBytes: Int

    init(maximumBytes: Int = ProtocolLimits.maximumServerMessageBytes) {
        self.maximumBytes = maximumBytes
    }

    /// The whole message once its last part arrived; nil while parts are
    /// missing, and for a message that grew past `maximumBytes` (its later
    /// parts are dropped too, up to its last).
    mutating func add(_ header: ClusterMessage.Header, part: String) -> ClusterMessage? {
        let key = Key(from: header.from, device: header.device)
        // Appended in place (the removed string is uniquely held): no copy per part.
        var sofar = pending.removeValue(forKey: key) ?? ""
        guard !oversized.contains(key) else {
            if header.more != true { oversized.remove(key) }
            return nil
        }
        sofar.append(part)
        guard sofar.utf8.count <= maximumBytes else {
            if header.more == true { oversized.insert(key) }
            return nil
        }
        if header.more == true {
            pending[key] = sofar
            return nil
        }
        var header = header
        header.more = nil
        return ClusterMessage(header: header, body: sofar)
    }

    /// Messages being dropped until their last part, for having grown too large.
    private var oversized: Set<Key> = []

    /// Forgets the parts of messages from `node` (its listener or itself went away).
    mutating func forget(from node: String? = nil) {
        if let node {
            pending = pending.filter { $0.key.from != node }
            oversized = oversized.filter { $0.from != node }
        } else {
            pending = [:]
            oversized = []
        }
    }
}
