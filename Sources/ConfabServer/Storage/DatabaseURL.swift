// `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…]`, as libpq
// and every PostgreSQL tool write it (RFC 3986 URI, percent-encoded parts).

import Foundation
import NIOSSL
import PostgresNIO

public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// libpq's `sslmode` values that Confab supports. libpq's default is
    /// `prefer`; like libpq, `prefer` and `require` encrypt without checking
    /// the certificate, and `verify-full` checks it against the system's
    /// trusted roots and the host name.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case disable
        case prefer
        case require
        case verifyFull = "verify-full"

        /// Encryption without a certificate check, as libpq's prefer and require.
        static var uncheckedTLS: TLSConfiguration {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return configuration
        }

        var clientTLS: PostgresClient.Configuration.TLS {
            switch self {
            case .disable: return .disable
            case .prefer: return .prefer(Self.uncheckedTLS)
            case .require: return .require(Self.uncheckedTLS)
            case .verifyFull: return .require(.makeClientConfiguration())
            }
        }
    }

    public init(parsing text: String) throws(DatabaseURLError) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, ["postgresql", "postgres"].contains(scheme)
        else { throw DatabaseURLError("\(Self.redact(text)): not a postgresql://USER:PASSWORD@HOST:PORT/DATABASE URL") }
        guard let host = components.host, !host.isEmpty else { throw DatabaseURLError("\(Self.redact(text)): no host") }
        guard let user = components.user, !user.isEmpty else { throw DatabaseURLError("\(Self.redact(text)): no user") }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw DatabaseURLError("\(Self.redact(text)): port \(port) is out of range") }
        self.user = user
        password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : path
        tls = .prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw DatabaseURLError("\(Self.redact(text)): unknown parameter \(item.name) (only sslmode is supported)")
            }
            guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                let modes = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                throw DatabaseURLError("\(Self.redact(text)): sslmode must be one of \(modes)")
            }
            tls = mode
        }
    }

    /// The same settings for one connection of its own (outside the pool).
    func connectionConfiguration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch self.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try NIOSSLContext(configuration: TLSMode.uncheckedTLS))
        case .require: tls = .require(try NIOSSLContext(configuration: TLSMode.uncheckedTLS))
        case .verifyFull: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        let (seconds, attoseconds) = connectTimeout.components
        configuration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        return configuration
    }

    /// The URL without its password, for logs and errors.
    public var redacted: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(user)\(password == nil ? "" : ":***")@\(shownHost):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }

    public var description: String { redacted }

    /// Hides the password of a URL that did not parse.
    private static func redact(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let schemeEnd = text.range(of: "://") else { return text }
        let credentials = text[schemeEnd.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}

public struct DatabaseURLError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
