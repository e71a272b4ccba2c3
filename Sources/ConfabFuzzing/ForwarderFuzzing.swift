// The server's forwarder, which reads every datagram that reaches the
// media port from anyone, driven as the media thread drives it: a room of
// three (alice publishes to bob and lee, bob to alice, lee only listens) and
// a stranger, then a stream of datagrams, bindings, table changes and time.
//
//   each record: one op byte, then what it needs
//     op 0…3  raw datagram:    length byte, bytes; from alice, bob, lee or the stranger (op)
//     op 4    RTP from a peer: peer byte, sequence (2 bytes), payload type byte, payload length byte
//     op 5    STUN binding:    peer byte (with its right password; 0x80: from the stranger's address;
//                              0x40: the consent token the answer asks for is echoed from there)
//     op 6    time:            a byte of 10 ms steps; then the sweep and the reports
//     op 7    table change:    a byte choosing who may publish (the whole table, or that row alone),
//                              an SSRC rotation, a listener leaving or coming back, a loudest-only audience
//
// Properties: only datagrams from an address a peer bound (with its
// password) are forwarded, and only to the bound addresses of that peer's
// subscribers in the table; RTP of a peer that may not publish is never
// forwarded; copies leave byte for byte;
// a STUN answer goes only to where the request came from and is never larger
// (the server must not amplify); a new address is bound only once its
// consent token is echoed from it. And a row posted alone (a mute) leaves the
// forwarder as the whole table would: a second forwarder is fed the same
// datagrams and time with every change as a whole table, and both must send
// the same copies to the same places, answer alike and report alike.
import ConfabProtocol
import ConfabServer
import ConfabSocket
import ConfabWire

enum ForwarderFuzzing {
    static func run(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        _ = try play(input)
    }

    /// Runs an input and returns the room as it left it.
    static func play(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) -> FuzzedMediaRoom {
        let room = FuzzedMediaRoom()
        var reader = ByteReader(input)
        var steps = 0
        while let op = reader.byte(), steps < 500 {
            steps += 1
            try room.perform(op % 8, &reader)
        }
        return room
    }
}

/// Reads an input a byte at a time; past its end, nothing.
struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, offset + count)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}

final class FuzzedMediaRoom {
    /// A peer of the room: its media credentials and address follow from its
    /// slot and name; what may change is in the table (who publishes, who hears).
    struct Member {
        let slot: Int
        let peer: PeerID
        let ssrc: UInt32
        var mayPublish: Bool
        var subscribers: [Int]
        var present = true

        /// Usernames are 16 bytes (MediaCredentials), passwords at least 22 (RFC 8489 §9.2).
        var username: String { String((peer.rawValue + String(repeating: "u", count: 16)).prefix(15)) + "\(slot)" }
        var password: String { peer.rawValue + "-password-0000000000000" }
        var address: SocketAddress { SocketAddress(ipv4: 0x0A00_0000 + UInt32(slot), port: 40_000 + UInt16(slot)) }
    }

    static let roomID = 7
    static let stranger = SocketAddress(ipv4: 0x0A00_0063, port: 40_099)

    let forwarder: Forwarder
    let batch = DatagramSendBatch(capacity: 64)
    /// Takes every change as a whole table (same consent key: same answers).
    let wholeTables: Forwarder
    let wholeTablesBatch = DatagramSendBatch(capacity: 64)
    var members = [
        Member(slot: 1, peer: "alice", ssrc: 0xA11CE, mayPublish: true, subscribers: [2, 3]),
        Member(slot: 2, peer: "bob", ssrc: 0xB0B, mayPublish: true, subscribers: [1]),
        Member(slot: 3, peer: "lee", ssrc: 0x1EE, mayPublish: false, subscribers: []),
    ]
    /// Where each peer's binding stands, as the forwarder's STUN answers said (slot → address).
    var bound: [Int: SocketAddress] = [:]
    var rotated = false
    var loudest: Int?
    var nowNs: UInt64 = 1_000_000_000
    /// Copies the forwarder queued, and bindings it confirmed.
    var copies = 0
    var bindings = 0
    /// The consent token the last answer asked for.
    private var consentAsked: STUNConsentToken?
    /// STUN transaction ids from a fixed seed: an input replays byte for byte.
    private var transactions = SplitMix64(seed: 0x5EED)

    init() {
        let consent = STUNConsentKey()
        forwarder = Forwarder(bindingTimeoutMs: 30_000, consent: consent)
        wholeTables = Forwarder(bindingTimeoutMs: 30_000, consent: consent)
        post()
    }

    func perform(_ op: UInt8, _ reader: inout ByteReader) throws(FuzzViolation) {
        switch op {
        case 0...3:
            let length = Int(reader.byte() ?? 0) * 6
            let source = op == 3 ? Self.stranger : members[Int(op)].address
            try feed(reader.bytes(length), from: source)
        case 4:
            let member = members[Int(reader.byte() ?? 0) % members.count]
            let sequence = reader.bytes(2).reduce(UInt16(0)) { $0 << 8 | UInt16($1) }
            let payloadType = (reader.byte() ?? 111) & 0x7F
            let payload = [UInt8](repeating: 0x5A, count: Int(reader.byte() ?? 40))
            var packet: [UInt8] = [0x80, payloadType, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
            packet += [0, 0, 0x03, 0xC0]
            let ssrc = rotated ? member.ssrc ^ 0xFFFF : member.ssrc
            packet += [UInt8(ssrc >> 24), UInt8(ssrc >> 16 & 0xFF), UInt8(ssrc >> 8 & 0xFF), UInt8(ssrc & 0xFF)]
            try feed(packet + payload, from: member.address)
        case 5:
            let choice = Int(reader.byte() ?? 0)
            let member = members[(choice & 0x3F) % members.count]
            let source = choice & 0x80 != 0 ? Self.stranger : member.address
            // An authenticated binding from a new address is answered with a
            // consent token; echoed from there, it moves the peer (a NAT rebinding).
            consentAsked = nil
            var answered = try feed(bindingRequest(member), from: source)
            if answered, let token = consentAsked {
                guard choice & 0x40 != 0 else { return }
                consentAsked = nil
                answered = try feed(bindingRequest(member, consent: token), from: source)
                if answered, consentAsked != nil { throw FuzzViolation("an echoed consent token did not bind") }
            }
            if answered, member.present {
                for (slot, address) in bound where address == source { bound[slot] = nil }
                bound[member.slot] = source
                bindings += 1
            }
        case 6:
            nowNs += UInt64(reader.byte() ?? 0) * 10_000_000
            forwarder.sweep(nowNs: nowNs)
            wholeTables.sweep(nowNs: nowNs)
            let reports = forwarder.takeReports(nowNs: nowNs).sorted { $0.slot < $1.slot }
            let expected = wholeTables.takeReports(nowNs: nowNs).sorted { $0.slot < $1.slot }
            guard reports == expected else {
                throw FuzzViolation("rows posted alone report \(reports), the whole tables \(expected)")
            }
        default:
            change(reader.byte() ?? 0)
        }
    }

    /// One change to the room's table, posted as the room's actor posts it.
    private func change(_ choice: UInt8) {
        switch choice % 6 {
        case 0:
            let index = Int(choice / 6) % 2
            members[index].mayPublish.toggle()
            // Half the time as the room posts a mute: that row alone.
            guard choice / 12 % 2 == 1, members[index].present else { break }
            let member = members[index]
            forwarder.apply(
                .updatePeer(Self.roomID, slot: member.slot, ssrcs: ssrcs(of: member), mayPublish: member.mayPublish),
                nowNs: nowNs)
            wholeTables.apply(wholeTable, nowNs: nowNs)
            return
        case 1: rotated.toggle()
        case 2:
            members[2].present = false
            bound[3] = nil
            applyToBoth(.removeListeners(Self.roomID, slots: [3]))
            return
        case 3:
            members[2].present = true
            applyToBoth(.addListener(Self.roomID, config(members[2]), publishers: [1]))
            return
        case 4: loudest = loudest == nil ? Int(choice % 3) + 1 : nil
        default:
            members[1].subscribers = members[1].subscribers.isEmpty ? [1] : []
        }
        post()
    }

    private func post() { applyToBoth(wholeTable) }

    private var wholeTable: ForwarderCommand {
        .room(Self.roomID, members.filter(\.present).map(config), loudest: loudest)
    }

    private func applyToBoth(_ command: ForwarderCommand) {
        forwarder.apply(command, nowNs: nowNs)
        wholeTables.apply(command, nowNs: nowNs)
    }

    private func config(_ member: Member) -> MediaPeerConfig {
        MediaPeerConfig(
            slot: member.slot, peer: member.peer, username: CredentialKey(member.username)!,
            integrityKey: STUNIntegrityKey(shortTermPassword: member.password),
            ssrcs: ssrcs(of: member),
            mayPublish: member.mayPublish,
            subscribers: member.subscribers.filter { slot in members.contains { $0.slot == slot && $0.present } },
            hearsLoudestOnly: loudest != nil && member.slot == 3)
    }

    private func ssrcs(of member: Member) -> (UInt32?, UInt32?) {
        rotated ? (member.ssrc ^ 0xFFFF, member.ssrc) : (member.ssrc, nil)
    }

    private func bindingRequest(_ member: Member, consent: STUNConsentToken? = nil) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 256)
        let transaction = STUNTransactionID.random(using: &transactions)
        let request: [UInt8]? = buffer.withUnsafeMutableBytes { raw in
            guard var builder = try? STUNMessageBuilder(type: .bindingRequest, transactionID: transaction, into: raw),
                (try? builder.appendUsername(member.username)) != nil,
                (try? builder.appendSoftware("confab media 1.0")) != nil,
                consent.map({ (try? builder.appendConsentToken($0)) != nil }) ?? true,
                (try? builder.appendMessageIntegrity(key: STUNIntegrityKey(shortTermPassword: member.password))) != nil,
                (try? builder.appendFingerprint()) != nil
            else { return nil }
            return Array(builder.bytes)
        }
        return request ?? []
    }

    /// Routes one datagram and checks where its copies and answers went;
    /// true when it was answered with a binding success.
    @discardableResult
    private func feed(_ datagram: [UInt8], from source: SocketAddress) throws(FuzzViolation) -> Bool {
        nowNs += 20_000_000
        batch.removeAll()
        var answers: [(count: Int, to: SocketAddress, success: Bool)] = []
        datagram.withUnsafeBytes { raw in
            forwarder.route(
                raw, truncated: false, from: source.key, sourceAddress: { source }, nowNs: nowNs, batch: batch,
                flush: { batch.removeAll() },
                reply: { answer, destination in
                    let message = try? STUNMessage.parse(answer)
                    let success = message?.type == .bindingSuccess
                    answers.append((answer.count, destination, success))
                    if success, let token = message?.consentToken(in: answer) { consentAsked = token }
                })
        }
        try compareWithWholeTables(datagram, from: source, answers: answers.map(\.success))
        for answer in answers {
            guard answer.to == source else { throw FuzzViolation("a STUN answer went to \(answer.to), not \(source)") }
            guard answer.count <= datagram.count else {
                throw FuzzViolation("a STUN answer of \(answer.count) bytes to a request of \(datagram.count)")
            }
        }
        let answeredSuccess = answers.contains { $0.success }
        guard batch.count > 0 else { return answeredSuccess }
        copies += batch.count
        guard let sender = members.first(where: { $0.present && bound[$0.slot] == source }) else {
            throw FuzzViolation("\(batch.count) copies of a datagram from \(source), which no peer has bound")
        }
        let isRTP = datagram.count >= 2 && !RTPOrRTCP.isRTCP(secondByte: datagram[1])
        if isRTP, !sender.mayPublish {
            throw FuzzViolation("RTP from \(sender.peer), who may not publish, was forwarded")
        }
        for index in 0..<batch.count {
            let entry = batch.entry(index)
            let heard = sender.subscribers.contains { slot in
                members.contains { $0.slot == slot && $0.present } && bound[slot] == entry.destination
            }
            guard heard else { throw FuzzViolation("a copy from \(sender.peer) went to \(entry.destination), no subscriber") }
            guard entry.bytes.elementsEqual(datagram) else { throw FuzzViolation("a copy was not the datagram byte for byte") }
        }
        return answeredSuccess
    }

    /// Routes the datagram through the forwarder that took whole tables and
    /// checks it answered and copied as the one that took rows did.
    private func compareWithWholeTables(_ datagram: [UInt8], from source: SocketAddress, answers: [Bool])
        throws(FuzzViolation)
    {
        wholeTablesBatch.removeAll()
        var expectedAnswers: [Bool] = []
        datagram.withUnsafeBytes { raw in
            wholeTables.route(
                raw, truncated: false, from: source.key, sourceAddress: { source }, nowNs: nowNs,
                batch: wholeTablesBatch, flush: { wholeTablesBatch.removeAll() },
                reply: { answer, _ in
                    expectedAnswers.append((try? STUNMessage.parse(answer))?.type == .bindingSuccess)
                })
        }
        guard answers == expectedAnswers else {
            throw FuzzViolation("rows posted alone answered \(answers), the whole tables \(expectedAnswers)")
        }
        let copies = (0..<batch.count).map { "\(batch.entry($0).destination)" }.sorted()
        let expected = (0..<wholeTablesBatch.count).map { "\(wholeTablesBatch.entry($0).destination)" }.sorted()
        guard copies == expected else {
            throw FuzzViolation("rows posted alone sent copies to \(copies), the whole tables to \(expected)")
        }
    }
}
