// A webhook receiver for the tests: a real HTTP server (Hummingbird) on a
// loopback port that records every POST it gets, its headers and body, and
// answers 204, or 503 while told to fail. It can be stopped and started
// again on the same port, to play a receiver that was down for a while.

import ConfabServer
import ConfabTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

struct ReceivedDelivery: Sendable {
    var signature: String?
    var eventID: String?
    var body: [UInt8]
    var json: JSONValue?

    var type: String? { json?["type"]?.text }
}

final class WebhookReceiver: Sendable {
    private let received = Mutex<[ReceivedDelivery]>([])
    private let failing = Atomic<Bool>(false)
    private let running = Mutex<(group: ServiceGroup, task: Task<Void, any Error>)?>(nil)
    private let boundPort = Atomic<Int>(0)

    var port: Int { boundPort.load(ordering: .acquiring) }
    var url: String { "http://127.0.0.1:\(port)/hook" }
    var deliveries: [ReceivedDelivery] { received.withLock { $0 } }

    /// Answer 503 (true) or 204 (false) from now on.
    func setFailing(_ value: Bool) { failing.store(value, ordering: .releasing) }

    /// Listens on `port` (0: a free one, kept for later starts).
    func start(port: Int = 0) async throws {
        let router = Router()
        router.post("hook") { [self] request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let bytes = Array(buffer: body)
            // Connection: close, so that once stopped the receiver is really gone (no kept-alive connection).
            guard !failing.load(ordering: .acquiring) else {
                return Response(status: .serviceUnavailable, headers: [.connection: "close"])
            }
            let delivery = ReceivedDelivery(
                signature: request.headers[HTTPField.Name(WebhookSignature.header)!],
                eventID: request.headers[HTTPField.Name(WebhookSignature.eventIDHeader)!],
                body: bytes, json: try? JSONValue(parsing: String(decoding: bytes, as: UTF8.self)))
            received.withLock { $0.append(delivery) }
            return Response(status: .noContent, headers: [.connection: "close"])
        }
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        boundPort.store(0, ordering: .releasing)
        let application = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { [self] channel in boundPort.store(channel.localAddress?.port ?? 0, ordering: .releasing) },
            logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [application], logger: logger))
        let task = Task { try await group.run() }
        running.withLock { $0 = (group, task) }
        guard await waitUntil(timeout: .seconds(30), { self.port != 0 }) else {
            throw ToolError("the webhook receiver did not start listening on \(port)")
        }
    }

    /// Stops listening: deliveries now find nothing there.
    func stop() async {
        guard let stopping = running.withLock({ state in defer { state = nil }; return state }) else { return }
        await stopping.group.triggerGracefulShutdown()
        _ = try? await stopping.task.value
    }

    /// Waits until `count` deliveries have arrived.
    func waitFor(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [ReceivedDelivery] {
        guard await waitUntil(timeout: timeout, { deliveries.count >= count }) else {
            throw ToolError("expected \(count) webhook deliveries, got \(deliveries.compactMap(\.type))")
        }
        return deliveries
    }
}
