// Webhook deliveries: each event is posted to every endpoint that asked for
// its kind, signed, retried with back-off, in order, without ever making a
// room wait (docs/ADMIN.md, "Webhooks").
//
//   RoomHost / CallManager ─▶ publish (a lock and an append: never awaits)
//        ─▶ one bounded FIFO per endpoint ─▶ its delivery loop (one request at a time)
//        ─▶ POST url, Confab-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")
//        ─▶ 2xx: next event │ else: wait retryInitialMs, doubling up to retryMaxMs, and again
//        ─▶ given up after giveUpAfterSeconds │ queue full: the new event is dropped
//
// One loop per endpoint delivering one event at a time keeps the order of
// every room's events (and across rooms) at the receiver: an event is not
// sent before the one before it was accepted. The queues live in memory: what
// is still queued when the server stops is not delivered.

import AsyncHTTPClient
import ConfabProtocol
import ConfabRooms
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import Synchronization

final class WebhookDispatcher: Sendable {
    let settings: WebhookSettings
    private let queues: [WebhookQueue]
    private let metrics: WebhookMetrics
    private let logger: Logger

    init(settings: WebhookSettings, metrics: ServerMetrics, logger: Logger) {
        self.settings = settings
        self.metrics = WebhookMetrics(metrics, endpoints: settings.endpoints.map(\.name))
        queues = settings.endpoints.map { WebhookQueue(endpoint: $0, limit: settings.queueLimit) }
        var logger = logger
        logger[metadataKey: "part"] = "webhooks"
        self.logger = logger
    }

    var isEnabled: Bool { !queues.isEmpty }

    /// Queues `event` for every endpoint that wants its kind. Never waits.
    func publish(_ event: WebhookEvent) {
        for queue in queues where queue.endpoint.events.contains(event.type) {
            if !queue.offer(event) {
                metrics.dropped(queue.endpoint.name, reason: "overflow")
                logger.warning(
                    "webhook queue full: event dropped",
                    metadata: ["endpoint": "\(queue.endpoint.name)", "event": "\(event.type.rawValue)"])
            }
            metrics.queued(queue.endpoint.name, depth: queue.depth)
        }
    }

    /// The webhook events among what a room just sent its peers.
    func publish(_ events: [RoomEvent], room: RoomName) {
        guard isEnabled else { return }
        for event in events {
            if let webhook = WebhookEvent.from(event, room: room) { publish(webhook) }
        }
    }

    /// Delivers until cancelled (a server task); returns at once with no endpoints.
    func run() async {
        guard isEnabled else { return }
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(
            connect: .milliseconds(Int64(settings.requestTimeoutMs)), read: .milliseconds(Int64(settings.requestTimeoutMs)))
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        await withDiscardingTaskGroup { group in
            for queue in queues {
                group.addTask { await self.deliver(queue, client: client) }
            }
        }
        try? await client.shutdown()
    }

    private func deliver(_ queue: WebhookQueue, client: HTTPClient) async {
        let name = queue.endpoint.name
        while let event = await queue.head() {
            var attempt = 0
            while !Task.isCancelled {
                attempt += 1
                let outcome = await post(event, to: queue.endpoint, client: client)
                if case .success = outcome {
                    metrics.delivered(name)
                    break
                }
                metrics.failed(name)
                let age = Timestamp.now().millisecondsSince1970 - event.createdAt.millisecondsSince1970
                if age > Int64(settings.giveUpAfterSeconds) * 1_000 {
                    metrics.dropped(name, reason: "expired")
                    logger.error(
                        "webhook event given up", metadata: ["endpoint": "\(name)", "event": "\(event.id)", "attempts": "\(attempt)"])
                    break
                }
                let wait = settings.backoffMs(attempt: attempt)
                logger.notice(
                    "webhook delivery failed; retrying",
                    metadata: ["endpoint": "\(name)", "event": "\(event.id)", "error": "\(outcome)", "retryInMs": "\(wait)"])
                try? await Task.sleep(for: .milliseconds(wait))
            }
            guard !Task.isCancelled else { return }
            queue.removeHead()
            metrics.queued(name, depth: queue.depth)
        }
    }

    private enum Outcome: CustomStringConvertible {
        case success
        case status(UInt)
        case error(String)

        var description: String {
            switch self {
            case .success: "delivered"
            case .status(let code): "HTTP \(code)"
            case .error(let text): text
            }
        }
    }

    private func post(_ event: WebhookEvent, to endpoint: WebhookEndpoint, client: HTTPClient) async -> Outcome {
        let body = AdminJSON.encode(event)
        let timestamp = Timestamp.now().millisecondsSince1970 / 1_000
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "confab-webhooks/1")
        request.headers.add(name: WebhookSignature.eventIDHeader, value: event.id)
        request.headers.add(
            name: WebhookSignature.header,
            value: WebhookSignature.header(secret: Array(endpoint.secret.utf8), timestamp: timestamp, body: body))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(settings.requestTimeoutMs)))
            // Read (and drop) what it answered, so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 * 1_024)
            return (200..<300).contains(response.status.code) ? .success : .status(response.status.code)
        } catch {
            return .error("\(error)")
        }
    }
}

/// The events waiting for one endpoint, oldest first; the head stays until delivered or given up.
final class WebhookQueue: Sendable {
    let endpoint: WebhookEndpoint
    private let limit: Int
    private struct State {
        var events: [WebhookEvent] = []
        var start = 0
        var sequence = 0
        var waiter: CheckedContinuation<Void, Never>?
        var count: Int { events.count - start }
    }
    private let state = Mutex(State())

    init(endpoint: WebhookEndpoint, limit: Int) {
        self.endpoint = endpoint
        self.limit = limit
    }

    var depth: Int { state.withLock { $0.count } }

    /// Appends `event` numbered; false when the queue is full (its number is
    /// used up all the same, so the receiver sees the gap).
    func offer(_ event: WebhookEvent) -> Bool {
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            state.sequence += 1
            guard state.count < limit else { return (false, nil) }
            var event = event
            event.sequence = state.sequence
            state.events.append(event)
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume()
        return accepted
    }

    /// The oldest event, once there is one; nil when cancelled.
    func head() async -> WebhookEvent? {
        while !Task.isCancelled {
            if let event = state.withLock({ $0.count > 0 ? $0.events[$0.start] : nil }) { return event }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    // Cancelled before the waiter is stored: the handler found none, so do not wait.
                    let resumeNow = state.withLock { state in
                        guard state.count == 0, !Task.isCancelled else { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                state.withLock { state -> CheckedContinuation<Void, Never>? in
                    defer { state.waiter = nil }
                    return state.waiter
                }?.resume()
            }
        }
        return nil
    }

    func removeHead() {
        state.withLock { state in
            guard state.count > 0 else { return }
            state.start += 1
            // Compact now and then rather than shifting on every removal.
            if state.start >= 1_024, state.start * 2 >= state.events.count {
                state.events.removeFirst(state.start)
                state.start = 0
            }
        }
    }
}

/// The webhook figures in /metrics, per endpoint.
struct WebhookMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry

    // Computed: the descriptor type is not Sendable, so it cannot be a stored static.
    private static var deliveries: MetricNameDescriptor {
        webhook("deliveries", unit: "total", help: "Webhook events accepted (2xx) by the endpoint.")
    }
    private static var failures: MetricNameDescriptor {
        webhook("delivery_failures", unit: "total", help: "Webhook delivery attempts that failed (each retry counts).")
    }
    private static var drops: MetricNameDescriptor {
        webhook(
            "events_dropped", unit: "total",
            help: "Webhook events never delivered: overflow (queue full) or expired (given up).")
    }
    private static var depth: MetricNameDescriptor {
        webhook("queue", unit: "depth", help: "Webhook events waiting for the endpoint.")
    }

    /// `confab_webhook_NAME_UNIT`.
    private static func webhook(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "confab", subsystem: "webhook", metricName: name, unitName: unit, helpText: help)
    }

    init(_ metrics: ServerMetrics, endpoints: [String]) {
        registry = metrics.registry
        // Present from the start, so a scrape shows 0 rather than nothing.
        for name in endpoints {
            counter(Self.deliveries, name).increment(by: Int64(0))
            counter(Self.failures, name).increment(by: Int64(0))
            for reason in ["overflow", "expired"] { drop(name, reason).increment(by: Int64(0)) }
            queued(name, depth: 0)
        }
    }

    private func counter(_ descriptor: MetricNameDescriptor, _ endpoint: String) -> Prometheus.Counter {
        registry.makeCounter(descriptor: descriptor, labels: [("endpoint", endpoint)])
    }

    private func drop(_ endpoint: String, _ reason: String) -> Prometheus.Counter {
        registry.makeCounter(descriptor: Self.drops, labels: [("endpoint", endpoint), ("reason", reason)])
    }

    /// An event was accepted (2xx) by the endpoint.
    func delivered(_ endpoint: String) { counter(Self.deliveries, endpoint).increment() }
    /// One attempt failed (an error status, a timeout, no connection): it is retried.
    func failed(_ endpoint: String) { counter(Self.failures, endpoint).increment() }
    /// An event will never be delivered: `overflow` (the queue was full) or `expired` (given up).
    func dropped(_ endpoint: String, reason: String) { drop(endpoint, reason).increment() }
    func queued(_ endpoint: String, depth: Int) {
        registry.makeGauge(descriptor: Self.depth, labels: [("endpoint", endpoint)]).set(to: Double(depth))
    }
}
