import ConfabMacros
import ConfabProtocol
import Foundation

/// Where a room lives: `wss://HOST:PORT/ROOM`; without a room, the server
/// root `wss://HOST:PORT/`, where a user goes online and places calls.
@PublicMemberwiseInit
public struct ServerEndpoint: Hashable, Sendable, CustomStringConvertible {
    public static let defaultPort = 7443

    public var host: String
    public var port: Int = ServerEndpoint.defaultPort
    /// Nil for the server root (the presence connection).
    public var room: RoomName?

    /// Parses `wss://HOST[:PORT]` or `wss://HOST[:PORT]/`: the server root.
    public init(serverURL text: String) throws(SessionError) {
        guard let components = URLComponents(string: text), components.scheme?.lowercased() == "wss" else {
            throw .invalidArgument("not a wss:// URL: expected wss://HOST:PORT")
        }
        guard components.path.isEmpty || components.path == "/" else {
            throw .invalidArgument("the URL names a room: expected wss://HOST:PORT (calls happen on the server root)")
        }
        let (host, port) = try Self.hostAndPort(of: components, expected: "wss://HOST:PORT")
        try Self.checkNoQueryOrFragment(components, expected: "wss://HOST:PORT")
        self.init(host: host, port: port, room: nil)
    }

    /// The same server, another room (or the root).
    public func with(room: RoomName?) -> ServerEndpoint {
        ServerEndpoint(host: host, port: port, room: room)
    }

    /// The WebSocket path: `/ROOM`, or `/` for the server root.
    public var path: String { "/" + (room?.rawValue ?? "") }

    /// Parses `wss://HOST[:PORT]/ROOM`. IPv6 hosts go in brackets (`wss://[::1]:7443/r`).
    public init(url text: String) throws(SessionError) {
        guard let components = URLComponents(string: text), components.scheme?.lowercased() == "wss" else {
            throw .invalidArgument("not a wss:// URL: expected wss://HOST:PORT/ROOM")
        }
        let (host, port) = try Self.hostAndPort(of: components, expected: "wss://HOST:PORT/ROOM")
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        guard let room = RoomName(rawValue: path) else {
            throw .invalidArgument("the URL's path is not a room name: \(RoomName.validForm)")
        }
        try Self.checkNoQueryOrFragment(components, expected: "wss://HOST:PORT/ROOM")
        self.init(host: host, port: port, room: room)
    }

    /// The URL's host (an IPv6 address without its brackets) and port
    /// (default 7443); `expected` is the form the errors name.
    private static func hostAndPort(
        of components: URLComponents, expected: String
    ) throws(SessionError) -> (host: String, port: Int) {
        guard var host = components.host, !host.isEmpty else {
            throw .invalidArgument("the URL names no host: expected \(expected)")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        // Percent escapes are decoded into the host: a URL from a server (a
        // redirect, a cluster node) could otherwise carry control characters.
        guard HostName.isPlausible(host) else {
            throw .invalidArgument("the URL's host is not a host name or IP address: expected \(expected)")
        }
        let port = components.port ?? defaultPort
        guard (1...65_535).contains(port) else { throw .invalidArgument("port \(port) is out of range") }
        return (host, port)
    }

    private static func checkNoQueryOrFragment(_ components: URLComponents, expected: String) throws(SessionError) {
        guard components.query == nil, components.fragment == nil else {
            throw .invalidArgument("the URL has a query or fragment: expected \(expected)")
        }
    }

    /// `host:port` (IPv6 in brackets), as known_servers records it.
    public var hostAndPort: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The URL to open.
    public var url: String { "wss://\(hostAndPort)\(path)" }

    public var description: String { url }
}

/// How long to wait between reconnection attempts: exponential with jitter,
/// bounded, giving up after a total time.
public struct ReconnectPolicy: Hashable, Sendable {
    /// The delay before the first attempt (before jitter), in ms.
    public var initialDelayMs: Int
    /// The longest delay between two attempts, in ms.
    public var maximumDelayMs: Int
    /// Each delay is this many times the previous one (before jitter).
    public var multiplier: Double
    /// Each delay is drawn from [(1 − jitter) · d, d], so clients that dropped
    /// together do not come back together. 0 … 1.
    public var jitter: Double
    /// Stop trying after this long since the drop, in ms.
    public var giveUpAfterMs: Int

    /// The first retry within 1 s, then 2, 4, 8, 10, 10 … s (each jittered
    /// down by up to half), giving up after 5 minutes.
    public static let standard = ReconnectPolicy(
        initialDelayMs: 1_000, maximumDelayMs: 10_000, multiplier: 2, jitter: 0.5, giveUpAfterMs: 300_000)

    public init(initialDelayMs: Int, maximumDelayMs: Int, multiplier: Double, jitter: Double, giveUpAfterMs: Int) {
        self.initialDelayMs = max(0, initialDelayMs)
        self.maximumDelayMs = max(self.initialDelayMs, maximumDelayMs)
        self.multiplier = max(1, multiplier)
        self.jitter = min(max(jitter, 0), 1)
        self.giveUpAfterMs = max(0, giveUpAfterMs)
    }

    /// The delay before attempt `attempt` (from 1), given a uniform random
    /// number in 0 ..< 1. Pure, so tests choose the randomness.
    public func delayMs(attempt: Int, random: Double) -> Int {
        let exponent = Double(max(attempt, 1) - 1)
        let unjittered = min(Double(maximumDelayMs), Double(initialDelayMs) * pow(multiplier, exponent))
        let fraction = 1 - jitter * min(max(random, 0), 1)
        return Int((unjittered * fraction).rounded())
    }
}

/// Everything a session needs to know before it joins.
public struct SessionConfiguration: Sendable {
    public var endpoint: ServerEndpoint
    /// The HS256 JWT from `confab token`.
    public var token: String
    /// A display name, used when the token carries none.
    public var displayName: String?
    /// Initial metadata, opaque to the server.
    public var metadata: String?
    /// Start with the microphone muted (the default: nobody is live by surprise).
    public var startMuted = true
    /// How many chat messages the first `joined` should bring.
    public var historyLimit = ProtocolLimits.defaultHistoryPageSize
    /// The audio formats beyond Opus this client plays, declared at `join`:
    /// publishers send RED only while everyone who hears them declared it.
    /// The SDK's media side plays them all; a session whose audio something
    /// else plays declares only what that plays.
    public var receives = AudioPayloadFormats.all
    /// How long a request waits for its reply, in ms.
    public var requestTimeoutMs = 10_000
    public var reconnect = ReconnectPolicy.standard
    /// Keepalive when the server's `joined` says nothing else (it always does).
    public var keepalive = KeepaliveInfo()

    public init(endpoint: ServerEndpoint, token: String, displayName: String? = nil) {
        self.endpoint = endpoint
        self.token = token
        self.displayName = displayName
    }
}
