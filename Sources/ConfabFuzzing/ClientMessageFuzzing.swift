// A signalling message as the server reads it from a client it has not
// trusted yet, and as a client reads the server's: decoding refuses or
// accepts, never traps, and what it accepts survives encode and decode
// unchanged (the server re-encodes what it relays).
import ConfabProtocol
import Foundation

enum ClientMessageFuzzing {
    static func run(_ input: UnsafeRawBufferPointer) throws(FuzzViolation) {
        let data = Data(input)
        try roundTrip(data, as: ClientMessage.self)
        try roundTrip(data, as: ServerMessage.self)
    }

    private static func roundTrip<Message: ProtocolMessage>(_ data: Data, as type: Message.Type)
        throws(FuzzViolation)
    {
        let codec = ProtocolCodec()
        guard let message = try? codec.decode(data, as: type) else { return }
        let encoded = codec.encode(message)
        let again: Message
        do {
            again = try codec.decode(encoded, as: type)
        } catch {
            throw FuzzViolation(
                "\(type) accepted, encoded as \(String(decoding: encoded, as: UTF8.self)), refused again: \(error)")
        }
        guard again == message else {
            throw FuzzViolation("\(type) changed through encode and decode: \(message) became \(again)")
        }
    }
}
