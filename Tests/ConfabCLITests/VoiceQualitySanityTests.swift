import ConfabTestSupport
import Foundation
import Testing

/// The one PESQ check outside the benchmark: `confab bench voice --quick`
/// scores one spoken sentence through the clean media path with the adaptive
/// encoder (after 1.5 s of silence, so the first loss feedback has come).
/// It scored 3.52–3.57 for the codec alone and 3.48–3.54 for the path; the
/// fixed 10 % FEC costs about 0.65, so a regression to it fails here.
@Suite("Voice quality sanity: PESQ-WB of a clean path")
struct VoiceQualitySanityTests {
    struct Run: Decodable {
        var path: String
        var setting: String
        var pesqWB: Double?
    }

    struct Results: Decodable {
        var runs: [Run]
        var failures: Int
    }

    @Test("a sentence through the clean path scores near the codec alone")
    func cleanPath() async throws {
        let run = try ChildProcess(BuiltProducts.confab, ["bench", "voice", "--quick", "--json"])
        let status = await run.wait(seconds: 60)
        #expect(status == 0, "\(run.standardError)")
        let results = try JSONDecoder().decode(Results.self, from: Data(run.standardOutput.utf8))
        #expect(results.failures == 0)
        let codec = try #require(results.runs.first { $0.path.hasPrefix("codec") }?.pesqWB)
        let path = try #require(results.runs.first { $0.setting == "adaptive" }?.pesqWB)
        print("voice sanity: codec alone \(codec), clean path adaptive \(path)")
        #expect(codec >= 3.3)
        #expect(path >= 3.2)
        #expect(codec - path <= 0.25)
    }
}
