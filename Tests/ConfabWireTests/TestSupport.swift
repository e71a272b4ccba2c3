import ConfabWire

/// Bytes from hex text; spaces, newlines and `|` separators are ignored so
/// vectors can be laid out like the RFC diagrams.
func hex(_ text: String) -> [UInt8] {
    let digits = text.unicodeScalars.filter { !$0.properties.isWhitespace && $0 != "|" }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    var bytes: [UInt8] = []
    var high: UInt8?
    for scalar in digits {
        guard let nibble = UInt8(String(scalar), radix: 16) else { preconditionFailure("not hex: \(scalar)") }
        if let pending = high {
            bytes.append(pending << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    return bytes
}

func parseRTP(_ bytes: [UInt8]) throws -> RTPPacket {
    try bytes.withUnsafeBytes { try RTPPacket.parse($0) }
}

func parseExtensions(_ bytes: [UInt8]) throws -> HeaderExtensionBlock? {
    try bytes.withUnsafeBytes { raw in
        let packet = try RTPPacket.parse(raw)
        return try packet.headerExtensions(in: raw)
    }
}

/// The elements of a packet's extension block as (id, data) pairs.
func extensionElements(_ bytes: [UInt8]) throws -> [(id: UInt8, data: [UInt8])] {
    try bytes.withUnsafeBytes { raw in
        let packet = try RTPPacket.parse(raw)
        guard let block = try packet.headerExtensions(in: raw) else { return [] }
        return block.elements(in: raw).map { ($0.id, Array(bytes[$0.range])) }
    }
}

/// Writes an RTP packet into a fresh buffer of `capacity` bytes and returns
/// exactly the bytes written.
func writeRTP(
    _ header: RTPHeaderFields,
    csrcs: [UInt32] = [],
    extensions: HeaderExtensionList = HeaderExtensionList(),
    payload: [UInt8],
    paddingCount: UInt8 = 0,
    capacity: Int = 1500
) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0xEE, count: capacity)
    let written = try buffer.withUnsafeMutableBytes { out in
        try payload.withUnsafeBytes { payloadBytes in
            try csrcs.withUnsafeBufferPointer { csrcList in
                try RTPPacket.write(
                    header: header,
                    csrcs: csrcList.isEmpty ? nil : csrcList,
                    extensions: extensions,
                    payload: payloadBytes,
                    paddingCount: paddingCount,
                    into: out
                )
            }
        }
    }
    return Array(buffer[0..<written])
}

func opusDuration(_ bytes: [UInt8]) throws -> Int {
    try bytes.withUnsafeBytes { try OpusTOC.packetDurationSamples48k($0) }
}
