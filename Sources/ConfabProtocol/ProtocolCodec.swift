import Foundation

// bytes ─▶ size check ─▶ JSON object? ─▶ v ─▶ type ─▶ id ─▶ payload ─▶ ClientMessage / ServerMessage
//            │              │            │     │       │       │
//            └─ tooLarge    └─ malformed └─────┴───────┴───────┴─ unsupportedVersion, unknownType,
//                                                                missingRequestID, invalidMessage
//
// Every failure is a typed ProtocolError, carrying the request id whenever it
// could be read, so the server can answer the request that failed and go on.

/// A message type the codec reads and writes.
public protocol ProtocolMessage: Codable, Hashable, Sendable {
    /// The largest encoded message accepted, in bytes; larger input is refused unparsed.
    static var maximumBytes: Int { get }
}

/// Encodes and decodes signalling messages as UTF-8 JSON, one message per
/// WebSocket text frame.
public struct ProtocolCodec: Sendable {
    public init() {}

    /// The message as compact JSON: the envelope (`v`, `type`, `id`) first, as
    /// docs/PROTOCOL.md shows it, then the payload's members sorted by name
    /// (stable output for logs and tests).
    public func encode<Message: ProtocolMessage>(_ message: Message) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Self.envelopeFirst(try encoder.encode(message))
        } catch {
            // Messages hold only strings, integers, booleans, arrays and
            // objects, and JSONEncoder fails only on non-finite floating-point
            // numbers, so this is a bug in a message's encode(to:).
            preconditionFailure("\(Message.self) failed to encode: \(error)")
        }
    }

    /// Moves the top-level members `v`, `type` and `id` of a compact JSON
    /// object (as JSONEncoder writes it) to the front, keeping the order of
    /// the rest. JSONEncoder can only sort every member or none, hence this
    /// one pass over the top level (strings and nesting skipped).
    static func envelopeFirst(_ json: Data) -> Data {
        let bytes = [UInt8](json)
        guard bytes.count >= 2, bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else { return json }
        var members: [ArraySlice<UInt8>] = []
        var start = 1
        var depth = 0
        bytes.withUnsafeBytes { raw in
            JSONStructure.scan(raw) { index, byte in
                switch byte {
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                case UInt8(ascii: ",") where depth == 1:
                    members.append(bytes[start..<index])
                    start = index + 1
                default: break
                }
                return true
            }
        }
        if start < bytes.count - 1 { members.append(bytes[start..<(bytes.count - 1)]) }
        func rank(_ member: ArraySlice<UInt8>) -> Int {
            for (position, key) in [#""v":"#, #""type":"#, #""id":"#].enumerated()
            where member.starts(with: key.utf8) {
                return position
            }
            return 3
        }
        // A stable sort by rank: the envelope in its order, the payload as it was.
        let ordered = members.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }
        var output: [UInt8] = [UInt8(ascii: "{")]
        output.reserveCapacity(bytes.count)
        for (position, member) in ordered.enumerated() {
            if position > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: member.element)
        }
        output.append(UInt8(ascii: "}"))
        return Data(output)
    }

    /// Whether a control character (U+0000 to U+001F) stands unescaped: in a
    /// string, where RFC 8259 §7 wants it escaped, or between values, where
    /// only tab, line feed and carriage return may (§2). Strings are followed
    /// byte by byte: a quote or backslash never occurs inside a UTF-8
    /// sequence, so a multi-byte character cannot mislead it.
    static func hasRawControlCharacter(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // Compact JSON has no byte below 0x20 at all: the smallest byte, a
        // loop the compiler vectorises, settles it in ~30 ns for 560 bytes;
        // following the strings byte by byte took ~2 µs, 15 % of a decode.
        var smallest = UInt8.max
        for byte in bytes { smallest = min(smallest, byte) }
        guard smallest < 0x20 else { return false }
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == backslash {
                    escaped = true
                } else if byte == quote {
                    inString = false
                }
                if byte < 0x20 { return true }
            } else if byte == quote {
                inString = true
            } else if byte < 0x20, byte != UInt8(ascii: "\t"), byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") {
                return true
            }
        }
        return false
    }

    /// Decodes one message, refusing input over `Message.maximumBytes` before parsing.
    public func decode<Message: ProtocolMessage>(_ data: Data, as type: Message.Type = Message.self)
        throws(ProtocolError)
        -> Message
    {
        guard data.count <= Message.maximumBytes else {
            throw ProtocolError(.tooLarge(byteCount: data.count, limit: Message.maximumBytes))
        }
        // Messages are UTF-8 (RFC 8259 §8.1), where a NUL byte cannot stand:
        // JSONDecoder would read text with NULs as UTF-16 or UTF-32 (RFC 4627
        // §3), past the server's screen, which reads bytes as UTF-8. And it
        // lets a raw control character stand inside a string, which §7 forbids.
        guard !data.withUnsafeBytes(Self.hasRawControlCharacter) else { throw ProtocolError(.malformed) }
        do {
            return try JSONDecoder().decode(Message.self, from: data)
        } catch let error as ProtocolError {
            throw Self.explained(error, in: data)
        } catch {
            // The envelope turns every failure inside a JSON object into a
            // ProtocolError, so what is left is a failure to parse JSON at all.
            throw ProtocolError(.malformed)
        }
    }
}

/// Why JSONDecoder refused text that it reports only as "not valid JSON",
/// with no field: swift-foundation says so also of valid JSON whose number
/// does not fit its field (12.5 or 9223372036854775808 for an `Int`). A second
/// parse, with JSONSerialization, tells the two apart. Signalling and the
/// management API both explain their errors with it.
public enum JSONRefusal: Sendable, Hashable {
    /// The text is JSON, but a number in it is out of range, or not whole where a whole number is wanted.
    case numberDoesNotFit
    /// The text is not JSON (a bad escape, a lone surrogate, a number beyond any range).
    case notJSON

    public init(of data: Data) {
        let isJSON = (try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)) != nil
        self = isJSON ? .numberDoesNotFit : .notJSON
    }

    /// What is wrong, in words a sender can act on.
    public var explanation: String {
        switch self {
        case .numberDoesNotFit: "a number out of range, or not whole where a whole number is wanted"
        case .notJSON: "a value that is not JSON (a bad escape, a lone surrogate, a number beyond any range)"
        }
    }
}

extension ProtocolCodec {
    /// `error` with a reason a sender can act on where the decoder gave none.
    static func explained(_ error: ProtocolError, in data: Data) -> ProtocolError {
        guard case .invalidMessage(let field, Envelope.valueNotRead) = error.reason else { return error }
        let detail = JSONRefusal(of: data).explanation
        return ProtocolError(.invalidMessage(field: field, detail: detail), requestID: error.requestID)
    }
}

extension ClientMessage: ProtocolMessage {
    public static var maximumBytes: Int { ProtocolLimits.maximumClientMessageBytes }

    public init(from decoder: any Decoder) throws {
        let envelope = try Envelope(decoder)
        guard let type = ClientMessageType(rawValue: envelope.type) else {
            throw ProtocolError(.unknownType(envelope.type), requestID: envelope.requestID)
        }
        guard let requestID = envelope.requestID else { throw ProtocolError(.missingRequestID) }
        id = requestID
        body = try envelope.decodePayload(requestID: requestID) { container in
            switch type {
            case .join: .join(try JoinRequest(from: decoder))
            case .resume: .resume(try ResumeRequest(from: decoder))
            case .leave: .leave
            case .sendChat: .sendChat(try SendChatRequest(from: decoder))
            case .fetchHistory: .fetchHistory(try HistoryRequest(from: decoder))
            case .listRoster: .listRoster(try RosterRequest(from: decoder))
            case .changeRole: .changeRole(try RoleChangeRequest(from: decoder))
            case .answerPrompt: .answerPrompt(try PromptAnswer(from: decoder))
            case .muteTrack: .muteTrack(try container.decode(TrackID.self, forKey: .track))
            case .unmuteTrack: .unmuteTrack(try container.decode(TrackID.self, forKey: .track))
            case .removePeer: .removePeer(try RemovePeerRequest(from: decoder))
            case .endRoom: .endRoom(try EndRoomRequest(from: decoder))
            case .raiseHand: .raiseHand
            case .lowerHand: .lowerHand
            case .updatePeer: .updatePeer(try PeerUpdateRequest(from: decoder))
            case .ping: .ping
            case .publishKeys: .publishKeys(try PublishKeysRequest(from: decoder))
            case .reportLoss: .reportLoss(try LossReport(from: decoder))
            case .setState: .setState(try SetStateRequest(from: decoder))
            case .connect: .connect(try ConnectRequest(from: decoder))
            case .inviteToCall: .inviteToCall(try CallInviteRequest(from: decoder))
            case .acceptCall: .acceptCall(try CallAction(from: decoder))
            case .rejectCall: .rejectCall(try CallAction(from: decoder))
            case .cancelCall: .cancelCall(try CallAction(from: decoder))
            case .hangUp: .hangUp(try CallAction(from: decoder))
            case .fetchCallHistory: .fetchCallHistory(try CallHistoryRequest(from: decoder))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = try Envelope.encodeHeader(type: type.rawValue, id: id, to: encoder)
        switch body {
        case .leave, .raiseHand, .lowerHand, .ping: break
        case .join(let payload): try payload.encode(to: encoder)
        case .resume(let payload): try payload.encode(to: encoder)
        case .sendChat(let payload): try payload.encode(to: encoder)
        case .fetchHistory(let payload): try payload.encode(to: encoder)
        case .listRoster(let payload): try payload.encode(to: encoder)
        case .changeRole(let payload): try payload.encode(to: encoder)
        case .answerPrompt(let payload): try payload.encode(to: encoder)
        case .muteTrack(let track), .unmuteTrack(let track): try container.encode(track, forKey: .track)
        case .removePeer(let payload): try payload.encode(to: encoder)
        case .endRoom(let payload): try payload.encode(to: encoder)
        case .updatePeer(let payload): try payload.encode(to: encoder)
        case .publishKeys(let payload): try payload.encode(to: encoder)
        case .reportLoss(let payload): try payload.encode(to: encoder)
        case .setState(let payload): try payload.encode(to: encoder)
        case .connect(let payload): try payload.encode(to: encoder)
        case .inviteToCall(let payload): try payload.encode(to: encoder)
        case .acceptCall(let payload), .rejectCall(let payload), .cancelCall(let payload), .hangUp(let payload):
            try payload.encode(to: encoder)
        case .fetchCallHistory(let payload): try payload.encode(to: encoder)
        }
    }
}

extension ServerMessage: ProtocolMessage {
    public static var maximumBytes: Int { ProtocolLimits.maximumServerMessageBytes }

    public init(from decoder: any Decoder) throws {
        let envelope = try Envelope(decoder)
        guard let type = ServerMessageType(rawValue: envelope.type) else {
            throw ProtocolError(.unknownType(envelope.type), requestID: envelope.requestID)
        }
        id = envelope.requestID
        body = try envelope.decodePayload(requestID: envelope.requestID) { container in
            switch type {
            case .joined: .joined(try Joined(from: decoder))
            case .ok: .ok(try OkReply(from: decoder))
            case .error: .error(try CodedError(from: decoder))
            case .pong: .pong(try Pong(from: decoder))
            case .chatAck: .chatAck(try ChatAck(from: decoder))
            case .chatPage: .chatPage(try ChatPage(from: decoder))
            case .rosterPage: .rosterPage(try RosterPage(from: decoder))
            case .roomCounts: .roomCounts(try RoomCounts(from: decoder))
            case .peerJoined: .peerJoined(try PeerJoined(from: decoder))
            case .peerLeft: .peerLeft(try PeerLeft(from: decoder))
            case .peerUpdated: .peerUpdated(try PeerUpdated(from: decoder))
            case .trackAdded: .trackAdded(try TrackAdded(from: decoder))
            case .trackRemoved: .trackRemoved(try PeerTrack(from: decoder))
            case .trackMuted: .trackMuted(try TrackMuteChange(from: decoder))
            case .trackUnmuted: .trackUnmuted(try TrackMuteChange(from: decoder))
            case .trackDegraded: .trackDegraded(try TrackDegraded(from: decoder))
            case .trackRestored: .trackRestored(try PeerTrack(from: decoder))
            case .stateChanged: .stateChanged(try StateChanged(from: decoder))
            case .speakers: .speakers(try container.decode([SpeakerLevel].self, forKey: .speakers))
            case .mediaFeedback: .mediaFeedback(try MediaFeedback(from: decoder))
            case .chatMessage: .chatMessage(try container.decode(ChatMessage.self, forKey: .message))
            case .roleChangeRequested: .roleChangeRequested(try RoleChangePrompt(from: decoder))
            case .unmuteRequested: .unmuteRequested(try UnmutePrompt(from: decoder))
            case .promptAnswered: .promptAnswered(try PromptAnswered(from: decoder))
            case .removed: .removed(try Removed(from: decoder))
            case .roomEnded: .roomEnded(try RoomEnded(from: decoder))
            case .serverGoingAway: .serverGoingAway(try ServerGoingAway(from: decoder))
            case .reconnectInfo: .reconnectInfo(try ReconnectInfo(from: decoder))
            case .keys: .keys(try SealedKeyDelivery(from: decoder))
            case .hearers: .hearers(try HearersUpdate(from: decoder))
            case .connected: .connected(try Connected(from: decoder))
            case .callState: .callState(try container.decode(CallInfo.self, forKey: .call))
            case .callHistoryPage: .callHistoryPage(try CallHistoryPage(from: decoder))
            case .presenceOnline: .presenceOnline(try container.decode(OnlineUser.self, forKey: .user))
            case .presenceOffline: .presenceOffline(try PresenceOffline(from: decoder))
            case .presenceUpdated: .presenceUpdated(try container.decode(OnlineUser.self, forKey: .user))
            case .callInvitation: .callInvitation(try CallInvitation(from: decoder))
            case .callUpdated: .callUpdated(try CallUpdated(from: decoder))
            case .callInvitationEnded: .callInvitationEnded(try CallInvitationEnded(from: decoder))
            case .callRoom: .callRoom(try CallRoom(from: decoder))
            case .callEnded: .callEnded(try CallEnded(from: decoder))
            case .clusterNodes: .clusterNodes(try ClusterNodes(from: decoder))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = try Envelope.encodeHeader(type: type.rawValue, id: id, to: encoder)
        switch body {
        case .joined(let payload): try payload.encode(to: encoder)
        case .ok(let payload): try payload.encode(to: encoder)
        case .error(let payload): try payload.encode(to: encoder)
        case .pong(let payload): try payload.encode(to: encoder)
        case .chatAck(let payload): try payload.encode(to: encoder)
        case .chatPage(let payload): try payload.encode(to: encoder)
        case .rosterPage(let payload): try payload.encode(to: encoder)
        case .roomCounts(let payload): try payload.encode(to: encoder)
        case .peerJoined(let payload): try payload.encode(to: encoder)
        case .peerLeft(let payload): try payload.encode(to: encoder)
        case .peerUpdated(let payload): try payload.encode(to: encoder)
        case .trackAdded(let payload): try payload.encode(to: encoder)
        case .trackRemoved(let payload): try payload.encode(to: encoder)
        case .trackMuted(let payload), .trackUnmuted(let payload): try payload.encode(to: encoder)
        case .trackDegraded(let payload): try payload.encode(to: encoder)
        case .trackRestored(let payload): try payload.encode(to: encoder)
        case .stateChanged(let payload): try payload.encode(to: encoder)
        case .speakers(let levels): try container.encode(levels, forKey: .speakers)
        case .mediaFeedback(let payload): try payload.encode(to: encoder)
        // ChatMessage has its own `id`, so it travels nested under `message`.
        case .chatMessage(let message): try container.encode(message, forKey: .message)
        case .roleChangeRequested(let payload): try payload.encode(to: encoder)
        case .unmuteRequested(let payload): try payload.encode(to: encoder)
        case .promptAnswered(let payload): try payload.encode(to: encoder)
        case .removed(let payload): try payload.encode(to: encoder)
        case .roomEnded(let payload): try payload.encode(to: encoder)
        case .serverGoingAway(let payload): try payload.encode(to: encoder)
        case .reconnectInfo(let payload): try payload.encode(to: encoder)
        case .keys(let payload): try payload.encode(to: encoder)
        case .hearers(let payload): try payload.encode(to: encoder)
        case .connected(let payload): try payload.encode(to: encoder)
        // CallInfo and OnlineUser have fields of their own named like the
        // envelope's neighbours, so they travel nested.
        case .callState(let call): try container.encode(call, forKey: .call)
        case .callHistoryPage(let payload): try payload.encode(to: encoder)
        case .presenceOnline(let user), .presenceUpdated(let user): try container.encode(user, forKey: .user)
        case .presenceOffline(let payload): try payload.encode(to: encoder)
        case .callInvitation(let payload): try payload.encode(to: encoder)
        case .callUpdated(let payload): try payload.encode(to: encoder)
        case .callInvitationEnded(let payload): try payload.encode(to: encoder)
        case .callRoom(let payload): try payload.encode(to: encoder)
        case .callEnded(let payload): try payload.encode(to: encoder)
        case .clusterNodes(let payload): try payload.encode(to: encoder)
        }
    }
}

/// The keys the envelope itself reads, plus the payload keys that the
/// envelope codes directly (payloads of a single value).
enum EnvelopeKey: String, CodingKey {
    case version = "v"
    case type
    case id
    case track
    case speakers
    case message
    case call
    case user
}

/// The envelope of one incoming message, read before its payload.
struct Envelope {
    let container: KeyedDecodingContainer<EnvelopeKey>
    let type: String
    let requestID: RequestID?

    /// Reads and checks `v`, `type` and `id`, in the order that lets each
    /// error carry the request id when there is one.
    init(_ decoder: any Decoder) throws(ProtocolError) {
        do {
            container = try decoder.container(keyedBy: EnvelopeKey.self)
        } catch {
            throw ProtocolError(.malformed)
        }
        // An id that is present but not a string of the valid form is an
        // invalid message, not a missing id; it cannot be echoed either way.
        let idText: String?
        do {
            idText = try container.decodeIfPresent(String.self, forKey: .id)
        } catch {
            throw ProtocolError(.invalidMessage(field: "id", detail: "must be a string: \(RequestID.validForm)"))
        }
        let requestID = idText.flatMap(RequestID.init(rawValue:))
        if idText != nil, requestID == nil {
            throw ProtocolError(.invalidMessage(field: "id", detail: RequestID.validForm))
        }
        self.requestID = requestID

        let version: Int?
        do {
            version = try container.decodeIfPresent(Int.self, forKey: .version)
        } catch {
            throw ProtocolError(.invalidMessage(field: "v", detail: "must be an integer"), requestID: requestID)
        }
        guard let version else {
            throw ProtocolError(.invalidMessage(field: "v", detail: "missing"), requestID: requestID)
        }
        guard version == ProtocolVersion.current else {
            throw ProtocolError(.unsupportedVersion(version), requestID: requestID)
        }

        let type: String?
        do {
            type = try container.decodeIfPresent(String.self, forKey: .type)
        } catch {
            throw ProtocolError(.invalidMessage(field: "type", detail: "must be a string"), requestID: requestID)
        }
        guard let type else {
            throw ProtocolError(.invalidMessage(field: "type", detail: "missing"), requestID: requestID)
        }
        self.type = type
    }

    /// Runs a payload decoder, turning its DecodingError into a ProtocolError
    /// that names the offending field.
    func decodePayload<Body>(
        requestID: RequestID?, _ decode: (KeyedDecodingContainer<EnvelopeKey>) throws -> Body
    ) throws(ProtocolError) -> Body {
        do {
            return try decode(container)
        } catch let error as DecodingError {
            let (field, detail) = Self.describe(error)
            throw ProtocolError(.invalidMessage(field: field, detail: detail), requestID: requestID)
        } catch let error as ProtocolError {
            throw error
        } catch {
            // Not a DecodingError: JSONDecoder reads numbers and strings only
            // when a field asks, and reports those it cannot read without
            // naming the field. `ProtocolCodec.decode` says which it was.
            throw ProtocolError(.invalidMessage(field: "", detail: Self.valueNotRead), requestID: requestID)
        }
    }

    static let valueNotRead = "a value that cannot be read"

    /// Writes `v`, `type` and `id`; the payload goes into the same object.
    static func encodeHeader(type: String, id: RequestID?, to encoder: any Encoder) throws
        -> KeyedEncodingContainer<EnvelopeKey>
    {
        var container = encoder.container(keyedBy: EnvelopeKey.self)
        try container.encode(ProtocolVersion.current, forKey: .version)
        try container.encode(type, forKey: .type)
        try container.encodeIfPresent(id, forKey: .id)
        return container
    }

    /// The JSON path of a decoding failure (`target.peers[2]`) and what was wrong.
    static func describe(_ error: DecodingError) -> (field: String, detail: String) {
        switch error {
        case .keyNotFound(let key, let context):
            return (path(context.codingPath + [key]), "missing")
        case .valueNotFound(_, let context):
            return (path(context.codingPath), "must not be null")
        case .typeMismatch(let type, let context):
            return (path(context.codingPath), "expected \(jsonKind(of: type))")
        case .dataCorrupted(let context):
            return (path(context.codingPath), context.debugDescription)
        @unknown default:
            return ("", "invalid payload")
        }
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text
    }

    private static func jsonKind(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type: "an integer"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}
