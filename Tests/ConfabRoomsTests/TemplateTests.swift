import ConfabProtocol
import ConfabRooms
import Foundation
import Testing

@Suite("Room templates")
struct TemplateTests {
    @Test("the standard template is valid")
    func standardIsValid() throws {
        try RoomTemplate.standard.validate()
        #expect(RoomTemplate.standard.roles.map(\.name) == ["host", "speaker", "listener"])
    }

    @Test("a template decodes with every omitted permission false and settings at their defaults")
    func decodingDefaults() throws {
        let json = """
            {"roles": [
                {"name": "moderator", "priority": 90, "publishAudio": true, "subscribesTo": ["moderator", "guest"],
                 "chat": {"broadcast": true}, "permissions": {"muteOthers": true, "endRoom": true}},
                {"name": "guest"}
            ], "maxPeers": 50}
            """
        let template = try JSONDecoder().decode(RoomTemplate.self, from: Data(json.utf8))
        try template.validate()
        let moderator = try #require(template.role(named: "moderator"))
        #expect(moderator.chat == ChatPermissions(broadcast: true, toRoles: false, direct: false))
        #expect(
            moderator.permissions
                == RolePermissions(
                    muteOthers: true, askToUnmute: false, changeRoles: false, removePeers: false, endRoom: true,
                    raiseHand: false))
        let guest = try #require(template.role(named: "guest"))
        #expect(
            guest
                == Role(
                    name: "guest", priority: 0, publishAudio: false, subscribesTo: [], chat: .none, permissions: .none))
        #expect(template.maxPeers == 50)
        #expect(
            template.resumeGraceMs == 20_000 && template.emptyRoomTimeoutMs == 300_000
                && template.promptLifetimeMs == 60_000)
        #expect(template.chatRate == RateLimit(perSecond: 5, burst: 10))
    }

    @Test("a template round-trips through JSON")
    func roundTrip() throws {
        let data = try JSONEncoder().encode(RoomTemplate.standard)
        #expect(try JSONDecoder().decode(RoomTemplate.self, from: data) == .standard)
    }

    static let invalid: [(RoomTemplate, TemplateError)] = [
        (RoomTemplate(roles: []), .noRoles),
        (RoomTemplate(roles: [.host, .host]), .duplicateRole("host")),
        (RoomTemplate(roles: [.host]), .unknownSubscription(role: "host", subscribesTo: "speaker")),
        (
            RoomTemplate(roles: [.host, .speaker, .listener], maxPeers: 0),
            .invalidSetting("maxPeers must be at least 1")
        ),
        (
            RoomTemplate(roles: [.host, .speaker], chatRate: RateLimit(perSecond: 0, burst: 1)),
            .invalidSetting("chatRate needs positive perSecond and burst")
        ),
    ]

    @Test("templates that make no sense are refused with the reason", arguments: invalid)
    func validation(template: RoomTemplate, error: TemplateError) {
        #expect(throws: error) { try template.validate() }
    }
}

@Suite("Token bucket")
struct TokenBucketTests {
    /// Takes a token at each time in turn and reports which were allowed.
    static func takes(_ bucket: inout TokenBucket, at times: [Timestamp]) -> [Bool] {
        times.map { bucket.take(now: $0) }
    }

    @Test("a full bucket allows the burst, then the rate")
    func burstThenRate() {
        var bucket = TokenBucket(limit: RateLimit(perSecond: 5, burst: 10), now: Fixture.t0)
        let burst = Self.takes(&bucket, at: Array(repeating: Fixture.t0, count: 11))
        #expect(burst == Array(repeating: true, count: 10) + [false])
        let later = Self.takes(
            &bucket, at: [Fixture.t0.adding(milliseconds: 199), Fixture.t0.adding(milliseconds: 200)])
        #expect(later == [false, true])
        #expect(bucket.available(now: Fixture.t0.adding(milliseconds: 1_200)) == 5)
        #expect(bucket.available(now: Fixture.t0.adding(milliseconds: 60_000)) == 10, "never more than the burst")
    }

    @Test("a clock that steps back gives nothing and breaks nothing")
    func clockBack() {
        var bucket = TokenBucket(limit: RateLimit(perSecond: 5, burst: 1), now: Fixture.t1)
        let allowed = Self.takes(&bucket, at: [Fixture.t1, Fixture.t0, Fixture.t1.adding(milliseconds: 200)])
        #expect(allowed == [true, false, true])
    }

    @Test("the wait it reports is the first moment a token is there", arguments: [(5, 10), (3, 1), (1, 1), (7, 2)])
    func waitIsExact(perSecond: Int, burst: Int) {
        var bucket = TokenBucket(limit: RateLimit(perSecond: perSecond, burst: burst), now: Fixture.t0)
        #expect(bucket.waitMs(now: Fixture.t0) == 0)
        _ = Self.takes(&bucket, at: Array(repeating: Fixture.t0, count: burst))
        // Part of the way into the refill, so the wait is not the whole period.
        let asked = Fixture.t0.adding(milliseconds: 37)
        let wait = Int(bucket.waitMs(now: asked))
        #expect(wait == (1_000 + perSecond - 1) / perSecond - 37)
        var early = bucket
        #expect(Self.takes(&early, at: [asked.adding(milliseconds: wait - 1)]) == [false], "a millisecond early is refused")
        #expect(Self.takes(&bucket, at: [asked.adding(milliseconds: wait)]) == [true], "on time is let through")
    }

    @Test("after the clock stepped back an hour the refill goes on from the new time, and the wait says so")
    func waitAfterStepBack() {
        var bucket = TokenBucket(limit: RateLimit(perSecond: 5, burst: 1), now: Fixture.t0)
        #expect(Self.takes(&bucket, at: [Fixture.t0]) == [true])
        let stepped = Fixture.t0.adding(milliseconds: -3_600_000)
        #expect(Self.takes(&bucket, at: [stepped]) == [false], "the step back gives nothing")
        let wait = Int(bucket.waitMs(now: stepped))
        #expect(wait == 200, "not frozen for the hour")
        var early = bucket
        #expect(Self.takes(&early, at: [stepped.adding(milliseconds: wait - 1)]) == [false])
        #expect(Self.takes(&bucket, at: [stepped.adding(milliseconds: wait)]) == [true])
    }

    @Test("a bucket idle for years does not overflow")
    func longIdle() {
        let start = Timestamp(millisecondsSince1970: 0)
        let later = Timestamp(millisecondsSince1970: 1 << 52)
        var bucket = TokenBucket(limit: RateLimit(perSecond: 1_000_000, burst: 3), now: start)
        #expect(bucket.available(now: later) == 3)
        #expect(Self.takes(&bucket, at: [later]) == [true])
    }
}
