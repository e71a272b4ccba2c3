// A peer's media moves to a new address only once the peer shows it receives
// there (STUNConsent.swift): valid credentials sent from a forged source
// address get an answer at that address and nothing else.

@testable import ConfabServer
import ConfabProtocol
import ConfabSocket
import ConfabWire
import Testing

extension ForwarderTests {
    /// The CONSENT-TOKEN an answer carries.
    static func consentToken(in answer: [UInt8]) -> STUNConsentToken? {
        answer.withUnsafeBytes { raw in (try? STUNMessage.parse(raw))?.consentToken(in: raw) }
    }

    @Test("bob's credentials from a forged address get a consent token there and bind nothing; the token echoed from elsewhere binds nothing; echoed from that address it binds")
    func consentBeforeBinding() throws {
        let harness = try Harness.bound([Self.alice, Self.bob, Self.lee])
        // Someone else's address, which bob writes as his source.
        let victim = SocketAddress(ipv4: 0xC633_6407, port: 9)
        var now = Self.second
        let askedBefore = harness.forwarder.counters.consentAsked
        #expect(try harness.bind(Self.bob, at: now, from: victim, echoConsent: false))
        let asked = try #require(harness.answers.last)
        #expect(asked.to == victim, "the answer goes where the request claimed to come from")
        let token = try #require(Self.consentToken(in: asked.bytes))
        #expect(harness.forwarder.counters.consentAsked == askedBefore + 1)
        now += Self.frame
        let copies = harness.feed(Self.rtp(Self.alice, sequence: 1), from: Self.alice.address, at: now)
        #expect(Set(copies.map(\.0.description)) == [Self.bob.address.description, Self.lee.address.description], "nothing to the forged address")

        // The token names the address it was given for: from another one it binds nothing.
        let elsewhere = SocketAddress(ipv4: 0x0A00_0199, port: 41_003)
        harness.feed(try Harness.bindingRequest(Self.bob, consent: token), from: elsewhere, at: now)
        let other = try #require(harness.answers.last)
        #expect(other.to == elsewhere)
        #expect(Self.consentToken(in: other.bytes).map { $0 != token } == true, "that address gets its own token to echo")
        // Nor for another peer's credentials at the forged address.
        harness.feed(try Harness.bindingRequest(Self.lee, consent: token), from: victim, at: now)
        #expect(Self.consentToken(in: try #require(harness.answers.last).bytes) != nil, "lee is asked too, not bound")
        now += Self.frame
        let still = harness.feed(Self.rtp(Self.alice, sequence: 2), from: Self.alice.address, at: now)
        #expect(Set(still.map(\.0.description)) == [Self.bob.address.description, Self.lee.address.description])
        #expect(harness.forwarder.counters.bindings == 3, "the three first bindings only")

        // Echoed from the address it was given for (bob really moved there): bound.
        harness.feed(try Harness.bindingRequest(Self.bob, consent: token), from: victim, at: now)
        #expect(Self.consentToken(in: try #require(harness.answers.last).bytes) == nil, "bound: no token asked")
        now += Self.frame
        let moved = harness.feed(Self.rtp(Self.alice, sequence: 3), from: Self.alice.address, at: now)
        #expect(Set(moved.map(\.0.description)) == [victim.description, Self.lee.address.description])
    }

    @Test("a consent token is good in its 30 s epoch and the next only: echoed later it binds nothing and a fresh one is asked")
    func consentTokensExpire() throws {
        let harness = try Harness.bound([Self.alice, Self.bob])
        let moved = SocketAddress(ipv4: 0x0A00_0102, port: 41_002)
        #expect(try harness.bind(Self.bob, at: Self.second, from: moved, echoConsent: false))
        let asked = try #require(harness.answers.last)
        let token = try #require(Self.consentToken(in: asked.bytes))
        // 61 s later, two epochs on.
        harness.feed(try Harness.bindingRequest(Self.bob, consent: token), from: moved, at: 61 * Self.second)
        let askedAgain = try #require(harness.answers.last)
        let fresh = try #require(Self.consentToken(in: askedAgain.bytes))
        #expect(fresh != token)
        #expect(harness.forwarder.counters.bindings == 2, "not moved")
        // 29 s after that, in the next epoch, the fresh token still binds.
        harness.feed(try Harness.bindingRequest(Self.bob, consent: fresh), from: moved, at: 90 * Self.second)
        #expect(Self.consentToken(in: try #require(harness.answers.last).bytes) == nil)
        #expect(harness.forwarder.counters.bindings == 3)
    }

    @Test("a request from a forged address does not keep the peer's real binding alive")
    func forgedRequestsRefreshNothing() throws {
        let harness = try Harness.bound([Self.alice, Self.bob])
        let victim = SocketAddress(ipv4: 0xC633_6407, port: 9)
        // Bob's own address falls silent; only requests "from" the victim arrive.
        var now = Self.second
        for _ in 0..<4 {
            now += 10 * Self.second
            #expect(try harness.bind(Self.bob, at: now, from: victim, echoConsent: false))
        }
        harness.forwarder.sweep(nowNs: now)
        #expect(harness.forwarder.counters.bindingsExpired == 2, "alice's and bob's bindings lapsed in silence")
    }
}
