// The error catalog. Every error the server reports carries one of these
// numbers; docs/PROTOCOL.md lists them in a table. Numbers are stable: a code
// is never renumbered or reused for another meaning. The thousands digit is
// the area, so a client that meets a code newer than itself still knows
// roughly what went wrong (see `ErrorCode.init(wireValue:)`).

/// A numbered error from the catalog. Raw values are the numbers on the wire.
public enum ErrorCode: Int, Codable, Hashable, Sendable, CaseIterable {
    // MARK: 1xxx: the message itself

    /// Not JSON, or not a JSON object: the request id could not be read.
    case malformedMessage = 1000
    /// Longer than `ProtocolLimits.maximumClientMessageBytes`; not parsed.
    case messageTooLarge = 1001
    /// The `v` field names a protocol version this server does not speak.
    case unsupportedVersion = 1002
    /// The `type` field names no message this server knows.
    case unknownType = 1003
    /// A field is missing, has the wrong JSON type, or is out of range.
    case invalidMessage = 1004
    /// A client message without an `id`.
    case missingRequestID = 1005
    /// A request that needs a joined session came before `join` or `resume`.
    case notJoined = 1006
    /// A second `join` or `resume` on a connection that has already joined.
    case alreadyJoined = 1007
    /// The connection sent more than `RateLimits.allMessages` allows.
    case tooManyMessages = 1008
    /// A display name that is empty once control and invisible characters are removed.
    case emptyName = 1009
    /// A call or presence message on a room's connection, or a room message
    /// on the server-root (presence) connection.
    case wrongConnection = 1010
    /// A shared-state key (`state.set`) that is not of the form the protocol allows.
    case stateKeyInvalid = 1011
    /// A shared-state value that is empty once sanitised, or longer than
    /// `ProtocolLimits.maximumStateValueCharacters`.
    case stateValueInvalid = 1012
    /// The management API has no endpoint at this path, or none for this
    /// method there (then HTTP 405 with an `Allow` header).
    case unknownEndpoint = 1013

    // MARK: 2xxx: tokens and identity

    /// Authentication failed for a reason with no code of its own.
    case unauthorized = 2000
    /// `join` carried no token.
    case tokenMissing = 2001
    /// The token is not a well-formed JWT.
    case tokenMalformed = 2002
    /// The token's signature does not verify: forged, or signed with another secret.
    case tokenSignatureInvalid = 2003
    /// The token's `exp` has passed.
    case tokenExpired = 2004
    /// The token's `nbf` is still in the future.
    case tokenNotYetValid = 2005
    /// The token is for another room.
    case tokenWrongRoom = 2006
    /// The token's role is not defined in this room's template.
    case tokenWrongRole = 2007
    /// The resume token is unknown, already used, or its grace period passed: join again.
    case resumeRejected = 2008
    /// The management API (`/api/v1/`) got a valid room or user token: it needs an admin token.
    case notAdminToken = 2009
    /// No meeting code by that name for this room (`POST /api/v1/rooms/{room}/join`). HTTP 404.
    case codeNotFound = 2010
    /// The meeting code was revoked. HTTP 410.
    case codeRevoked = 2011
    /// The meeting code's expiry has passed. HTTP 410.
    case codeExpired = 2012
    /// The meeting code was exchanged as many times as it allows. HTTP 410.
    case codeUsedUp = 2013
    /// Too many exchanges of unknown meeting codes from this address: wait
    /// and try again (the message says how long). HTTP 429.
    case codeRateLimited = 2014
    /// The admin token was revoked (`confab admin revoke-token`). HTTP 401.
    case adminTokenRevoked = 2015

    // MARK: 3xxx: permissions of the actor's role

    /// The role may not do this, for a reason with no code of its own.
    case permissionDenied = 3000
    /// The role may not publish audio, so it has no microphone to unmute.
    case cannotPublish = 3001
    /// The role may not mute other peers.
    case cannotMuteOthers = 3002
    /// The role may not ask other peers to unmute.
    case cannotAskToUnmute = 3003
    /// The role may not change roles.
    case cannotChangeRoles = 3004
    /// The role may not remove peers.
    case cannotRemovePeers = 3005
    /// The role may not end the room.
    case cannotEndRoom = 3006
    /// The role may not raise a hand.
    case cannotRaiseHand = 3007
    /// The role may not send chat to everyone.
    case cannotChatBroadcast = 3008
    /// The role may not send chat to roles.
    case cannotChatToRoles = 3009
    /// The role may not send direct chat to peers.
    case cannotChatDirect = 3010
    /// The target's role has a higher priority than the actor's.
    case targetOutranksYou = 3011
    /// The role to give has a higher priority than the actor's own.
    case roleOutranksYou = 3012
    /// The action cannot target its own actor (remove yourself: send `leave`).
    case cannotTargetYourself = 3013
    /// `roster.list` from a role without `seeAudience`.
    case cannotSeeAudience = 3014
    /// `state.set` from a role without `setState`.
    case cannotSetState = 3015

    // MARK: 4xxx: the state of the room

    /// The room cannot take this request, for a reason with no code of its own.
    case roomUnavailable = 4000
    /// The room has ended.
    case roomEnded = 4001
    /// The room was ended and locked against rejoining, or is locked against new joins.
    case roomLocked = 4002
    /// The room has as many peers as its template allows.
    case roomFull = 4003
    /// No such peer in the room.
    case peerNotFound = 4004
    /// No such track in the room.
    case trackNotFound = 4005
    /// No such role in the room's template.
    case roleNotFound = 4006
    /// No such prompt for you: never sent, already answered, or withdrawn.
    case promptNotFound = 4007
    /// The prompt's lifetime passed before it was answered.
    case promptExpired = 4008
    /// Another connection joined with the same identity and took this one's place.
    case sessionReplaced = 4009
    /// A host removed you while you were away (in your resume grace): the
    /// `resume` is refused and the session is over.
    case removedFromRoom = 4010
    /// The management API: no live room by this name.
    case roomNotFound = 4011
    /// The management API: a room by this name exists already (live, or ended and locked).
    case roomExists = 4012
    /// A cluster's room lives on another node: connect to the error's
    /// `redirect` URL (same certificate, same token) and send the request again.
    case roomOnAnotherNode = 4013
    /// The room's shared state holds `ProtocolLimits.maximumStateKeys` keys:
    /// delete one before setting a new key.
    case stateFull = 4014
    /// More changes to your own hand, name or metadata, or to the room's
    /// shared state, than `RateLimits.changes` allows; nothing changed.
    case changesRateLimited = 4015
    /// More joins of one identity to one room than `RateLimits.joinsPerWindow`
    /// in `RateLimits.joinWindowMs`; join again after the time the message names.
    case joinsRateLimited = 4016

    // MARK: 5xxx: chat

    /// The chat message was refused for a reason with no code of its own.
    case chatRejected = 5000
    /// Longer than `ProtocolLimits.maximumChatCharacters` after sanitising.
    case chatTooLong = 5001
    /// Empty once control and invisible characters are removed.
    case chatEmpty = 5002
    /// More than `RateLimits.chat` allows; the message was not sent.
    case chatRateLimited = 5003
    /// The target names nobody but the sender.
    case noRecipients = 5004

    // MARK: 6xxx: calls

    /// The call request was refused for a reason with no code of its own.
    case callRejected = 6000
    /// The server's call policy does not let you ring this user.
    case callForbidden = 6001
    /// More invitations than `CallLimits.invitationRate` allows; nobody was rung.
    case callRateLimited = 6002
    /// No such call, or you are not part of it.
    case callNotFound = 6003
    /// You are already in another call: hang up first, or invite into it.
    case alreadyInCall = 6004
    /// No invitation of this call is ringing for you (answered on another
    /// device, cancelled, rung out or ended).
    case invitationNotPending = 6005
    /// The call has as many participants as `CallLimits.maximumParticipants`.
    case callFull = 6006
    /// You left this call (hung up, or left its room): the room token you
    /// had for it no longer admits you. Be invited again to return.
    case leftCall = 6007

    // MARK: 9xxx: the server

    /// A bug or an unexpected failure in the server.
    case internalError = 9000
    /// The server is shutting down and takes no new work.
    case shuttingDown = 9001
    /// The chat log could not be written; the message was not sent.
    case storageFailure = 9002
    /// The server is over capacity; retry later.
    case overloaded = 9003
    /// The database is unreachable or too slow for now: nothing was stored
    /// (a chat message was not posted, a room could not be opened). Retry
    /// later; resend a chat message with the same idempotency key.
    case storageUnavailable = 9004

    /// An error code's area: its thousands digit.
    public enum Area: Int, Codable, Hashable, Sendable, CaseIterable {
        case message = 1
        case authentication = 2
        case permission = 3
        case roomState = 4
        case chat = 5
        case call = 6
        case server = 9

        /// The catch-all code of the area (1000, 2000, ...).
        public var generalCode: ErrorCode {
            switch self {
            case .message: .malformedMessage
            case .authentication: .unauthorized
            case .permission: .permissionDenied
            case .roomState: .roomUnavailable
            case .chat: .chatRejected
            case .call: .callRejected
            case .server: .internalError
            }
        }
    }

    public var area: Area {
        // Every raw value has a known thousands digit, so this never falls back.
        Area(rawValue: rawValue / 1000) ?? .server
    }

    /// Reads a number from the wire. A code this build does not know (sent by
    /// a newer server) becomes the general code of its area, so 4321 reads as
    /// `roomUnavailable`; numbers outside every area read as `internalError`.
    public init(wireValue: Int) {
        if let known = ErrorCode(rawValue: wireValue) {
            self = known
        } else if let area = Area(rawValue: wireValue / 1000), wireValue >= 1000 {
            self = area.generalCode
        } else {
            self = .internalError
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self.init(wireValue: try container.decode(Int.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// Whether the server closes the connection after sending this error.
    /// Failed joins (tokens, ended, locked or full rooms, a call you left), a version the
    /// server does not speak, a replaced session and shutdown end the
    /// session; every other error leaves the connection open.
    public var closesConnection: Bool {
        switch self {
        case .unsupportedVersion, .roomEnded, .roomLocked, .roomFull, .sessionReplaced, .removedFromRoom, .shuttingDown,
            .leftCall, .roomOnAnotherNode:
            true
        default: area == .authentication
        }
    }

    /// The WebSocket close code the server uses when this error ends the
    /// connection (RFC 6455 §7.4.1). The close frame's reason text starts
    /// with the catalog number, e.g. "2004 token expired".
    public var webSocketCloseCode: WebSocketCloseCode {
        switch self {
        case .unsupportedVersion: .protocolError
        case .shuttingDown: .goingAway
        case .messageTooLarge: .messageTooBig
        case .internalError, .storageFailure: .internalError
        default: area == .authentication ? .policyViolation : .normalClosure
        }
    }
}

/// The WebSocket close codes Confab uses (RFC 6455 §7.4.1).
public enum WebSocketCloseCode: UInt16, Codable, Hashable, Sendable {
    /// 1000: the session ended as intended (leave, removed, room ended, replaced).
    case normalClosure = 1000
    /// 1001: the server is shutting down (after `server.goingAway`).
    case goingAway = 1001
    /// 1002: the peer does not speak this protocol version.
    case protocolError = 1002
    /// 1008: the token was refused.
    case policyViolation = 1008
    /// 1009: a frame larger than the WebSocket layer accepts.
    case messageTooBig = 1009
    /// 1011: the server failed.
    case internalError = 1011
}

/// An error as the protocol carries it: a catalog code and a human message.
/// The Room model returns it for refused actions; the server sends it as an
/// `error` message with the request's id.
public struct CodedError: Error, Codable, Hashable, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    /// For people: English, one line. Clients show it but never parse it.
    public var message: String
    /// With `4013 roomOnAnotherNode`: the `wss://HOST:PORT/ROOM` of the node
    /// that holds the room, where the client sends its `join` or `resume` again.
    public var redirect: String?
    /// With a rate limit (`1008`, `2014`, `4015`, `4016`, `5003`, `6002`): in
    /// how many milliseconds the same request would be let through, if
    /// nothing else is spent meanwhile. A client waits this long before
    /// trying again rather than guessing.
    public var retryAfterMs: Int?

    public init(_ code: ErrorCode, _ message: String, redirect: String? = nil, retryAfterMs: Int? = nil) {
        self.code = code
        self.message = message
        self.redirect = redirect
        self.retryAfterMs = retryAfterMs
    }

    private enum CodingKeys: String, CodingKey {
        case code, message, redirect, retryAfterMs
    }

    /// `retryAfterMs` is advice: one that is not a whole number leaves the
    /// error as it is, without it, rather than making it unreadable.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(ErrorCode.self, forKey: .code)
        message = try container.decode(String.self, forKey: .message)
        redirect = try container.decodeIfPresent(String.self, forKey: .redirect)
        retryAfterMs = try? container.decodeIfPresent(Int.self, forKey: .retryAfterMs)
    }

    public var description: String { "\(code.rawValue) \(message)" }
}
