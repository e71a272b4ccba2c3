// One TCP connection over loopback with NIO at both ends, each end's pipeline
// set by the test: for channel handlers tested over a real socket.

import ConfabTestSupport
import NIOCore
import NIOPosix
import Synchronization
import Testing

struct LoopbackConnection {
    /// The accepted end.
    let server: any Channel
    let client: any Channel
    let listener: any Channel

    /// Connects `client` to a new listener on 127.0.0.1 whose accepted channel gets `serverHandlers`.
    static func open(
        serverHandlers: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void = { _ in },
        client: ClientBootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    ) async throws -> LoopbackConnection {
        let accepted = Mutex<(any Channel)?>(nil)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                accepted.withLock { $0 = channel }
                return channel.eventLoop.makeCompletedFuture { try serverHandlers(channel.pipeline.syncOperations) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let clientEnd = try await client.connect(to: try #require(listener.localAddress)).get()
        try #require(await waitUntil(timeout: .seconds(20)) { accepted.withLock { $0 != nil } })
        return LoopbackConnection(server: try #require(accepted.withLock { $0 }), client: clientEnd, listener: listener)
    }

    func close() async {
        try? await client.close()
        try? await server.close()
        try? await listener.close()
    }
}
