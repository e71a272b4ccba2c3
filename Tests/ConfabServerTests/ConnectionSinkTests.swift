// A live connection's sink writes WebSocket frames straight to its NIO
// channel. Over a real TCP connection on loopback: a reader gets every frame
// in the order `send` was called (from a task that moves between threads),
// and a reader that stops reading is dropped at the sink's limit (the
// connection closed by the server) instead of the server holding its frames
// for ever.

import ConfabProtocol
import ConfabTestSupport
import NIOCore
import NIOPosix
import NIOWebSocket
import Synchronization
import Testing

@testable import ConfabServer

@Suite("A live connection's frames go straight to its channel")
struct ConnectionSinkTests {
    /// The server end of one TCP connection whose pipeline encodes WebSocket frames,
    /// and the client end, which decodes them (or does not read at all).
    private struct Link {
        let connection: LoopbackConnection
        let received: FrameCollector

        var server: any Channel { connection.server }
        var client: any Channel { connection.client }
        func close() async { await connection.close() }
    }

    private final class FrameCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = WebSocketFrame
        let frames = Mutex<[WebSocketFrame]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            frames.withLock { $0.append(frame) }
        }
    }

    private static func link(clientReads: Bool) async throws -> Link {
        let received = FrameCollector()
        let client = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: clientReads)
            // A small receive buffer, so that a reader that stops reading is
            // behind after a few hundred kilobytes, not megabytes.
            .channelOption(.socketOption(.so_rcvbuf), value: 16_384)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
                    try channel.pipeline.syncOperations.addHandler(received)
                }
            }
        let connection = try await LoopbackConnection.open(
            serverHandlers: { try $0.addHandler(WebSocketFrameEncoder()) }, client: client)
        return Link(connection: connection, received: received)
    }

    @Test("a reader gets every frame, in the order sent, though the sender moves between threads")
    func framesArriveInOrder() async throws {
        let link = try await Self.link(clientReads: true)
        let (sink, _) = ConnectionSink.make(writingTo: link.server)
        let count = 2_000
        for number in 0..<count {
            sink.send("message \(number)")
            if number % 7 == 0 { await Task.yield() }
        }
        try #require(await waitUntil(timeout: .seconds(10)) { link.received.frames.withLock { $0.count } >= count })
        let texts = link.received.frames.withLock { frames in
            frames.map { String(buffer: $0.unmaskedData) }
        }
        #expect(texts == (0..<count).map { "message \($0)" })
        #expect(link.received.frames.withLock { $0.allSatisfy { $0.opcode == .text && $0.fin && $0.maskKey == nil } })
        #expect(!sink.isClosing)
        await link.close()
    }

    @Test("a reader that stops reading is dropped once its unwritten frames reach the limit, by count or by bytes",
          arguments: [(64, ConnectionSink.byteLimit), (100_000, 2 << 20)])
    func slowReaderIsDropped(queueLimit: Int, byteLimit: Int) async throws {
        let link = try await Self.link(clientReads: false)
        let (sink, queue) = ConnectionSink.make(writingTo: link.server, queueLimit: queueLimit, byteLimit: byteLimit)
        let line = String(repeating: "x", count: 16_384)
        // Far more than the socket buffers take: the frames past them stay unwritten.
        var sent = 0
        while !sink.isClosing, sent < 10_000 {
            sink.send(line)
            sent += 1
            if sent % 16 == 0 { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(sink.overflowed)
        #expect(sent < 10_000)
        // The server closes the connection itself; nothing waits for the reader.
        #expect(await waitUntil(timeout: .seconds(5)) { !link.server.isActive })
        // The writer task's queue ends, so the connection's tasks end.
        var leftInQueue = 0
        for await _ in queue { leftInQueue += 1 }
        #expect(leftInQueue == 0)
        // The reader, reading again, gets what fitted in the socket buffers
        // (whole frames, in order) and then the end of the connection.
        try await link.client.setOption(.autoRead, value: true).get()
        link.client.read()
        // A bound, not a speed: on a loaded two-core host the parallel suites can
        // hold the reader off for more than ten seconds.
        #expect(await waitUntil(timeout: .seconds(30)) { !link.client.isActive })
        let received = link.received.frames.withLock { $0 }
        #expect(received.filter { $0.opcode == .text }.allSatisfy { $0.data.readableBytes == 16_384 })
        // Sends after the drop are ignored.
        sink.send("late")
        #expect(link.received.frames.withLock { $0.count } == received.count)
        await link.close()
    }
}
