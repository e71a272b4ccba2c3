import ConfabMacros
import ConfabProtocol

// A room template: its roles and the knobs of its lifecycle. The server reads
// templates from its TOML config (decoded through Codable with the same
// camelCase keys as JSON; every knob may be omitted) and falls back to
// `RoomTemplate.standard`, the built-in host / speaker / listener.

/// The roles and settings a room is created with.
@PublicMemberwiseInit
public struct RoomTemplate: Codable, Hashable, Sendable {
    public var roles: [Role]
    /// The most peers (connected or within their resume grace) the room
    /// holds; nil for no limit.
    public var maxPeers: Int?
    /// An empty room ends after this long.
    public var emptyRoomTimeoutMs: Int = LifecycleDefaults.emptyRoomTimeoutMs
    /// How long a dropped peer's session is kept for `resume`.
    public var resumeGraceMs: Int = LifecycleDefaults.resumeGraceMs
    /// How long a role-change or unmute prompt may be answered.
    public var promptLifetimeMs: Int = LifecycleDefaults.promptLifetimeMs
    /// Chat rate per peer.
    public var chatRate: RateLimit = RateLimits.chat
    /// Large-room settings: which peers join quiet and how often counts go
    /// out (Room+Audience.swift); nil for a room where everyone is announced.
    public var audience: AudienceSettings?

    /// The role with this name, if the template defines it.
    public func role(named name: RoleName) -> Role? {
        roles.first { $0.name == name }
    }

    /// Checks what Codable cannot: at least one role, unique role names,
    /// subscriptions that name defined roles, and positive settings.
    public func validate() throws(TemplateError) {
        guard !roles.isEmpty else { throw .noRoles }
        var seen = Set<RoleName>()
        for role in roles {
            guard seen.insert(role.name).inserted else { throw .duplicateRole(role.name) }
        }
        for role in roles {
            for heard in role.subscribesTo where !seen.contains(heard) {
                throw .unknownSubscription(role: role.name, subscribesTo: heard)
            }
        }
        if let maxPeers, maxPeers < 1 { throw .invalidSetting("maxPeers must be at least 1") }
        guard emptyRoomTimeoutMs >= 0 else { throw .invalidSetting("emptyRoomTimeoutMs must not be negative") }
        guard resumeGraceMs >= 0 else { throw .invalidSetting("resumeGraceMs must not be negative") }
        guard promptLifetimeMs > 0 else { throw .invalidSetting("promptLifetimeMs must be positive") }
        guard chatRate.perSecond > 0, chatRate.burst > 0 else {
            throw .invalidSetting("chatRate needs positive perSecond and burst")
        }
        try audience?.validate(roles: seen)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // Every key left out keeps its default, roles too (host, speaker, listener).
        roles = try container.decodeIfPresent([Role].self, forKey: .roles) ?? RoomTemplate.standard.roles
        maxPeers = try container.decodeIfPresent(Int.self, forKey: .maxPeers)
        emptyRoomTimeoutMs =
            try container.decodeIfPresent(Int.self, forKey: .emptyRoomTimeoutMs) ?? LifecycleDefaults.emptyRoomTimeoutMs
        resumeGraceMs =
            try container.decodeIfPresent(Int.self, forKey: .resumeGraceMs) ?? LifecycleDefaults.resumeGraceMs
        promptLifetimeMs =
            try container.decodeIfPresent(Int.self, forKey: .promptLifetimeMs) ?? LifecycleDefaults.promptLifetimeMs
        chatRate = try container.decodeIfPresent(RateLimit.self, forKey: .chatRate) ?? RateLimits.chat
        audience = try container.decodeIfPresent(AudienceSettings.self, forKey: .audience)
    }
}

/// A template that decoded but makes no sense.
public enum TemplateError: Error, Hashable, Sendable, CustomStringConvertible {
    case noRoles
    case duplicateRole(RoleName)
    case unknownSubscription(role: RoleName, subscribesTo: RoleName)
    case invalidSetting(String)

    public var description: String {
        switch self {
        case .noRoles: "a room template needs at least one role"
        case .duplicateRole(let name): "role \(name) is defined twice"
        case .unknownSubscription(let role, let heard): "role \(role) subscribes to \(heard), which is not defined"
        case .invalidSetting(let detail): detail
        }
    }
}

// MARK: - The built-in template

extension RoomTemplate {
    /// Host, speaker and listener: a meeting with a stage and an audience
    /// (TRTC's live scene, 100ms's default roles).
    ///
    /// | | host | speaker | listener |
    /// |---|---|---|---|
    /// | priority | 100 | 50 | 10 |
    /// | publish audio | yes | yes | no |
    /// | hears | host, speaker | host, speaker | host, speaker |
    /// | chat: broadcast, to roles | yes | yes | yes |
    /// | chat: direct | yes | yes | no |
    /// | mute others, ask to unmute, change roles, remove peers, end room | yes | no | no |
    /// | raise hand | yes | yes | yes |
    ///
    /// Listeners chat with the room and with roles (to ask the hosts a
    /// question) but may not open private conversations: an audience of
    /// strangers cannot message speakers privately unasked. Hosts and
    /// speakers can message a listener directly.
    public static let standard = RoomTemplate(roles: [.host, .speaker, .listener])
}

extension Role {
    /// Runs the meeting: everything is allowed.
    public static let host = Role(
        name: "host", priority: 100, publishAudio: true, subscribesTo: ["host", "speaker"],
        chat: .all, permissions: .all)

    /// On stage: talks and chats, and may raise a hand to get a host's attention.
    public static let speaker = Role(
        name: "speaker", priority: 50, publishAudio: true, subscribesTo: ["host", "speaker"],
        chat: .all,
        permissions: RolePermissions(
            muteOthers: false, askToUnmute: false, changeRoles: false,
            removePeers: false, endRoom: false, raiseHand: true))

    /// The audience: hears the stage, cannot publish, raises a hand to speak.
    public static let listener = Role(
        name: "listener", priority: 10, publishAudio: false, subscribesTo: ["host", "speaker"],
        chat: ChatPermissions(broadcast: true, toRoles: true, direct: false),
        permissions: RolePermissions(
            muteOthers: false, askToUnmute: false, changeRoles: false,
            removePeers: false, endRoom: false, raiseHand: true))
}
