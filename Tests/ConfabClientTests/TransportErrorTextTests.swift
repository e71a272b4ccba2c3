// What a person reads when the server cannot be reached.
import ConfabClient
import Foundation
import Testing

@Suite("connection errors in words")
struct TransportErrorTextTests {
    @Test("an unknown host is named plainly, without NIO's type names")
    func unknownHost() async throws {
        let session = try ConfabSession(url: "wss://no-such-host.invalid:7443/room", token: "x", fingerprint: "SHA256:" + String(repeating: "ab", count: 32), knownServersPath: nil)
        do {
            try await session.join()
            Issue.record("joined a host that does not exist")
        } catch {
            #expect(error.message.contains("no such host \"no-such-host.invalid\""), "\(error.message)")
            #expect(!error.message.contains("SocketAddressError"), "\(error.message)")
        }
    }
}
