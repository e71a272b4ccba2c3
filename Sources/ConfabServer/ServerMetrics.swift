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

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
        joins = Metrics.Counter(label: "confab_joins_total", factory: factory)
        resumes = Metrics.Counter(label: "confab_resumes_total", factory: factory)
        messages = Metrics.Counter(label: "confab_messages_total", factory: factory)
        chatMessages = Metrics.Counter(label: "confab_chat_messages_total", factory: factory)
        rooms = Metrics.Meter(label: "confab_rooms", factory: factory)
        peers = Metrics.Meter(label: "confab_peers", factory: factory)
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

    /// A client message arrived (counted before any check).
    func messageReceived() { messages.increment() }

    /// A chat message was committed.
    func chatCommitted() { chatMessages.increment() }

    /// An error was sent.
    func error(_ code: ErrorCode) {
        Metrics.Counter(label: "confab_errors_total", dimensions: [("code", String(code.rawValue))], factory: factory)
            .increment()
    }

    func roomOpened() { rooms.increment() }
    func roomClosed() { rooms.decrement() }

    /// The Prometheus text exposition format.
    public func render() -> String {
        registry.emitToString()
    }
}
