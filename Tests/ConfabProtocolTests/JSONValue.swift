import ConfabProtocol
import Foundation

/// Any JSON value, compared structurally: key order and whitespace do not
/// matter, every key and value does. Lets tests state expected JSON by hand.
enum JSONValue: Hashable, Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    init(parsing data: Data) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: data)
    }

    init(parsing text: String) throws {
        try self.init(parsing: Data(text.utf8))
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .array(let values): "[" + values.map(\.description).joined(separator: ",") + "]"
        case .object(let members):
            "{" + members.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        }
    }

    /// The member names of an object, for checking which keys a message uses.
    var keys: Set<String> {
        if case .object(let members) = self { Set(members.keys) } else { [] }
    }
}

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
