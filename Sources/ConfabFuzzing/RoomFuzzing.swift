// A room run by a script of what its clients do, one step a line, as the
// server would run it: joins, dropped connections, resumes, time passing,
// and any client message (decoded from JSON, as the server decodes it).
//
//   first line   "townhall" for a room with an audience; anything else: the standard room
//   A join ROLE  peer A (one letter a…h) joins with ROLE and the rest of the line as its name
//   A drop       A's connection is lost          A resume   A comes back
//   A send JSON  A's client message             @ send JSON   the same from the server (management API)
//   - wait MS    time passes (a negative MS: the wall clock stepped back); expired sessions are swept
//   - end        the room ends                  - lock / - unlock   joins locked or not
//
// Properties: a refused action leaves the room as it was; every event goes
// to peers the room knows; every message the room makes for a client
// (events, replies, roster pages after each step; every connected peer's
// `joined` every 16 steps and at the end) is one the client can decode,
// unchanged.
import ConfabProtocol
import ConfabRooms
import Foundation

enum RoomFuzzing {
    static func run(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        _ = try play(String(decoding: input, as: UTF8.self))
    }

    /// Runs a script and returns the room as it left it.
    static func play(_ script: String) throws(FuzzViolation) -> ScriptedRoom {
        var lines = script.split(separator: "\n", omittingEmptySubsequences: false)[...]
        let template: RoomTemplate = lines.first == "townhall" ? .townHall : .standard
        if lines.first == "townhall" { lines = lines.dropFirst() }
        var run = ScriptedRoom(template: template)
        // A script of a couple of hundred steps reaches every state; longer ones only slow the fuzzer.
        for (index, line) in lines.prefix(200).enumerated() {
            try run.step(String(line))
            // Every connected peer's `joined` is the costly check: every few steps, and at the end.
            if index % 16 == 15 { try run.checkReplies() }
        }
        try run.checkReplies()
        return run
    }
}

struct ScriptedRoom {
    var room: Room
    var now = Timestamp(millisecondsSince1970: 1_000_000)
    /// Chat messages the room accepted (the log's last sequence number).
    var chatSequence = 0
    /// Client messages the room carried out, and those it refused.
    var accepted = 0
    var refused = 0
    /// Prompts that lapsed unanswered as time passed.
    var lapsedPrompts = 0
    let codec = ProtocolCodec()

    init(template: RoomTemplate) {
        room = Room(name: "fuzz", template: template, now: now)
    }

    mutating func step(_ line: String) throws(FuzzViolation) {
        let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard words.count >= 2 else { return }
        let argument = words.count > 2 ? words[2] : ""
        let before = room
        // Time passes for everyone: `- wait MS` (any first word will do).
        if words[1] == "wait" {
            now = now.adding(milliseconds: min(Int(argument) ?? 1_000, 3_600_000))
            try expire(before: before)
            return
        }
        guard let actor = Self.actor(words[0]) else { return }
        switch words[1] {
        case "join": try join(actor, role: argument)
        case "drop": try deliver(room.connectionLost(actor, now: now), before: before)
        case "resume":
            if let outcome = try? room.resume(actor, now: now) { try deliver(outcome.events, before: before) }
        case "send": try send(argument, from: actor, before: before)
        case "end": try deliver(room.end(reason: argument, lock: false, now: now), before: before)
        case "lock": _ = room.setJoinsLocked(true)
        case "unlock": _ = room.setJoinsLocked(false)
        default: return
        }
    }

    /// Time passed: exactly the prompts past their lifetime lapse, each
    /// reported once (the `prompt.expired` webhook), the others stay.
    private mutating func expire(before: Room) throws(FuzzViolation) {
        let lifetime = Int64(room.template.promptLifetimeMs)
        let expiry = room.expire(now: now)
        let due = before.prompts.values.filter { now.milliseconds(since: $0.createdAt) >= lifetime }
        guard Set(expiry.lapsedPrompts) == Set(due), expiry.lapsedPrompts.count == due.count else {
            throw FuzzViolation("lapsed \(expiry.lapsedPrompts.map(\.id)), due \(due.map(\.id))")
        }
        lapsedPrompts += due.count
        let forgotten = Set(expiry.forgottenPeers)
        let live = before.prompts.values.filter {
            now.milliseconds(since: $0.createdAt) < lifetime && !forgotten.contains($0.from) && !forgotten.contains($0.to)
        }
        guard expiry.lapsedPrompts.allSatisfy({ room.prompts[$0.id] == nil }),
            live.allSatisfy({ room.prompts[$0.id] == $0 }), room.prompts.count == live.count
        else { throw FuzzViolation("a lapsed prompt is still pending, or a live one went with them") }
    }

    /// a…h are peers; @ is the server itself (the management API acts as it).
    private static func actor(_ word: String) -> PeerID? {
        if word == "@" { return .server }
        guard word.count == 1, let letter = word.first, ("a"..."h").contains(letter) else { return nil }
        return PeerID(uncheckedRawValue: String(letter))
    }

    private mutating func join(_ actor: PeerID, role argument: String) throws(FuzzViolation) {
        let parts = argument.split(separator: " ", maxSplits: 1).map(String.init)
        guard let roleWord = parts.first, let role = RoleName(rawValue: roleWord) else { return }
        let request = JoinRequest(room: room.name, token: "", name: parts.count > 1 ? parts[1] : nil)
        let before = room
        guard let outcome = try? room.join(Admission(peer: actor, role: role, tokenName: nil, request: request), now: now)
        else {
            guard room == before else { throw FuzzViolation("a refused join changed the room") }
            return
        }
        try deliver(outcome.events, before: before)
    }

    private mutating func send(_ json: String, from actor: PeerID, before: Room) throws(FuzzViolation) {
        guard let message = try? codec.decode(Data(json.utf8), as: ClientMessage.self) else { return }
        if case .listRoster(let request) = message.body {
            if let page = try? room.roster(request, for: actor) { try decodable(.rosterPage(page), "a roster page") }
            return
        }
        guard let action = PeerAction(message.body) else { return }
        let outcome: RoomOutcome
        do {
            outcome = try room.apply(action, from: actor, now: now)
        } catch {
            guard room == before else { throw FuzzViolation("\(action) by \(actor) was refused (\(error)) but changed the room") }
            refused += 1
            try decodable(.error(error), "an error reply")
            return
        }
        accepted += 1
        if let chat = outcome.chat {
            // The server's log numbers the message; then the room's outcome is sent.
            chatSequence += 1
            var committed = chat.message
            committed.seq = chatSequence
            let delivered = chat.outcome(committed: committed)
            try deliver(delivered.events, before: before)
            try decodable(delivered.reply, "a chat ack")
        } else {
            try deliver(outcome.events, before: before)
            try decodable(outcome.reply, "a reply")
        }
    }

    /// Events go only to peers the room knew before the step or knows after it.
    private func deliver(_ events: [RoomEvent], before: Room) throws(FuzzViolation) {
        for event in events {
            for peer in event.audience where room.peer(peer) == nil && before.peer(peer) == nil {
                throw FuzzViolation("\(event.body) addressed to \(peer), whom the room does not know")
            }
            try decodable(event.body, "an event")
        }
    }

    /// What every connected peer would get if it joined now.
    func checkReplies() throws(FuzzViolation) {
        for peer in room.peers.values where peer.isConnected {
            let history = ChatPage(messages: [], hasMore: false)
            guard
                let joined = room.joined(
                    for: peer.id, history: history, joinTimeMs: 0, resumed: false,
                    reconnect: ReconnectInfo(resumeToken: "token"))
            else { throw FuzzViolation("no joined reply for connected peer \(peer.id)") }
            try decodable(.joined(joined), "a joined reply")
        }
    }

    /// A message the server sends must decode on the client as what was sent.
    private func decodable(_ body: ServerBody, _ what: String) throws(FuzzViolation) {
        let message = ServerMessage(id: RequestID(uncheckedRawValue: "r1"), body)
        let encoded = codec.encode(message)
        let decoded: ServerMessage
        do {
            decoded = try codec.decode(encoded, as: ServerMessage.self)
        } catch {
            throw FuzzViolation("\(what) a client cannot decode (\(error)): \(String(decoding: encoded, as: UTF8.self))")
        }
        guard decoded == message else {
            throw FuzzViolation("\(what) changed on its way to the client: \(message) became \(decoded)")
        }
    }
}
