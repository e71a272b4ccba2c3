// Servers on PostgreSQL (`confab serve --database`), in this process: several
// nodes on one database share the chat log and its numbering, and a room
// outlives the database going away (chat refused with a retryable error,
// never falsely acknowledged) and comes back when it returns.
//
//   test ─▶ PostgresServer (its own postgres-15) ◀─ node A, node B (ConfabServer, --database)
//        ─▶ RawClient (pinned to the cluster's certificate) ─▶ A or B (redirected to the room's node)
//
// A room is live on one node (its lease), so clients joining through both
// nodes meet on one; two nodes writing one room's log at once are tested on
// the store itself (PostgresStoreTests).

import ConfabProtocol
import ConfabRooms
import ConfabServer
import ConfabServerTestSupport
import ConfabTestSupport
import Foundation
import Logging
import NIOSSL
import Testing

/// One node of a cluster: an in-process server on the shared database.
struct ClusterNode {
    let running: InProcessServer
    let tls: TLSConfiguration

    static func start(
        _ database: PostgresServer, template: RoomTemplate = TestServer.template(),
        keepalive: KeepaliveInfo = KeepaliveInfo(pingIntervalMs: 200, deadAfterMs: 10_000)
    ) async throws -> ClusterNode {
        let data = try TempDirectory(prefix: "confab-cluster-node")
        var configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, dataDirectory: data.path, defaultTemplate: template,
            keepalive: keepalive, sweepIntervalMs: 50)
        configuration.database = try DatabaseURL(parsing: database.url)
        configuration.admission = TestServer.admission
        let running = try await InProcessServer.start(configuration: configuration, data: data, label: "confab.cluster")
        let identity = try await ClusterIdentity.load(
            url: try DatabaseURL(parsing: database.url), createFor: nil, logger: Logger(label: "test"))
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(identity.certificatePEM.utf8)))
        tls.certificateVerification = .noHostnameVerification
        return ClusterNode(running: running, tls: tls)
    }

    /// Connects and joins `room` through this node, following a redirect to
    /// the node that holds the room as clients do; returns the client and its `joined`.
    func join(_ user: String, role: String = "host", room: String) async throws -> (RawClient, Joined) {
        let token = try await running.token(room: room, user: user, role: role, name: user.capitalized)
        var port = running.port
        for _ in 0..<2 {
            let client = try await RawClient.connect(port: port, room: room, tls: tls)
            client.send(#"{"v": 1, "type": "join", "id": "j1", "room": "\#(room)", "token": "\#(token)", "muted": true}"#)
            let reply = try await client.next()
            if case .error(let refusal) = reply.body, refusal.code == .roomOnAnotherNode,
                let redirect = refusal.redirect.flatMap(URLComponents.init(string:)), let holder = redirect.port,
                redirect.path == "/" + room
            {
                port = holder
                continue
            }
            guard case .joined(let joined) = reply.body else { throw ToolError("\(user) expected joined, got \(reply)") }
            return (client, joined)
        }
        throw ToolError("\(user) was redirected more than once")
    }

    func stop() async { await running.stop() }
}

/// Sends a broadcast chat message and returns the server's answer to it (ack or error).
func sendChat(_ client: RawClient, id: String, text: String, key: String? = nil) async throws -> ServerMessage {
    let keyMember = key.map { #", "idempotencyKey": "\#($0)""# } ?? ""
    client.send(
        #"{"v": 1, "type": "chat.send", "id": "\#(id)", "target": {"kind": "broadcast"}, "text": "\#(text)"\#(keyMember)}"#)
    return try await client.next { $0.id?.rawValue == id }
}

@Suite("Nodes on one PostgreSQL database", .serialized)
struct ClusterTests {
    /// A fresh database with one node on it, and a new room name starting
    /// with `prefix`. The caller removes the database.
    static func oneNode(room prefix: String) async throws -> (database: PostgresServer, node: ClusterNode, room: String) {
        let database = try await PostgresServer()
        do {
            return (database, try await ClusterNode.start(database), TestServer.uniqueRoom(prefix))
        } catch {
            database.remove()
            throw error
        }
    }

    /// As `oneNode(room:)`, with two nodes.
    static func twoNodes(room prefix: String) async throws
        -> (database: PostgresServer, nodeA: ClusterNode, nodeB: ClusterNode, room: String)
    {
        let (database, nodeA, room) = try await oneNode(room: prefix)
        do {
            return (database, nodeA, try await ClusterNode.start(database), room)
        } catch {
            await nodeA.stop()
            database.remove()
            throw error
        }
    }

    @Test("chat through two nodes in one room is numbered 1…N with no gap or repeat, and outlives both nodes")
    func sharedLog() async throws {
        let (database, nodeA, nodeB, room) = try await Self.twoNodes(room: "shared")
        defer { database.remove() }
        let (alice, _) = try await nodeA.join("alice", room: room)
        let (bob, _) = try await nodeB.join("bob", room: room)
        var acked: [Int] = []
        for round in 0..<6 {
            let (client, who) = round.isMultiple(of: 2) ? (alice, "alice") : (bob, "bob")
            let reply = try await sendChat(client, id: "c\(round)", text: "\(who) \(round)")
            guard case .chatAck(let ack) = reply.body else {
                Issue.record("round \(round): expected chat.ack, got \(reply)")
                return
            }
            acked.append(ack.seq)
        }
        #expect(acked == Array(1...6), "one sequence for the room, whichever node wrote")
        // Both nodes serve the whole log, in order.
        for client in [alice, bob] {
            client.send(#"{"v": 1, "type": "chat.history", "id": "h1", "after": 0}"#)
            let page = try await client.next { $0.id?.rawValue == "h1" }
            guard case .chatPage(let history) = page.body else {
                Issue.record("expected chat.page, got \(page)")
                return
            }
            #expect(history.messages.map(\.seq) == Array(1...6))
            #expect(history.messages.map(\.text) == (0..<6).map { "\($0.isMultiple(of: 2) ? "alice" : "bob") \($0)" })
        }
        await nodeA.stop()
        await nodeB.stop()
        // A node started afterwards continues the same log.
        let nodeC = try await ClusterNode.start(database)
        let (carol, joined) = try await nodeC.join("carol", room: room)
        #expect(joined.history.messages.map(\.seq) == Array(1...6))
        let reply = try await sendChat(carol, id: "c7", text: "after the restart")
        guard case .chatAck(let ack) = reply.body else {
            Issue.record("expected chat.ack, got \(reply)")
            return
        }
        #expect(ack.seq == 7)
        await nodeC.stop()
    }

    @Test("three senders at once on each of two nodes: each node delivers its room's messages in number order, acks match, none lost")
    func concurrentSenders() async throws {
        let database = try await PostgresServer()
        defer { database.remove() }
        var template = TestServer.template()
        template.chatRate = RateLimit(perSecond: 1_000, burst: 1_000)
        let nodes = [try await ClusterNode.start(database, template: template), try await ClusterNode.start(database, template: template)]
        let room = TestServer.uniqueRoom("busy")
        var observers: [RawClient] = []
        var senders: [(client: RawClient, name: String)] = []
        for (n, node) in nodes.enumerated() {
            observers.append(try await node.join("watcher\(n)", role: "listener", room: room).0)
            for s in 0..<3 { senders.append((try await node.join("sender\(n)x\(s)", room: room).0, "sender\(n)x\(s)")) }
        }
        let perSender = 15
        // Every sender pipelines its messages without waiting for acks.
        for (client, name) in senders {
            for k in 0..<perSender {
                client.send(#"{"v": 1, "type": "chat.send", "id": "c\#(k)", "target": {"kind": "broadcast"}, "text": "\#(name) \#(k)"}"#)
            }
        }
        var acked: [Int] = []
        for (client, name) in senders {
            var own: [Int] = []
            for k in 0..<perSender {
                let reply = try await client.next { $0.id?.rawValue == "c\(k)" }
                guard case .chatAck(let ack) = reply.body else {
                    Issue.record("\(name) c\(k): expected chat.ack, got \(reply)")
                    return
                }
                own.append(ack.seq)
            }
            #expect(own == own.sorted(), "\(name)'s messages are numbered in the order it sent them")
            acked += own
        }
        let total = senders.count * perSender
        #expect(acked.sorted() == Array(1...total), "one gapless numbering for the room across both nodes")
        for (n, observer) in observers.enumerated() {
            // A watcher sees its own node's messages live, in increasing number order.
            var seen: [Int] = []
            while seen.count < 3 * perSender {
                let message = try await observer.next(.chatMessage)
                if case .chatMessage(let chat) = message.body { seen.append(chat.seq) }
            }
            #expect(seen == seen.sorted(), "node \(n) delivered out of number order: \(seen)")
            #expect(Set(seen).count == seen.count)
        }
        for node in nodes { await node.stop() }
    }

    @Test("a node shuts down gracefully within seconds while PostgreSQL is away (departures it cannot write are dropped)")
    func stopWhileAway() async throws {
        let (database, node, room) = try await Self.oneNode(room: "leaving")
        defer { database.remove() }
        var clients: [RawClient] = []
        for user in ["alice", "bob", "carol", "dan"] { clients.append(try await node.join(user, room: room).0) }
        try await database.stop()
        let started = ContinuousClock.now
        await node.stop()
        let took = ContinuousClock.now - started
        // Four departures waiting 5 s each for the database would take 20 s.
        #expect(took < .seconds(12), "shutdown took \(took)")
        #expect(try await clients[0].next(.serverGoingAway).type == .serverGoingAway)
    }

    @Test("with PostgreSQL stopped, chat gets 9004 and no ack while the room goes on; once it is back the resend is stored once")
    func databaseAway() async throws {
        let (database, node, room) = try await Self.oneNode(room: "outage")
        defer { database.remove() }
        let (alice, _) = try await node.join("alice", room: room)
        let (bob, _) = try await node.join("bob", role: "speaker", room: room)
        _ = try await alice.next(.peerJoined)
        let first = try await sendChat(alice, id: "c1", text: "before", key: "k7Qp2xLm9aZr4tWs-1")
        #expect(first.type == .chatAck)
        _ = try await bob.next(.chatMessage)

        try await database.stop()
        let refused = try await sendChat(alice, id: "c2", text: "during", key: "k7Qp2xLm9aZr4tWs-2")
        guard case .error(let error) = refused.body else {
            Issue.record("expected an error while the database is stopped, got \(refused)")
            return
        }
        #expect(error.code == .storageUnavailable)
        // The room goes on: a hand raised on it reaches the others.
        bob.send(#"{"v": 1, "type": "hand.raise", "id": "r1"}"#)
        let raised = try await alice.next(timeout: .seconds(10)) { $0.type == .peerUpdated || $0.type == .chatMessage }
        #expect(raised.type == .peerUpdated, "nothing of the refused message was delivered")
        // A room that is not running cannot be opened without the database: a retryable refusal.
        let newcomer = try await RawClient.connect(port: node.running.port, room: room + "-new", tls: node.tls)
        let token = try await node.running.token(room: room + "-new", user: "dora", role: "host")
        newcomer.send(#"{"v": 1, "type": "join", "id": "j1", "room": "\#(room)-new", "token": "\#(token)"}"#)
        let joinReply = try await newcomer.next()
        guard case .error(let joinError) = joinReply.body else {
            Issue.record("expected a refused join, got \(joinReply)")
            return
        }
        #expect(joinError.code == .storageUnavailable)

        try await database.start()
        // The client resends with the same key until it is acknowledged, as the SDK does.
        var ack: ChatAck?
        for attempt in 0..<30 where ack == nil {
            let reply = try await sendChat(alice, id: "c2-\(attempt)", text: "during", key: "k7Qp2xLm9aZr4tWs-2")
            if case .chatAck(let acknowledged) = reply.body { ack = acknowledged } else { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(ack?.seq == 2)
        let again = try await sendChat(alice, id: "c2-again", text: "during", key: "k7Qp2xLm9aZr4tWs-2")
        #expect(again.body == .chatAck(try #require(ack)), "a resend after the ack is the same message")
        let third = try await sendChat(alice, id: "c3", text: "after")
        guard case .chatAck(let thirdAck) = third.body else {
            Issue.record("expected chat.ack, got \(third)")
            return
        }
        #expect(thirdAck.seq == 3)
        alice.send(#"{"v": 1, "type": "chat.history", "id": "h1", "after": 0}"#)
        let page = try await alice.next { $0.id?.rawValue == "h1" }
        guard case .chatPage(let history) = page.body else {
            Issue.record("expected chat.page, got \(page)")
            return
        }
        #expect(history.messages.map(\.seq) == [1, 2, 3])
        #expect(history.messages.map(\.text) == ["before", "during", "after"])
        // The joins that had to wait get in now.
        let retried = try await RawClient.connect(port: node.running.port, room: room + "-new", tls: node.tls)
        retried.send(#"{"v": 1, "type": "join", "id": "j2", "room": "\#(room)-new", "token": "\#(token)"}"#)
        #expect(try await retried.next().type == .joined)
        await node.stop()
    }
}
