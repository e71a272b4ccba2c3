@testable import ConfabClient
import Testing

@Suite("Talking while muted: one reminder per stretch of talking")
struct TalkingWhileMutedTests {
    /// Looks every 50 ms (as the media controller does) from `fromMs` for `forMs`; the times it reminded.
    static func watch(_ watch: inout TalkingWhileMutedWatch, muted: Bool, voice: Bool, fromMs: Int, forMs: Int) -> [Int] {
        stride(from: fromMs, to: fromMs + forMs, by: 50).filter { watch.observe(muted: muted, voice: voice, nowMs: $0) }
    }

    @Test("muted and talking: reminded once after half a second of voice, not again while the talk goes on")
    func oncePerTalk() {
        var watch = TalkingWhileMutedWatch()
        #expect(Self.watch(&watch, muted: true, voice: true, fromMs: 0, forMs: 5_000) == [500])
        // A pause shorter than ten seconds, then more talk: no second reminder.
        #expect(Self.watch(&watch, muted: true, voice: false, fromMs: 5_000, forMs: 3_000).isEmpty)
        #expect(Self.watch(&watch, muted: true, voice: true, fromMs: 8_000, forMs: 2_000).isEmpty)
        // Ten seconds of quiet re-arm it.
        #expect(Self.watch(&watch, muted: true, voice: false, fromMs: 10_000, forMs: 10_050).isEmpty)
        #expect(Self.watch(&watch, muted: true, voice: true, fromMs: 20_050, forMs: 1_000) == [20_550])
    }

    @Test("a short sound, or talking unmuted, is no reason to remind; an unmute re-arms it")
    func noFalseReminders() {
        var watch = TalkingWhileMutedWatch()
        #expect(Self.watch(&watch, muted: true, voice: true, fromMs: 0, forMs: 450).isEmpty, "a cough is not talk")
        #expect(Self.watch(&watch, muted: true, voice: false, fromMs: 450, forMs: 100).isEmpty)
        #expect(Self.watch(&watch, muted: false, voice: true, fromMs: 550, forMs: 3_000).isEmpty, "unmuted: they are heard")
        #expect(Self.watch(&watch, muted: true, voice: true, fromMs: 3_550, forMs: 1_000) == [4_050])
        _ = Self.watch(&watch, muted: false, voice: false, fromMs: 4_550, forMs: 100)
        #expect(Self.watch(&watch, muted: true, voice: true, fromMs: 4_650, forMs: 1_000) == [5_150], "muted again: a new stretch")
    }
}
