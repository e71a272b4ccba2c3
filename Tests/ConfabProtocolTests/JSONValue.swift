import ConfabProtocol
import ConfabTestSupport
import Foundation

let codec = ProtocolCodec()

func encodedJSON<Message: ProtocolMessage>(_ message: Message) throws -> JSONValue {
    try JSONValue(parsing: codec.encode(message))
}

func decodeClient(_ text: String) throws(ProtocolError) -> ClientMessage {
    try codec.decode(Data(text.utf8))
}

func decodeServer(_ text: String) throws(ProtocolError) -> ServerMessage {
    try codec.decode(Data(text.utf8))
}
