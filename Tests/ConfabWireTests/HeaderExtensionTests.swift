import ConfabWire
import Testing

/// An RTP header (12 bytes, X set) followed by an extension block.
private func packet(profile: String, words: String, elements: String, payload: String = "") -> [UInt8] {
    hex("90 6F 00 01 00 00 00 00 00 00 00 01") + hex(profile) + hex(words) + hex(elements) + hex(payload)
}

@Suite("RFC 8285 header extensions: parsing")
struct HeaderExtensionParsingTests {
    @Test("the one-byte example of RFC 8285 §4.2, padding between elements included")
    func oneByteExample() throws {
        // |ID=1 L=0| data |ID=2 L=1| data data |0 pad|0 pad|ID=3 L=3| data × 4
        let bytes = packet(profile: "BE DE", words: "00 03", elements: "10 AA | 21 BB CC | 00 00 | 33 01 02 03 04")
        let block = try #require(try parseExtensions(bytes))
        #expect(block.form == .oneByte)
        #expect(block.range == 16..<28)
        #expect(block.elementCount == 3)
        let elements = try extensionElements(bytes)
        #expect(elements.map(\.id) == [1, 2, 3])
        #expect(elements.map(\.data) == [[0xAA], [0xBB, 0xCC], [1, 2, 3, 4]])
        bytes.withUnsafeBytes { raw in
            let ranges = block.elements(in: raw).map(\.range)
            #expect(ranges == [17..<18, 19..<21, 24..<28])
        }
    }

    @Test("the two-byte example of RFC 8285 §4.3, a zero-length element included")
    func twoByteExample() throws {
        // |ID=1|L=0|ID=2|L=1| data |0 pad|ID=3|L=4| data × 4
        let bytes = packet(profile: "10 00", words: "00 03", elements: "01 00 | 02 01 DD | 00 | 03 04 01 02 03 04")
        let block = try #require(try parseExtensions(bytes))
        #expect(block.form == .twoByte(appBits: 0))
        #expect(block.elementCount == 3)
        let elements = try extensionElements(bytes)
        #expect(elements.map(\.id) == [1, 2, 3])
        #expect(elements.map(\.data) == [[], [0xDD], [1, 2, 3, 4]])
    }

    @Test("two-byte form keeps its application bits and allows IDs up to 255")
    func twoByteAppBitsAndHighIDs() throws {
        let bytes = packet(profile: "10 0A", words: "00 01", elements: "FF 01 77 00")
        let block = try #require(try parseExtensions(bytes))
        #expect(block.form == .twoByte(appBits: 0x0A))
        #expect(block.form.profile == 0x100A)
        #expect(try extensionElements(bytes).map(\.id) == [255])
    }

    @Test("one-byte ID 15 stops parsing; later bytes are not looked at")
    func idFifteenStops() throws {
        // After ID 15 comes a byte that would overrun if it were read as an element.
        let bytes = packet(profile: "BE DE", words: "00 01", elements: "10 AA F0 4F")
        let block = try #require(try parseExtensions(bytes))
        #expect(block.elementCount == 1)
        #expect(try extensionElements(bytes).map(\.id) == [1])
    }

    @Test("one-byte ID 0 with a non-zero length stops parsing (RFC 8285 §4.1.2)")
    func idZeroWithLengthStops() throws {
        let bytes = packet(profile: "BE DE", words: "00 01", elements: "10 AA 05 20")
        #expect(try parseExtensions(bytes)?.elementCount == 1)
    }

    @Test("a block of only padding has no elements")
    func onlyPadding() throws {
        let bytes = packet(profile: "BE DE", words: "00 02", elements: "00 00 00 00 00 00 00 00")
        #expect(try parseExtensions(bytes)?.elementCount == 0)
        #expect(try extensionElements(bytes).isEmpty)
    }

    @Test("find returns the first element with the ID, or nil")
    func find() throws {
        let bytes = packet(profile: "BE DE", words: "00 02", elements: "10 AA | 21 BB CC | 30 DD | 00")
        let block = try #require(try parseExtensions(bytes))
        bytes.withUnsafeBytes { raw in
            #expect(block.find(id: 2, in: raw) == 19..<21)
            #expect(block.find(id: 3, in: raw) == 22..<23)
            #expect(block.find(id: 4, in: raw) == nil)
        }
    }

    @Test("a packet without the X bit has no block")
    func noExtension() throws {
        #expect(try parseExtensions(hex("80 6F 00 01 00 00 00 00 00 00 00 01")) == nil)
    }

    @Test("a profile that is not RFC 8285 is reported with its value")
    func unsupportedProfile() {
        #expect(throws: HeaderExtensionError.unsupportedProfile(0x1234)) {
            try parseExtensions(packet(profile: "12 34", words: "00 01", elements: "10 AA 00 00"))
        }
        #expect(throws: HeaderExtensionError.unsupportedProfile(0x1010)) {
            try parseExtensions(packet(profile: "10 10", words: "00 01", elements: "10 AA 00 00"))
        }
    }

    @Test("a one-byte element whose length runs past the block is elementOverrun")
    func oneByteOverrun() {
        // ID 2, L=3 (4 bytes of data) but only 2 bytes remain in the block;
        // the payload after the block must not be read as element data.
        #expect(throws: HeaderExtensionError.elementOverrun(id: 2)) {
            try parseExtensions(packet(profile: "BE DE", words: "00 01", elements: "10 AA 23 BB", payload: "CC DD EE FF"))
        }
    }

    @Test("a two-byte element whose length runs past the block is elementOverrun")
    func twoByteOverrun() {
        #expect(throws: HeaderExtensionError.elementOverrun(id: 7)) {
            try parseExtensions(packet(profile: "10 00", words: "00 01", elements: "07 03 AA BB", payload: "CC"))
        }
    }

    @Test("a two-byte ID in the last byte, without its length, is truncatedElementHeader")
    func twoByteTruncatedHeader() {
        #expect(throws: HeaderExtensionError.truncatedElementHeader) {
            try parseExtensions(packet(profile: "10 00", words: "00 01", elements: "01 01 AA 05", payload: "01"))
        }
    }
}

@Suite("RFC 8285 header extensions: writing")
struct HeaderExtensionWritingTests {
    let fields = RTPHeaderFields(payloadType: 111, sequenceNumber: 1, timestamp: 0, ssrc: 1)

    @Test("one audio level element: one-byte form, padded to a word")
    func audioLevelBytes() throws {
        var list = HeaderExtensionList()
        try list.append(audioLevel: AudioLevel(level: 16, voiceActivity: true))
        #expect(list.form == .oneByte)
        #expect(list.encodedLength == 4)
        let bytes = try writeRTP(fields, extensions: list, payload: [0xAB])
        #expect(bytes == hex("90 6F 00 01 00 00 00 00 00 00 00 01 | BE DE 00 01 | 10 90 00 00 | AB"))
    }

    @Test("IDs 1...14 with 1...16 bytes use the one-byte form")
    func oneByteChosen() throws {
        var list = HeaderExtensionList()
        try [UInt8](repeating: 7, count: 16).withUnsafeBytes { try list.append(id: 14, data: $0) }
        #expect(list.form == .oneByte)
        let bytes = try writeRTP(fields, extensions: list, payload: [])
        // 1 header byte + 16 data bytes = 17, padded to 20 (5 words).
        #expect(Array(bytes[12..<18]) == hex("BE DE 00 05 EF 07"))
        #expect(try extensionElements(bytes).map(\.data) == [[UInt8](repeating: 7, count: 16)])
    }

    @Test("an ID above 14, an empty element, a long element or app bits force the two-byte form",
          arguments: [(UInt8(15), 1, UInt8(0)), (UInt8(1), 0, UInt8(0)), (UInt8(1), 17, UInt8(0)), (UInt8(1), 1, UInt8(5))])
    func twoByteChosen(id: UInt8, length: Int, appBits: UInt8) throws {
        var list = HeaderExtensionList()
        list.appBits = appBits
        try [UInt8](repeating: 9, count: length).withUnsafeBytes { try list.append(id: id, data: $0) }
        #expect(list.form == .twoByte(appBits: appBits))
        let bytes = try writeRTP(fields, extensions: list, payload: [1])
        let packet = try parseRTP(bytes)
        #expect(packet.extensionProfile == 0x1000 | UInt16(appBits))
        let elements = try extensionElements(bytes)
        #expect(elements.map(\.id) == [id])
        #expect(elements.map(\.data) == [[UInt8](repeating: 9, count: length)])
        #expect(Array(bytes[packet.payloadRange]) == [1])
    }

    @Test("four elements round trip in order through the two-byte form")
    func fourElementsRoundTrip() throws {
        var list = HeaderExtensionList()
        try list.append(id: 1, byte: 0x85)
        try [UInt8](repeating: 2, count: 3).withUnsafeBytes { try list.append(id: 2, data: $0) }
        try [UInt8]().withUnsafeBytes { try list.append(id: 200, data: $0) }
        try (0..<20).map { UInt8($0) }.withUnsafeBytes { try list.append(id: 4, data: $0) }
        #expect(list.count == 4)
        #expect(list.form == .twoByte(appBits: 0))
        // 4 × 2 header bytes + 1 + 3 + 0 + 20 data bytes = 32, already aligned.
        #expect(list.encodedLength == 32)
        let bytes = try writeRTP(fields, extensions: list, payload: [])
        let elements = try extensionElements(bytes)
        #expect(elements.map(\.id) == [1, 2, 200, 4])
        #expect(elements.map(\.data) == [[0x85], [2, 2, 2], [], (0..<20).map { UInt8($0) }])
    }

    @Test("the RFC 8285 §4.2 example's elements re-encode and parse back")
    func rfcExampleReencoded() throws {
        var list = HeaderExtensionList()
        try list.append(id: 1, byte: 0xAA)
        try [UInt8]([0xBB, 0xCC]).withUnsafeBytes { try list.append(id: 2, data: $0) }
        try [UInt8]([1, 2, 3, 4]).withUnsafeBytes { try list.append(id: 3, data: $0) }
        let bytes = try writeRTP(fields, extensions: list, payload: [])
        #expect(Array(bytes[12...]) == hex("BE DE 00 03 | 10 AA 21 BB CC 33 01 02 03 04 | 00 00"))
        #expect(try extensionElements(bytes).map(\.data) == [[0xAA], [0xBB, 0xCC], [1, 2, 3, 4]])
    }

    @Test("the list reads back its IDs and data")
    func accessors() throws {
        var list = HeaderExtensionList()
        #expect(list.isEmpty)
        try list.append(id: 5, byte: 0x11)
        try [UInt8]([1, 2]).withUnsafeBytes { try list.append(id: 6, data: $0) }
        #expect(list.id(at: 0) == 5)
        #expect(list.id(at: 1) == 6)
        #expect(list.withData(at: 1) { Array($0) } == [1, 2])
        #expect(!list.isEmpty)
    }

    @Test("lists compare by their elements")
    func equality() throws {
        var first = HeaderExtensionList()
        var second = HeaderExtensionList()
        try first.append(id: 1, byte: 1)
        try second.append(id: 1, byte: 1)
        #expect(first == second)
        try second.append(id: 2, byte: 2)
        #expect(first != second)
        var third = HeaderExtensionList()
        try third.append(id: 1, byte: 9)
        #expect(first != third)
    }

    @Test("ID 0 is refused: it is reserved for padding")
    func zeroID() {
        var list = HeaderExtensionList()
        #expect(throws: HeaderExtensionListError.invalidID(0)) { try list.append(id: 0, byte: 1) }
        #expect(list.isEmpty)
    }

    @Test("an ID used twice is refused")
    func duplicateID() throws {
        var list = HeaderExtensionList()
        try list.append(id: 3, byte: 1)
        #expect(throws: HeaderExtensionListError.duplicateID(3)) { try list.append(id: 3, byte: 2) }
        #expect(list.count == 1)
    }

    @Test("a fifth element is refused")
    func tooManyElements() throws {
        var list = HeaderExtensionList()
        for id in UInt8(1)...4 { try list.append(id: id, byte: id) }
        #expect(throws: HeaderExtensionListError.tooManyElements) { try list.append(id: 5, byte: 5) }
    }

    @Test("data beyond the inline capacity is refused")
    func capacityExceeded() throws {
        var list = HeaderExtensionList()
        let sixty = [UInt8](repeating: 1, count: 60)
        try sixty.withUnsafeBytes { try list.append(id: 1, data: $0) }
        let five = [UInt8](repeating: 2, count: 5)
        #expect(throws: HeaderExtensionListError.capacityExceeded) {
            try five.withUnsafeBytes { try list.append(id: 2, data: $0) }
        }
        let four = [UInt8](repeating: 2, count: 4)
        try four.withUnsafeBytes { try list.append(id: 2, data: $0) }
        #expect(list.count == 2)
    }
}
