import ConfabMedia
import Foundation
import Testing

@Suite("Level meter (RFC 6464) and UI levels")
struct LevelMeterTests {
    private func dBov(_ samples: [Int16]) -> Double {
        samples.withUnsafeBufferPointer { LevelMeter.dBov($0) }
    }

    private func level(_ samples: [Int16]) -> UInt8 {
        samples.withUnsafeBufferPointer { LevelMeter.rfc6464Level($0) }
    }

    @Test("a full-scale square wave is 0 dBov, RFC 6464 level 0 and a full UI bar")
    func fullScaleSquare() {
        let square = (0..<960).map { $0 % 48 < 24 ? Int16(32767) : Int16(-32767) }
        #expect(Swift.abs(dBov(square)) < 1e-9)
        #expect(level(square) == 0)
        #expect(LevelMeter.uiLevel(dBov: dBov(square)) == 100)
    }

    @Test("a sine of amplitude A measures 20·log10(A / 32767 / √2) dBov", arguments: [32767.0, 16384, 1000, 100])
    func sineLevel(amplitude: Double) {
        // 1 kHz for 1 s: a whole number of periods, so the RMS is exactly A/√2 before rounding.
        let sine = DSPTestSignals.sine(frequencyHz: 1000, amplitude: amplitude, count: 48_000)
        let expected = 20 * log10(amplitude / 32767 / 2.0.squareRoot())
        #expect(Swift.abs(dBov(sine) - expected) < 0.02, "measured \(dBov(sine)), expected \(expected)")
        #expect(level(sine) == UInt8((-expected).rounded()))
    }

    @Test("a −20 dBov sine has RFC 6464 level 20 and a UI level of 67")
    func minus20() {
        let sine = DSPTestSignals.sine(frequencyHz: 440, amplitude: 32767 * 2.0.squareRoot() * 0.1, count: 48_000)
        #expect(level(sine) == 20)
        #expect(LevelMeter.uiLevel(dBov: dBov(sine)) == 67)
    }

    @Test("digital silence and an empty frame are −127 dBov, level 127")
    func silence() {
        #expect(dBov([Int16](repeating: 0, count: 960)) == -127)
        #expect(level([Int16](repeating: 0, count: 960)) == 127)
        #expect(level([]) == 127)
        // A single LSB in a 20 ms frame is still audible to the meter: −120.1 dBov, level 120.
        var almost = [Int16](repeating: 0, count: 960)
        almost[0] = 1
        #expect(level(almost) == 120)
    }

    @Test("RFC 6464 levels clamp to 0…127", arguments: [(3.0, 0), (0, 0), (-0.4, 0), (-0.6, 1), (-126.4, 126), (-200, 127), (Double.nan, 127)] as [(Double, UInt8)])
    func levelClamps(dBov: Double, expected: UInt8) {
        #expect(LevelMeter.rfc6464Level(dBov: dBov) == expected)
    }

    @Test("the UI scale is linear in dB from −60 dBov (0) to 0 dBov (100)",
          arguments: [(-127.0, 0), (-60, 0), (-57, 5), (-30, 50), (-6, 90), (-0.2, 100), (0, 100), (6, 100), (Double.nan, 0)] as [(Double, Int)])
    func uiLevel(dBov: Double, expected: Int) {
        #expect(LevelMeter.uiLevel(dBov: dBov) == expected)
    }
}

@Suite("Level smoother")
struct LevelSmootherTests {
    @Test("attack is immediate: the first loud frame shows in full")
    func attack() {
        var smoother = LevelSmoother()
        #expect(smoother.update(level: 0, frameMs: 20) == 0)
        #expect(smoother.update(level: 80, frameMs: 20) == 80)
        #expect(smoother.update(level: 95, frameMs: 20) == 95)
    }

    @Test("release falls 100 → 0 in 300 ms at a steady rate, whatever the frame size", arguments: [10, 20, 40])
    func release(frameMs: Int) {
        var smoother = LevelSmoother(releaseMsFullScale: 300)
        _ = smoother.update(level: 100, frameMs: frameMs)
        let frames = (300 + frameMs - 1) / frameMs
        let shown = (0..<frames).map { _ in smoother.update(level: 0, frameMs: frameMs) }
        for (index, level) in shown.enumerated() {
            let elapsedMs = Double((index + 1) * frameMs)
            let expected = Swift.max(0, Int((100 - 100 * elapsedMs / 300).rounded()))
            #expect(level == expected, "after \(elapsedMs) ms")
        }
        #expect(shown.last == 0)
        #expect(shown[shown.count - 2] > 0)
    }

    @Test("release stops at the new level, and a louder frame interrupts it")
    func releaseToLevel() {
        var smoother = LevelSmoother()
        _ = smoother.update(level: 90, frameMs: 20)
        #expect(smoother.update(level: 60, frameMs: 20) == 83)
        for _ in 0..<10 { _ = smoother.update(level: 60, frameMs: 20) }
        #expect(smoother.update(level: 60, frameMs: 20) == 60)
        #expect(smoother.update(level: 75, frameMs: 20) == 75)
        smoother.reset()
        #expect(smoother.current == 0)
    }
}
