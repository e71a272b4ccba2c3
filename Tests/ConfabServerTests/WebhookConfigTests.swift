// `[webhooks]` in the --config file: read, defaulted, and refused with the
// line when wrong; the back-off schedule.

import ConfabServer
import Testing

@Suite("Webhook configuration")
struct WebhookConfigTests {
    @Test("endpoints are read with their events; chat is off unless named; names default to hook1, hook2")
    func readsEndpoints() throws {
        let text = """
            [webhooks]
            queueLimit = 50
            retryMaxMs = 5000

            [[webhooks.endpoints]]
            url = "https://hooks.example.org/confab"
            secret = "0123456789abcdef"

            [[webhooks.endpoints]]
            name = "chat-archive"
            url = "http://127.0.0.1:9000/chat"
            secret = "fedcba9876543210"
            events = ["chat.message", "room.ended"]
            """
        var configuration = ServerConfiguration(dataDirectory: "/tmp/unused")
        try ConfigFile.parse(text, path: "confab.toml").apply(to: &configuration)
        let settings = configuration.webhooks
        #expect(settings.queueLimit == 50 && settings.retryMaxMs == 5_000 && settings.retryInitialMs == 500)
        #expect(settings.endpoints.map(\.name) == ["hook1", "chat-archive"])
        #expect(settings.endpoints[0].events == WebhookEventKind.defaults)
        #expect(!settings.endpoints[0].events.contains(.chatMessage))
        #expect(settings.endpoints[1].events == [.chatMessage, .roomEnded])
    }

    @Test(
        "a bad endpoint is refused with its line",
        arguments: [
            (#"url = "ftp://x/y""#, "webhooks.endpoints[0].url must be an http:// or https:// URL"),
            (#"secret = "short""#, "webhooks.endpoints[0].secret must be at least 16 bytes"),
            (#"events = ["room.exploded"]"#, #"unknown event "room.exploded""#),
            (#"name = "a b""#, "webhooks.endpoints[0].name must be"),
        ])
    func refusesBadEndpoints(override: String, message: String) throws {
        var lines = [
            "[[webhooks.endpoints]]", #"url = "https://h.example/x""#, #"secret = "0123456789abcdef""#,
        ]
        let key = override.split(separator: " ").first.map(String.init) ?? ""
        lines.removeAll { $0.hasPrefix(key + " ") }
        lines.append(override)
        let error = try #require(throws: ConfigError.self, "accepted: \(override)") {
            try ConfigFile.parse(lines.joined(separator: "\n"), path: "confab.toml")
        }
        #expect(error.description.contains(message), "\(error.description)")
        #expect(error.line == lines.count, "\(error.description)")
    }

    @Test("retries wait twice as long each time, up to the most")
    func backoff() {
        var settings = WebhookSettings()
        settings.retryInitialMs = 500
        settings.retryMaxMs = 30_000
        #expect((1...8).map { settings.backoffMs(attempt: $0) } == [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000])
        #expect(settings.backoffMs(attempt: 1_000) == 30_000)
    }
}
