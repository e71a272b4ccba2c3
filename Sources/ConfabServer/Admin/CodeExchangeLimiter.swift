// A brake on guessing meeting codes: failed exchanges (an unknown code) are
// counted per source address (IPv4 address, IPv6 /64, as connection admission
// counts them) in a fixed window; past the limit, every exchange from that
// source is refused with `2014 codeRateLimited` (HTTP 429) until the window
// ends. Successful exchanges cost nothing, so a room full of people behind
// one NAT joining at once is never held up by this.
//
//   exchange ─▶ source over the limit? ─▶ 429 2014
//            └▶ exchange ─▶ 404 2010 ─▶ count a failure for the source

import ConfabProtocol
import Hummingbird
import NIOCore
import Synchronization

final class CodeExchangeLimiter: Sendable {
    /// Failed exchanges allowed per source in one window.
    let failuresPerWindow: Int
    let windowMs: Int64
    /// Sources remembered at most; past it, those whose window ended are
    /// forgotten, and while none has ended every other source shares one
    /// window (`overflowSource`): an attacker spread over many addresses
    /// (an IPv6 /48 holds 65,536 /64s) gets no more guesses, and the map no more memory.
    static let maximumSources = 4_096
    static let overflowSource = "*"

    private struct Window {
        var start: Timestamp
        var failures: Int
    }

    private let windows = Mutex<[String: Window]>([:])

    init(failuresPerWindow: Int = 10, windowMs: Int64 = 60_000) {
        self.failuresPerWindow = failuresPerWindow
        self.windowMs = windowMs
    }

    /// Throws `codeRateLimited` while `source` is over its limit.
    func check(_ source: String, now: Timestamp) throws(CodedError) {
        let waitMs: Int64? = windows.withLock { windows in
            let tracked = windows[source] ?? (windows.count >= Self.maximumSources ? windows[Self.overflowSource] : nil)
            guard let window = tracked, window.failures >= failuresPerWindow else { return nil }
            // A window begun after `now` (the wall clock stepped back) is forgiven, not stretched.
            let age = now.milliseconds(since: window.start)
            return age >= 0 && age < windowMs ? windowMs - age : nil
        }
        if let waitMs {
            throw CodedError(
                .codeRateLimited,
                "too many unknown meeting codes from your address; try again in \((waitMs + 999) / 1_000) s",
                retryAfterMs: Int(waitMs))
        }
    }

    func recordFailure(_ source: String, now: Timestamp) {
        windows.withLock { windows in
            var key = source
            if windows[source] == nil, windows.count >= Self.maximumSources {
                windows = windows.filter { now.milliseconds(since: $0.value.start) < windowMs }
                if windows.count >= Self.maximumSources { key = Self.overflowSource }
            }
            var window = windows[key] ?? Window(start: now, failures: 0)
            let age = now.milliseconds(since: window.start)
            if age < 0 || age >= windowMs { window = Window(start: now, failures: 0) }
            window.failures += 1
            windows[key] = window
        }
    }
}

/// The request context of the server's HTTP routes: Hummingbird's basic one
/// plus the client's address, for the code exchange's limit.
struct AdminRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The source as connection admission counts it (ConnectionAdmission.sourceKey).
    let source: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        self.source = ConnectionAdmission.sourceKey(source.channel.remoteAddress)
    }
}
