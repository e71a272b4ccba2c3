import ConfabProtocol

/// A token bucket (the classic rate limiter): holds up to `limit.burst`
/// tokens, gains `limit.perSecond` a second, and each allowed event spends
/// one. Time is passed in. Counts thousandths of a token in integers, so it
/// is exact and two buckets fed the same times compare equal.
public struct TokenBucket: Hashable, Sendable {
    public let limit: RateLimit
    private var milliTokens: Int64
    private var updatedAt: Timestamp

    /// A full bucket.
    public init(limit: RateLimit, now: Timestamp) {
        self.limit = limit
        milliTokens = Self.figure(limit.burst) * 1_000
        updatedAt = now
    }

    /// A figure of `limit` as the arithmetic uses it: within `RateFigure.range`,
    /// as decoding already ensures, so that a limit built in code cannot
    /// overflow the refill either.
    private static func figure(_ value: Int) -> Int64 {
        Int64(min(max(value, RateFigure.range.lowerBound), RateFigure.range.upperBound))
    }

    /// Whether an event may happen now; spends a token if so.
    public mutating func take(now: Timestamp) -> Bool {
        refill(now: now)
        guard milliTokens >= 1_000 else { return false }
        milliTokens -= 1_000
        return true
    }

    /// Spends a token, or throws `refusal` saying when one will be there
    /// (`retryAfterMs`), for a rate limit's error.
    public mutating func take(now: Timestamp, or refusal: @autoclosure () -> CodedError) throws(CodedError) {
        guard take(now: now) else {
            var error = refusal()
            error.retryAfterMs = Int(waitMs(now: now))
            throw error
        }
    }

    /// Whole tokens available at `now`.
    public func available(now: Timestamp) -> Int {
        var copy = self
        copy.refill(now: now)
        return Int(copy.milliTokens / 1_000)
    }

    /// Milliseconds from `now` until a token is available (0: one is now),
    /// rounded up, so an event at `now` plus this many is allowed.
    public func waitMs(now: Timestamp) -> Int64 {
        var copy = self
        copy.refill(now: now)
        let missing = 1_000 - copy.milliTokens
        guard missing > 0 else { return 0 }
        let rate = Self.figure(limit.perSecond)
        return (missing + rate - 1) / rate
    }

    private mutating func refill(now: Timestamp) {
        // A clock that steps back gives nothing, rather than a negative
        // refill, and the refill goes on from the new time: a wall clock
        // set back an hour must not freeze the bucket for that hour.
        let elapsedMs = max(0, now.milliseconds(since: updatedAt))
        let capacity = Self.figure(limit.burst) * 1_000
        // tokens/s × ms = thousandths of a token; capped before multiplying so
        // a bucket idle for years cannot overflow.
        let gained = min(elapsedMs, capacity) * Self.figure(limit.perSecond)
        milliTokens = min(capacity, milliTokens + gained)
        updatedAt = now
    }
}
