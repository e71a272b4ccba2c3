// Comparing what went into a media path with what came out of it.
//
//   reference ─┐
//              ├─▶ decimate ×12 (block means, 4 kHz) ─▶ coarse NCC over all lags
//   received ──┘      ─▶ best few coarse lags ─▶ fine NCC at 48 kHz, ±1 block around each
//                        ─▶ (lagSamples, correlation)
//
// Tests run unoptimised (-Onone), where a plain full-rate search over ±100 ms of
// lag on a few seconds of audio takes minutes. The coarse pass does 1/144 of
// that work; the fine pass only looks near the coarse winners. Inner loops run
// on unsafe buffer pointers because Array subscripts are slow in debug builds.

import ConfabMedia
import Foundation

/// Lag and similarity measurements between two sample streams.
public enum SignalComparison {
    /// Samples per block in the coarse pass (48 kHz → 4 kHz).
    public static let decimation = 12
    /// Coarse candidates refined at full rate (a safety net against a near tie).
    static let coarseCandidates = 3

    /// Finds the lag where `received[n + lag] ≈ reference[n]` (positive when
    /// `received` is late), searching −maxLagSamples…maxLagSamples, and returns
    /// it with the normalised cross-correlation over the overlap at that lag.
    ///
    /// Lags where the two overlap by less than half of the shorter signal are not
    /// considered (a tiny overlap can correlate by chance). Returns (0, 0) when
    /// no lag qualifies or either signal is silent.
    public static func align(reference: [Int16], received: [Int16], maxLagSamples: Int) -> (lagSamples: Int, correlation: Double) {
        let maxLag = Swift.max(0, maxLagSamples)
        let minOverlap = Swift.max(1, Swift.min(reference.count, received.count) / 2)

        let coarseReference = blockMeans(reference)
        let coarseReceived = blockMeans(received)
        let coarseMaxLag = maxLag / decimation + 1
        let coarseMinOverlap = Swift.max(1, minOverlap / decimation)

        // Best few coarse lags, best first.
        var candidates: [(lag: Int, score: Double)] = []
        coarseReference.withUnsafeBufferPointer { a in
            coarseReceived.withUnsafeBufferPointer { b in
                let energyA = prefixEnergies(a)
                let energyB = prefixEnergies(b)
                for lag in -coarseMaxLag...coarseMaxLag {
                    let score = correlation(a, b, lag: lag, minOverlap: coarseMinOverlap, energyA, energyB)
                    guard score > -2 else { continue }
                    candidates.append((lag, score))
                }
            }
        }
        candidates.sort { $0.score > $1.score }

        var best = (lagSamples: 0, correlation: 0.0)
        var bestFound = false
        // The fine pass reads the samples as Doubles, as the coarse one does.
        reference.map(Double.init).withUnsafeBufferPointer { a in
            received.map(Double.init).withUnsafeBufferPointer { b in
                let energyA = prefixEnergies(a)
                let energyB = prefixEnergies(b)
                for candidate in candidates.prefix(coarseCandidates) {
                    let centre = candidate.lag * decimation
                    let low = Swift.max(-maxLag, centre - decimation)
                    let high = Swift.min(maxLag, centre + decimation)
                    guard low <= high else { continue }
                    for lag in low...high {
                        let score = correlation(a, b, lag: lag, minOverlap: minOverlap, energyA, energyB)
                        if score > -2, !bestFound || score > best.correlation {
                            best = (lag, score)
                            bestFound = true
                        }
                    }
                }
            }
        }
        return best
    }

    /// How well a received signal matches, half second by half second: the
    /// energy-weighted mean, the lag found, and each piece's own figure.
    public typealias SegmentedMatch = (
        correlation: Double, globalLagSamples: Int, segments: Int, segmentCorrelations: [Double]
    )

    /// How well `received` carries `reference` when the delay may move a little
    /// during the stream (a jitter buffer adapting under load conceals or drops
    /// a frame now and then, which breaks one global alignment).
    ///
    /// Aligns globally first, then every non-silent `segmentSamples` piece of
    /// the reference within ±`driftSamples` of that lag, and returns the
    /// energy-weighted mean of the pieces' correlations, the global lag, how
    /// many pieces were compared and each one's correlation.
    public static func segmentedMatch(reference: [Int16], received: [Int16], maxLagSamples: Int,
                                      segmentSamples: Int = 24_000, driftSamples: Int = 4_800)
        -> SegmentedMatch {
        let global = align(reference: reference, received: received, maxLagSamples: maxLagSamples)
        var weighted = 0.0, totalWeight = 0.0, segments = 0
        var segmentCorrelations: [Double] = []
        var start = 0
        while start + segmentSamples <= reference.count {
            let piece = Array(reference[start..<(start + segmentSamples)])
            let energy = piece.reduce(0.0) { $0 + Double($1) * Double($1) }
            // Skip near-silent pieces (below about −50 dBov): their correlation means nothing.
            if energy / Double(segmentSamples) > 105_000 {
                let from = Swift.max(0, start + global.lagSamples - driftSamples)
                let to = Swift.min(received.count, start + global.lagSamples + segmentSamples + driftSamples)
                if to - from >= segmentSamples {
                    let window = Array(received[from..<to])
                    // Within the window the piece sits `driftSamples` in, give or take the drift.
                    let local = align(reference: piece, received: window, maxLagSamples: 2 * driftSamples)
                    weighted += local.correlation * energy
                    totalWeight += energy
                    segments += 1
                    segmentCorrelations.append(local.correlation)
                }
            }
            start += segmentSamples
        }
        return (totalWeight > 0 ? weighted / totalWeight : 0, global.lagSamples, segments, segmentCorrelations)
    }

    /// Σab / √(Σa² · Σb²) over the first min(a.count, b.count) samples: 1 for
    /// identical shapes (any gain), −1 for inverted, near 0 for unrelated. 0 if
    /// either is silent or empty.
    public static func normalizedCrossCorrelation(_ a: ArraySlice<Int16>, _ b: ArraySlice<Int16>) -> Double {
        let count = Swift.min(a.count, b.count)
        guard count > 0 else { return 0 }
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                var cross = 0.0, energyA = 0.0, energyB = 0.0
                for i in 0..<count {
                    let x = Double(pa[i]), y = Double(pb[i])
                    cross += x * y
                    energyA += x * x
                    energyB += y * y
                }
                guard energyA > 0, energyB > 0 else { return 0 }
                return cross / (energyA * energyB).squareRoot()
            }
        }
    }

    /// The RMS level in dBov (0 dBov = RMS 32767; −127 for silence), as `LevelMeter`.
    public static func rmsDBov(_ samples: [Int16]) -> Double {
        samples.withUnsafeBufferPointer { LevelMeter.dBov($0) }
    }

    /// The RMS level of part of a signal in dBov.
    public static func rmsDBov(_ samples: ArraySlice<Int16>) -> Double {
        samples.withUnsafeBufferPointer { LevelMeter.dBov($0) }
    }

    /// The share (0 … 1) of a signal's energy at `frequencyHz`: the Goertzel
    /// power of that bin over 4,800-sample blocks (10 Hz bins at 48 kHz),
    /// against the blocks' total energy. A clean sine scores near 1, speech
    /// or noise near 0.
    public static func toneShare(_ samples: [Int16], frequencyHz: Double, sampleRate: Double = 48_000) -> Double {
        let block = 4_800
        let coefficient = 2 * cos(2 * Double.pi * frequencyHz / sampleRate)
        var toneEnergy = 0.0
        var totalEnergy = 0.0
        var start = 0
        while start + block <= samples.count {
            var previous = 0.0
            var beforePrevious = 0.0
            var energy = 0.0
            for sample in samples[start..<(start + block)] {
                let x = Double(sample)
                energy += x * x
                let current = x + coefficient * previous - beforePrevious
                beforePrevious = previous
                previous = current
            }
            let power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious
            // |X(k)|² = N²A²/4 for a sine of amplitude A, whose energy is N·A²/2: scale to compare.
            toneEnergy += 2 * power / Double(block)
            totalEnergy += energy
            start += block
        }
        return totalEnergy > 0 ? min(toneEnergy / totalEnergy, 1) : 0
    }

    // MARK: Internals

    /// Means of consecutive blocks of `decimation` samples: a boxcar low-pass
    /// (first null at 4 kHz) and ×12 decimation in one step.
    static func blockMeans(_ samples: [Int16]) -> [Double] {
        let blocks = samples.count / decimation
        var means = [Double](repeating: 0, count: blocks)
        samples.withUnsafeBufferPointer { source in
            means.withUnsafeMutableBufferPointer { destination in
                for block in 0..<blocks {
                    var sum = 0
                    let start = block * decimation
                    for i in start..<(start + decimation) { sum += Int(source[i]) }
                    destination[block] = Double(sum) / Double(decimation)
                }
            }
        }
        return means
    }

    /// energies[i] = Σ x[0..<i]², so any window's energy is one subtraction.
    private static func prefixEnergies(_ x: UnsafeBufferPointer<Double>) -> [Double] {
        var energies = [Double](repeating: 0, count: x.count + 1)
        energies.withUnsafeMutableBufferPointer { e in
            var sum = 0.0
            for (i, v) in x.enumerated() {
                sum += v * v
                e[i + 1] = sum
            }
        }
        return energies
    }

    /// NCC of a[n] with b[n + lag] over their overlap; −3 when the overlap is too
    /// short, 0 when a side is silent there.
    private static func correlation(
        _ a: UnsafeBufferPointer<Double>, _ b: UnsafeBufferPointer<Double>, lag: Int, minOverlap: Int,
        _ energyA: [Double], _ energyB: [Double]
    ) -> Double {
        let start = Swift.max(0, -lag)
        let end = Swift.min(a.count, b.count - lag)
        guard end - start >= minOverlap else { return -3 }
        var cross = 0.0
        for n in start..<end { cross += a[n] * b[n + lag] }
        return normalise(cross, energyA[end] - energyA[start], energyB[end + lag] - energyB[start + lag])
    }

    private static func normalise(_ cross: Double, _ energyA: Double, _ energyB: Double) -> Double {
        guard energyA > 0, energyB > 0 else { return 0 }
        return cross / (energyA * energyB).squareRoot()
    }
}

/// Everything a finite source produces, read frame by frame as the engine does.
public func pcmOf(_ source: AudioSource) throws -> [Int16] {
    var all: [Int16] = []
    var frame = [Int16](repeating: 0, count: 960)
    while true {
        let count = try frame.withUnsafeMutableBufferPointer { try source.read(into: $0) }
        all.append(contentsOf: frame[0..<count])
        if count < frame.count { return all }
    }
}
