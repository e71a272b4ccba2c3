import ConfabProtocol

// The commands a bot writes to `confab join --headless --events`, one JSON
// object per line on stdin. docs/BOTS.md lists them with examples:
//
//   {"cmd": "chat", "text": "hi all"}
//   {"cmd": "chat", "text": "hosts only", "roles": ["host"]}
//   {"cmd": "role", "peer": "lee", "role": "speaker", "force": true, "id": "promote-lee"}
//
// Parsing is pure and never throws: a bad line becomes a HeadlessCommandError
// that the client prints as an error line, and the bot goes on.

/// One command from stdin, with the optional `id` its result line repeats.
public struct HeadlessCommand: Hashable, Sendable {
    public var id: String?
    public var action: HeadlessAction

    public init(id: String? = nil, _ action: HeadlessAction) {
        self.id = id
        self.action = action
    }
}

/// What a command asks the session to do.
public enum HeadlessAction: Hashable, Sendable {
    case chat(text: String, target: ChatTarget)
    case muteSelf
    case unmuteSelf
    case muteTrack(TrackID)
    case mutePeer(PeerID)
    case unmuteTrack(TrackID)
    case askToUnmute(PeerID)
    case changeRole(peer: PeerID, role: RoleName, force: Bool)
    case raiseHand
    case lowerHand
    case remove(peer: PeerID, reason: String?)
    case endRoom(lock: Bool, reason: String?)
    case answer(prompt: PromptID, accept: Bool)
    case history(HistoryRequest)
    case roster(RosterRequest)
    case volume(peer: PeerID, volume: Double)
    case profile(name: String?, metadata: String?)
    /// Set (a value) or delete (nil) a key of the room's shared state.
    case setState(key: String, value: String?)
    case state
    /// List the sound cards and the devices in use.
    case devices
    /// Switch the microphone or the speaker to another sound card, staying in the room.
    case switchDevice(AudioDirection, name: String)
    case leave

    /// The `cmd` name.
    public var name: String {
        switch self {
        case .chat: "chat"
        case .muteSelf, .muteTrack, .mutePeer: "mute"
        case .unmuteSelf, .unmuteTrack, .askToUnmute: "unmute"
        case .changeRole: "role"
        case .raiseHand: "raiseHand"
        case .lowerHand: "lowerHand"
        case .remove: "remove"
        case .endRoom: "end"
        case .answer: "answer"
        case .history: "history"
        case .roster: "roster"
        case .volume: "volume"
        case .profile: "profile"
        case .setState: "set"
        case .state: "state"
        case .devices: "devices"
        case .switchDevice: "device"
        case .leave: "leave"
        }
    }
}

/// Which way a device carries sound.
public typealias AudioDirection = AudioDeviceChange.Direction

/// A line that is not a valid command.
public struct HeadlessCommandError: Error, Hashable, Sendable {
    /// The line's `id`, when it could be read.
    public var id: String?
    /// The `cmd`, when it could be read.
    public var command: String?
    public var message: String
}

extension HeadlessCommand {
    /// Every `cmd` name, for error messages and docs.
    public static let names = [
        "chat", "mute", "unmute", "role", "raiseHand", "lowerHand", "remove", "end", "answer", "history", "volume",
        "profile", "state", "leave", "roster", "set", "devices", "device",
    ]

    /// The longest line read, in bytes: a chat message at its limit fits many times over.
    public static let maximumLineBytes = 256 * 1024

    /// Parses one line of stdin.
    public static func parse(_ line: String) -> Result<HeadlessCommand, HeadlessCommandError> {
        guard line.utf8.count <= maximumLineBytes else {
            return .failure(HeadlessCommandError(message: "line longer than \(maximumLineBytes) bytes"))
        }
        guard let json = try? JSONValue.parse(line), case .object = json else {
            return .failure(HeadlessCommandError(message: "not a JSON object"))
        }
        let id: String?
        switch json["id"] {
        case nil: id = nil
        case .string(let text)?: id = text
        case .int(let number)?: id = String(number)
        default: return .failure(HeadlessCommandError(message: "id: expected a string"))
        }
        guard case .string(let name)? = json["cmd"] else {
            return .failure(HeadlessCommandError(id: id, message: "cmd: expected one of \(names.joined(separator: ", "))"))
        }
        do {
            return .success(HeadlessCommand(id: id, try action(named: name, in: json)))
        } catch {
            return .failure(HeadlessCommandError(id: id, command: name, message: error.message))
        }
    }

    private struct FieldError: Error {
        let message: String
    }

    private static func action(named name: String, in json: JSONValue) throws(FieldError) -> HeadlessAction {
        switch name {
        case "chat":
            let text = try string("text", in: json)
            let roles = try optionalList("roles", in: json, as: RoleName.self)
            let peers = try optionalList("peers", in: json, as: PeerID.self)
            switch (roles, peers) {
            case (nil, nil): return .chat(text: text, target: .broadcast)
            case (let roles?, nil): return .chat(text: text, target: .roles(roles))
            case (nil, let peers?): return .chat(text: text, target: .peers(peers))
            case (.some, .some): throw FieldError(message: "give roles or peers, not both")
            }
        case "mute", "unmute":
            let muting = name == "mute"
            let track = try optionalIdentifier("track", in: json, as: TrackID.self)
            let peer = try optionalIdentifier("peer", in: json, as: PeerID.self)
            switch (track, peer) {
            case (nil, nil): return muting ? .muteSelf : .unmuteSelf
            case (let track?, nil): return muting ? .muteTrack(track) : .unmuteTrack(track)
            case (nil, let peer?): return muting ? .mutePeer(peer) : .askToUnmute(peer)
            case (.some, .some): throw FieldError(message: "give track or peer, not both")
            }
        case "role":
            return .changeRole(
                peer: try identifier("peer", in: json, as: PeerID.self),
                role: try identifier("role", in: json, as: RoleName.self),
                force: try optionalBool("force", in: json) ?? false)
        case "raiseHand":
            return .raiseHand
        case "lowerHand":
            return .lowerHand
        case "remove":
            return .remove(
                peer: try identifier("peer", in: json, as: PeerID.self), reason: try optionalString("reason", in: json))
        case "end":
            return .endRoom(lock: try optionalBool("lock", in: json) ?? false, reason: try optionalString("reason", in: json))
        case "answer":
            guard let accept = try optionalBool("accept", in: json) else {
                throw FieldError(message: "accept: expected true or false")
            }
            return .answer(prompt: try identifier("prompt", in: json, as: PromptID.self), accept: accept)
        case "history":
            let limit = try optionalInt("limit", in: json) ?? ProtocolLimits.defaultHistoryPageSize
            guard (1...ProtocolLimits.maximumHistoryPageSize).contains(limit) else {
                throw FieldError(message: "limit: expected 1 to \(ProtocolLimits.maximumHistoryPageSize)")
            }
            let after = try optionalInt("after", in: json)
            let before = try optionalInt("before", in: json)
            if let after, after < 0 { throw FieldError(message: "after: expected 0 or more") }
            if let before, before < 1 { throw FieldError(message: "before: expected 1 or more") }
            return .history(HistoryRequest(after: after, before: before, limit: limit))
        case "roster":
            return .roster(try rosterRequest(json))
        case "volume":
            let volume: Double
            switch json["volume"] {
            case .int(let number)?: volume = Double(number)
            case .double(let number)?: volume = number
            default: throw FieldError(message: "volume: expected a number from 0 to 2")
            }
            guard (0...2).contains(volume) else { throw FieldError(message: "volume: expected a number from 0 to 2") }
            return .volume(peer: try identifier("peer", in: json, as: PeerID.self), volume: volume)
        case "profile":
            let name = try optionalString("name", in: json)
            let metadata = try optionalString("metadata", in: json)
            guard name != nil || metadata != nil else { throw FieldError(message: "give name or metadata") }
            return .profile(name: name, metadata: metadata)
        case "set":
            return .setState(key: try string("key", in: json), value: try optionalString("value", in: json))
        case "state":
            return .state
        case "devices":
            return .devices
        case "device":
            switch (try optionalString("input", in: json), try optionalString("output", in: json)) {
            case (let name?, nil): return .switchDevice(.input, name: name)
            case (nil, let name?): return .switchDevice(.output, name: name)
            default: throw FieldError(message: "give input or output (alsa:NAME), one of them")
            }
        case "leave":
            return .leave
        default:
            throw FieldError(message: "unknown cmd; expected one of \(names.joined(separator: ", "))")
        }
    }

    private static func rosterRequest(_ json: JSONValue) throws(FieldError) -> RosterRequest {
        let limit = try optionalInt("limit", in: json) ?? ProtocolLimits.defaultRosterPageSize
        guard (1...ProtocolLimits.maximumRosterPageSize).contains(limit) else {
            throw FieldError(message: "limit: expected 1 to \(ProtocolLimits.maximumRosterPageSize)")
        }
        var role: RoleName?
        if json["role"] != nil { role = try identifier("role", in: json, as: RoleName.self) }
        return RosterRequest(
            cursor: try optionalString("cursor", in: json), limit: limit, role: role,
            handRaised: try optionalBool("handRaised", in: json), namePrefix: try optionalString("namePrefix", in: json))
    }

    // MARK: - Fields

    private static func string(_ key: String, in json: JSONValue) throws(FieldError) -> String {
        guard let value = try optionalString(key, in: json) else { throw FieldError(message: "\(key): missing") }
        return value
    }

    private static func optionalString(_ key: String, in json: JSONValue) throws(FieldError) -> String? {
        switch json[key] {
        case nil: return nil
        case .string(let text)?: return text
        default: throw FieldError(message: "\(key): expected a string")
        }
    }

    private static func optionalBool(_ key: String, in json: JSONValue) throws(FieldError) -> Bool? {
        switch json[key] {
        case nil: return nil
        case .bool(let value)?: return value
        default: throw FieldError(message: "\(key): expected true or false")
        }
    }

    private static func optionalInt(_ key: String, in json: JSONValue) throws(FieldError) -> Int? {
        switch json[key] {
        case nil: return nil
        case .int(let value)?: return value
        default: throw FieldError(message: "\(key): expected an integer")
        }
    }

    private static func identifier<ID: ProtocolIdentifier>(_ key: String, in json: JSONValue, as type: ID.Type)
        throws(FieldError) -> ID
    {
        guard let value = try optionalIdentifier(key, in: json, as: type) else {
            throw FieldError(message: "\(key): missing")
        }
        return value
    }

    private static func optionalIdentifier<ID: ProtocolIdentifier>(_ key: String, in json: JSONValue, as type: ID.Type)
        throws(FieldError) -> ID?
    {
        guard let text = try optionalString(key, in: json) else { return nil }
        guard let value = ID(rawValue: text) else { throw FieldError(message: "\(key): \(ID.validForm)") }
        return value
    }

    private static func optionalList<ID: ProtocolIdentifier>(_ key: String, in json: JSONValue, as type: ID.Type)
        throws(FieldError) -> [ID]?
    {
        switch json[key] {
        case nil:
            return nil
        case .array(let elements)?:
            var values: [ID] = []
            for element in elements {
                guard case .string(let text) = element, let value = ID(rawValue: text) else {
                    throw FieldError(message: "\(key): each entry must be \(ID.validForm)")
                }
                values.append(value)
            }
            guard !values.isEmpty else { throw FieldError(message: "\(key): name at least one") }
            return values
        default:
            throw FieldError(message: "\(key): expected an array of strings")
        }
    }
}
