import ConfabMedia
import Testing

@Suite("Mixer")
struct MixerTests {
    let frameSamples = 960

    private func mix(_ inputs: [([Int16], Float)], frameSamples: Int? = nil, outputCount: Int? = nil) -> (output: [Int16], mixedCount: Int) {
        let mixer = Mixer(frameSamples: frameSamples ?? self.frameSamples)
        mixer.begin()
        for (frame, gain) in inputs {
            frame.withUnsafeBufferPointer { mixer.add($0, gain: gain) }
        }
        var output = [Int16](repeating: 12345, count: outputCount ?? frameSamples ?? self.frameSamples)
        output.withUnsafeMutableBufferPointer { mixer.finish(into: $0) }
        return (output, mixer.mixedCount)
    }

    @Test("a single input at gain 1 below the knee comes out bit-exact")
    func singleInputIsExact() {
        let knee = Int16(0.8 * 32767)
        var frame = DSPTestSignals.noise(amplitude: Int(knee), count: frameSamples, seed: 7)
        frame[0] = knee
        frame[1] = -knee
        frame[2] = 0
        let result = mix([(frame, 1)])
        #expect(result.output == frame)
        #expect(result.mixedCount == 1)
    }

    @Test("quiet inputs are summed exactly")
    func quietInputsSumExactly() {
        let a = DSPTestSignals.noise(amplitude: 8000, count: frameSamples, seed: 1)
        let b = DSPTestSignals.noise(amplitude: 8000, count: frameSamples, seed: 2)
        let c = DSPTestSignals.noise(amplitude: 8000, count: frameSamples, seed: 3)
        let result = mix([(a, 1), (b, 1), (c, 1)])
        let expected = (0..<frameSamples).map { Int16(Int(a[$0]) + Int(b[$0]) + Int(c[$0])) }
        #expect(result.output == expected)
        #expect(result.mixedCount == 3)
    }

    @Test("gain scales an input; zero and non-finite gains add silence")
    func gainScales() {
        let frame = [Int16](repeating: 20000, count: frameSamples)
        #expect(mix([(frame, 0.5)]).output.allSatisfy { $0 == 10000 })
        #expect(mix([(frame, -0.25)]).output.allSatisfy { $0 == -5000 })
        let silent = mix([(frame, 0), (frame, .nan), (frame, .infinity)])
        #expect(silent.output.allSatisfy { $0 == 0 })
        #expect(silent.mixedCount == 3)
    }

    @Test("two loud talkers stay in range, keep their sign and never wrap around")
    func loudSumIsLimitedNotWrapped() {
        let a = DSPTestSignals.sine(frequencyHz: 300, amplitude: 30000, count: frameSamples)
        let b = DSPTestSignals.sine(frequencyHz: 300, amplitude: 30000, count: frameSamples)
        let output = mix([(a, 1), (b, 1)]).output
        for i in 0..<frameSamples {
            let sum = Int(a[i]) + Int(b[i])
            #expect(output[i] != Int16.min)
            if sum > 0 { #expect(output[i] > 0) }
            if sum < 0 { #expect(output[i] < 0) }
            // 60000 would wrap to −5536 in Int16 arithmetic; the limiter gives ~32.5k.
            if sum > 60000 { #expect(output[i] > 32000 && output[i] <= 32767) }
            if sum < -60000 { #expect(output[i] < -32000 && output[i] >= -32767) }
            // Below the knee even the sum passes unchanged.
            if Swift.abs(sum) <= 26213 { #expect(Int(output[i]) == sum) }
        }
    }

    @Test("the mix is monotonic: a louder sum never gives a quieter output")
    func mixIsMonotonic() {
        // Each position holds a ramp value in both inputs: sums from −65536 to +65534.
        let ramp = stride(from: -32768, through: 32767, by: 16).map { Int16($0) }
        let result = mix([(ramp, 1), (ramp, 1)], frameSamples: ramp.count, outputCount: ramp.count)
        for i in 1..<ramp.count {
            #expect(result.output[i] >= result.output[i - 1], "output fell at sum \(2 * Int(ramp[i]))")
        }
        #expect(result.output.first == -32767)
        #expect(result.output.last! > 32700)
    }

    @Test("the limiter curve has no corner at the knee and never reaches past full scale")
    func limiterIsSmooth() {
        let limiter = SoftLimiter(kneeFraction: 0.8)
        #expect(Swift.abs(limiter.knee - 26213.6) < 0.01)
        // Slope just above the knee is still ≈ 1 (a hard clip would be 0 past the corner).
        let slopeAbove = limiter.apply(limiter.knee + 10) - limiter.apply(limiter.knee)
        #expect(slopeAbove > 9.9 && slopeAbove <= 10)
        // Far above the knee the curve flattens towards 32767 but stays below it.
        #expect(limiter.apply(65534) > 32000 && limiter.apply(65534) < 32767)
        #expect(limiter.apply(1e30) <= 32767)
        #expect(limiter.apply(-1e30) >= -32767)
        #expect(limiter.apply(.nan) == 0)
        #expect(limiter.apply(-30000) == -limiter.apply(30000))
    }

    @Test("nothing added gives silence; begin() starts a fresh frame")
    func emptyMixIsSilent() {
        let mixer = Mixer(frameSamples: 4)
        var output: [Int16] = [9, 9, 9, 9]
        mixer.begin()
        output.withUnsafeMutableBufferPointer { mixer.finish(into: $0) }
        #expect(output == [0, 0, 0, 0])
        #expect(mixer.mixedCount == 0)

        let loud: [Int16] = [100, 200, 300, 400]
        loud.withUnsafeBufferPointer { mixer.add($0) }
        mixer.begin()
        let quiet: [Int16] = [1, 2, 3, 4]
        quiet.withUnsafeBufferPointer { mixer.add($0) }
        output.withUnsafeMutableBufferPointer { mixer.finish(into: $0) }
        #expect(output == quiet)
        #expect(mixer.mixedCount == 1)
    }

    @Test("frames of the wrong length neither trap nor leak past the frame")
    func mismatchedLengths() {
        let mixer = Mixer(frameSamples: 4)
        mixer.begin()
        let short: [Int16] = [1, 2]
        let long: [Int16] = [10, 20, 30, 40, 50, 60]
        short.withUnsafeBufferPointer { mixer.add($0) }
        long.withUnsafeBufferPointer { mixer.add($0) }
        var output = [Int16](repeating: 7, count: 6)
        output.withUnsafeMutableBufferPointer { mixer.finish(into: $0) }
        #expect(output == [11, 22, 30, 40, 0, 0])
        var tiny = [Int16](repeating: 7, count: 2)
        tiny.withUnsafeMutableBufferPointer { mixer.finish(into: $0) }
        #expect(tiny == [11, 22])
    }
}
