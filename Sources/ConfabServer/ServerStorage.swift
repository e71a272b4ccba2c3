// Where `confab serve` keeps its state and its identity:
//
//   no --database ─▶ DATA/ : confab.sqlite (ChatStore), token-secret, server-cert.pem + key
//   --database URL ─▶ PostgreSQL: every table (PostgresStore) and the cluster's identity,
//                     one row written by the first node to start (or --tls-cert/--tls-key);
//                     DATA/ keeps only the node's own files (the admin audit log)
//
// Nodes given one database are one server to clients: a token minted with
// the cluster's secret is accepted by each, and each presents the same
// certificate, so clients pin one fingerprint.

import ConfabProtocol
import Crypto
import Foundation
import Logging

/// The token secret and the self-signed certificate the nodes of a cluster share.
public struct ClusterIdentity: Sendable, Hashable {
    public var tokenSecret: [UInt8]
    public var certificatePEM: String
    public var privateKeyPEM: String

    var tokenSecretBase64: String { Data(tokenSecret).base64EncodedString() }

    init(tokenSecret: [UInt8], certificatePEM: String, privateKeyPEM: String) {
        self.tokenSecret = tokenSecret
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    init?(tokenSecretBase64: String, certificatePEM: String, privateKeyPEM: String) {
        guard let secret = Data(base64Encoded: tokenSecretBase64), secret.count >= 32 else { return nil }
        self.init(tokenSecret: Array(secret), certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM)
    }

    /// A fresh identity: 32 random bytes of secret and a self-signed P-256
    /// certificate (the same kind a single server makes in its data directory).
    static func make(host: String) throws(SetupError) -> ClusterIdentity {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let key = P256.Signing.PrivateKey()
        do {
            let certificate = try DataDirectory.selfSignedCertificate(key: key, host: host)
            return ClusterIdentity(
                tokenSecret: secret, certificatePEM: try certificate.serializeAsPEM().pemString + "\n",
                privateKeyPEM: key.pemRepresentation)
        } catch {
            throw SetupError("cannot make a certificate: \(error)")
        }
    }

    /// The cluster's identity as kept in the database at `url`, made and kept
    /// there first if no node has started yet (`createFor`: the host the
    /// certificate names; nil only reads).
    public static func load(url: DatabaseURL, createFor host: String?, logger: Logger) async throws(SetupError)
        -> ClusterIdentity
    {
        let store: PostgresStore
        do {
            store = try await PostgresStore(url: url, logger: logger)
        } catch {
            throw SetupError(error.description)
        }
        defer { store.close() }
        return try await load(from: store, createFor: host)
    }

    static func load(from store: PostgresStore, createFor host: String?) async throws(SetupError) -> ClusterIdentity {
        do {
            if let kept = try await store.clusterIdentity() { return kept }
            guard let host else {
                throw SetupError("the database holds no cluster identity yet: start `confab serve --database URL` once first")
            }
            return try await store.keepClusterIdentity(try make(host: host))
        } catch let error as SetupError {
            throw error
        } catch {
            throw SetupError("\(error)")
        }
    }
}

/// The store, the TLS identity and the token secret a server starts with.
struct ServerStorage {
    var store: any ServerStore
    var identity: ServerIdentity
    var tokenSecret: [UInt8]
    /// The same store as `store` when it is PostgreSQL: the cluster's node table.
    var cluster: PostgresStore?

    static func open(_ configuration: ServerConfiguration, logger: Logger) async throws(SetupError) -> ServerStorage {
        // Made in either case: it also holds what is the node's own (the admin audit log).
        let directory = DataDirectory(path: configuration.dataDirectory)
        try directory.create()
        if let url = configuration.database {
            return try await openCluster(url, configuration: configuration, logger: logger)
        }
        let identity = try tlsIdentity(configuration) { () throws(SetupError) in
            try directory.ensureSelfSignedCertificate(host: configuration.host)
            return try ServerIdentity(certificatePath: directory.certificatePath, privateKeyPath: directory.privateKeyPath)
        }
        let secret = try directory.tokenSecret(create: true)
        do {
            return ServerStorage(store: try ChatStore(path: directory.databasePath), identity: identity, tokenSecret: secret)
        } catch {
            throw SetupError(error.description)
        }
    }

    private static func openCluster(_ url: DatabaseURL, configuration: ServerConfiguration, logger: Logger)
        async throws(SetupError) -> ServerStorage
    {
        let store: PostgresStore
        do {
            store = try await PostgresStore(url: url, logger: logger)
        } catch {
            throw SetupError(error.description)
        }
        do throws(SetupError) {
            let cluster = try await ClusterIdentity.load(from: store, createFor: configuration.host)
            let identity = try tlsIdentity(configuration) { () throws(SetupError) in
                try ServerIdentity(
                    certificatePEM: cluster.certificatePEM, privateKeyPEM: cluster.privateKeyPEM,
                    source: "the cluster's certificate in \(url.redacted)")
            }
            return ServerStorage(store: store, identity: identity, tokenSecret: cluster.tokenSecret, cluster: store)
        } catch {
            store.close()
            throw error
        }
    }

    /// `--tls-cert` and `--tls-key` when given, else the server's own.
    private static func tlsIdentity(
        _ configuration: ServerConfiguration, own: () throws(SetupError) -> ServerIdentity
    ) throws(SetupError) -> ServerIdentity {
        switch (configuration.certificatePath, configuration.privateKeyPath) {
        case (let certificate?, let key?): try ServerIdentity(certificatePath: certificate, privateKeyPath: key)
        case (nil, nil): try own()
        default: throw SetupError("--tls-cert and --tls-key go together")
        }
    }
}
