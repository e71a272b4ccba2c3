import ConfabWire
import Testing

@Suite("RFC 6464 audio level")
struct AudioLevelTests {
    @Test("the V bit is the top bit, the level the low seven")
    func encode() {
        #expect(AudioLevel(level: 42, voiceActivity: true).encoded == 0xAA)
        #expect(AudioLevel(level: 42, voiceActivity: false).encoded == 0x2A)
        #expect(AudioLevel(level: 0, voiceActivity: true).encoded == 0x80)
        #expect(AudioLevel(level: 127, voiceActivity: false).encoded == 0x7F)
    }

    @Test("decoding splits the byte back")
    func decode() {
        let level = AudioLevel(encoded: 0xAA)
        #expect(level.voiceActivity)
        #expect(level.level == 42)
        #expect(AudioLevel(encoded: 0x7F) == AudioLevel(level: 127, voiceActivity: false))
    }

    @Test("every byte decodes and re-encodes to itself")
    func everyByteRoundTrips() {
        for byte in UInt8.min...UInt8.max {
            let level = AudioLevel(encoded: byte)
            #expect(level.level <= 127)
            #expect(level.encoded == byte)
        }
    }

    @Test("levels above 127 clamp to silence")
    func levelClamp() {
        #expect(AudioLevel(level: 200, voiceActivity: false).level == 127)
        #expect(AudioLevel(level: 128, voiceActivity: true).encoded == 0xFF)
    }

    static let dBovCases: [(Double, UInt8)] = [
        (0.0, 0), (-30.0, 30), (-30.4, 30), (-30.6, 31), (3.0, 0), (-127.0, 127),
        (-126.6, 127), (-200.0, 127), (-Double.infinity, 127), (Double.infinity, 0), (Double.nan, 127),
    ]

    @Test("dBov converts to -dBov, rounded and clamped", arguments: dBovCases)
    func fromDBov(dBov: Double, expected: UInt8) {
        let level = AudioLevel(dBov: dBov, voiceActivity: true)
        #expect(level.level == expected)
        #expect(level.voiceActivity)
    }

    @Test("dBov reads back as a non-positive number")
    func toDBov() {
        #expect(AudioLevel(level: 30, voiceActivity: false).dBov == -30)
        #expect(AudioLevel(level: 0, voiceActivity: false).dBov == 0)
    }

    @Test("element data must be exactly one byte")
    func elementLength() throws {
        let one: [UInt8] = [0x85]
        #expect(try one.withUnsafeBytes { try AudioLevel(element: $0) } == AudioLevel(level: 5, voiceActivity: true))
        #expect(throws: AudioLevelError.invalidLength(0)) { try [UInt8]().withUnsafeBytes { try AudioLevel(element: $0) } }
        #expect(throws: AudioLevelError.invalidLength(2)) { try [UInt8](repeating: 0, count: 2).withUnsafeBytes { try AudioLevel(element: $0) } }
    }

    @Test("the default extension ID is 1")
    func defaultID() {
        #expect(AudioLevel.defaultExtensionID == 1)
    }

    @Test("an RTP packet carries the level to the server and back, under any ID")
    func throughRTP() throws {
        let fields = RTPHeaderFields(payloadType: 111, sequenceNumber: 9, timestamp: 960, ssrc: 77)
        var list = HeaderExtensionList()
        try list.append(id: 2, byte: 0x01)
        try list.append(audioLevel: AudioLevel(level: 63, voiceActivity: false), id: 9)
        let bytes = try writeRTP(fields, extensions: list, payload: [0x78, 0x01])
        try bytes.withUnsafeBytes { raw in
            let packet = try RTPPacket.parse(raw)
            #expect(packet.audioLevel(id: 9, in: raw) == AudioLevel(level: 63, voiceActivity: false))
            #expect(packet.audioLevel(in: raw) == nil)  // nothing under ID 1
        }
    }

    @Test("a level in the two-byte form is read the same")
    func twoByteForm() throws {
        let bytes = hex("90 6F 00 01 00 00 00 00 00 00 00 01 | 10 00 00 01 | 01 01 9E 00")
        try bytes.withUnsafeBytes { raw in
            let packet = try RTPPacket.parse(raw)
            #expect(packet.audioLevel(in: raw) == AudioLevel(level: 30, voiceActivity: true))
        }
    }

    @Test("no level from a packet without extensions, a wrong-size element or a broken block")
    func missingLevel() throws {
        let cases = [
            hex("80 6F 00 01 00 00 00 00 00 00 00 01"),
            hex("90 6F 00 01 00 00 00 00 00 00 00 01 | BE DE 00 01 | 11 9E 9E 00"),  // 2 bytes under ID 1
            hex("90 6F 00 01 00 00 00 00 00 00 00 01 | BE DE 00 01 | 1F 9E 00 00"),  // overrun
            hex("90 6F 00 01 00 00 00 00 00 00 00 01 | AB CD 00 01 | 10 9E 00 00"),  // not RFC 8285
        ]
        for bytes in cases {
            try bytes.withUnsafeBytes { raw in
                let packet = try RTPPacket.parse(raw)
                #expect(packet.audioLevel(in: raw) == nil)
            }
        }
    }
}
