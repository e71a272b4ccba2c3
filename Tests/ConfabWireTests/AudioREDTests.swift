import ConfabTestSupport
import ConfabWire
import Testing

@Suite("Redundant audio payload (RFC 2198)")
struct AudioREDTests {
    struct Parsed: Equatable {
        var payloadType: UInt8
        var offset: UInt32
        var back: Int
        var data: [UInt8]
    }

    func parse(_ bytes: [UInt8]) throws -> [Parsed] {
        var blocks: [Parsed] = []
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in
            try AudioRED.forEachBlock(in: raw) { block in
                blocks.append(Parsed(payloadType: block.payloadType, offset: block.timestampOffset,
                                     back: block.packetsBack, data: Array(raw[block.range])))
            }
        }
        return blocks
    }

    func write(primary: [UInt8], redundant: [(UInt32, [UInt8])], room: Int = 1_500) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0xEE, count: room)
        let n = try buffer.withUnsafeMutableBytes { (out: UnsafeMutableRawBufferPointer) throws -> Int in
            try primary.withUnsafeBytes { (p: UnsafeRawBufferPointer) throws -> Int in
                // Copies outside `out`, as the writer requires.
                let copies = redundant.map { UnsafeRawBufferPointer(UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, $0.1.count), alignment: 1)) }
                defer { copies.forEach { $0.deallocate() } }
                for (i, block) in redundant.enumerated() {
                    UnsafeMutableRawBufferPointer(mutating: copies[i]).copyBytes(from: block.1)
                }
                return try AudioRED.write(payloadType: 111, primary: p, redundantCount: redundant.count, redundant: { i in
                    (redundant[i].0, UnsafeRawBufferPointer(rebasing: copies[i][0..<redundant[i].1.count]))
                }, into: out)
            }
        }
        return Array(buffer[0..<n])
    }

    @Test("the headers are laid out as RFC 2198 §3 says: F, PT, 14-bit offset, 10-bit length, then a one-byte primary header")
    func headerLayout() throws {
        let bytes = try write(primary: [0x01, 0x02], redundant: [(960, [0xAA, 0xBB, 0xCC])])
        // F=1|PT 111 = 0xEF; offset 960 = 0b00001111_000000; length 3.
        #expect(bytes == [0xEF, 0x0F, 0x00, 0x03, 0x6F, 0xAA, 0xBB, 0xCC, 0x01, 0x02])
        // The largest offset and length the fields hold.
        let big = [UInt8](repeating: 7, count: 1_023)
        let top = try write(primary: [9], redundant: [(16_383, big)])
        #expect(Array(top[0..<5]) == [0xEF, 0xFF, 0xFF, 0xFF, 0x6F])
        #expect(try parse(top).first?.data == big)
        #expect(try parse(top).first?.offset == 16_383)
    }

    @Test("two earlier frames and the primary come back oldest first, each with how many packets back it was sent")
    func roundTrip() throws {
        let bytes = try write(primary: [5, 5, 5], redundant: [(1_920, [1]), (960, [2, 2])])
        #expect(try parse(bytes) == [
            Parsed(payloadType: 111, offset: 1_920, back: 2, data: [1]),
            Parsed(payloadType: 111, offset: 960, back: 1, data: [2, 2]),
            Parsed(payloadType: 111, offset: 0, back: 0, data: [5, 5, 5]),
        ])
        // No redundancy at all is a valid RED payload too: the primary header and its data.
        #expect(try parse(try write(primary: [8], redundant: [])) == [Parsed(payloadType: 111, offset: 0, back: 0, data: [8])])
    }

    @Test("a malformed payload is refused whole, and nothing of it is handed out")
    func malformed() {
        let cases: [([UInt8], AudioREDError)] = [
            ([], .truncatedHeaders),
            ([0xEF, 0x0F, 0x00], .truncatedHeaders),  // a redundant header cut short
            ([0xEF, 0x0F, 0x00, 0x01], .truncatedHeaders),  // no primary header
            ([0xEF, 0x0F, 0x00, 0x05, 0x6F, 1, 2], .blockOverrun),  // says 5 bytes, holds 2
            ([0xEF, 0x00, 0x00, 0x01, 0x6F, 1], .invalidTimestampOffset),  // offset 0: the primary's own time
            // Newer first: 960 then 1 920 is not oldest first.
            ([0xEF, 0x0F, 0x00, 0x00, 0xEF, 0x1E, 0x00, 0x00, 0x6F], .invalidTimestampOffset),
            // Five redundant blocks, more than anyone sends.
            ([0xEF, 0x50, 0x00, 0x00, 0xEF, 0x40, 0x00, 0x00, 0xEF, 0x30, 0x00, 0x00, 0xEF, 0x20, 0x00, 0x00,
              0xEF, 0x10, 0x00, 0x00, 0x6F], .tooManyBlocks),
        ]
        for (bytes, expected) in cases {
            var handedOut = 0
            let error = #expect(throws: AudioREDError.self) {
                try bytes.withUnsafeBytes { raw in try AudioRED.forEachBlock(in: raw) { _ in handedOut += 1 } }
            }
            #expect(error == expected, "\(bytes)")
            #expect(handedOut == 0)
        }
    }

    @Test("random payloads never crash the parser, and every block it accepts lies inside the payload")
    func fuzz() {
        var rng = SeededRandom(seed: 2_198)
        var accepted = 0
        for _ in 0..<20_000 {
            let count = Int(rng.next() % 40)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Half the time, lengths and offsets small enough to be plausible.
            if count > 4, rng.next() % 2 == 0 { bytes[0] |= 0x80; bytes[2] &= 0xFC; bytes[3] %= 8; bytes[4] &= 0x7F }
            bytes.withUnsafeBytes { raw in
                var blocks = 0
                if (try? AudioRED.forEachBlock(in: raw, { block in
                    #expect(block.range.lowerBound >= 0 && block.range.upperBound <= raw.count)
                    blocks += 1
                })) != nil {
                    accepted += 1
                    #expect(blocks >= 1)
                }
            }
        }
        #expect(accepted > 100)
    }

    @Test("the writer refuses what the fields cannot say, or what does not fit, rather than truncating")
    func writerLimits() {
        #expect(throws: AudioREDError.doesNotFit) { try write(primary: [1], redundant: [(960, [UInt8](repeating: 0, count: 1_024))]) }
        #expect(throws: AudioREDError.doesNotFit) { try write(primary: [1], redundant: [(16_384, [2])]) }
        #expect(throws: AudioREDError.doesNotFit) { try write(primary: [1], redundant: [(0, [2])]) }
        #expect(throws: AudioREDError.doesNotFit) { try write(primary: [1, 2, 3], redundant: [(960, [2, 2])], room: 8) }
        #expect((try? write(primary: [1, 2, 3], redundant: [(960, [2, 2])], room: 10)) != nil)
    }
}

