// A signalling message as the server first meets it, before any JSON parser:
// the screen every text message passes (MessageScreen), then the decoder,
// then the refusal the server would send back.
//
//   bytes ─▶ UTF-8 check   ─ must agree with an RFC 3629 check written here
//         ─▶ depth check   ─ must agree with the depth of the tree Foundation parses
//         ─▶ request id    ─ the scan for a refused message's `id` must find the
//                            top-level id, and only it
//         ─▶ decode        ─ a refusal names the id the message had, reads as one
//                            printable line, and its reply encodes and decodes back
import ConfabProtocol
import ConfabServer
import Foundation

enum ScreenFuzzing {
    static func run(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        let bytes = [UInt8](input)
        let validUTF8 = isWellFormedUTF8(bytes)
        guard MessageScreen.isValidUTF8(bytes) == validUTF8 else {
            throw FuzzViolation("the screen says UTF-8 \(validUTF8 ? "invalid" : "valid") for \(hex(bytes))")
        }
        let tooDeep = MessageScreen.nestsTooDeep(bytes)
        try requestID(bytes)
        guard validUTF8 else { return }  // the server fails the connection with 1007
        let tree = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        if let tree {
            let depth = self.depth(of: tree)
            guard tooDeep == (depth > MessageScreen.maximumDepth) else {
                throw FuzzViolation(
                    "JSON \(depth) deep, yet the screen says \(tooDeep ? "too deep" : "fine") (limit \(MessageScreen.maximumDepth))")
            }
        }
        guard !tooDeep else { return }  // refused unparsed
        try decode(bytes, tree: tree)
    }

    /// Where the server's path ends for a message (the corpus test checks
    /// that the seeds reach each end).
    struct Verdict: Equatable {
        var validUTF8: Bool
        var tooDeep: Bool
        /// What the id scan finds (used when the message is over the rate).
        var scannedID: String?
        /// The decoder's refusal, when the message gets that far and is refused.
        var refusal: ErrorCode?
    }

    static func verdict(_ bytes: [UInt8]) -> Verdict {
        var verdict = Verdict(
            validUTF8: MessageScreen.isValidUTF8(bytes), tooDeep: MessageScreen.nestsTooDeep(bytes),
            scannedID: MessageScreen.requestID(in: bytes)?.rawValue)
        if verdict.validUTF8, !verdict.tooDeep {
            do {
                _ = try ProtocolCodec().decode(Data(bytes), as: ClientMessage.self)
            } catch {
                verdict.refusal = error.code
            }
        }
        return verdict
    }

    /// RFC 3629 §4 (Unicode Table 3-7): the well-formed byte sequences, with no
    /// overlong forms, no surrogates and nothing past U+10FFFF. Written here,
    /// not borrowed from the standard library, as a second opinion.
    static func isWellFormedUTF8(_ bytes: [UInt8]) -> Bool {
        var index = 0
        func continuation(_ offset: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            index + offset < bytes.count && range.contains(bytes[index + offset])
        }
        while index < bytes.count {
            let lead = bytes[index]
            let length: Int
            switch lead {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = continuation(1) ? 2 : 0
            case 0xE0: length = continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : 0
            case 0xE1...0xEC, 0xEE...0xEF: length = continuation(1) && continuation(2) ? 3 : 0
            case 0xED: length = continuation(1, 0x80...0x9F) && continuation(2) ? 3 : 0
            case 0xF0: length = continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : 0
            case 0xF1...0xF3: length = continuation(1) && continuation(2) && continuation(3) ? 4 : 0
            case 0xF4: length = continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) ? 4 : 0
            default: length = 0
            }
            guard length > 0 else { return false }
            index += length
        }
        return true
    }

    /// Arrays and objects inside one another: `[]` is 1, `[[1]]` 2, a number 0.
    static func depth(of value: Any) -> Int {
        if let array = value as? [Any] { return 1 + (array.map(depth(of:)).max() ?? 0) }
        if let object = value as? [String: Any] { return 1 + (object.values.map(depth(of:)).max() ?? 0) }
        return 0
    }

    /// The id scan runs on messages refused unparsed (over the rate), so it
    /// meets any bytes. What it returns must be the message's top-level `id`;
    /// on a short, plain object whose one `id` is a valid request id it must
    /// find it.
    private static func requestID(_ bytes: [UInt8]) throws(FuzzViolation) {
        let found = MessageScreen.requestID(in: bytes)
        // Escapes and repeated keys are where a scan and a parser may fairly
        // differ (the scan gives up on escapes); plain messages must agree.
        guard isPlain(bytes), isWellFormedUTF8(bytes),
            let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        else { return }
        let expected = (object["id"] as? String).flatMap(RequestID.init(rawValue:))
        if let found, found != expected {
            throw FuzzViolation("the id scan read \(found.rawValue) where the top-level id is \(expected?.rawValue ?? "none")")
        }
        if found == nil, let expected, bytes.count <= MessageScreen.idScanBytes {
            throw FuzzViolation("the id scan missed the top-level id \(expected.rawValue) in \(bytes.count) bytes")
        }
    }

    /// What the server does with a message that passed the screen: decode it,
    /// and on a refusal answer with an error naming the request.
    private static func decode(_ bytes: [UInt8], tree: Any?) throws(FuzzViolation) {
        let codec = ProtocolCodec()
        let refusal: ProtocolError
        do {
            _ = try codec.decode(Data(bytes), as: ClientMessage.self)
            return
        } catch {
            refusal = error
        }
        if let id = refusal.requestID, let tree, isPlain(bytes) {
            // The reply may only name an id the message carried.
            guard let object = tree as? [String: Any], object["id"] as? String == id.rawValue else {
                throw FuzzViolation("a refusal names request \(id.rawValue), which the message does not carry")
            }
        }
        let error = refusal.codedError
        guard !error.message.isEmpty, error.message.unicodeScalars.allSatisfy(isPrintable) else {
            throw FuzzViolation("a refusal's message is not one printable line: \(error.message.debugDescription)")
        }
        let reply = ServerMessage(id: refusal.requestID, .error(error))
        let encoded = codec.encode(reply)
        guard let again = try? codec.decode(encoded, as: ServerMessage.self), again == reply else {
            throw FuzzViolation("the refusal \(String(decoding: encoded, as: UTF8.self)) does not decode as it was sent")
        }
    }

    /// No C0 or C1 control (a line break included) and no bidirectional
    /// formatting: the message is shown in terminals and logs as it is.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: false
        default: true
        }
    }

    /// No escapes and one `"id"`: a message where the scan, the decoder and
    /// Foundation's parser must all read the same id.
    private static func isPlain(_ bytes: [UInt8]) -> Bool {
        !bytes.contains(UInt8(ascii: "\\")) && occurrences(of: Array(#""id""#.utf8), in: bytes) == 1
    }

    static func occurrences(of needle: [UInt8], in bytes: [UInt8]) -> Int {
        guard bytes.count >= needle.count else { return 0 }
        return (0...(bytes.count - needle.count)).count { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.prefix(64).map { String($0, radix: 16) }.joined(separator: " ")
    }
}
