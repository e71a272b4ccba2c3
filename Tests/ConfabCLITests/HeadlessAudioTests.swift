// Two `confab join --headless --input … --output …` processes talking through
// a `confab serve` process, as the README tells people to try it: what one
// says is in the other's WAV file, and the event stream carries per-peer
// levels and stats.

import ConfabMedia
import ConfabTestSupport
import Foundation
import Testing

@Suite("Headless clients talk through confab serve", .timeLimit(.minutes(3)))
struct HeadlessAudioTests {
    /// Bob listens into a WAV file, then alice says four seconds of speech-like sound
    /// from one (each through the server given); ready once bob has alice's key.
    struct Talk {
        let scratch: TempDirectory
        let reference: [Int16]
        let alice: HeadlessBot
        let bob: HeadlessBot

        init(seed: UInt64, room: String, alice aliceServer: ServerProcess, bob bobServer: ServerProcess) async throws {
            scratch = try TempDirectory(prefix: "confab-talk")
            reference = try pcmOf(SpeechLikeSource(seed: seed, durationSeconds: 4))
            try WAVFile.write(reference, path: scratch.file("alice.wav"))
            // Bob listens first, so he hears all of alice.
            bob = try await HeadlessBot(
                "bob", server: bobServer, room: room, role: "speaker",
                arguments: ["--output", scratch.file("bob.wav"), "--duration", "9"])
            try await bob.expectEvent("media.bound", ["bound": "true"])
            alice = try await HeadlessBot(
                "alice", server: aliceServer, room: room, role: "host",
                arguments: ["--input", scratch.file("alice.wav"), "--duration", "7"])
            try await alice.expectEvent("media.bound", ["bound": "true"])
            try await bob.expectEvent("media.key", ["from": "alice", "track": "alice:mic"])
        }

        /// How well what bob wrote matches what alice said (read once both have exited).
        func match() throws -> SignalComparison.SegmentedMatch {
            SignalComparison.segmentedMatch(
                reference: reference, received: try WAVFile.read(path: scratch.file("bob.wav")), maxLagSamples: 48_000 * 6)
        }
    }

    @Test("alice's WAV arrives in bob's WAV; levels twenty times a second and stats once a second")
    func twoProcessesTalk() async throws {
        let server = try await ServerProcess()
        let talk = try await Talk(seed: 11, room: "talk", alice: server, bob: server)
        let (alice, bob) = (talk.alice, talk.bob)

        #expect(await alice.process.wait(seconds: 30) == 0)
        #expect(await bob.process.wait(seconds: 30) == 0, "\(bob.process.standardError)")
        _ = await server.stop()

        let match = try talk.match()
        print("headless processes: correlation \(match.correlation) over \(match.segments) segments")
        #expect(match.correlation >= 0.9)

        let lines = bob.lines
        // Media lines stop at the end: `disconnected` is still the last line.
        #expect(lines.last?["event"]?.text == "disconnected")
        #expect(alice.lines.last?["event"]?.text == "disconnected")
        let levels = lines.filter { $0["event"]?.text == "levels" }
        let aliceLevels = levels.compactMap { $0["levels.alice"]?.text.flatMap(Int.init) }
        let loud = aliceLevels.filter { $0 > 20 }
        // docs/BOTS.md promises twenty level lines a second: alice is heard for
        // about 7 s (at least 100 lines, a loaded machine's timer slack allowed),
        // four of them speech (at least 40 loud lines).
        #expect(aliceLevels.count >= 100, "\(levels.count) level lines, \(aliceLevels.count) with alice")
        #expect(loud.count >= 40, "\(levels.count) level lines, \(loud.count) loud")
        let stats = lines.filter { $0["event"]?.text == "media.stats" }
        #expect(stats.count >= 3)
        let received200 = stats.compactMap { $0["peers.alice.received"]?.text.flatMap(Int.init) }.max() ?? 0
        #expect(received200 >= 180, "4 s of 20 ms packets")
    }

    @Test("a muted bot that talks is told once that nobody hears it (media.talkingWhileMuted), and nobody does")
    func talkingWhileMuted() async throws {
        let scratch = try TempDirectory(prefix: "confab-muted")
        let spoken = scratch.file("alice.wav")
        try WAVFile.write(try pcmOf(SpeechLikeSource(seed: 5, durationSeconds: 4)), path: spoken)
        let server = try await ServerProcess()
        let bob = try await HeadlessBot(
            "bob", server: server, room: "muted", role: "speaker",
            arguments: ["--output", scratch.file("bob.wav"), "--duration", "8"])
        try await bob.expectEvent("media.bound", ["bound": "true"])
        let alice = try await HeadlessBot(
            "alice", server: server, room: "muted", role: "host", arguments: ["--input", spoken, "--muted", "--duration", "6"])
        try await alice.expectEvent("media.talkingWhileMuted", timeout: .seconds(15))
        #expect(await alice.process.wait(seconds: 30) == 0)
        #expect(await bob.process.wait(seconds: 30) == 0)
        _ = await server.stop()
        // Four seconds of speech with short pauses: one reminder, not one per word.
        #expect(alice.lines.filter { $0["event"]?.text == "media.talkingWhileMuted" }.count == 1)
        let heard = bob.lines.compactMap { $0["levels.alice"]?.text.flatMap(Int.init) }.filter { $0 > 5 }
        #expect(heard.isEmpty, "bob heard the muted alice: \(heard.prefix(5))")
    }
}
