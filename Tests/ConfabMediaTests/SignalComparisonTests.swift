import ConfabMedia
import ConfabTestSupport
import Foundation
import Testing

@Suite("Signal comparison (test support)")
struct SignalComparisonTests {
    private func speech(seed: UInt64, seconds: Double) throws -> [Int16] {
        try DSPTestSignals.readAll(SpeechLikeSource(seed: seed, durationSeconds: seconds))
    }

    @Test("finds a 1234-sample delay in noisy speech with correlation > 0.95, quickly")
    func knownLag() throws {
        let reference = try speech(seed: 5, seconds: 3)
        let noise = DSPTestSignals.noise(amplitude: 300, count: reference.count + 1234, seed: 8) // about −41 dBov
        let delayed = [Int16](repeating: 0, count: 1234) + reference
        let received = zip(delayed, noise).map { Int16(clamping: Int($0) + Int($1)) }

        let clock = ContinuousClock()
        let started = clock.now
        let result = SignalComparison.align(reference: reference, received: received, maxLagSamples: 4800)
        let elapsed = clock.now - started

        #expect(result.lagSamples == 1234)
        #expect(result.correlation > 0.95, "correlation \(result.correlation)")
        // 3 s against ±100 ms of lag in a debug build: the coarse pass keeps this short.
        #expect(elapsed < .seconds(3), "took \(elapsed)")
    }

    @Test("finds an advance (negative lag) and a lag that is not a multiple of the decimation")
    func otherLags() throws {
        let reference = try speech(seed: 6, seconds: 2)
        let early = Array(reference.dropFirst(500))
        let advance = SignalComparison.align(reference: reference, received: early, maxLagSamples: 2000)
        #expect(advance.lagSamples == -500)
        #expect(advance.correlation > 0.999)

        let late = [Int16](repeating: 0, count: 7) + reference
        #expect(SignalComparison.align(reference: reference, received: late, maxLagSamples: 100).lagSamples == 7)
    }

    @Test("unrelated signals correlate poorly at every lag")
    func unrelated() throws {
        let a = try speech(seed: 1, seconds: 2)
        let b = try speech(seed: 2, seconds: 2)
        let speechPair = SignalComparison.align(reference: a, received: b, maxLagSamples: 4800)
        #expect(speechPair.correlation < 0.4, "two talkers: \(speechPair.correlation)")
        let noise = DSPTestSignals.noise(amplitude: 5000, count: a.count, seed: 3)
        let withNoise = SignalComparison.align(reference: a, received: noise, maxLagSamples: 4800)
        #expect(withNoise.correlation < 0.2, "speech vs noise: \(withNoise.correlation)")
    }

    @Test("normalised cross-correlation: 1 for the same shape at any gain, −1 inverted, 0 for silence")
    func ncc() throws {
        let a = try speech(seed: 4, seconds: 0.5)
        let half = a.map { $0 / 2 }
        let inverted = a.map { Int16(clamping: -Int($0)) }
        #expect(SignalComparison.normalizedCrossCorrelation(a[...], a[...]) > 0.999_999)
        #expect(SignalComparison.normalizedCrossCorrelation(a[...], half[...]) > 0.9999)
        #expect(SignalComparison.normalizedCrossCorrelation(a[...], inverted[...]) < -0.999_999)
        #expect(SignalComparison.normalizedCrossCorrelation(a[...], [Int16](repeating: 0, count: a.count)[...]) == 0)
        #expect(SignalComparison.normalizedCrossCorrelation([][...], a[...]) == 0)
        #expect(SignalComparison.align(reference: [], received: a, maxLagSamples: 10) == (0, 0) ? true : false)
    }

    @Test("rmsDBov matches the level meter")
    func rms() {
        let sine = DSPTestSignals.sine(frequencyHz: 1000, amplitude: 32767, count: 48_000)
        #expect(Swift.abs(SignalComparison.rmsDBov(sine) - -3.01) < 0.01)
        #expect(SignalComparison.rmsDBov([Int16](repeating: 0, count: 10)) == -127)
        #expect(Swift.abs(SignalComparison.rmsDBov(sine[0..<480]) - -3.01) < 0.01)
    }

    @Test("a temp directory exists until removed")
    func tempDirectory() throws {
        var isDirectory: ObjCBool = false
        let directory = try TempDirectory(prefix: "confab-dsp")
        #expect(FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(directory.file("a.wav") == directory.path + "/a.wav")
        try WAVFile.write([1, 2, 3], path: directory.file("a.wav"))
        directory.remove()
        #expect(!FileManager.default.fileExists(atPath: directory.path))
    }

    @Test("espeak-ng speech comes out as 48 kHz mono 16-bit, audible, with talk-spurts")
    func espeak() throws {
        let directory = try TempDirectory()
        let path = directory.file("hello.wav")
        try Speech.espeak(text: "Hello from Confab. This is a test of the speech helper.", to: path)
        let info = try WAVFile.info(path: path)
        #expect(info.sampleRate == 48_000)
        #expect(info.channels == 1)
        #expect(info.bitsPerSample == 16)
        #expect(info.encoding == .integer)
        #expect(info.durationSeconds > 2 && info.durationSeconds < 10, "\(info.durationSeconds) s")
        let samples = try WAVFile.read(path: path)
        #expect(SignalComparison.rmsDBov(samples) > -35)
        #expect(DSPTestSignals.voiceDecisions(samples).contains(true))
    }

    @Test("a missing tool is reported by name with the package to install")
    func missingTool() {
        do {
            _ = try Tools.find("confab-no-such-tool", package: "confab-tools")
            Issue.record("found a tool that does not exist")
        } catch {
            #expect("\(error)" == "confab-no-such-tool was not found on PATH; install it with: apt-get install -y confab-tools")
        }
    }
}
