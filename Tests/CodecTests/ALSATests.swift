import ALSA
import Foundation
import Testing

/// Headless ALSA: the `file` plugin over a `null` slave (DESIGN.md), so
/// capture reads a raw file and playback writes one, through real alsa-lib.
struct FileBackedALSA {
    let directory: URL
    let configPath: String
    let captureInput: URL
    let playbackOutput: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("confab-alsa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        captureInput = directory.appendingPathComponent("in.raw")
        playbackOutput = directory.appendingPathComponent("out.raw")
        configPath = directory.appendingPathComponent("asound.conf").path
        let config = """
        pcm.cap { type file slave.pcm { type null } file "\(directory.path)/cap-tap.raw" infile "\(captureInput.path)" format "raw" perm 0644 }
        pcm.play { type file slave.pcm { type null } file "\(playbackOutput.path)" format "raw" perm 0644 }
        """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

@Suite("ALSA wrapper")
struct ALSATests {
    @Test("capture reads the samples of the infile through alsa-lib")
    func capture() throws {
        let alsa = try FileBackedALSA()
        defer { alsa.remove() }
        let samples = (0..<9600).map { Int16(truncatingIfNeeded: $0 * 7) }
        try samples.withUnsafeBytes { try Data($0).write(to: alsa.captureInput) }
        let pcm = try ALSA.PCM(name: "cap", direction: .capture, configFile: alsa.configPath)
        #expect(pcm.isClocked == false)
        #expect(pcm.configuration.sampleRate == 48_000)
        var got = [Int16](repeating: 0, count: 960)
        var all: [Int16] = []
        for _ in 0..<10 {
            let n = try got.withUnsafeMutableBufferPointer { try pcm.read(into: $0) }
            #expect(n == 960)
            all += got[0..<n]
        }
        #expect(all == samples)
    }

    @Test("playback writes the samples to the file through alsa-lib")
    func playback() throws {
        let alsa = try FileBackedALSA()
        defer { alsa.remove() }
        let samples = (0..<4800).map { Int16(truncatingIfNeeded: $0 * 13 - 20000) }
        do {
            let pcm = try ALSA.PCM(name: "play", direction: .playback, configFile: alsa.configPath)
            try samples.withUnsafeBufferPointer { try pcm.write($0) }
        }
        let written = try Data(contentsOf: alsa.playbackOutput)
        let decoded = written.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        #expect(decoded == samples)
    }

    @Test("a PCM nobody defined is a clear missing-device error")
    func missingDevice() throws {
        let alsa = try FileBackedALSA()
        defer { alsa.remove() }
        do {
            _ = try ALSA.PCM(name: "no-such-card", direction: .playback, configFile: alsa.configPath)
            Issue.record("opening an undefined PCM succeeded")
        } catch {
            #expect(error.isMissingDevice)
            #expect(error.description.contains("no-such-card"))
        }
    }

    @Test("the system's null PCM opens for both directions")
    func nullDevice() throws {
        let capture = try ALSA.PCM(name: "null", direction: .capture)
        #expect(capture.isClocked == false)
        var buffer = [Int16](repeating: 1, count: 960)
        let n = try buffer.withUnsafeMutableBufferPointer { try capture.read(into: $0) }
        #expect(n == 960)
        let names = ALSA.listPCMs().map(\.name)
        #expect(names.contains("null"))
    }
}
