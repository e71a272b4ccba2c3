// Telling packets apart on one UDP port by their first bytes.
//
//   first byte (RFC 7983 §7)        second byte, when RTP/RTCP (RFC 5761 §4)
//     0...3     ─▶ STUN               PT = byte & 0x7F in 64...95 ─▶ RTCP (SR 200, RR 201, ...)
//    16...19    ─▶ ZRTP               otherwise                   ─▶ RTP
//    20...63    ─▶ DTLS
//    64...79    ─▶ TURN channel
//   128...191   ─▶ RTP or RTCP
//   otherwise   ─▶ unknown (drop)
//
// Flow: UDP in ─▶ `PacketKind.classify` ─▶ STUN binding / `RTPOrRTCP.classify`
// ─▶ RTP forwarder or RTCP reader.

/// What a datagram is, judged by its first byte (RFC 7983 §7).
public enum PacketKind: Sendable, Hashable, BitwiseCopyable {
    case stun, zrtp, dtls, turnChannel, rtpOrRTCP, unknown

    /// RFC 7983 §7's table.
    @inline(__always)
    public static func classify(firstByte: UInt8) -> PacketKind {
        switch firstByte {
        case 0...3: .stun
        case 16...19: .zrtp
        case 20...63: .dtls
        case 64...79: .turnChannel
        case 128...191: .rtpOrRTCP
        default: .unknown
        }
    }

    /// ``classify(firstByte:)`` on a datagram; an empty one is `.unknown`.
    @inline(__always)
    public static func classify(_ datagram: UnsafeRawBufferPointer) -> PacketKind {
        // Index rather than `.first`: the generic Collection path allocates in debug builds.
        guard !datagram.isEmpty else { return .unknown }
        return classify(firstByte: datagram[0])
    }
}

/// RTP or RTCP on a shared port (RFC 5761 §4).
public enum RTPOrRTCP: Sendable, Hashable, BitwiseCopyable {
    case rtp, rtcp

    /// True when the second byte's low 7 bits are 64...95: RTCP packet types
    /// 192...223 (SR 200, RR 201, ...) seen as an RTP marker bit plus payload
    /// type. RFC 5761 §4 forbids RTP payload types in that range when muxing.
    @inline(__always)
    public static func isRTCP(secondByte: UInt8) -> Bool {
        (64...95).contains(secondByte & 0x7F)
    }

    @inline(__always)
    public static func classify(secondByte: UInt8) -> RTPOrRTCP {
        isRTCP(secondByte: secondByte) ? .rtcp : .rtp
    }
}
