// What the server keeps in its data directory, made on first start:
//
//   DATA/                     (0700)
//     server-cert.pem         self-signed P-256 certificate (SAN: host, localhost, 127.0.0.1, ::1)
//     server-key.pem          its private key            (0600)
//     token-secret            32 random bytes, the HS256 key for join tokens (0600)
//     confab.sqlite (+ -wal, -shm)   the chat log and room/peer history (ChatStore) (0600)
//     admin-audit.jsonl       the management API's changes, one JSON line each (0600)
//
// Files with secrets are created with mode 0600 from the first byte (open
// with O_CREAT|O_EXCL and the mode), never chmod-ed after being written.

import ConfabMacros
import ConfabProtocol
import Crypto
import Foundation
import Glibc
import NIOSSL
import SwiftASN1
import X509

/// A failure to prepare or read the data directory, the certificate or the secret.
public struct SetupError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The data directory's layout.
@PublicMemberwiseInit
public struct DataDirectory: Sendable {
    public let path: String

    public var certificatePath: String { path + "/server-cert.pem" }
    public var privateKeyPath: String { path + "/server-key.pem" }
    public var tokenSecretPath: String { path + "/token-secret" }
    public var databasePath: String { path + "/confab.sqlite" }
    /// The management API's audit log: one JSON line per change request.
    public var adminAuditLogPath: String { path + "/admin-audit.jsonl" }

    /// Creates the directory (and parents) with mode 0700 if missing.
    public func create() throws(SetupError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw SetupError("\(path) exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SetupError("cannot create data directory \(path): \(error.localizedDescription)")
        }
    }

    /// The token secret, made on first use: 32 bytes from the system's CSPRNG.
    public func tokenSecret(create: Bool) throws(SetupError) -> [UInt8] {
        if let existing = FileManager.default.contents(atPath: tokenSecretPath) {
            guard existing.count >= 32 else { throw SetupError("\(tokenSecretPath) is shorter than 32 bytes") }
            return Array(existing)
        }
        guard create else {
            throw SetupError("no token secret in \(path): start `confab serve --data \(path)` once first")
        }
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        try writePrivate(secret, to: tokenSecretPath)
        return secret
    }

    /// Makes the self-signed certificate and key if either is missing. Returns
    /// whether it made them.
    @discardableResult
    public func ensureSelfSignedCertificate(host: String) throws(SetupError) -> Bool {
        let manager = FileManager.default
        if manager.fileExists(atPath: certificatePath), manager.fileExists(atPath: privateKeyPath) { return false }
        let key = P256.Signing.PrivateKey()
        let pem: String
        do {
            let certificate = try Self.selfSignedCertificate(key: key, host: host)
            pem = try certificate.serializeAsPEM().pemString
        } catch {
            throw SetupError("cannot make a certificate: \(error)")
        }
        try? manager.removeItem(atPath: privateKeyPath)
        try writePrivate(Array(key.pemRepresentation.utf8), to: privateKeyPath)
        do {
            try Data((pem + "\n").utf8).write(to: URL(fileURLWithPath: certificatePath))
        } catch {
            throw SetupError("cannot write \(certificatePath): \(error.localizedDescription)")
        }
        return true
    }

    /// A P-256 certificate for `host`, localhost, 127.0.0.1 and ::1, valid
    /// from an hour ago (clock skew) for ten years: clients pin it by
    /// fingerprint, so its expiry protects nothing and would only break rooms.
    static func selfSignedCertificate(key: P256.Signing.PrivateKey, host: String) throws -> Certificate {
        let name = try DistinguishedName {
            CommonName(host.isEmpty ? "confab" : host)
            OrganizationName("Confab")
        }
        var names: [GeneralName] = [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))]
        names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))))
        if let address = IPAddressBytes(host) {
            if !names.contains(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address)))) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))))
            }
        } else if !host.isEmpty, host != "localhost" {
            names.append(.dnsName(host))
        }
        let now = Date()
        var generator = SystemRandomNumberGenerator()
        let serial = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(bytes: [0x01] + serial[1...]),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3_600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 24 * 3_600),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            // No KeyUsage or BasicConstraints: TLS stacks then accept the
            // certificate as its own trust anchor (OpenSSL and BoringSSL refuse
            // a self-signed issuer whose KeyUsage lacks keyCertSign), which is
            // what a client pinning it by trustRoots needs.
            extensions: try Certificate.Extensions {
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
    }

    private func writePrivate(_ bytes: [UInt8], to file: String) throws(SetupError) {
        let descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SetupError("cannot create \(file): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw SetupError("cannot write \(file): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        guard fsync(descriptor) == 0 else { throw SetupError("cannot sync \(file)") }
    }
}

/// The 4 or 16 bytes of an IPv4 or IPv6 literal; nil for a host name.
func IPAddressBytes(_ text: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 {
        return withUnsafeBytes(of: &v4) { Array($0) }
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, text, &v6) == 1 {
        return withUnsafeBytes(of: &v6) { Array($0) }
    }
    return nil
}

/// The server's TLS identity: what it presents and the fingerprint clients pin.
public struct ServerIdentity: Sendable {
    public let tlsConfiguration: TLSConfiguration
    /// Of the leaf certificate.
    public let fingerprint: CertificateFingerprint
    /// Leaf first: what another node of the cluster trusts (AdminClusterForwarding.swift).
    let certificateChain: [NIOSSLCertificate]

    /// Loads a PEM chain (leaf first) and its key.
    public init(certificatePath: String, privateKeyPath: String) throws(SetupError) {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw SetupError("cannot read certificate \(certificatePath): \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            throw SetupError("cannot read private key \(privateKeyPath): \(error)")
        }
        try self.init(chain: chain, key: key, source: certificatePath)
    }

    /// A PEM chain and key held in memory (the cluster's, from the database).
    public init(certificatePEM: String, privateKeyPEM: String, source: String) throws(SetupError) {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
            key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
        } catch {
            throw SetupError("cannot read the certificate or key of \(source): \(error)")
        }
        try self.init(chain: chain, key: key, source: source)
    }

    private init(chain: [NIOSSLCertificate], key: NIOSSLPrivateKey, source: String) throws(SetupError) {
        guard let leaf = chain.first else { throw SetupError("\(source) holds no certificate") }
        certificateChain = chain
        do {
            fingerprint = CertificateFingerprint(certificateDER: try leaf.toDERBytes())
        } catch {
            throw SetupError("cannot encode certificate \(source): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        tlsConfiguration = configuration
    }
}

extension ServerIdentity {
    /// The fingerprint of the first certificate in a PEM file.
    public static func fingerprint(ofPEMFile path: String) throws(SetupError) -> CertificateFingerprint {
        do {
            guard let leaf = try NIOSSLCertificate.fromPEMFile(path).first else {
                throw SetupError("\(path) holds no certificate")
            }
            return CertificateFingerprint(certificateDER: try leaf.toDERBytes())
        } catch let error as SetupError {
            throw error
        } catch {
            throw SetupError("cannot read certificate \(path): \(error)")
        }
    }
}

