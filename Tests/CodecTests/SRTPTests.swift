import SRTP
import Testing

/// A minimal RTP packet: 12-byte header plus `payload`, with room for the SRTP trailer.
func rtpPacket(ssrc: UInt32, sequence: UInt16, payload: [UInt8]) -> [UInt8] {
    var p: [UInt8] = [0x80, 111, UInt8(sequence >> 8), UInt8(sequence & 0xff), 0, 0, 0x03, 0xc0]
    p += [UInt8(ssrc >> 24), UInt8(ssrc >> 16 & 0xff), UInt8(ssrc >> 8 & 0xff), UInt8(ssrc & 0xff)]
    p += payload
    return p
}

func protect(_ session: OutboundSession, _ packet: [UInt8]) throws -> [UInt8] {
    var buffer = packet + [UInt8](repeating: 0, count: SRTPLibrary.maxTrailerLength)
    let n = try buffer.withUnsafeMutableBytes { try session.protect($0, length: packet.count) }
    return Array(buffer[0..<n])
}

func unprotect(_ session: InboundSession, _ packet: [UInt8]) throws -> [UInt8] {
    var buffer = packet
    let n = try buffer.withUnsafeMutableBytes { try session.unprotect($0, length: packet.count) }
    return Array(buffer[0..<n])
}

/// A sender and a receiver that share `key` for `ssrc`.
func sessionPair(
    ssrc: UInt32, key: SRTPKeyMaterial, replayWindow: Int = 1024
) throws -> (sender: OutboundSession, receiver: InboundSession) {
    let receiver = try InboundSession(replayWindow: replayWindow)
    try receiver.addStream(ssrc: ssrc, key: key)
    return (try OutboundSession(ssrc: ssrc, key: key), receiver)
}

@Suite("SRTP wrapper")
struct SRTPTests {
    static let keyHex = "000102030405060708090a0b0c0d0e0f" + "101112131415161718191a1b1c1d"

    @Test("protect then unprotect gives back the RTP packet, for each profile the library has",
          arguments: SRTPProfile.allCases.filter { SRTPLibrary.supports($0) })
    func roundTrip(profile: SRTPProfile) throws {
        let key = SRTPKeyMaterial.random(profile: profile)
        let (sender, receiver) = try sessionPair(ssrc: 0x1234_5678, key: key)
        let payload = Array("hello, confab".utf8)
        let packet = rtpPacket(ssrc: 0x1234_5678, sequence: 7, payload: payload)
        let secured = try protect(sender, packet)
        #expect(secured.count == packet.count + profile.rtpOverhead)
        // The payload is encrypted: its bytes are not visible on the wire.
        #expect(Array(secured[12..<(12 + payload.count)]) != payload)
        #expect(try unprotect(receiver, secured) == packet)
    }

    @Test("AES_CM_128_HMAC_SHA1_80, the profile Confab uses, is always available")
    func defaultProfileAvailable() {
        #expect(SRTPLibrary.supports(.aes128CmHmacSha1_80))
    }

    @Test("every profile either makes sessions or is refused by name, never with a bare status",
          arguments: SRTPProfile.allCases)
    func profileSupportIsNamed(profile: SRTPProfile) throws {
        if SRTPLibrary.supports(profile) {
            // Both directions take its keys.
            _ = try OutboundSession(ssrc: 1, key: SRTPKeyMaterial.random(profile: profile))
            try InboundSession().addStream(ssrc: 1, key: SRTPKeyMaterial.random(profile: profile))
        } else {
            #expect(throws: SRTP.Error.unsupportedProfile(profile)) {
                _ = try OutboundSession(ssrc: 1, key: SRTPKeyMaterial.random(profile: profile))
            }
        }
    }

    @Test("SRTCP: a sender report protected with the sender's key opens to the same bytes; a flipped bit or another key fails")
    func rtcpRoundTrip() throws {
        let key = try SRTPKeyMaterial(hex: Self.keyHex)
        let (sender, receiver) = try sessionPair(ssrc: 0xCAFE, key: key)
        // RFC 3550 §6.4.1: V=2, PT=200 (SR), length 6, SSRC, then 20 bytes of sender info.
        let report: [UInt8] = [0x80, 200, 0, 6, 0, 0, 0xCA, 0xFE] + (0..<20).map { UInt8($0 * 3) }
        func secure() throws -> [UInt8] {
            var buffer = report + [UInt8](repeating: 0, count: SRTPLibrary.maxTrailerLength + 4)
            let n = try buffer.withUnsafeMutableBytes { try sender.protectRTCP($0, length: report.count) }
            return Array(buffer[0..<n])
        }
        func open(_ packet: [UInt8], with session: InboundSession) throws -> [UInt8] {
            var buffer = packet
            let n = try buffer.withUnsafeMutableBytes { try session.unprotectRTCP($0, length: packet.count) }
            return Array(buffer[0..<n])
        }
        let secured = try secure()
        // The E flag and SRTCP index (4 bytes, RFC 3711 §3.4) and the 80-bit tag; the sender info is encrypted.
        #expect(secured.count == report.count + 4 + 10)
        #expect(Array(secured[8..<28]) != Array(report[8..<28]))
        #expect(try open(secured, with: receiver) == report)
        var tampered = try secure()
        tampered[12] ^= 0x01
        #expect(throws: SRTP.Error.authenticationFailed) { try open(tampered, with: receiver) }
        let stranger = try InboundSession()
        try stranger.addStream(ssrc: 0xCAFE, key: SRTPKeyMaterial.random())
        #expect(throws: SRTP.Error.authenticationFailed) { try open(try secure(), with: stranger) }
    }

    @Test("a wrong key fails authentication")
    func wrongKey() throws {
        let sender = try OutboundSession(ssrc: 1, key: SRTPKeyMaterial.random())
        let receiver = try InboundSession()
        try receiver.addStream(ssrc: 1, key: SRTPKeyMaterial.random())
        let secured = try protect(sender, rtpPacket(ssrc: 1, sequence: 1, payload: [1, 2, 3, 4]))
        #expect(throws: SRTP.Error.authenticationFailed) { try unprotect(receiver, secured) }
    }

    @Test("a tampered byte fails authentication")
    func tampered() throws {
        let key = try SRTPKeyMaterial(hex: Self.keyHex)
        let (sender, receiver) = try sessionPair(ssrc: 9, key: key)
        var secured = try protect(sender, rtpPacket(ssrc: 9, sequence: 1, payload: [1, 2, 3, 4, 5, 6]))
        secured[14] ^= 0x01
        #expect(throws: SRTP.Error.authenticationFailed) { try unprotect(receiver, secured) }
    }

    @Test("a replayed packet is refused as a replay")
    func replay() throws {
        let key = try SRTPKeyMaterial(hex: Self.keyHex)
        let (sender, receiver) = try sessionPair(ssrc: 9, key: key)
        let secured = try protect(sender, rtpPacket(ssrc: 9, sequence: 100, payload: [9, 9, 9]))
        _ = try unprotect(receiver, secured)
        #expect(throws: SRTP.Error.replay) { try unprotect(receiver, secured) }
    }

    @Test("a packet older than the replay window is refused as replay-old")
    func replayOld() throws {
        let key = try SRTPKeyMaterial(hex: Self.keyHex)
        let (sender, receiver) = try sessionPair(ssrc: 9, key: key, replayWindow: 64)
        let old = try protect(sender, rtpPacket(ssrc: 9, sequence: 1, payload: [1]))
        var last: [UInt8] = []
        for s in 2...200 { last = try protect(sender, rtpPacket(ssrc: 9, sequence: UInt16(s), payload: [1])) }
        _ = try unprotect(receiver, last)
        #expect(throws: SRTP.Error.replayOld) { try unprotect(receiver, old) }
    }

    @Test("streams are SSRC-specific: each sender's key opens only its own packets")
    func perSSRCKeys() throws {
        let keyA = SRTPKeyMaterial.random(), keyB = SRTPKeyMaterial.random()
        let a = try OutboundSession(ssrc: 0xA, key: keyA)
        let b = try OutboundSession(ssrc: 0xB, key: keyB)
        let receiver = try InboundSession()
        try receiver.addStream(ssrc: 0xA, key: keyA)
        try receiver.addStream(ssrc: 0xB, key: keyB)
        let pa = rtpPacket(ssrc: 0xA, sequence: 1, payload: [0xaa])
        let pb = rtpPacket(ssrc: 0xB, sequence: 1, payload: [0xbb])
        #expect(try unprotect(receiver, try protect(a, pa)) == pa)
        #expect(try unprotect(receiver, try protect(b, pb)) == pb)
        // A packet claiming B's SSRC but made with A's key does not verify.
        let forged = try protect(try OutboundSession(ssrc: 0xB, key: keyA), rtpPacket(ssrc: 0xB, sequence: 2, payload: [0]))
        #expect(throws: SRTP.Error.authenticationFailed) { try unprotect(receiver, forged) }
        // Unknown and removed SSRCs are named.
        let pc = try protect(try OutboundSession(ssrc: 0xC, key: keyA), rtpPacket(ssrc: 0xC, sequence: 1, payload: [0]))
        #expect(throws: SRTP.Error.unknownSSRC(0xC)) { try unprotect(receiver, pc) }
        receiver.removeStream(ssrc: 0xA)
        #expect(throws: SRTP.Error.unknownSSRC(0xA)) { try unprotect(receiver, try protect(a, rtpPacket(ssrc: 0xA, sequence: 2, payload: [1]))) }
    }

    @Test("key material parses 60 hex digits and rejects anything else")
    func keyParsing() throws {
        let key = try SRTPKeyMaterial(hex: Self.keyHex.uppercased())
        #expect(key.hex == Self.keyHex)
        #expect(throws: SRTP.Error.self) { try SRTPKeyMaterial(hex: "abcd") }
        #expect(throws: SRTP.Error.self) { try SRTPKeyMaterial(hex: String(repeating: "zz", count: 30)) }
        #expect(SRTPKeyMaterial.random().hex != SRTPKeyMaterial.random().hex)
    }

    @Test("short and garbage packets are refused, not crashed on")
    func garbage() throws {
        let receiver = try InboundSession()
        try receiver.addStream(ssrc: 1, key: SRTPKeyMaterial.random())
        #expect(throws: SRTP.Error.malformedPacket) { try unprotect(receiver, [0x80, 0x00]) }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var junk = (0..<Int.random(in: 12...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            junk[8...11] = [0, 0, 0, 1]
            #expect(throws: SRTP.Error.self) { try unprotect(receiver, junk) }
        }
    }
}
