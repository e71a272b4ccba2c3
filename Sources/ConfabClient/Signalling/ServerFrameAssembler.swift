// A server's data frames joined into text messages, with the framing rules
// of RFC 6455 §5.4 enforced (the frame stream does not): I/O-free, so a
// hostile server's frame orders are tested without one.
//
//   text | binary (not inside a message) ─▶ begin ─▶ continuation* ─▶ FIN ─▶ the text
//   a continuation with no message begun, a message inside another ─▶ close 1002
//   more than `ProtocolLimits.maximumServerMessageBytes` in one message ─▶ close 1009
//   binary messages: read and dropped (not part of the protocol)

import ConfabProtocol
import NIOCore
import NIOWebSocket

struct ServerFrameAssembler {
    enum Step: Equatable {
        /// More frames to come, or a binary message read and dropped.
        case none
        case message(String)
        /// Fail the connection with this close code.
        case close(WebSocketErrorCode)
    }

    private var message: ByteBuffer?
    private var isText = false

    mutating func take(_ opcode: WebSocketOpcode, fin: Bool, data: ByteBuffer) -> Step {
        switch opcode {
        case .text, .binary:
            guard message == nil else { return .close(.protocolError) }
            guard data.readableBytes <= ProtocolLimits.maximumServerMessageBytes else { return .close(.messageTooLarge) }
            isText = opcode == .text
            message = data
        case .continuation:
            guard var partial = message else { return .close(.protocolError) }
            var data = data
            guard partial.readableBytes + data.readableBytes <= ProtocolLimits.maximumServerMessageBytes else {
                return .close(.messageTooLarge)
            }
            partial.writeBuffer(&data)
            message = partial
        default:
            return .close(.protocolError)
        }
        guard fin, let complete = message else { return .none }
        message = nil
        return isText ? .message(String(buffer: complete)) : .none
    }
}
