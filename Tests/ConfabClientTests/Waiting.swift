import ConfabTestSupport

// How the client tests wait: for a condition, with a deadline (`eventually`,
// over the shared `waitUntil`), or, where audio has to flow in real time, for
// a stretch of wall-clock time (`letAudioFlow`).

/// Waits until `condition` holds, polling every `pollMs`; returns whether it
/// held before `timeoutMs` ran out.
func eventually(
    timeoutMs: Int = 3_000, pollMs: Int = 5, _ condition: () async -> Bool
) async -> Bool {
    await waitUntil(timeout: .milliseconds(timeoutMs), every: .milliseconds(pollMs), condition)
}

/// Lets `ms` of real time pass while audio frames travel, play out, or
/// (for a check that nothing more arrives) fail to. Not for waiting until
/// something happens: that is `eventually`.
func letAudioFlow(forMs ms: Int) async throws {
    try await Task.sleep(for: .milliseconds(ms))
}
