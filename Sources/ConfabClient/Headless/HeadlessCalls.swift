import ConfabProtocol
import Foundation
import Synchronization

// `confab connect wss://HOST:PORT --headless --events`: a bot that is online
// and can ring and be rung (docs/BOTS.md).
//
//   stdin lines ─▶ HeadlessCallCommand.parse ─▶ CallClient request ─▶ result / error line
//   CallClient ─▶ CallStore updates ─▶ HeadlessCallEvents.json ─▶ stdout
//
// Commands are words (`call bob carol`, `accept`, `reject`, `cancel`,
// `hangup`, `history`, `quit`) or the same as JSON objects
// (`{"cmd": "call", "users": ["bob"], "id": "c1"}`), like `confab join`'s.

/// One command from stdin.
public struct HeadlessCallCommand: Hashable, Sendable {
    public enum Action: Hashable, Sendable {
        case call(users: [PeerID], ringTimeoutMs: Int?)
        case accept(CallID?)
        case reject(CallID?)
        case cancel
        case hangup
        case history(limit: Int)
        case state
        case quit

        public var name: String {
            switch self {
            case .call: "call"
            case .accept: "accept"
            case .reject: "reject"
            case .cancel: "cancel"
            case .hangup: "hangup"
            case .history: "history"
            case .state: "state"
            case .quit: "quit"
            }
        }
    }

    public var id: String?
    public var action: Action

    public static let names = ["call", "accept", "reject", "cancel", "hangup", "history", "state", "quit"]

    /// Parses a line of words or a JSON object. Never throws: a bad line is an error to print.
    public static func parse(_ line: String) -> Result<HeadlessCallCommand, HeadlessCommandError> {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") { return parseJSON(trimmed) }
        let words = trimmed.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let name = words.first else { return .failure(HeadlessCommandError(message: "empty line")) }
        let arguments = Array(words.dropFirst())
        return action(named: name, users: arguments, call: arguments.first, limit: arguments.first.flatMap { Int($0) })
            .map { HeadlessCallCommand(id: nil, action: $0) }
    }

    private static func parseJSON(_ line: String) -> Result<HeadlessCallCommand, HeadlessCommandError> {
        guard line.utf8.count <= HeadlessCommand.maximumLineBytes, let json = try? JSONValue.parse(line),
            case .object = json
        else {
            return .failure(HeadlessCommandError(message: "not a JSON object"))
        }
        let id: String? =
            switch json["id"] {
            case .string(let text)?: text
            case .int(let number)?: String(number)
            default: nil
            }
        guard case .string(let name)? = json["cmd"] else {
            return .failure(HeadlessCommandError(id: id, message: "cmd: expected one of \(names.joined(separator: ", "))"))
        }
        var users: [String] = []
        if case .array(let items)? = json["users"] {
            for case .string(let user) in items { users.append(user) }
        }
        var call: String?
        if case .string(let text)? = json["call"] { call = text }
        var limit: Int?
        if case .int(let number)? = json["limit"] { limit = number }
        var ringTimeoutMs: Int?
        if case .int(let number)? = json["ringTimeoutMs"] { ringTimeoutMs = number }
        return action(named: name, users: users, call: call, limit: limit, ringTimeoutMs: ringTimeoutMs)
            .map { HeadlessCallCommand(id: id, action: $0) }
            .mapError { HeadlessCommandError(id: id, command: $0.command, message: $0.message) }
    }

    private static func action(
        named name: String, users: [String], call: String?, limit: Int?, ringTimeoutMs: Int? = nil
    ) -> Result<Action, HeadlessCommandError> {
        func failure(_ message: String) -> Result<Action, HeadlessCommandError> {
            .failure(HeadlessCommandError(command: name, message: message))
        }
        switch name {
        case "call":
            let ids = users.compactMap(PeerID.init(rawValue:))
            guard !ids.isEmpty, ids.count == users.count else { return failure("users: one or more user ids") }
            if let ringTimeoutMs, !CallLimits.ringTimeoutRangeMs.contains(ringTimeoutMs) {
                return failure("ringTimeoutMs: 1000...300000")
            }
            return .success(.call(users: ids, ringTimeoutMs: ringTimeoutMs))
        case "accept", "reject":
            var id: CallID?
            if let call {
                guard let parsed = CallID(rawValue: call) else { return failure("call: not a call id") }
                id = parsed
            }
            return .success(name == "accept" ? .accept(id) : .reject(id))
        case "cancel": return .success(.cancel)
        case "hangup": return .success(.hangup)
        case "history":
            let limit = limit ?? ProtocolLimits.defaultHistoryPageSize
            guard (1...ProtocolLimits.maximumHistoryPageSize).contains(limit) else { return failure("limit: 1...200") }
            return .success(.history(limit: limit))
        case "state": return .success(.state)
        case "quit": return .success(.quit)
        default: return failure("unknown command; expected one of \(names.joined(separator: ", "))")
        }
    }
}

/// The lines a headless call client prints.
public enum HeadlessCallEvents {
    public static func line(for event: CallEvent) -> String? {
        json(for: event)?.rendered
    }

    static func json(for event: CallEvent) -> JSONValue? {
        switch event {
        case .connected(let connected):
            return .object([
                "event": .string("connected"), "you": .encoding(connected.you), "online": .encoding(connected.online),
                "calls": .encoding(connected.calls),
                "elsewhere": connected.elsewhere.map { JSONValue.encoding($0) },
                "ringTimeoutMs": .int(connected.ringTimeoutMs),
            ])
        case .userOnline(let user):
            return .object(["event": .string("presence.online"), "user": .encoding(user)])
        case .userOffline(let user):
            return .object(["event": .string("presence.offline"), "user": .string(user.rawValue)])
        case .userUpdated(let user):
            return .object(["event": .string("presence.updated"), "user": .encoding(user)])
        case .historyLoaded, .declined:
            // The command's result line says it.
            return nil
        case .invited(let invitation):
            return .object([
                "event": .string("call.invited"), "call": .string(invitation.call.id.rawValue),
                "from": .string(invitation.from.rawValue), "caller": .string(invitation.call.caller.rawValue),
                "group": .bool(invitation.call.group), "participants": .encoding(invitation.call.participants),
                "ringTimeoutMs": .int(invitation.ringTimeoutMs),
            ])
        case .invitationEnded(let call, let reason):
            return .object([
                "event": .string("call.invitationEnded"), "call": .string(call.rawValue),
                "reason": .string(reason.rawValue),
            ])
        case .placed(let info):
            return .object(["event": .string("call.placed"), "call": .string(info.id.rawValue),
                            "group": .bool(info.group), "participants": .encoding(info.participants)])
        case .answered(let info):
            return .object(["event": .string("call.answered"), "call": .string(info.id.rawValue),
                            "participants": .encoding(info.participants)])
        case .participantChanged(let info, let user, let state):
            return .object([
                "event": .string("call.participant"), "call": .string(info.id.rawValue), "user": .string(user.rawValue),
                "state": .string(state.rawValue), "group": .bool(info.group), "participants": .encoding(info.participants),
            ])
        case .roomReady(let room):
            // The room token is a secret: never printed.
            return .object([
                "event": .string("call.room"), "call": .string(room.call.rawValue), "room": .string(room.room.rawValue),
            ])
        case .userEntered(let user):
            return .object(["event": .string("call.userEntered"), "user": .string(user.rawValue)])
        case .userLeft(let user):
            return .object(["event": .string("call.userLeft"), "user": .string(user.rawValue)])
        case .ended(let ended):
            return .object([
                "event": .string("call.ended"), "call": .string(ended.call.rawValue),
                "reason": .string(ended.reason.rawValue), "durationMs": .int(ended.durationMs),
            ])
        case .hungUp(let call):
            return .object(["event": .string("call.hungUp"), "call": .string(call.rawValue)])
        case .reconnecting(let attempt):
            return .object(["event": .string("reconnecting"), "attempt": .int(attempt)])
        case .clusterNodesChanged(let nodes):
            return .object(["event": .string("cluster.nodes"), "nodes": .array(nodes.map(JSONValue.string))])
        case .disconnected(let reason):
            return .object(["event": .string("disconnected"), "reason": reason.map(JSONValue.string)])
        case .failure(let error):
            return HeadlessEvents.errorJSON(error, id: nil, command: nil)
        }
    }
}

/// Drives a CallClient from command lines and prints its events.
public struct HeadlessCallClient: Sendable {
    public let client: CallClient
    public let output: @Sendable (String) -> Void

    public init(client: CallClient, output: @escaping @Sendable (String) -> Void) {
        self.client = client
        self.output = output
    }

    /// Connects, prints events until the connection ends or input says
    /// `quit` (or ends), and runs commands meanwhile. Returns false when it
    /// could not connect or the server closed the connection.
    @discardableResult
    public func run(input: AsyncStream<String>, printsEvents: Bool = true) async -> Bool {
        let output = self.output
        // Until connected, `disconnected` waits: the error line comes first
        // and `disconnected` is always the last line.
        let connecting = Mutex(true)
        let observation = client.store.observe { update in
            switch update.event {
            case .disconnected where connecting.withLock({ $0 }):
                break
            case .failure, .disconnected:
                if let line = HeadlessCallEvents.line(for: update.event) { output(line) }
            default:
                if printsEvents, let line = HeadlessCallEvents.line(for: update.event) { output(line) }
            }
        }
        defer { observation.cancel() }
        do {
            try await client.connect()
            connecting.withLock { $0 = false }
        } catch {
            output(HeadlessEvents.errorLine(error, id: nil, command: "connect"))
            output(HeadlessCallEvents.line(for: .disconnected(reason: error.message)) ?? "")
            return false
        }
        let closed = client.store.updates()
        let watch = Task {
            for await update in closed {
                if case .disconnected = update.event { return false }
            }
            return true
        }
        let commands = Task {
            for await line in input {
                if line.allSatisfy(\.isWhitespace) { continue }
                if await perform(line) == .quit { break }
            }
            await client.disconnect()
        }
        let askedToLeave = await watch.value
        commands.cancel()
        return askedToLeave || client.store.state.connection == .disconnected(reason: nil)
    }

    private enum Outcome { case goOn, quit }

    private func perform(_ line: String) async -> Outcome {
        switch HeadlessCallCommand.parse(line) {
        case .failure(let error):
            output(HeadlessEvents.errorLine(error))
            return .goOn
        case .success(let command):
            let name = command.action.name
            do {
                var details: [(String, JSONValue)] = []
                switch command.action {
                case .call(let users, let ringTimeoutMs):
                    let info = try await client.call(users, ringTimeoutMs: ringTimeoutMs)
                    details = [("call", .string(info.id.rawValue))]
                case .accept(let call):
                    let session = try await client.accept(call)
                    if let room = session.configuration.endpoint.room { details = [("room", .string(room.rawValue))] }
                case .reject(let call):
                    try await client.reject(call)
                case .cancel:
                    try await client.cancel()
                case .hangup:
                    try await client.hangup()
                case .history(let limit):
                    details = [("calls", .encoding(try await client.history(limit: limit)))]
                case .state:
                    let state = client.store.state
                    details = [
                        ("online", .encoding(state.onlineUsers)), ("call", state.call.map { .encoding($0) } ?? .null),
                        ("invitations", .array(state.invitations.map { .string($0.call.id.rawValue) })),
                    ]
                case .quit:
                    output(HeadlessEvents.resultLine(id: command.id, command: name))
                    return .quit
                }
                output(HeadlessEvents.resultLine(id: command.id, command: name, details: details))
            } catch {
                output(HeadlessEvents.errorLine(error, id: command.id, command: name))
            }
            return .goOn
        }
    }
}
