// A role says what its peers may do. Roles are defined per room template
// (in the server's TOML config, or the built-in host/speaker/listener of
// ConfabRooms), sent to each client in `joined.room.roles` so a client can
// offer only what its role allows, and enforced by the server on every action.
//
// Decoding is forgiving about omissions, so a config file lists only what a
// role may do: every permission left out is `false`, `priority` defaults to 0
// and `subscribesTo` to no roles. Keys are camelCase in JSON and TOML alike.

import ConfabMacros

/// One role of a room template.
@PublicMemberwiseInit
public struct Role: Codable, Hashable, Sendable {
    public var name: RoleName
    /// Rank against other roles: higher outranks lower. An actor may not
    /// mute, ask to unmute, change the role of or remove a peer whose role
    /// outranks its own, nor give a role that outranks its own. Clients list
    /// peers by priority, highest first.
    public var priority: Int
    /// Whether peers of this role may send audio. Only they have a microphone track.
    public var publishAudio: Bool
    /// The roles whose audio this role hears (the server forwards only those).
    public var subscribesTo: [RoleName]
    public var chat: ChatPermissions
    public var permissions: RolePermissions

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(RoleName.self, forKey: .name)
        priority = try container.decodeIfPresent(Int.self, forKey: .priority) ?? 0
        publishAudio = try container.decodeIfPresent(Bool.self, forKey: .publishAudio) ?? false
        subscribesTo = try container.decodeIfPresent([RoleName].self, forKey: .subscribesTo) ?? []
        chat = try container.decodeIfPresent(ChatPermissions.self, forKey: .chat) ?? .none
        permissions = try container.decodeIfPresent(RolePermissions.self, forKey: .permissions) ?? .none
    }
}

/// Which kinds of chat a role may send. Every role receives chat addressed to it.
@PublicMemberwiseInit
public struct ChatPermissions: Codable, Hashable, Sendable {
    /// To everyone in the room.
    public var broadcast: Bool
    /// To every peer holding one of some roles.
    public var toRoles: Bool
    /// To chosen peers.
    public var direct: Bool

    public static let none = ChatPermissions(broadcast: false, toRoles: false, direct: false)
    public static let all = ChatPermissions(broadcast: true, toRoles: true, direct: true)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        broadcast = try container.decodeIfPresent(Bool.self, forKey: .broadcast) ?? false
        toRoles = try container.decodeIfPresent(Bool.self, forKey: .toRoles) ?? false
        direct = try container.decodeIfPresent(Bool.self, forKey: .direct) ?? false
    }
}

/// What a role may do to others and to the room. Muting yourself, lowering
/// your own hand, changing your own name and leaving need no permission.
@PublicMemberwiseInit
public struct RolePermissions: Codable, Hashable, Sendable {
    /// Mute another peer's microphone; applied at once.
    public var muteOthers: Bool
    /// Ask another peer to unmute; the peer accepts or declines.
    public var askToUnmute: Bool
    /// Change another peer's role, by asking or (with `force`) at once.
    public var changeRoles: Bool
    /// Remove a peer from the room.
    public var removePeers: Bool
    /// End the room for everyone, optionally locking it.
    public var endRoom: Bool
    /// Raise a hand.
    public var raiseHand: Bool
    /// See the audience: quiet peers come and go in your view as everyone
    /// else does, and you may page through the room with `roster.list`.
    public var seeAudience: Bool = false
    /// Set and delete the room's shared state (an agenda line, a pinned
    /// message: docs/PROTOCOL.md, `state.set`).
    public var setState: Bool = false

    public static let none = RolePermissions(
        muteOthers: false, askToUnmute: false, changeRoles: false,
        removePeers: false, endRoom: false, raiseHand: false)
    public static let all = RolePermissions(
        muteOthers: true, askToUnmute: true, changeRoles: true,
        removePeers: true, endRoom: true, raiseHand: true, seeAudience: true, setState: true)

    private enum CodingKeys: String, CodingKey {
        case muteOthers, askToUnmute, changeRoles, removePeers, endRoom, raiseHand, seeAudience, setState
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        muteOthers = try container.decodeIfPresent(Bool.self, forKey: .muteOthers) ?? false
        askToUnmute = try container.decodeIfPresent(Bool.self, forKey: .askToUnmute) ?? false
        changeRoles = try container.decodeIfPresent(Bool.self, forKey: .changeRoles) ?? false
        removePeers = try container.decodeIfPresent(Bool.self, forKey: .removePeers) ?? false
        endRoom = try container.decodeIfPresent(Bool.self, forKey: .endRoom) ?? false
        raiseHand = try container.decodeIfPresent(Bool.self, forKey: .raiseHand) ?? false
        seeAudience = try container.decodeIfPresent(Bool.self, forKey: .seeAudience) ?? false
        setState = try container.decodeIfPresent(Bool.self, forKey: .setState) ?? false
    }

    /// `seeAudience` and `setState` are written only when true, so roles written before they existed read the same.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(muteOthers, forKey: .muteOthers)
        try container.encode(askToUnmute, forKey: .askToUnmute)
        try container.encode(changeRoles, forKey: .changeRoles)
        try container.encode(removePeers, forKey: .removePeers)
        try container.encode(endRoom, forKey: .endRoom)
        try container.encode(raiseHand, forKey: .raiseHand)
        if seeAudience { try container.encode(seeAudience, forKey: .seeAudience) }
        if setState { try container.encode(setState, forKey: .setState) }
    }
}
