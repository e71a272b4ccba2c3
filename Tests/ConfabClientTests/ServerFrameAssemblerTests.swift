@testable import ConfabClient
import ConfabProtocol
import NIOCore
import NIOWebSocket
import Testing

/// A hostile or broken server's frame orders, without a server.
@Suite("A server's frames into messages")
struct ServerFrameAssemblerTests {
    static func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test("a message in one frame or several comes out whole; a binary message is dropped")
    func assembles() {
        var assembler = ServerFrameAssembler()
        #expect(assembler.take(.text, fin: true, data: Self.buffer(#"{"v":1}"#)) == .message(#"{"v":1}"#))
        #expect(assembler.take(.text, fin: false, data: Self.buffer(#"{"v""#)) == .none)
        #expect(assembler.take(.continuation, fin: false, data: Self.buffer(":")) == .none)
        #expect(assembler.take(.continuation, fin: true, data: Self.buffer("1}")) == .message(#"{"v":1}"#))
        #expect(assembler.take(.binary, fin: false, data: Self.buffer("ab")) == .none)
        #expect(assembler.take(.continuation, fin: true, data: Self.buffer("cd")) == .none)
        #expect(assembler.take(.text, fin: true, data: Self.buffer("next")) == .message("next"))
    }

    @Test("frames out of order close 1002: a continuation with no message begun, a message inside another")
    func outOfOrder() {
        var stray = ServerFrameAssembler()
        #expect(stray.take(.text, fin: true, data: Self.buffer("done")) == .message("done"))
        #expect(stray.take(.continuation, fin: true, data: Self.buffer("again")) == .close(.protocolError))

        var nested = ServerFrameAssembler()
        #expect(nested.take(.text, fin: false, data: Self.buffer("first")) == .none)
        #expect(nested.take(.text, fin: true, data: Self.buffer("second")) == .close(.protocolError), "once, the first was dropped unseen")
    }

    @Test("more than the message limit closes 1009, in one frame or across several")
    func tooLarge() {
        let limit = ProtocolLimits.maximumServerMessageBytes
        var single = ServerFrameAssembler()
        #expect(single.take(.text, fin: true, data: ByteBuffer(repeating: 0x61, count: limit)) != .close(.messageTooLarge))
        #expect(single.take(.text, fin: true, data: ByteBuffer(repeating: 0x61, count: limit + 1)) == .close(.messageTooLarge))
        var split = ServerFrameAssembler()
        #expect(split.take(.text, fin: false, data: ByteBuffer(repeating: 0x61, count: limit)) == .none)
        #expect(split.take(.continuation, fin: true, data: Self.buffer("a")) == .close(.messageTooLarge))
    }
}
