import ConfabWire
import ConfabTestSupport
import Testing

/// How often each parser accepted and rejected its input.
private struct Tally {
    var rtpParsed = 0, rtpRejected = 0
    var blocksParsed = 0, blocksRejected = 0
    var opusParsed = 0, opusRejected = 0
    var rtcpPackets = 0, rtcpRejected = 0
    var reportsParsed = 0
}

/// Throws hostile bytes at every parser. Each must either throw its typed
/// error or return ranges inside the buffer that agree with each other; a
/// trap anywhere fails the whole run.
@Suite("Fuzz: hostile buffers through every parser")
struct FuzzTests {
    @Test("20,000 seeded random buffers of 0...1500 bytes")
    func randomBuffers() throws {
        var random = SeededRandom(seed: 0xC0FF_EE00_2025)
        var tally = Tally()
        for iteration in 0..<20_000 {
            let bytes = makeBuffer(iteration: iteration, random: &random)
            #expect(bytes.count <= 1_500)
            bytes.withUnsafeBytes { raw in
                checkRTP(raw, tally: &tally)
                checkOpus(raw, tally: &tally)
                checkRTCP(raw, tally: &tally)
                checkDemux(raw)
            }
        }
        // Both outcomes must be common, or the fuzzing is not reaching the parsers' depths.
        #expect(tally.rtpParsed > 8_000)
        #expect(tally.rtpRejected > 2_000)
        #expect(tally.blocksParsed > 2_000)
        #expect(tally.blocksRejected > 500)
        #expect(tally.opusParsed > 5_000)
        #expect(tally.opusRejected > 5_000)
        #expect(tally.rtcpPackets > 5_000)
        #expect(tally.rtcpRejected > 5_000)
        #expect(tally.reportsParsed > 4_000)
    }

    /// A quarter each: pure noise, noise with an RTP/RTCP-looking first byte,
    /// a valid RTP packet damaged, a valid compound RTCP packet damaged.
    private func makeBuffer(iteration: Int, random: inout SeededRandom) -> [UInt8] {
        switch iteration % 4 {
        case 0:
            return random.bytes(random.below(1_501))
        case 1:
            var bytes = random.bytes(random.below(1_501))
            if !bytes.isEmpty { bytes[0] = 0x80 | (bytes[0] & 0x3F) }
            if bytes.count > 14, random.below(2) == 0 {
                // Point an extension at RFC 8285 so element walking gets exercised.
                let offset = 12 + 4 * Int(bytes[0] & 0x0F)
                if offset + 4 <= bytes.count {
                    bytes[offset] = random.below(2) == 0 ? 0xBE : 0x10
                    bytes[offset + 1] = random.below(2) == 0 ? 0xDE : 0x00
                    bytes[offset + 2] = 0
                    bytes[offset + 3] = UInt8(random.below(8))
                }
            }
            return bytes
        case 2:
            return damage(validRTP(random: &random), random: &random)
        default:
            return damage(validRTCP(random: &random), random: &random)
        }
    }

    private func validRTP(random: inout SeededRandom) -> [UInt8] {
        var list = HeaderExtensionList()
        for _ in 0..<random.below(5) {
            let length = random.below(20)
            let id = UInt8(1 + random.below(random.below(2) == 0 ? 14 : 255))
            let data = random.bytes(length)
            data.withUnsafeBytes { try? list.append(id: id, data: $0) }
        }
        let fields = RTPHeaderFields(marker: random.below(2) == 0, payloadType: UInt8(random.below(128)),
                                     sequenceNumber: UInt16(truncatingIfNeeded: random.next()),
                                     timestamp: UInt32(truncatingIfNeeded: random.next()), ssrc: UInt32(truncatingIfNeeded: random.next()))
        let csrcs = (0..<random.below(16)).map { _ in UInt32(truncatingIfNeeded: random.next()) }
        // Opus-looking payload: a TOC byte and noise.
        let payload = random.bytes(random.below(1_200))
        let padding = UInt8(random.below(4) == 0 ? random.below(256) : 0)
        return (try? writeRTP(fields, csrcs: csrcs, extensions: list, payload: payload, paddingCount: padding, capacity: 1_500)) ?? []
    }

    private func validRTCP(random: inout SeededRandom) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<(1 + random.below(4)) {
            let blocks = (0..<random.below(6)).map { _ in
                RTCPReportBlock(ssrc: UInt32(truncatingIfNeeded: random.next()), fractionLost: random.byte(),
                                cumulativeLost: Int32(truncatingIfNeeded: random.next()) >> 8, jitter: UInt32(truncatingIfNeeded: random.next()))
            }
            var buffer = [UInt8](repeating: 0, count: 256)
            let written = buffer.withUnsafeMutableBytes { out in
                blocks.withUnsafeBufferPointer { list in
                    if random.below(2) == 0 {
                        let info = RTCPSenderInfo(ntpTimestamp: random.next(), rtpTimestamp: 1, packetCount: 2, octetCount: 3)
                        return (try? RTCPSenderReport.write(senderSSRC: 1, senderInfo: info, reportBlocks: list, into: out)) ?? 0
                    }
                    return (try? RTCPReceiverReport.write(senderSSRC: 2, reportBlocks: list, into: out)) ?? 0
                }
            }
            bytes += buffer[0..<written]
        }
        return bytes
    }

    /// Flips a few bytes, and sometimes cuts the end off.
    private func damage(_ original: [UInt8], random: inout SeededRandom) -> [UInt8] {
        var bytes = original
        guard !bytes.isEmpty else { return bytes }
        for _ in 0..<random.below(4) {
            bytes[random.below(bytes.count)] = random.byte()
        }
        if random.below(3) == 0 {
            bytes.removeLast(random.below(bytes.count + 1))
        }
        return bytes
    }

    private func checkRTP(_ raw: UnsafeRawBufferPointer, tally: inout Tally) {
        _ = RTPPacket.isRTP(raw)
        if let ssrc = RTPPacket.peekSSRC(raw) {
            #expect(raw.count >= 12)
            #expect(raw[0] >> 6 == 2)
            _ = ssrc
        }
        let packet: RTPPacket
        do {
            packet = try RTPPacket.parse(raw)
        } catch {
            tally.rtpRejected += 1
            return
        }
        tally.rtpParsed += 1
        #expect(packet.packetLength == raw.count)
        #expect(packet.headerLength >= 12 + 4 * packet.csrcCount)
        #expect(packet.payloadRange.lowerBound == packet.headerLength)
        #expect(packet.payloadRange.upperBound + packet.paddingCount == raw.count)
        #expect(packet.payloadType < 128)
        #expect(packet.hasPadding == (packet.paddingCount > 0))
        if let range = packet.extensionRange {
            #expect(range.lowerBound == 16 + 4 * packet.csrcCount)
            #expect(range.upperBound == packet.headerLength)
        }
        if packet.csrcCount > 0 {
            _ = packet.csrc(packet.csrcCount - 1, in: raw)
        }
        #expect(packet.payload(in: raw).count == packet.payloadRange.count)
        _ = packet.audioLevel(in: raw)

        do {
            if let block = try packet.headerExtensions(in: raw) {
                tally.blocksParsed += 1
                var count = 0
                for element in block.elements(in: raw) {
                    #expect(element.id != 0)
                    #expect(element.range.lowerBound >= block.range.lowerBound)
                    #expect(element.range.upperBound <= block.range.upperBound)
                    if block.form == .oneByte {
                        #expect((1...16).contains(element.range.count))
                    }
                    count += 1
                }
                #expect(count == block.elementCount)
            }
        } catch {
            tally.blocksRejected += 1
        }

        if let duration = try? OpusTOC.packetDurationSamples48k(packet.payload(in: raw)) {
            #expect(duration > 0 && duration <= 5_760)
        }
    }

    private func checkOpus(_ raw: UnsafeRawBufferPointer, tally: inout Tally) {
        do {
            let duration = try OpusTOC.packetDurationSamples48k(raw)
            tally.opusParsed += 1
            #expect(duration >= 120 && duration <= 5_760)
            #expect(duration % 120 == 0)
        } catch {
            tally.opusRejected += 1
        }
    }

    private func checkRTCP(_ raw: UnsafeRawBufferPointer, tally: inout Tally) {
        var reader = RTCPCompoundReader(raw)
        var previousEnd = 0
        while true {
            let next: RTCPPacket?
            do {
                next = try reader.next()
            } catch {
                tally.rtcpRejected += 1
                #expect((try? reader.next()) == nil)
                return
            }
            guard let packet = next else { return }
            tally.rtcpPackets += 1
            #expect(packet.range.lowerBound == previousEnd)
            #expect(packet.range.upperBound <= raw.count)
            #expect(packet.range.count % 4 == 0)
            #expect(packet.bodyRange.lowerBound == packet.range.lowerBound + 4)
            #expect(packet.bodyRange.upperBound + packet.paddingCount == packet.range.upperBound)
            previousEnd = packet.range.upperBound

            if let report = try? RTCPSenderReport.parse(packet, in: raw) {
                tally.reportsParsed += 1
                for index in 0..<report.reportCount {
                    #expect(report.reportBlock(index, in: raw).cumulativeLost >= -0x80_0000)
                }
                #expect(report.reportBlocksOffset + 24 * report.reportCount <= packet.bodyRange.upperBound)
            }
            if let report = try? RTCPReceiverReport.parse(packet, in: raw) {
                tally.reportsParsed += 1
                for index in 0..<report.reportCount {
                    #expect(report.reportBlock(index, in: raw).cumulativeLost <= 0x7F_FFFF)
                }
                #expect(report.reportBlocksOffset + 24 * report.reportCount <= packet.bodyRange.upperBound)
            }
        }
    }

    private func checkDemux(_ raw: UnsafeRawBufferPointer) {
        let kind = PacketKind.classify(raw)
        if raw.isEmpty {
            #expect(kind == .unknown)
        } else if kind == .rtpOrRTCP {
            #expect(raw[0] >> 6 == 2)
        }
    }
}
