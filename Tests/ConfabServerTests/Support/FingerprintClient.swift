// A plain TLS client that trusts a server only if its leaf certificate has
// the expected SHA-256 fingerprint (NIOSSL's custom verification callback),
// used for HTTP requests (/healthz, /metrics) and to check the pin itself.

import ConfabProtocol
import ConfabServer
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

enum FingerprintClient {
    /// Sends `request` over TLS to 127.0.0.1:port and returns everything the
    /// server answers until it closes. Throws if the certificate's
    /// fingerprint is not `fingerprint`.
    static func exchange(port: Int, fingerprint: CertificateFingerprint, request: String) async throws -> String {
        var tls = TLSConfiguration.makeClientConfiguration()
        // The callback below replaces chain verification: a self-signed
        // certificate is trusted by its fingerprint alone.
        tls.certificateVerification = .noHostnameVerification
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler(
                        context: context, serverHostname: nil,
                        customVerificationCallback: { certificates, promise in
                            let presented = certificates.first.flatMap { try? $0.toDERBytes() }
                                .map(CertificateFingerprint.init(certificateDER:))
                            promise.succeed(presented == fingerprint ? .certificateVerified : .failed)
                        })
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var response = ""
            do {
                for try await chunk in inbound {
                    response += String(buffer: chunk)
                }
            } catch NIOSSLError.uncleanShutdown {
                // The server may close TCP without close_notify after a
                // `Connection: close` response; the body is complete.
            }
            return response
        }
    }

    /// `GET path` with `Connection: close`; the status line and body.
    static func get(_ path: String, port: Int, fingerprint: CertificateFingerprint) async throws -> (
        status: String, body: String
    ) {
        let response = try await exchange(
            port: port, fingerprint: fingerprint,
            request: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let status = response.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
        let body = response.range(of: "\r\n\r\n").map { String(response[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}
