// `confab admin …`: the management API (docs/ADMIN.md) from the command line,
// with an admin token, over TLS pinned like `confab join`.
//
//   confab admin rooms|room NAME|create NAME|end NAME [--lock]|remove ROOM PEER|mute ROOM PEER|say ROOM TEXT
//   confab admin role ROOM PEER ROLE [--ask]|state ROOM [KEY VALUE | KEY --delete] (AdminRoomState.swift)
//   confab admin revoke-token TOKEN (AdminRevokeToken.swift)
//   confab admin code ROOM --role R [--uses N] [--expires D]|codes ROOM|revoke ROOM CODE (AdminCodes.swift)
//     --server wss://HOST:PORT --token ADMIN-TOKEN (or CONFAB_ADMIN_TOKEN) [--fingerprint SHA256:…] [--json]
import ArgumentParser
import ConfabClient
import ConfabProtocol
import Foundation

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage a running server through its management API (an admin token).",
        discussion: """
            The token comes from `confab token --admin` on the server. Errors are one line on stderr \
            with the catalog number (docs/PROTOCOL.md) and exit code 1.
            """,
        subcommands: [
            AdminRooms.self, AdminRoom.self, AdminCreate.self, AdminEnd.self, AdminRemove.self, AdminMute.self,
            AdminSay.self, AdminRole.self, AdminState.self, AdminCode.self, AdminCodes.self, AdminRevoke.self,
            AdminRevokeTokenCommand.self, AdminCalls.self,
        ])
}

/// What every `confab admin` command takes.
struct AdminOptions: ParsableArguments {
    @Option(help: "The server: wss://HOST:PORT or https://HOST:PORT.")
    var server: String

    @Option(help: "An admin token, from `confab token --admin` (or set CONFAB_ADMIN_TOKEN).")
    var token: String?

    @OptionGroup var trust: ServerTrustOptions

    @Flag(help: "Print the server's JSON reply as it is.")
    var json = false

    func validate() throws {
        guard resolvedToken != nil else { throw ValidationError("--token is required (or set CONFAB_ADMIN_TOKEN)") }
        _ = try endpoint()
    }

    var resolvedToken: String? { token ?? ProcessInfo.processInfo.environment["CONFAB_ADMIN_TOKEN"] }

    func endpoint() throws -> ServerEndpoint {
        var url = server
        if url.lowercased().hasPrefix("https://") { url = "wss://" + url.dropFirst("https://".count) }
        do {
            return try ServerEndpoint(serverURL: url)
        } catch {
            throw ValidationError("--server: \(error.message.replacingOccurrences(of: "wss://HOST:PORT", with: "wss://HOST:PORT or https://HOST:PORT"))")
        }
    }

    /// Sends one request; prints the JSON reply with `--json` (`{}` when it has none).
    /// Returns the reply's body for the command's own printing otherwise, or
    /// always when `printsJSON` is false (a command that adds to the JSON).
    func send(_ method: String, _ path: String, body: (some Encodable)? = Optional<String>.none,
              printsJSON: Bool = true) async throws -> Data? {
        let serverTrust: ServerTrust
        do {
            serverTrust = try ServerTrust(fingerprint: trust.fingerprint, knownServersPath: trust.knownServersPath)
        } catch {
            throw CommandFailure(error.message)
        }
        let client = AdminHTTPClient(endpoint: try endpoint(), trust: serverTrust, token: resolvedToken ?? "")
        let encoded = try body.map { try JSONEncoder().encode($0) }.map { Array($0) }
        let reply: AdminHTTPClient.Reply
        do {
            reply = try await client.send(method, path, json: encoded)
        } catch {
            if let code = error.code { throw CommandFailure("\(code.rawValue) \(code): \(error.messageWithWait)") }
            throw CommandFailure(error.message)
        }
        // JSON holds no raw control character (RFC 8259 §7): a reply with one
        // is not printed, as a terminal would act on it.
        guard !reply.body.contains(where: { ($0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D) || $0 == 0x7F }) else {
            throw CommandFailure("the server's reply holds control characters; it is not shown")
        }
        if json && printsJSON {
            FileHandleOutput.standardOutput(reply.body.isEmpty ? "{}" : String(decoding: reply.body, as: UTF8.self))
            return nil
        }
        return Data(reply.body)
    }

    /// GETs `path` and decodes the reply as `Reply`; nil with `--json` (the reply is printed as it is).
    func fetch<Reply: Decodable>(_ path: String, as _: Reply.Type) async throws -> Reply? {
        guard let body = try await send("GET", path) else { return nil }
        return try? JSONDecoder().decode(Reply.self, from: body)
    }

    /// Sends a request whose reply has nothing to print, then says what was done (`--json` prints `{}`).
    func perform(
        _ method: String, _ path: String, body: (some Encodable)? = Optional<String>.none, done: @autoclosure () -> String
    ) async throws {
        guard try await send(method, path, body: body) != nil else { return }
        Self.say(done())
    }

    /// Prints a line for people, without the control or invisible characters
    /// a server's names and values may hold (the JSON of `--json` is printed as it came).
    static func say(_ line: String) {
        // Column by column: the two spaces between columns stay as they are.
        let columns = line.components(separatedBy: "  ").map { TextSanitizer.clean($0, lineBreaks: .singleLine) }
        FileHandleOutput.standardOutput(columns.joined(separator: "  "))
    }

    /// Prints a list the way every listing command does: a line saying it is empty, or a line per item.
    static func printList<Item>(_ items: [Item], empty: String, line: (Item) -> String) {
        if items.isEmpty { say(empty) }
        for item in items { say(line(item)) }
    }

    /// A path segment: ids hold no character that needs escaping but `@` and `+`, which are escaped anyway.
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "._-"))) ?? text
    }

    static func query(_ pairs: [(String, String?)]) -> String {
        let present = pairs.compactMap { key, value in value.map { "\(key)=\(segment($0))" } }
        return present.isEmpty ? "" : "?" + present.joined(separator: "&")
    }
}

/// ROOM PEER: the peer an admin command acts on.
struct AdminPeerArguments: ParsableArguments {
    @Argument(help: "The room.") var room: String
    @Argument(help: "The peer's id.") var peer: String

    /// `/api/v1/rooms/{room}/peers/{peer}`.
    var path: String { "/api/v1/rooms/\(AdminOptions.segment(room))/peers/\(AdminOptions.segment(peer))" }
}

/// A time as the admin commands print it: local, to the minute.
func clock(_ time: Timestamp) -> String {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    return formatter.string(from: Date(timeIntervalSince1970: Double(time.millisecondsSince1970) / 1_000))
}

struct AdminRooms: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rooms", abstract: "List the live rooms.")
    @OptionGroup var options: AdminOptions

    func run() async throws {
        guard let list = try await options.fetch("/api/v1/rooms", as: AdminRoomList.self) else { return }
        AdminOptions.printList(list.rooms, empty: "no live rooms") { room in
            let roles = room.peersByRole.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "\(room.name)  \(room.peers) peer\(room.peers == 1 ? "" : "s")\(roles.isEmpty ? "" : " (\(roles))")  since \(clock(room.startedAt))  on \(room.node)"
        }
        // In a cluster: a node that did not answer; its rooms are not listed.
        for node in list.unreachable ?? [] {
            FileHandleOutput.standardError("confab: node \(node) did not answer: its rooms are not listed")
        }
    }
}

struct AdminRoom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "room", abstract: "Show a live room and its peers.")
    @OptionGroup var options: AdminOptions
    @Argument(help: "The room.") var name: String

    func run() async throws {
        guard let room = try await options.fetch("/api/v1/rooms/\(AdminOptions.segment(name))", as: AdminRoomDetail.self)
        else { return }
        let limit = room.maxPeers.map { " of \($0)" } ?? ""
        AdminOptions.say("\(room.name)  \(room.peers.count) peers\(limit)  since \(clock(room.startedAt))")
        for peer in room.peers {
            var marks = [peer.role.rawValue]
            if let muted = peer.muted { marks.append(muted ? "muted" : "live") }
            if peer.handRaisedAt != nil { marks.append("hand up") }
            if !peer.connected { marks.append("away") }
            AdminOptions.say("  \(peer.id)  \(peer.name)  \(marks.joined(separator: ", "))")
        }
        for entry in room.state { AdminOptions.say("  \(entry.key): \(entry.value)") }
    }
}

struct AdminCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Open a room ahead of time.")
    @OptionGroup var options: AdminOptions
    @Argument(help: "The room.") var name: String
    @Option(help: "Use the template of this room in the server's --config ([rooms.NAME]) instead of the room's own.")
    var template: String?
    @Option(help: "The most peers it holds.") var maxPeers: Int?
    @Option(help: "Chat messages a second per peer, and the burst: 2/5 (burst: the rate when left out).")
    var chatRate: String?
    @Option(help: "How long it stays open with nobody in it, in seconds.") var emptyTimeout: Int?
    @Flag(help: "Open it locked against joins.") var locked = false

    func validate() throws {
        guard RoomName(rawValue: name) != nil else { throw ValidationError("the room name: \(RoomName.validForm)") }
        if let template, RoomName(rawValue: template) == nil {
            throw ValidationError("--template: \(RoomName.validForm)")
        }
        if let chatRate, Self.rate(chatRate) == nil {
            throw ValidationError("--chat-rate: messages a second and the burst, positive whole numbers: 2/5 or 2")
        }
    }

    /// `2/5`: 2 a second, bursts of 5; `2`: 2 a second, bursts of 2.
    static func rate(_ text: String) -> RateLimit? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
        guard (1...2).contains(parts.count), let perSecond = parts[0], let burst = parts.last ?? nil,
            perSecond > 0, burst > 0
        else { return nil }
        return RateLimit(perSecond: perSecond, burst: burst)
    }

    func run() async throws {
        let body = AdminCreateRoom(
            name: RoomName(uncheckedRawValue: name), template: template.map(RoomName.init(uncheckedRawValue:)),
            maxPeers: maxPeers, chatRate: chatRate.flatMap(Self.rate), emptyTimeoutSeconds: emptyTimeout,
            locked: locked ? true : nil)
        try await options.perform("POST", "/api/v1/rooms", body: body, done: "created \(name)")
    }
}

struct AdminEnd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "end", abstract: "End a room for everyone.")
    @OptionGroup var options: AdminOptions
    @Argument(help: "The room.") var name: String
    @Flag(help: "Refuse joins afterwards.") var lock = false
    @Option(help: "Why, shown to everyone.") var reason: String?

    func run() async throws {
        let query = AdminOptions.query([("lock", lock ? "true" : nil), ("reason", reason)])
        try await options.perform(
            "DELETE", "/api/v1/rooms/\(AdminOptions.segment(name))\(query)", done: "ended \(name)\(lock ? " (locked)" : "")")
    }
}

struct AdminRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a peer from a room.")
    @OptionGroup var options: AdminOptions
    @OptionGroup var target: AdminPeerArguments
    @Option(help: "Why, shown to the peer.") var reason: String?

    func run() async throws {
        try await options.perform(
            "DELETE", target.path + AdminOptions.query([("reason", reason)]),
            done: "removed \(target.peer) from \(target.room)")
    }
}

struct AdminMute: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mute", abstract: "Mute a peer's microphone.")
    @OptionGroup var options: AdminOptions
    @OptionGroup var target: AdminPeerArguments

    func run() async throws {
        try await options.perform("POST", target.path + "/mute", done: "muted \(target.peer) in \(target.room)")
    }
}

struct AdminSay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "say", abstract: "Post a message from the server into a room's chat.")
    @OptionGroup var options: AdminOptions
    @Argument(help: "The room.") var room: String
    @Argument(help: "The message.") var text: String

    func run() async throws {
        guard let body = try await options.send("POST", "/api/v1/rooms/\(AdminOptions.segment(room))/messages", body: AdminSystemMessage(text: text))
        else { return }
        let seq = (try? JSONDecoder().decode(AdminPostedMessage.self, from: body)).map { " as message \($0.seq)" } ?? ""
        AdminOptions.say("posted to \(room)\(seq)")
    }
}
