// Counters and gauges (swift-metrics) rendered as Prometheus text at /metrics.
//
// Each server has its own registry and factory instead of bootstrapping the
// process-wide MetricsSystem: tests run several servers in one process, and
// MetricsSystem.bootstrap may be called only once.

import ConfabProtocol
import Metrics
import Prometheus

public final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    private let joins: Metrics.Counter
    private let resumes: Metrics.Counter
    private let messages: Metrics.Counter
    private let chatMessages: Metrics.Counter
    private let rooms: Metrics.Meter
    private let peers: Metrics.Meter
    private let usersOnline: Metrics.Meter
    private let callsInProgress: Metrics.Meter
    private let invitations: Metrics.Counter
    private let rateLimitedInvitations: Metrics.Counter
    private let keptSessionWrites: Metrics.Timer
    private let keptSessionRows: Metrics.Counter

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
        joins = Metrics.Counter(label: "confab_joins_total", factory: factory)
        resumes = Metrics.Counter(label: "confab_resumes_total", factory: factory)
        messages = Metrics.Counter(label: "confab_messages_total", factory: factory)
        chatMessages = Metrics.Counter(label: "confab_chat_messages_total", factory: factory)
        rooms = Metrics.Meter(label: "confab_rooms", factory: factory)
        peers = Metrics.Meter(label: "confab_peers", factory: factory)
        usersOnline = Metrics.Meter(label: "confab_users_online", factory: factory)
        callsInProgress = Metrics.Meter(label: "confab_calls_in_progress", factory: factory)
        invitations = Metrics.Counter(label: "confab_call_invitations_total", factory: factory)
        rateLimitedInvitations = Metrics.Counter(label: "confab_call_invitations_rate_limited_total", factory: factory)
        keptSessionWrites = Metrics.Timer(label: "confab_kept_session_write_seconds", factory: factory)
        keptSessionRows = Metrics.Counter(label: "confab_kept_session_rows_total", factory: factory)
        // Present from the start, so a scrape shows 0 rather than nothing.
        usersOnline.set(0)
        callsInProgress.set(0)
        for outcome in InvitationOutcome.allCases { outcomeCounter(outcome).increment(by: 0) }
        unauthenticatedConnections(0)
        for reason in ["deadline", "cap"] {
            Metrics.Counter(label: "confab_connections_closed_total", dimensions: [("reason", reason)], factory: factory)
                .increment(by: 0)
        }
    }

    /// How an invitation ended, for `confab_call_invitation_outcomes_total{outcome=…}`.
    enum InvitationOutcome: String, CaseIterable {
        case accepted, rejected, noResponse, busy, offline, cancelled
    }

    /// Users online (presence) and calls in progress, as they are now.
    func presence(usersOnline users: Int, callsInProgress calls: Int) {
        usersOnline.set(users)
        callsInProgress.set(calls)
    }

    /// `count` people were invited (rung, or found busy or offline).
    func callInvitationsSent(_ count: Int) { invitations.increment(by: count) }

    /// An invitation ended: each invitation ends exactly once.
    func callInvitationEnded(_ outcome: InvitationOutcome) { outcomeCounter(outcome).increment() }

    /// A `call.invite` refused by the rate limit (nobody rung).
    func callInvitationRateLimited() { rateLimitedInvitations.increment() }

    private func outcomeCounter(_ outcome: InvitationOutcome) -> Metrics.Counter {
        Metrics.Counter(
            label: "confab_call_invitation_outcomes_total", dimensions: [("outcome", outcome.rawValue)], factory: factory)
    }

    /// A peer was admitted (join) or came back (resume).
    func joined(resumed: Bool) {
        (resumed ? resumes : joins).increment()
        peers.increment()
    }

    /// A peer's connection left its room, for `reason` (a LeaveReason or `shutdown`).
    func left(reason: String) {
        Metrics.Counter(label: "confab_leaves_total", dimensions: [("reason", reason)], factory: factory).increment()
        peers.decrement()
    }

    /// Connections that have not authenticated yet, as they are now.
    func unauthenticatedConnections(_ count: Int) {
        Metrics.Meter(label: "confab_connections_unauthenticated", factory: factory).set(count)
    }

    /// A connection not yet authenticated was closed by the server: `deadline`
    /// (TLS, request head or join too slow) or `cap` (to make room).
    func unauthenticatedConnectionClosed(reason: String) {
        Metrics.Counter(label: "confab_connections_closed_total", dimensions: [("reason", reason)], factory: factory)
            .increment()
    }

    /// A client message arrived (counted before any check).
    func messageReceived() { messages.increment() }

    /// A chat message was committed.
    func chatCommitted() { chatMessages.increment() }

    /// A write of a room's kept sessions (a cluster) committed `rows` rows in `took`.
    func keptSessionsWritten(rows: Int, took: Duration) {
        let (seconds, attoseconds) = took.components
        keptSessionWrites.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        keptSessionRows.increment(by: rows)
    }

    /// An error was sent.
    func error(_ code: ErrorCode) {
        Metrics.Counter(label: "confab_errors_total", dimensions: [("code", String(code.rawValue))], factory: factory)
            .increment()
    }

    func roomOpened() { rooms.increment() }
    func roomClosed() { rooms.decrement() }

    /// The Prometheus text exposition format, with the media plane's counters.
    public func render(media: MediaPlaneStatistics? = nil) -> String {
        var text = registry.emitToString()
        if let media { text += Self.render(media) }
        return text
    }

    /// The media thread counts in plain integers (no atomic or lock per
    /// packet) and publishes a snapshot every 100 ms; a scrape renders that
    /// snapshot here rather than mirroring every packet into swift-metrics.
    static func render(_ media: MediaPlaneStatistics) -> String {
        let counters = media.counters
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Int)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for sample in samples { lines.append("\(name)\(sample.labels) \(sample.value)") }
        }
        func counter(_ name: String, _ help: String, _ value: Int) { metric(name, "counter", help, [("", value)]) }
        counter("confab_media_datagrams_total", "UDP datagrams read on the media port.", counters.datagrams)
        counter(
            "confab_media_forwarded_packets_total", "RTP and RTCP packets accepted for forwarding.",
            counters.forwardedPackets)
        counter(
            "confab_media_forwarded_bytes_total", "Bytes of the packets accepted for forwarding.",
            counters.forwardedBytes)
        counter(
            "confab_media_sent_datagrams_total", "Copies queued to subscribers (one per subscriber per packet).",
            counters.sentDatagrams)
        metric(
            "confab_media_dropped_total", "counter", "Datagrams dropped, by reason (docs/SFU.md).",
            MediaDropReason.allCases.map { (#"{reason="\#($0.label)"}"#, counters.dropped($0)) })
        counter("confab_media_bindings_total", "STUN bindings made or moved.", counters.bindings)
        counter("confab_media_bindings_expired_total", "Bindings dropped after silence.", counters.bindingsExpired)
        counter("confab_media_stun_answered_total", "Authenticated binding requests answered.", counters.stunAnswered)
        counter(
            "confab_media_stun_consent_asked_total",
            "Binding requests from an address not yet the peer's, answered with a consent token to echo.",
            counters.consentAsked)
        metric("confab_media_bound_peers", "gauge", "Peers with a bound UDP address.", [("", media.boundPeers)])
        return lines.joined(separator: "\n") + "\n"
    }
}
