import ConfabProtocol
import ConfabRooms
import Foundation
import TOMLKit

/// Everything `confab serve` is told: where to listen, where its data lives,
/// the room templates and the timing of the connection lifecycle.
public struct ServerConfiguration: Sendable {
    /// The address to listen on (`--host`).
    public var host: String
    /// The TCP port for WebSocket and HTTP (`--port`); 0 picks a free one.
    public var port: Int
    /// Holds the certificate, the token secret and the database (`--data`).
    public var dataDirectory: String
    /// PostgreSQL instead of the data directory (`--database`): the chat log,
    /// history and the cluster's identity, shared by every node given it.
    public var database: DatabaseURL?
    /// This node's name in the cluster (`--node-id`); nil for `NodeSettings.defaultID`. Used with `database` only.
    public var nodeID: String?
    /// How clients and other nodes reach this node (`--advertise wss://HOST:PORT`);
    /// nil for the URL it listens on.
    public var advertisedURL: String?
    /// A real certificate chain and key (`--tls-cert`, `--tls-key`), PEM;
    /// nil to use (and on first start make) the self-signed one in the data dir.
    public var certificatePath: String?
    public var privateKeyPath: String?
    /// Templates by room name; rooms not named use `defaultTemplate`.
    public var templates: [RoomName: RoomTemplate]
    public var defaultTemplate: RoomTemplate
    /// Keepalive timing sent to clients in `joined.keepalive`; a connection
    /// silent for `deadAfterMs` is dropped.
    public var keepalive: KeepaliveInfo
    /// How often rooms are swept for lapsed resumes, expired prompts and idle timeouts.
    public var sweepIntervalMs: Int
    /// Every message a connection sends, chat included.
    public var connectionRate: RateLimit
    /// Largest single WebSocket frame accepted before the WebSocket layer
    /// closes with 1009. Bigger than the 64 KiB message limit on purpose: a
    /// message up to this size is read and refused with `1001
    /// messageTooLarge` while the connection stays open.
    public var maximumFrameBytes: Int
    /// The UDP media port (`--media-port`); nil uses the signalling port's
    /// number (UDP and TCP do not collide), or a free port when that is 0.
    public var mediaPort: Int?
    /// The host clients are told to send media to (`--media-host`), when the
    /// bind address is not reachable as is (0.0.0.0, NAT); nil uses `host`.
    public var mediaAdvertisedHost: String?
    /// A UDP address silent this long is unbound; clients refresh every 5 s.
    public var mediaBindingTimeoutMs: Int = 20_000
    /// How often `speakers` goes out while anyone speaks (and tracks' health is assessed).
    public var speakersIntervalMs: Int = LifecycleDefaults.speakersIntervalMs
    /// Ringing, invitation rate and who may ring whom.
    public var calls = CallSettings()
    /// When a track is flagged `noMedia` or `packetLoss` (docs/SFU.md, "Track health").
    public var trackHealth = TrackHealthConfiguration()
    /// Deadlines and caps for connections that have not authenticated yet (`[connections]`).
    public var admission = AdmissionLimits()
    /// Where room and call events are posted (`[webhooks]`, Webhooks/).
    public var webhooks = WebhookSettings()

    /// What the media plane binds and advertises.
    public var mediaPlane: MediaPlaneConfiguration {
        MediaPlaneConfiguration(
            host: host, port: mediaPort ?? port, advertisedHost: mediaAdvertisedHost,
            bindingTimeoutMs: mediaBindingTimeoutMs)
    }

    public init(
        host: String = "127.0.0.1", port: Int = ServerConfiguration.defaultPort, dataDirectory: String,
        certificatePath: String? = nil, privateKeyPath: String? = nil,
        templates: [RoomName: RoomTemplate] = [:], defaultTemplate: RoomTemplate = .standard,
        keepalive: KeepaliveInfo = KeepaliveInfo(), sweepIntervalMs: Int = 1_000,
        connectionRate: RateLimit = RateLimits.allMessages, maximumFrameBytes: Int = 1 << 20
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.templates = templates
        self.defaultTemplate = defaultTemplate
        self.keepalive = keepalive
        self.sweepIntervalMs = sweepIntervalMs
        self.connectionRate = connectionRate
        self.maximumFrameBytes = maximumFrameBytes
    }

    /// 7443: HTTPS's 443 with a 7 in front, free of well-known services.
    public static let defaultPort = 7443

    /// The template a room is created with.
    public func template(for room: RoomName) -> RoomTemplate {
        templates[room] ?? defaultTemplate
    }

    /// `$XDG_DATA_HOME/confab`, else `~/.local/share/confab` (XDG Base Directory spec).
    public static func defaultDataDirectory(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String
    {
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            return xdg + "/confab"
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/share/confab"
    }
}

// MARK: - The TOML config file

/// The `--config` file: room templates and lifecycle timing.
///
/// ```toml
/// [keepalive]
/// pingIntervalMs = 5000
/// deadAfterMs = 15000
///
/// [default]                 # every room not named below (else the built-in host/speaker/listener)
/// emptyRoomTimeoutMs = 300000
/// [[default.roles]]
/// name = "host"
/// ...
///
/// [rooms.town-hall]         # the template of room "town-hall"
/// maxPeers = 500
/// [[rooms.town-hall.roles]]
/// ...
/// ```
///
/// Templates use the same camelCase keys as the JSON `Role` in PROTOCOL.md.
public struct ConfigFile: Decodable, Sendable {
    public var keepalive: KeepaliveSection?
    public var defaultTemplate: RoomTemplate?
    public var rooms: [String: RoomTemplate]?
    public var calls: CallsSection?
    public var connections: ConnectionsSection?
    public var webhooks: WebhooksSection?

    /// `[calls]`: see `CallSettings`.
    ///
    /// ```toml
    /// [calls]
    /// ringTimeoutMs = 30000
    /// policy = "allowList"      # default "anyone"
    /// [calls.allow]             # with allowList: who may ring whom (either way)
    /// alice = ["bob", "carol"]
    /// ```
    public struct CallsSection: Decodable, Sendable {
        public var ringTimeoutMs: Int?
        public var invitationRate: RateLimit?
        public var policy: String?
        public var allow: [String: [String]]?
    }

    public struct KeepaliveSection: Decodable, Sendable {
        public var pingIntervalMs: Int?
        public var deadAfterMs: Int?
    }

    private enum CodingKeys: String, CodingKey {
        case keepalive
        case defaultTemplate = "default"
        case rooms
        case calls
        case connections
        case webhooks
    }

    /// Reads and checks a config file. Every failure names the file and,
    /// where it can be found, the line.
    public static func load(path: String) throws(ConfigError) -> ConfigFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(path: path, line: nil, message: "cannot read: \(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(ConfigError) -> ConfigFile {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(path: path, line: Int(error.source.begin.line), message: error.description)
        } catch {
            throw ConfigError(path: path, line: nil, message: "\(error)")
        }
        let file: ConfigFile
        do {
            file = try TOMLDecoder().decode(ConfigFile.self, from: table)
        } catch let error as DecodingError {
            var (keyPath, detail) = describe(error)
            // TOMLKit reports a value of the wrong type as a missing key
            // ("A \"Int\" does not exist at …"): a key that is there has the wrong type.
            if case .keyNotFound(_, let context) = error, value(at: keyPath, in: table) != nil {
                detail = "needs " + expectedType(in: context.debugDescription)
            }
            let name = keyPath.reduce("") { name, key in
                key.hasPrefix("[") || name.isEmpty ? name + key : name + "." + key
            }
            throw ConfigError(path: path, line: line(of: keyPath, in: text), message: "\(name): \(detail)")
        } catch {
            throw ConfigError(path: path, line: nil, message: "\(error)")
        }
        do {
            try file.defaultTemplate?.validate()
            for (name, template) in file.rooms ?? [:] {
                guard RoomName(rawValue: name) != nil else {
                    throw ConfigError(
                        path: path, line: line(of: ["rooms", name], in: text),
                        message: "rooms.\(name): not a valid room name (\(RoomName.validForm))")
                }
                do {
                    try template.validate()
                } catch {
                    throw ConfigError(
                        path: path, line: line(of: ["rooms", name], in: text), message: "rooms.\(name): \(error)")
                }
            }
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(path: path, line: line(of: ["default"], in: text), message: "default: \(error)")
        }
        if let calls = file.calls {
            if let ring = calls.ringTimeoutMs, !CallLimits.ringTimeoutRangeMs.contains(ring) {
                throw ConfigError(
                    path: path, line: line(of: ["calls", "ringTimeoutMs"], in: text),
                    message: "calls.ringTimeoutMs must be 1000...300000")
            }
            if let rate = calls.invitationRate, rate.perSecond <= 0 || rate.burst <= 0 {
                throw ConfigError(
                    path: path, line: line(of: ["calls", "invitationRate"], in: text),
                    message: "calls.invitationRate needs positive perSecond and burst")
            }
            if let policy = calls.policy, policy != "anyone", policy != "allowList" {
                throw ConfigError(
                    path: path, line: line(of: ["calls", "policy"], in: text),
                    message: "calls.policy must be \"anyone\" or \"allowList\"")
            }
            for (user, others) in calls.allow ?? [:] {
                for name in [user] + others where PeerID(rawValue: name) == nil {
                    throw ConfigError(
                        path: path, line: line(of: ["calls", "allow", user], in: text),
                        message: "calls.allow.\(user): \(name) is not a valid user id (\(PeerID.validForm))")
                }
            }
        }
        try file.connections?.validate(path: path, text: text)
        try file.webhooks?.validate(path: path, text: text)
        if let keepalive = file.keepalive {
            for (key, value) in [("pingIntervalMs", keepalive.pingIntervalMs), ("deadAfterMs", keepalive.deadAfterMs)] {
                if let value, value <= 0 {
                    throw ConfigError(
                        path: path, line: line(of: ["keepalive", key], in: text),
                        message: "keepalive.\(key) must be positive")
                }
            }
        }
        return file
    }

    /// Applies the file to a configuration.
    public func apply(to configuration: inout ServerConfiguration) {
        if let defaultTemplate { configuration.defaultTemplate = defaultTemplate }
        for (name, template) in rooms ?? [:] {
            if let room = RoomName(rawValue: name) { configuration.templates[room] = template }
        }
        if let ping = keepalive?.pingIntervalMs { configuration.keepalive.pingIntervalMs = ping }
        if let dead = keepalive?.deadAfterMs { configuration.keepalive.deadAfterMs = dead }
        connections?.apply(to: &configuration.admission)
        webhooks?.apply(to: &configuration.webhooks)
        if let calls {
            if let ring = calls.ringTimeoutMs { configuration.calls.ringTimeoutMs = ring }
            if let rate = calls.invitationRate { configuration.calls.invitationRate = rate }
            if calls.policy == "allowList" {
                var pairs: [PeerID: Set<PeerID>] = [:]
                for (user, others) in calls.allow ?? [:] {
                    guard let user = PeerID(rawValue: user) else { continue }
                    pairs[user, default: []].formUnion(others.compactMap(PeerID.init(rawValue:)))
                }
                configuration.calls.policy = .allowList(pairs)
            } else if calls.policy == "anyone" {
                configuration.calls.policy = .anyone
            }
        }
    }

    private static func describe(_ error: DecodingError) -> (path: [String], detail: String) {
        func keys(_ path: [any CodingKey]) -> [String] {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        }
        /// The decoder's coding path sometimes already ends with the key.
        func joined(_ path: [any CodingKey], _ key: any CodingKey) -> [String] {
            let names = keys(path)
            let last = key.intValue.map { "[\($0)]" } ?? key.stringValue
            return names.last == last ? names : names + [last]
        }
        switch error {
        case .keyNotFound(let key, let context):
            return (joined(context.codingPath, key), "missing (required)")
        case .valueNotFound(let type, let context):
            return (keys(context.codingPath), "needs \(describe(type))")
        case .typeMismatch(let type, let context):
            return (keys(context.codingPath), "needs \(describe(type))")
        case .dataCorrupted(let context):
            return (keys(context.codingPath), context.debugDescription)
        @unknown default: return ([], "\(error)")
        }
    }

    /// The value at a decoder key path (`[n]` for array elements), if the file has one.
    private static func value(at keyPath: [String], in table: TOMLTable) -> TOMLValueConvertible? {
        var current: TOMLValueConvertible? = table
        for component in keyPath {
            if component.hasPrefix("["), let index = Int(component.dropFirst().dropLast()) {
                guard let array = current?.array, array.indices.contains(index) else { return nil }
                current = array[index]
            } else {
                current = current?.table?[component]
            }
        }
        return current
    }

    /// The type named in TOMLKit's "A \"Int\" does not exist" message, in a reader's words.
    private static func expectedType(in message: String) -> String {
        let named = message.split(separator: "\"").dropFirst().first.map(String.init) ?? ""
        switch named {
        case "Int", "Int64", "Int32", "UInt32": return "an integer"
        case "Double", "Float": return "a number"
        case "Bool": return "true or false"
        case "String": return "a string"
        default: return "another type"
        }
    }

    /// A TOML value type in a reader's words.
    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is Int32.Type, is Optional<Int>.Type: "an integer"
        case is Double.Type, is Optional<Double>.Type: "a number"
        case is Bool.Type, is Optional<Bool>.Type: "true or false"
        case is String.Type, is Optional<String>.Type: "a string"
        default:
            "\(type)".hasPrefix("Array") ? "an array" : "a table"
        }
    }

    /// The TOML decoder reports a key path, not a line, so find the line. The
    /// path's tables and array elements are followed through the headers that
    /// open them (`[keepalive]`, the n-th `[[rooms.town-hall.roles]]`); in
    /// the innermost section, the line that defines the key; when the key is
    /// not written out (a missing key), the line of the section's header.
    /// Best effort; nil when nothing matches.
    static func line(of keyPath: [String], in text: String) -> Int? {
        guard let key = keyPath.last(where: { !$0.hasPrefix("[") }) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            String($0.drop { $0 == " " || $0 == "\t" })
        }
        /// The dotted name of a `[table]` or `[[array]]` header line, without quotes or spaces.
        func header(_ line: String) -> (name: String, isArray: Bool)? {
            guard line.hasPrefix("[") else { return nil }
            let isArray = line.hasPrefix("[[")
            let body = line.dropFirst(isArray ? 2 : 1).prefix { $0 != "]" }
            return (body.filter { $0 != " " && $0 != "\"" && $0 != "'" }, isArray)
        }
        // The innermost section the path goes through.
        var sectionStart: Int?
        var tables: [String] = []
        // How many of `tables` the section's header names (the rest are inline tables in it).
        var headedTables = 0
        for (position, component) in keyPath.enumerated() {
            if component.hasPrefix("["), let index = Int(component.dropFirst().dropLast()) {
                let name = tables.joined(separator: ".")
                let headers = lines.indices.filter { header(lines[$0]).map { $0.isArray && $0.name == name } ?? false }
                if index < headers.count {
                    sectionStart = headers[index]
                    headedTables = tables.count
                }
            } else if position < keyPath.count - 1 {
                tables.append(component)
                let name = tables.joined(separator: ".")
                if let found = lines.indices.first(where: {
                    ($0 > (sectionStart ?? -1)) && header(lines[$0]).map { !$0.isArray && $0.name == name } ?? false
                }) {
                    sectionStart = found
                    headedTables = tables.count
                }
            }
        }
        func defines(_ line: String, _ key: String) -> Bool {
            line.hasPrefix(key + " ") || line.hasPrefix(key + "=") || line.hasPrefix("\"" + key + "\"")
        }
        func defines(_ line: String) -> Bool { defines(line, key) }
        if let sectionStart {
            // The key itself, else the key of the inline table that holds it
            // (`chatRate = { perSecond = 1, burst = 0 }` for chatRate.burst).
            let names = keyPath.filter { !$0.hasPrefix("[") }.dropFirst(headedTables).reversed()
            for name in names {
                var number = sectionStart + 1
                while number < lines.count, header(lines[number]) == nil {
                    if defines(lines[number], name) { return number + 1 }
                    number += 1
                }
            }
            // The key is not in its section (missing): point at the section.
            return sectionStart + 1
        }
        for (number, line) in lines.enumerated() {
            if defines(line) || header(line)?.name.hasSuffix(key) == true { return number + 1 }
        }
        return nil
    }
}

/// A config file that cannot be used, with where.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public var description: String {
        if let line { "\(path):\(line): \(message)" } else { "\(path): \(message)" }
    }
}

// MARK: - Connections

extension ConfigFile {
    /// `[connections]`: see `AdmissionLimits`.
    ///
    /// ```toml
    /// [connections]
    /// tlsHandshakeTimeoutMs = 5000
    /// httpRequestTimeoutMs = 5000
    /// joinTimeoutMs = 5000
    /// maxUnauthenticated = 512
    /// maxUnauthenticatedPerSource = 64
    /// ```
    public struct ConnectionsSection: Decodable, Sendable {
        public var tlsHandshakeTimeoutMs: Int?
        public var httpRequestTimeoutMs: Int?
        public var joinTimeoutMs: Int?
        public var maxUnauthenticated: Int?
        public var maxUnauthenticatedPerSource: Int?

        private var entries: [(key: String, value: Int?, range: ClosedRange<Int>)] {
            [
                ("tlsHandshakeTimeoutMs", tlsHandshakeTimeoutMs, 100...300_000),
                ("httpRequestTimeoutMs", httpRequestTimeoutMs, 100...300_000),
                ("joinTimeoutMs", joinTimeoutMs, 100...300_000),
                ("maxUnauthenticated", maxUnauthenticated, 1...1_000_000),
                ("maxUnauthenticatedPerSource", maxUnauthenticatedPerSource, 1...1_000_000),
            ]
        }

        func validate(path: String, text: String) throws(ConfigError) {
            for (key, value, range) in entries {
                if let value, !range.contains(value) {
                    throw ConfigError(
                        path: path, line: ConfigFile.line(of: ["connections", key], in: text),
                        message: "connections.\(key) must be \(range.lowerBound)...\(range.upperBound)")
                }
            }
        }

        func apply(to limits: inout AdmissionLimits) {
            if let tlsHandshakeTimeoutMs { limits.tlsHandshakeTimeoutMs = tlsHandshakeTimeoutMs }
            if let httpRequestTimeoutMs { limits.httpRequestTimeoutMs = httpRequestTimeoutMs }
            if let joinTimeoutMs { limits.joinTimeoutMs = joinTimeoutMs }
            if let maxUnauthenticated { limits.maximumUnauthenticated = maxUnauthenticated }
            if let maxUnauthenticatedPerSource { limits.maximumUnauthenticatedPerSource = maxUnauthenticatedPerSource }
        }
    }
}
