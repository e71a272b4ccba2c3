import ConfabProtocol

/// How calls behave on this server (`[calls]` in the config file).
public struct CallSettings: Hashable, Sendable {
    /// How long an invitation rings before it ends with `noResponse`.
    public var ringTimeoutMs = CallLimits.defaultRingTimeoutMs
    /// `call.invite` per user, all devices together; over it: `6002 callRateLimited`.
    public var invitationRate = CallLimits.invitationRate
    /// Who may ring whom.
    public var policy = CallPolicy.anyone

    public init() {}
}

/// Who may ring whom. This is the one place the rule lives; the switchboard
/// asks it for every invitee and refuses a forbidden one with
/// `6001 callForbidden`.
public enum CallPolicy: Sendable, Hashable {
    /// Any user with a valid user token may ring any other (the default).
    case anyone
    /// Only the pairs listed, in either direction: `[alice: [bob]]` lets
    /// alice ring bob and bob ring alice. Users listed nowhere ring nobody.
    case allowList([PeerID: Set<PeerID>])

    public func mayRing(_ callee: PeerID, from caller: PeerID) -> Bool {
        switch self {
        case .anyone:
            true
        case .allowList(let pairs):
            pairs[caller]?.contains(callee) == true || pairs[callee]?.contains(caller) == true
        }
    }
}
