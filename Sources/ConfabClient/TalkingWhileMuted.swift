// "You are muted": the sender's voice activity detector keeps listening while
// the microphone is muted (nothing is sent), and this turns what it hears into
// one reminder per muted stretch, as Jitsi's TALK_WHILE_MUTED does.

/// Decides when to remind a muted user that nobody hears them. Time is passed in.
struct TalkingWhileMutedWatch {
    /// Voice heard without a break this long, while muted, is someone talking [ms].
    static let speechMs = 500
    /// After a reminder, this long without voice lets the next one come [ms].
    static let quietToRearmMs = 10_000

    private var voiceSinceMs: Int?
    private var lastVoiceMs = 0
    private var reminded = false

    /// One look at the microphone: whether to remind now (true once per stretch of talking).
    mutating func observe(muted: Bool, voice: Bool, nowMs: Int) -> Bool {
        guard muted else {
            voiceSinceMs = nil
            reminded = false
            return false
        }
        guard voice else {
            voiceSinceMs = nil
            if reminded && nowMs - lastVoiceMs >= Self.quietToRearmMs { reminded = false }
            return false
        }
        lastVoiceMs = nowMs
        let since = voiceSinceMs ?? nowMs
        voiceSinceMs = since
        guard !reminded, nowMs - since >= Self.speechMs else { return false }
        reminded = true
        return true
    }
}
