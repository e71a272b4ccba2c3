import ConfabProtocol
import Crypto
import Foundation

// Confab servers usually run with a self-signed certificate, so a client does
// not ask a CA whom to trust: it pins the certificate itself, by the SHA-256
// of the leaf certificate's DER bytes (what `confab serve` prints).
//
//   TLS handshake ─▶ leaf certificate DER ─▶ SHA-256 ─▶ --fingerprint given?  ─▶ equal → go on
//                                                    └▶ known_servers line?   ─▶ equal → go on; else refuse
//                                                    └▶ no line (first use)   ─▶ record, go on
//
// known_servers works like SSH's known_hosts: one line per `host:port`, and a
// changed certificate is refused with the file and line to look at.

/// The contents of a known_servers file: pure, so the rules are tested without files.
public struct KnownServers: Hashable, Sendable {
    /// One recorded server.
    public struct Entry: Hashable, Sendable {
        public var hostAndPort: String
        public var fingerprint: CertificateFingerprint
        /// 1-based line number in the file.
        public var line: Int
    }

    public private(set) var entries: [Entry]
    private var lineCount: Int

    /// Parses the file's text. Blank lines, `#` comments and lines that do
    /// not parse are skipped (and keep their numbers).
    public init(contents: String) {
        var entries: [Entry] = []
        let lines = contents.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, !fields[0].hasPrefix("#"),
                let fingerprint = CertificateFingerprint(String(fields[1]))
            else { continue }
            entries.append(Entry(hostAndPort: String(fields[0]), fingerprint: fingerprint, line: index + 1))
        }
        self.entries = entries
        lineCount = contents.hasSuffix("\n") || contents.isEmpty ? lines.count - 1 : lines.count
        lineCount = max(lineCount, 0)
    }

    /// The first entry for a server.
    public func entry(for hostAndPort: String) -> Entry? {
        entries.first { $0.hostAndPort == hostAndPort }
    }

    /// The line to append for a newly trusted server.
    public static func line(for hostAndPort: String, fingerprint: CertificateFingerprint) -> String {
        "\(hostAndPort) \(fingerprint)\n"
    }

    /// Records a server (as appending its line to the file would).
    public mutating func record(_ hostAndPort: String, fingerprint: CertificateFingerprint) {
        lineCount += 1
        entries.append(Entry(hostAndPort: hostAndPort, fingerprint: fingerprint, line: lineCount))
    }

    /// `$XDG_CONFIG_HOME/confab/known_servers`, else `~/.config/confab/known_servers`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let configHome = environment["XDG_CONFIG_HOME"], configHome.hasPrefix("/") {
            return configHome + "/confab/known_servers"
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.config/confab/known_servers"
    }
}

/// What to do with a certificate the server presented.
public enum TrustDecision: Hashable, Sendable {
    /// It matches the pin or the recorded line.
    case trusted
    /// First use: trust it and append this line to known_servers.
    case trustAndRecord(line: String)
    /// Refuse, with a message for people.
    case refused(String)
}

/// How a session decides whether the server's certificate is the right one.
public enum ServerTrust: Sendable, Hashable {
    /// Only this fingerprint (`--fingerprint`). A server not yet in
    /// known_servers is recorded there too, so later joins need no flag.
    case pinned(CertificateFingerprint, knownServersPath: String?)
    /// Trust on first use, recorded in the known_servers file at this path.
    case trustOnFirstUse(knownServersPath: String)

    /// The trust a client's options ask for: `fingerprint` (`SHA256:…`) pins;
    /// without it, trust on first use in the known_servers file at
    /// `knownServersPath`. Neither is an error: nothing would vouch for the server.
    public init(fingerprint: String?, knownServersPath: String?) throws(SessionError) {
        if let fingerprint {
            guard let pin = CertificateFingerprint(fingerprint) else {
                throw .invalidArgument("--fingerprint must be SHA256: followed by 64 hex digits")
            }
            self = .pinned(pin, knownServersPath: knownServersPath)
        } else if let knownServersPath {
            self = .trustOnFirstUse(knownServersPath: knownServersPath)
        } else {
            throw .invalidArgument("without a known_servers file, pass the server's --fingerprint")
        }
    }

    /// Decides about a certificate with fingerprint `presented` from
    /// `hostAndPort`, given the known_servers contents. Pure.
    public func decide(
        presented: CertificateFingerprint, hostAndPort: String, knownServers: KnownServers
    ) -> TrustDecision {
        switch self {
        case .pinned(let expected, let path):
            guard presented == expected else {
                return .refused(
                    "the certificate of \(hostAndPort) is \(presented), not the pinned \(expected): "
                        + "someone may be intercepting the connection, or the fingerprint is mistyped")
            }
            if path != nil, knownServers.entry(for: hostAndPort) == nil {
                return .trustAndRecord(line: KnownServers.line(for: hostAndPort, fingerprint: presented))
            }
            return .trusted
        case .trustOnFirstUse(let path):
            guard let entry = knownServers.entry(for: hostAndPort) else {
                return .trustAndRecord(line: KnownServers.line(for: hostAndPort, fingerprint: presented))
            }
            guard entry.fingerprint == presented else {
                return .refused(
                    "the certificate of \(hostAndPort) has changed: it is now \(presented), but line \(entry.line) "
                        + "of \(path) records \(entry.fingerprint). Someone may be intercepting the connection, "
                        + "or the server made a new certificate. If you trust the change, remove line "
                        + "\(entry.line) of \(path) and connect again (or pass --fingerprint)")
            }
            return .trusted
        }
    }

    /// The known_servers file this policy reads and appends to, if any.
    public var knownServersPath: String? {
        switch self {
        case .pinned(_, let path): path
        case .trustOnFirstUse(let path): path
        }
    }
}

/// Reads and appends the known_servers file.
enum KnownServersFile {
    /// The file's contents; an absent file is empty.
    static func read(_ path: String) -> KnownServers {
        guard let data = FileManager.default.contents(atPath: path) else { return KnownServers(contents: "") }
        return KnownServers(contents: String(decoding: data, as: UTF8.self))
    }

    /// Appends a line, creating the directory (0700) and the file (0600).
    static func append(_ line: String, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            else { throw CocoaError(.fileWriteUnknown) }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        // A file whose last line lacks its newline would glue our line onto it.
        let existing = FileManager.default.contents(atPath: path) ?? Data()
        let prefix = existing.isEmpty || existing.last == UInt8(ascii: "\n") ? "" : "\n"
        try handle.write(contentsOf: Data((prefix + line).utf8))
    }

    /// Applies the trust policy to a presented certificate, recording it on
    /// first use. Returns nil when trusted, else the refusal message.
    static func evaluate(_ trust: ServerTrust, presented: CertificateFingerprint, hostAndPort: String) -> String? {
        let known = trust.knownServersPath.map(read) ?? KnownServers(contents: "")
        switch trust.decide(presented: presented, hostAndPort: hostAndPort, knownServers: known) {
        case .trusted:
            return nil
        case .trustAndRecord(let line):
            if let path = trust.knownServersPath {
                do {
                    try append(line, to: path)
                } catch {
                    // Recording is a convenience; the pin already checked out
                    // (or this is first use), so the connection may go on.
                    return nil
                }
            }
            return nil
        case .refused(let message):
            return message
        }
    }
}
