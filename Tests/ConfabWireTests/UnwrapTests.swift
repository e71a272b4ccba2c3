import ConfabWire
import Testing

@Suite("Sequence number unwrapping (RFC 3550 §5.1, A.1)")
struct SequenceUnwrapperTests {
    private func unwrapAll(_ values: [UInt16]) -> [Int64] {
        var unwrapper = SequenceUnwrapper()
        return values.map { unwrapper.unwrap($0) }
    }

    @Test("the first value maps to itself", arguments: [UInt16(0), 1, 32_767, 32_768, 65_534, 65_535])
    func firstValue(value: UInt16) {
        var unwrapper = SequenceUnwrapper()
        #expect(unwrapper.highest == nil)
        #expect(unwrapper.unwrap(value) == Int64(value))
        #expect(unwrapper.highest == Int64(value))
    }

    @Test("counting up through 65535 → 0 keeps going")
    func forwardWrap() {
        #expect(unwrapAll([65_533, 65_534, 65_535, 0, 1, 2]) == [65_533, 65_534, 65_535, 65_536, 65_537, 65_538])
    }

    @Test("a late packet from before the wrap lands before it")
    func reorderAcrossWrap() {
        #expect(unwrapAll([65_534, 0, 65_535, 1, 65_533]) == [65_534, 65_536, 65_535, 65_537, 65_533])
    }

    @Test("a late packet after the wrap does not move the highest value back")
    func highestIsKept() {
        var unwrapper = SequenceUnwrapper()
        _ = unwrapper.unwrap(65_535)
        _ = unwrapper.unwrap(2)
        #expect(unwrapper.unwrap(0) == 65_536)
        #expect(unwrapper.highest == 65_538)
        #expect(unwrapper.unwrap(3) == 65_539)
    }

    @Test("a packet older than the first one goes below zero")
    func backwardBeforeStart() {
        #expect(unwrapAll([2, 65_535, 3]) == [2, -1, 3])
    }

    @Test("gaps up to half the range are forward, beyond are backward")
    func halfRange() {
        #expect(unwrapAll([0, 32_767]) == [0, 32_767])
        #expect(unwrapAll([0, 32_768]) == [0, 32_768])   // exactly half: ahead
        #expect(unwrapAll([0, 32_769]) == [0, -32_767])
        #expect(unwrapAll([65_000, 31_000]) == [65_000, 96_536])
    }

    @Test("duplicates return the same value")
    func duplicates() {
        #expect(unwrapAll([65_535, 0, 0, 65_535]) == [65_535, 65_536, 65_536, 65_535])
    }

    @Test("many wraps in a row stay exact")
    func manyWraps() {
        var unwrapper = SequenceUnwrapper()
        var expected: Int64 = 40_000
        #expect(unwrapper.unwrap(40_000) == expected)
        for _ in 0..<20_000 {
            expected += 1_000
            #expect(unwrapper.unwrap(UInt16(truncatingIfNeeded: expected)) == expected)
        }
        #expect(expected == 20_040_000)  // about 305 wraps
    }

    @Test("reset starts over")
    func reset() {
        var unwrapper = SequenceUnwrapper()
        _ = unwrapper.unwrap(65_535)
        _ = unwrapper.unwrap(0)
        unwrapper.reset()
        #expect(unwrapper.highest == nil)
        #expect(unwrapper.unwrap(100) == 100)
    }
}

@Suite("RTP timestamp unwrapping (RFC 3550 §5.1)")
struct TimestampUnwrapperTests {
    private func unwrapAll(_ values: [UInt32]) -> [Int64] {
        var unwrapper = TimestampUnwrapper()
        return values.map { unwrapper.unwrap($0) }
    }

    @Test("the first value maps to itself", arguments: [UInt32(0), 960, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF])
    func firstValue(value: UInt32) {
        var unwrapper = TimestampUnwrapper()
        #expect(unwrapper.unwrap(value) == Int64(value))
    }

    @Test("20 ms Opus steps through the 32-bit wrap")
    func forwardWrap() {
        let start: UInt32 = 0xFFFF_FFFF - 1_919
        #expect(unwrapAll([start, start &+ 960, start &+ 1_920, start &+ 2_880])
            == [0xFFFF_F880, 0xFFFF_FC40, 0x1_0000_0000, 0x1_0000_03C0])
    }

    @Test("a late packet from before the wrap lands before it")
    func reorderAcrossWrap() {
        #expect(unwrapAll([0xFFFF_FC40, 0x0000_0000, 0xFFFF_FC40, 0x0000_03C0, 0xFFFF_F880])
            == [0xFFFF_FC40, 0x1_0000_0000, 0xFFFF_FC40, 0x1_0000_03C0, 0xFFFF_F880])
    }

    @Test("gaps up to half the range are forward, beyond are backward")
    func halfRange() {
        #expect(unwrapAll([0, 0x8000_0000]) == [0, 0x8000_0000])
        #expect(unwrapAll([0, 0x8000_0001]) == [0, -0x7FFF_FFFF])
        #expect(unwrapAll([10, 0xFFFF_FFFF]) == [10, -1])
    }

    @Test("many wraps in a row stay exact")
    func manyWraps() {
        var unwrapper = TimestampUnwrapper()
        var expected: Int64 = 0
        #expect(unwrapper.unwrap(0) == 0)
        for _ in 0..<1_000 {
            expected += 123_456_789
            #expect(unwrapper.unwrap(UInt32(truncatingIfNeeded: expected)) == expected)
        }
        #expect(expected / 0x1_0000_0000 == 28)
    }
}
