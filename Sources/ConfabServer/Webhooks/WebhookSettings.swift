// Webhooks in the server's configuration: `[webhooks]` in the `--config`
// file (docs/ADMIN.md, "Webhooks").
//
//   [webhooks]
//   queueLimit = 10000              # events waiting per endpoint before new ones are dropped
//   retryInitialMs = 500            # the first retry's wait; it doubles up to retryMaxMs
//   retryMaxMs = 30000
//   giveUpAfterSeconds = 3600       # an event still undelivered this long after it happened is dropped
//
//   [[webhooks.endpoints]]
//   name = "ops"                    # in /metrics and the logs (default: hook1, hook2, …)
//   url = "https://hooks.example.org/confab"
//   secret = "at least 16 characters"
//   events = ["room.started", "room.ended"]   # default: every kind but chat.message

import ConfabProtocol
import Foundation

/// The kinds of event a webhook endpoint can ask for.
public enum WebhookEventKind: String, Codable, Hashable, Sendable, CaseIterable {
    case roomStarted = "room.started"
    case roomEnded = "room.ended"
    case peerJoined = "peer.joined"
    case peerLeft = "peer.left"
    case roleChanged = "role.changed"
    /// A peer answered a request to take a role or to unmute (the API's, with `by` @server, or a host's).
    case promptAnswered = "prompt.answered"
    /// Nobody answered such a request within the room's prompt lifetime (60 s by default).
    case promptExpired = "prompt.expired"
    case callStarted = "call.started"
    case callEnded = "call.ended"
    /// Off unless asked for: it carries what people wrote, direct messages
    /// included, to a system outside the meeting, and one event per message.
    case chatMessage = "chat.message"

    /// What an endpoint gets when its `events` is not given.
    public static let defaults: Set<WebhookEventKind> = Set(allCases).subtracting([.chatMessage])
}

/// One receiver of webhook deliveries.
public struct WebhookEndpoint: Hashable, Sendable {
    /// Names it in /metrics and the logs.
    public var name: String
    public var url: String
    /// The HMAC-SHA256 key of the signature header, as UTF-8 bytes.
    public var secret: String
    public var events: Set<WebhookEventKind>

    public init(name: String, url: String, secret: String, events: Set<WebhookEventKind> = WebhookEventKind.defaults) {
        self.name = name
        self.url = url
        self.secret = secret
        self.events = events
    }

    /// The shortest secret accepted, in bytes.
    public static let minimumSecretBytes = 16
}

/// `[webhooks]`: the endpoints, and how long and how much to keep trying.
public struct WebhookSettings: Hashable, Sendable {
    public var endpoints: [WebhookEndpoint] = []
    /// Events waiting per endpoint; past this, new events are dropped (and counted).
    public var queueLimit = 10_000
    public var retryInitialMs = 500
    public var retryMaxMs = 30_000
    /// An event not delivered this long after it happened is dropped (and counted).
    public var giveUpAfterSeconds = 3_600
    /// How long one delivery may take, connecting included.
    public var requestTimeoutMs = 10_000

    public init(endpoints: [WebhookEndpoint] = []) {
        self.endpoints = endpoints
    }

    /// The wait before retry number `attempt` (1 for the first retry):
    /// doubling from `retryInitialMs`, at most `retryMaxMs`.
    public func backoffMs(attempt: Int) -> Int {
        let doublings = min(max(attempt - 1, 0), 20)
        return min(retryInitialMs << doublings, retryMaxMs)
    }
}

extension ConfigFile {
    /// `[webhooks]`, as written in the file.
    public struct WebhooksSection: Decodable, Sendable {
        public var queueLimit: Int?
        public var retryInitialMs: Int?
        public var retryMaxMs: Int?
        public var giveUpAfterSeconds: Int?
        public var endpoints: [EndpointSection]?

        public struct EndpointSection: Decodable, Sendable {
            public var name: String?
            public var url: String
            public var secret: String
            public var events: [String]?
        }

        func validate(path: String, text: String) throws(ConfigError) {
            func fail(_ key: [String], _ message: String) -> ConfigError {
                ConfigError(path: path, line: ConfigFile.line(of: key, in: text), message: message)
            }
            let bounds: [(String, Int?, ClosedRange<Int>)] = [
                ("queueLimit", queueLimit, 1...1_000_000), ("retryInitialMs", retryInitialMs, 10...3_600_000),
                ("retryMaxMs", retryMaxMs, 10...3_600_000), ("giveUpAfterSeconds", giveUpAfterSeconds, 1...604_800),
            ]
            for (key, value, range) in bounds {
                if let value, !range.contains(value) {
                    throw fail(["webhooks", key], "webhooks.\(key) must be \(range.lowerBound)...\(range.upperBound)")
                }
            }
            var names: Set<String> = []
            for (index, endpoint) in (endpoints ?? []).enumerated() {
                let key = ["webhooks", "endpoints", "[\(index)]"]
                let label = "webhooks.endpoints[\(index)]"
                guard let url = URL(string: endpoint.url), let scheme = url.scheme?.lowercased(),
                    scheme == "http" || scheme == "https", url.host?.isEmpty == false
                else {
                    throw fail(key + ["url"], "\(label).url must be an http:// or https:// URL with a host")
                }
                guard endpoint.secret.utf8.count >= WebhookEndpoint.minimumSecretBytes else {
                    throw fail(
                        key + ["secret"], "\(label).secret must be at least \(WebhookEndpoint.minimumSecretBytes) bytes")
                }
                for kind in endpoint.events ?? [] where WebhookEventKind(rawValue: kind) == nil {
                    let known = WebhookEventKind.allCases.map(\.rawValue).joined(separator: ", ")
                    throw fail(key + ["events"], "\(label).events: unknown event \"\(kind)\" (known: \(known))")
                }
                let name = Self.name(of: endpoint, index: index)
                guard !name.isEmpty, name.utf8.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
                else {
                    throw fail(key + ["name"], "\(label).name must be 1 to 64 letters, digits, - _ or .")
                }
                guard names.insert(name).inserted else { throw fail(key + ["name"], "\(label).name \(name) is used twice") }
            }
        }

        func apply(to settings: inout WebhookSettings) {
            if let queueLimit { settings.queueLimit = queueLimit }
            if let retryInitialMs { settings.retryInitialMs = retryInitialMs }
            if let retryMaxMs { settings.retryMaxMs = retryMaxMs }
            if let giveUpAfterSeconds { settings.giveUpAfterSeconds = giveUpAfterSeconds }
            settings.endpoints = (endpoints ?? []).enumerated().map { index, endpoint in
                WebhookEndpoint(
                    name: Self.name(of: endpoint, index: index), url: endpoint.url, secret: endpoint.secret,
                    events: endpoint.events.map { Set($0.compactMap(WebhookEventKind.init(rawValue:))) }
                        ?? WebhookEventKind.defaults)
            }
        }

        private static func name(of endpoint: EndpointSection, index: Int) -> String {
            endpoint.name ?? "hook\(index + 1)"
        }
    }
}
