// A sound card that goes away mid-call: the wrappers send silence at the
// frame rate, count the loss, and take the card back when it opens again.
// The card is real alsa-lib (the `file` plugin over `null`), closed under the
// wrapper as an unplugged one would fail; the reopening is real too.
import ConfabMedia
import ConfabSocket
import ConfabTestSupport
import Foundation
import Testing

/// The counters as plain values (#expect cannot take an Atomic).
func state(_ health: DeviceHealth) -> (losses: Int, recoveries: Int, lost: Bool) {
    (health.losses.load(ordering: .relaxed), health.recoveries.load(ordering: .relaxed), health.isLost.load(ordering: .relaxed))
}

@Suite("sound cards that go away")
struct DeviceFallbackTests {
    /// A source whose reads fail once it is "unplugged".
    final class Unpluggable: AudioSource, @unchecked Sendable {
        let name = "alsa:test"
        let isClocked = true
        var plugged = true
        let value: Int16
        init(value: Int16) { self.value = value }
        func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(AudioDeviceError) -> Int {
            guard plugged else { throw .io("No such device") }
            buffer.update(repeating: value)
            return buffer.count
        }
        func close() {}
    }

    @Test("a capture card that fails sends silence at the frame rate, then comes back when it opens again")
    func captureFallsBackAndRecovers() throws {
        let card = Unpluggable(value: 1_000)
        var unplugged = true
        let source = FallbackSource(card, frameMs: 20, retryMs: 200) { () throws(AudioDeviceError) -> AudioSource in
            if unplugged { throw .unavailable("no such card") }
            return Unpluggable(value: 2_000)
        }
        var frame = [Int16](repeating: 0, count: 960)
        let read = { () throws in _ = try frame.withUnsafeMutableBufferPointer { try source.read(into: $0) } }
        try read()
        #expect(frame.allSatisfy { $0 == 1_000 })
        #expect(state(source.health).lost == false)

        card.plugged = false
        let start = MonotonicClock.nanoseconds()
        for _ in 0..<10 {
            try read()
            #expect(frame.allSatisfy { $0 == 0 }, "silence while the card is gone")
        }
        let elapsedMs = Double(MonotonicClock.nanoseconds() - start) / 1e6
        // Paced like the card: ten frames of 20 ms take about 200 ms (never a busy loop).
        #expect(elapsedMs >= 170, "ten silent frames took \(elapsedMs) ms")
        #expect(state(source.health).losses == 1)
        #expect(state(source.health).lost)

        unplugged = false
        var reads = 0
        repeat {
            try read()
            reads += 1
        } while frame[0] == 0 && reads < 100
        #expect(frame.allSatisfy { $0 == 2_000 }, "the card reopened is read again")
        #expect(state(source.health).recoveries == 1)
        #expect(state(source.health).lost == false)
        #expect(state(source.health).losses == 1, "one loss, however many frames it lasted")
    }

    @Test("a real ALSA capture device closed under the wrapper is reopened through alsa-lib")
    func realALSAReopens() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let config = try writeALSAConfig(in: dir)
        let samples = (0..<48_000).map { Int16(truncatingIfNeeded: ($0 % 480) * 50 + 100) }
        try samples.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: dir.file("in.raw"))) }
        let first = try ALSACaptureSource(pcmName: "cap", configFile: config)
        var opened = 0
        let source = FallbackSource(first, frameMs: 20, retryMs: 50) { () throws(AudioDeviceError) -> AudioSource in
            opened += 1
            return try ALSACaptureSource(pcmName: "cap", configFile: config)
        }
        var frame = [Int16](repeating: 0, count: 960)
        _ = try frame.withUnsafeMutableBufferPointer { try source.read(into: $0) }
        #expect(frame.contains { $0 != 0 })
        first.close()
        var silent = 0
        var reads = 0
        // The file plugin has no clock: the wrapper paces the reads, 20 ms apart (up to 2 s).
        repeat {
            _ = try frame.withUnsafeMutableBufferPointer { try source.read(into: $0) }
            if frame.allSatisfy({ $0 == 0 }) { silent += 1 }
            reads += 1
        } while (frame.allSatisfy { $0 == 0 } || reads == 1) && reads < 100
        #expect(silent >= 1, "silence while the card was gone")
        #expect(frame.contains { $0 != 0 }, "the reopened card is read again")
        #expect(opened == 1)
        #expect(state(source.health).recoveries == 1)
        source.close()
    }

    @Test("switching the microphone mid-call: the next frame comes from the new card, the old one is closed")
    func switchesDevice() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let path = dir.file("asound.conf")
        // Two capture cards, each reading a file of one constant value.
        try "pcm.one { type file slave.pcm { type null } file \"\(dir.file("t1.raw"))\" infile \"\(dir.file("one.raw"))\" format \"raw\" }\n"
            .appending("pcm.two { type file slave.pcm { type null } file \"\(dir.file("t2.raw"))\" infile \"\(dir.file("two.raw"))\" format \"raw\" }\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        for (name, value) in [("one.raw", Int16(111)), ("two.raw", Int16(222))] {
            try [Int16](repeating: value, count: 48_000).withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: dir.file(name))) }
        }
        let open = { (card: String) throws(AudioDeviceError) -> AudioSource in try ALSACaptureSource(pcmName: card, configFile: path) }
        let first = try open("one")
        let source = FallbackSource(first, frameMs: 20) { () throws(AudioDeviceError) -> AudioSource in try open("one") }
        #expect(source.name == "alsa:one")
        var frame = [Int16](repeating: 0, count: 960)
        _ = try frame.withUnsafeMutableBufferPointer { try source.read(into: $0) }
        #expect(frame.allSatisfy { $0 == 111 })
        source.switchTo(try open("two")) { () throws(AudioDeviceError) -> AudioSource in try open("two") }
        #expect(source.name == "alsa:two")
        _ = try frame.withUnsafeMutableBufferPointer { try source.read(into: $0) }
        #expect(frame.allSatisfy { $0 == 222 }, "the frame after the switch is the new card's")
        // The old card was closed on the switch: reading it gives nothing more.
        var old = [Int16](repeating: 0, count: 960)
        #expect(try old.withUnsafeMutableBufferPointer { try first.read(into: $0) } == 0)
        #expect(state(source.health).losses == 0, "a switch is not a loss")
        source.close()
    }

    /// A sink whose writes fail once it is "unplugged".
    final class UnpluggableSink: AudioSink, @unchecked Sendable {
        let name = "alsa:test"
        let isClocked = true
        var plugged = true
        var written = 0
        func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {
            guard plugged else { throw .io("File descriptor in bad state") }
            written += samples.count
        }
        func close() {}
    }

    @Test("a play-out card that fails drops what plays without throwing, and is taken back")
    func playbackFallsBackAndRecovers() throws {
        let card = UnpluggableSink()
        let replacement = UnpluggableSink()
        var unplugged = true
        let sink = FallbackSink(card, frameMs: 10, retryMs: 100) { () throws(AudioDeviceError) -> AudioSink in
            if unplugged { throw .unavailable("no such card") }
            return replacement
        }
        let frame = [Int16](repeating: 5, count: 480)
        try frame.withUnsafeBufferPointer { try sink.write($0) }
        #expect(card.written == 480)
        card.plugged = false
        for _ in 0..<5 { try frame.withUnsafeBufferPointer { try sink.write($0) } }
        #expect(state(sink.health).lost)
        unplugged = false
        var writes = 0
        while replacement.written == 0 && writes < 100 {
            try frame.withUnsafeBufferPointer { try sink.write($0) }
            writes += 1
        }
        #expect(replacement.written > 0)
        #expect(state(sink.health).losses == 1)
        #expect(state(sink.health).recoveries == 1)
    }

    /// A card that has had `xruns` over- or under-runs recovered (as ALSA.PCM counts them).
    final class XrunningSink: AudioSink, @unchecked Sendable {
        let name = "alsa:xruns"
        let isClocked = true
        var xruns = 0
        func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioDeviceError) {}
        func close() {}
    }

    @Test("recovered xruns are counted across a switch to another card, and are not failures")
    func countsXruns() throws {
        let card = XrunningSink()
        let sink = FallbackSink(card, frameMs: 10) { () throws(AudioDeviceError) -> AudioSink in card }
        let frame = [Int16](repeating: 5, count: 480)
        let play = { () throws in try frame.withUnsafeBufferPointer { try sink.write($0) } }
        try play()
        card.xruns = 2
        try play()
        try play()
        #expect(sink.health.xruns.load(ordering: .relaxed) == 2)
        let other = XrunningSink()
        sink.switchTo(other) { () throws(AudioDeviceError) -> AudioSink in other }
        try play()
        other.xruns = 1
        try play()
        #expect(sink.health.xruns.load(ordering: .relaxed) == 3, "the new card's count adds to the old one's")
        #expect(state(sink.health).losses == 0)
    }
}
