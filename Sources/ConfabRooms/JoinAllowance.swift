import ConfabProtocol

/// How often each identity joined one room lately. Every join reads chat
/// history, stores the session, tells every member and sends webhooks: a
/// client that joins in a loop with one token would make the room do that
/// without end. Past `RateLimits.joinsPerWindow` joins in any
/// `RateLimits.joinWindowMs`, a join is refused (`4016 joinsRateLimited`).
/// Only joins let in count (a refused one is refunded); a `resume` is not a
/// join and is not counted. Time is passed in.
public struct JoinAllowance: Sendable {
    public enum Verdict: Equatable, Sendable {
        case admitted
        /// The identity may join again after this many milliseconds.
        case refused(retryAfterMs: Int64)
    }

    public let limit: Int
    public let windowMs: Int64
    /// The times of each identity's joins still within the window, oldest
    /// first: at most `limit` each.
    private var joins: [PeerID: [Timestamp]] = [:]
    /// When identities with no join in the window were last dropped (once a
    /// window, so the sweep costs one pass a minute, not one per join).
    private var sweptAt: Timestamp?

    public init(limit: Int = RateLimits.joinsPerWindow, windowMs: Int64 = RateLimits.joinWindowMs) {
        self.limit = max(1, limit)
        self.windowMs = max(1, windowMs)
    }

    /// Counts a join of `peer` at `now` if the window has room for it.
    public mutating func admit(_ peer: PeerID, now: Timestamp) -> Verdict {
        sweep(now: now)
        var times = joins[peer, default: []]
        times.removeAll { !isRecent($0, now: now) }
        if times.count >= limit, let oldest = times.first {
            joins[peer] = times
            return .refused(retryAfterMs: max(1, windowMs - now.milliseconds(since: oldest)))
        }
        times.append(now)
        joins[peer] = times
        return .admitted
    }

    /// Takes back the latest join of `peer` (it was refused after all:
    /// room full, ended, a call it left), so a client waiting for a seat is
    /// not also counted out.
    public mutating func refund(_ peer: PeerID) {
        guard var times = joins[peer], !times.isEmpty else { return }
        times.removeLast()
        joins[peer] = times.isEmpty ? nil : times
    }

    /// Identities counted (a bound the tests check: those gone quiet are dropped).
    public var identities: Int { joins.count }

    private mutating func sweep(now: Timestamp) {
        if let sweptAt, isRecent(sweptAt, now: now) { return }
        sweptAt = now
        joins = joins.filter { _, times in times.contains { isRecent($0, now: now) } }
    }

    /// Within the window before `now`. A time after `now` (the wall clock
    /// stepped back) counts as old: a step back forgives rather than locks out.
    private func isRecent(_ time: Timestamp, now: Timestamp) -> Bool {
        let age = now.milliseconds(since: time)
        return age >= 0 && age < windowMs
    }
}
