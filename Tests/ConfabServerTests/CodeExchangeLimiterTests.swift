// The brake on guessing meeting codes, spread over many addresses: the map
// of sources stays bounded and the addresses past it share one allowance.

import ConfabProtocol
import Testing

@testable import ConfabServer

@Suite("Meeting code guesses from many addresses")
struct CodeExchangeLimiterTests {
    @Test("past 4,096 failing addresses in a minute, the others share one allowance of 10; a minute later all start afresh")
    func manySources() {
        let limiter = CodeExchangeLimiter()
        let t0 = Timestamp(millisecondsSince1970: 1_763_000_000_000)
        for n in 0..<CodeExchangeLimiter.maximumSources {
            limiter.recordFailure("2001:db8:\(n)::/64", now: t0)
        }
        // Ten more guesses from ten new addresses: the shared allowance is spent.
        for n in 0..<10 {
            #expect(throws: Never.self) { try limiter.check("2001:db9:\(n)::/64", now: t0) }
            limiter.recordFailure("2001:db9:\(n)::/64", now: t0)
        }
        #expect(throws: CodedError.self, "an eleventh new address guesses within the minute") {
            try limiter.check("2001:dba::/64", now: t0.adding(milliseconds: 1_000))
        }
        #expect(throws: Never.self, "an address with failures of its own keeps its own count") {
            try limiter.check("2001:db8:1::/64", now: t0.adding(milliseconds: 1_000))
        }
        // A minute on, the old windows are forgotten and a new address has its own again.
        let later = t0.adding(milliseconds: 61_000)
        limiter.recordFailure("2001:dbb::/64", now: later)
        #expect(throws: Never.self) { try limiter.check("2001:dbb::/64", now: later) }
    }

    @Test("the refusal says the rest of the minute to the millisecond; a wall clock set back forgives rather than stretching it")
    func waitAndStepBack() throws {
        let limiter = CodeExchangeLimiter()
        let t0 = Timestamp(millisecondsSince1970: 1_763_000_000_000)
        for _ in 0..<10 { limiter.recordFailure("192.0.2.7", now: t0) }
        do {
            try limiter.check("192.0.2.7", now: t0.adding(milliseconds: 22_500))
            Issue.record("ten failures and not limited")
        } catch {
            #expect(error.code == .codeRateLimited && error.retryAfterMs == 37_500)
        }
        #expect(throws: Never.self, "on time") { try limiter.check("192.0.2.7", now: t0.adding(milliseconds: 60_000)) }
        // Set back an hour: not locked out for the hour, and a failure then starts a new window.
        let stepped = t0.adding(milliseconds: -3_600_000)
        #expect(throws: Never.self) { try limiter.check("192.0.2.7", now: stepped) }
        limiter.recordFailure("192.0.2.7", now: stepped)
        #expect(throws: Never.self, "one failure in the new window") { try limiter.check("192.0.2.7", now: stepped) }
    }
}
