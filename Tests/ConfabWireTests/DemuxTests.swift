import ConfabWire
import Testing

@Suite("First-byte demultiplexing (RFC 7983 §7, RFC 5761 §4)")
struct DemuxTests {
    @Test("the edges of every range in RFC 7983's table",
          arguments: [(UInt8(0), PacketKind.stun), (3, .stun), (4, .unknown), (15, .unknown),
                      (16, .zrtp), (19, .zrtp), (20, .dtls), (63, .dtls), (64, .turnChannel), (79, .turnChannel),
                      (80, .unknown), (127, .unknown), (128, .rtpOrRTCP), (191, .rtpOrRTCP), (192, .unknown), (255, .unknown)])
    func edges(firstByte: UInt8, expected: PacketKind) {
        #expect(PacketKind.classify(firstByte: firstByte) == expected)
    }

    @Test("how many first bytes each kind claims")
    func rangeSizes() {
        var counts: [PacketKind: Int] = [:]
        for byte in UInt8.min...UInt8.max {
            counts[PacketKind.classify(firstByte: byte), default: 0] += 1
        }
        #expect(counts == [.stun: 4, .zrtp: 4, .dtls: 44, .turnChannel: 16, .rtpOrRTCP: 64, .unknown: 124])
    }

    @Test("real datagrams: STUN binding request, DTLS ClientHello, ChannelData, RTP, empty")
    func realDatagrams() {
        let cases: [([UInt8], PacketKind)] = [
            (hex("00 01 00 00 21 12 A4 42"), .stun),
            (hex("16 FE FD 00 00"), .dtls),
            (hex("40 00 00 04 DE AD BE EF"), .turnChannel),
            (hex("80 6F 00 01 00 00 00 00 00 00 00 01"), .rtpOrRTCP),
            (hex("81 C9 00 01 00 00 00 01"), .rtpOrRTCP),
            ([], .unknown),
        ]
        for (bytes, kind) in cases {
            bytes.withUnsafeBytes { #expect(PacketKind.classify($0) == kind) }
        }
    }

    @Test("RTCP types 192...223 in the second byte are RTCP; RTP with or without a marker is RTP",
          arguments: [(UInt8(200), RTPOrRTCP.rtcp), (201, .rtcp), (192, .rtcp), (223, .rtcp), (64, .rtcp), (95, .rtcp),
                      (224, .rtp), (191, .rtp), (0x6F, .rtp), (0xEF, .rtp), (0, .rtp), (63, .rtp), (96, .rtp)])
    func rtpOrRTCP(secondByte: UInt8, expected: RTPOrRTCP) {
        #expect(RTPOrRTCP.classify(secondByte: secondByte) == expected)
        #expect(RTPOrRTCP.isRTCP(secondByte: secondByte) == (expected == .rtcp))
    }
}
