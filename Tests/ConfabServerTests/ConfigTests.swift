// The --config file: TOML room templates decoded into RoomTemplate.

import ConfabProtocol
import ConfabRooms
import ConfabServer
import ConfabTestSupport
import Foundation
import Testing

@Suite("Config file")
struct ConfigTests {
    static let good = """
        [keepalive]
        pingIntervalMs = 4000
        deadAfterMs = 12000

        [rooms.town-hall]
        maxPeers = 2
        emptyRoomTimeoutMs = 1000

        [[rooms.town-hall.roles]]
        name = "moderator"
        priority = 100
        publishAudio = true
        subscribesTo = ["moderator", "panelist"]
        chat = { broadcast = true, toRoles = true, direct = true }
        permissions = { muteOthers = true, askToUnmute = true, changeRoles = true, removePeers = true, endRoom = true, raiseHand = true }

        [[rooms.town-hall.roles]]
        name = "panelist"
        priority = 50
        publishAudio = true
        subscribesTo = ["moderator", "panelist"]
        chat = { broadcast = true, toRoles = true, direct = false }
        permissions = { raiseHand = true }
        """

    @Test("templates and keepalive are read and applied")
    func goodFile() throws {
        let file = try ConfigFile.parse(Self.good, path: "confab.toml")
        var configuration = ServerConfiguration(dataDirectory: "/tmp/unused")
        file.apply(to: &configuration)
        let template = configuration.template(for: "town-hall")
        #expect(template.roles.map(\.name) == ["moderator", "panelist"])
        #expect(template.maxPeers == 2)
        #expect(template.role(named: "panelist")?.chat.direct == false)
        #expect(configuration.template(for: "standup") == .standard)
        #expect(configuration.keepalive.deadAfterMs == 12_000)
    }

    @Test("a TOML syntax error names the line")
    func syntaxError() {
        let broken = "[keepalive]\npingIntervalMs = 4000\ndeadAfterMs = = 2\n"
        #expect(throws: ConfigError.self) { try ConfigFile.parse(broken, path: "confab.toml") }
        do {
            _ = try ConfigFile.parse(broken, path: "confab.toml")
        } catch {
            #expect(error.line == 3)
            #expect(error.description.hasPrefix("confab.toml:3: "))
        }
    }

    @Test("a wrongly typed value names its line and key")
    func typeError() throws {
        let broken = Self.good.replacingOccurrences(of: "priority = 50", with: #"priority = "high""#)
        let error = try #require(throws: ConfigError.self, "accepted a string priority") {
            try ConfigFile.parse(broken, path: "confab.toml")
        }
        #expect(error.line == 19)
        #expect(error.message.contains("priority"))
    }

    @Test("an error in the first of several array elements names that element's line")
    func firstElementError() throws {
        let broken = Self.good.replacingOccurrences(of: "priority = 100", with: "priority = true")
        let error = try #require(throws: ConfigError.self, "accepted a boolean priority") {
            try ConfigFile.parse(broken, path: "confab.toml")
        }
        #expect(error.line == 11)
    }

    @Test("keys left out keep their defaults: a [default] section without roles keeps host, speaker, listener")
    func defaultsKept() throws {
        let file = try ConfigFile.parse("[default]\nresumeGraceMs = 5000\n", path: "confab.toml")
        var configuration = ServerConfiguration(dataDirectory: "/tmp/unused")
        file.apply(to: &configuration)
        let template = configuration.template(for: "standup")
        #expect(template.roles == RoomTemplate.standard.roles)
        #expect(template.resumeGraceMs == 5_000)
        #expect(template.promptLifetimeMs == RoomTemplate.standard.promptLifetimeMs)
    }

    @Test("a role without its name is refused at that role's header, under the right key")
    func incompleteRole() throws {
        let text = Self.good + "\n\n[[rooms.town-hall.roles]]\n# to be written\n"
        let headerLine = text.split(separator: "\n", omittingEmptySubsequences: false).count - 2
        let error = try #require(throws: ConfigError.self, "accepted a role with no name") {
            try ConfigFile.parse(text, path: "confab.toml")
        }
        #expect(error.line == headerLine)
        #expect(error.message == "rooms.town-hall.roles[2].name: missing (required)")
    }

    @Test("a string where a number belongs names the line, the key once, and what it needs")
    func stringForNumber() throws {
        let error = try #require(throws: ConfigError.self, "accepted a string interval") {
            try ConfigFile.parse("[keepalive]\npingIntervalMs = \"5s\"\n", path: "confab.toml")
        }
        #expect(error.description == "confab.toml:2: keepalive.pingIntervalMs: needs an integer")
    }

    @Test("a rate beyond 1...1,000,000 names its line and the range; within it, it is read",
          arguments: ["[rooms.town-hall]\nchatRate = { perSecond = 1, burst = 10000000000000000 }\n",
                      "[calls]\ninvitationRate = { perSecond = 9223372036854775807, burst = 1 }\n"])
    func rateRange(_ text: String) throws {
        let error = try #require(throws: ConfigError.self, "accepted a rate that overflows a token bucket") {
            try ConfigFile.parse(text, path: "confab.toml")
        }
        #expect(error.line == 2 && error.message.contains("1...1000000"), "\(error)")
        let within = text.replacingOccurrences(of: "10000000000000000", with: "1000000")
            .replacingOccurrences(of: "9223372036854775807", with: "1000000")
        _ = try ConfigFile.parse(within, path: "confab.toml")
    }

    @Test("the example config in README.md loads as written")
    func readmeExample() throws {
        let readme = try RepositoryFile.text("README.md")
        // The TOML block right after the sentence that introduces --config.
        let afterIntro = try #require(readme.range(of: "`--config FILE`")).upperBound
        let open = try #require(readme.range(of: "```toml\n", range: afterIntro..<readme.endIndex))
        let close = try #require(readme.range(of: "```", range: open.upperBound..<readme.endIndex))
        let example = String(readme[open.upperBound..<close.lowerBound])
        let file = try ConfigFile.parse(example, path: "README.md")
        var configuration = ServerConfiguration(dataDirectory: "/tmp/unused")
        file.apply(to: &configuration)
        #expect(configuration.template(for: "town-hall").maxPeers != nil)
        #expect(!configuration.template(for: "town-hall").roles.isEmpty)
    }

    @Test("a template that does not make sense is refused with the room's line")
    func invalidTemplate() throws {
        let broken = Self.good.replacingOccurrences(of: #"subscribesTo = ["moderator", "panelist"]"#, with: #"subscribesTo = ["ghost"]"#)
        let error = try #require(throws: ConfigError.self, "accepted a subscription to an undefined role") {
            try ConfigFile.parse(broken, path: "confab.toml")
        }
        #expect(error.message.contains("ghost"))
        #expect(error.line != nil)
    }

    @Test("a room template from the config is used over the wire (maxPeers)")
    func templateOverTheWire() async throws {
        var template = TestServer.template()
        template.maxPeers = 1
        let server = try await TestServer.start(template: template)
        _ = try await server.join("alice", role: "host")
        let client = try await server.connect()
        let token = try await server.token(user: "bob", role: "host")
        client.send(#"{"v": 1, "type": "join", "id": "j", "room": "standup", "token": "\#(token)"}"#)
        #expect(errorCode(try await client.next()) == .roomFull)
        #expect(try await client.closeFrame()?.closeCode == .normalClosure)
        await server.stop()
    }

    @Test("an empty room ends after its timeout; the log and its numbering go on")
    func emptyRoomTimeout() async throws {
        try await TestServer.start(template: TestServer.template(emptyRoomTimeoutMs: 100)).run { server in
            let (alice, _) = try await server.join("alice", role: "host")
            alice.send(#"{"v": 1, "type": "chat.send", "id": "c", "target": {"kind": "broadcast"}, "text": "one"}"#)
            _ = try await alice.next(.chatAck)
            alice.send(#"{"v": 1, "type": "leave", "id": "l"}"#)
            _ = try await alice.closeFrame()
            let retired = try await waitUntil(timeout: .seconds(5)) {
                let (_, text) = try await FingerprintClient.get("/metrics", port: server.port, fingerprint: server.server.identity.fingerprint)
                return text.contains("confab_rooms 0")
            }
            #expect(retired, "the empty room was not retired")
            let (bob, joined) = try await server.join("bob", role: "host")
            #expect(joined.history.messages.map(\.text) == ["one"])
            bob.send(#"{"v": 1, "type": "chat.send", "id": "c", "target": {"kind": "broadcast"}, "text": "two"}"#)
            if case .chatAck(let ack) = try await bob.next(.chatAck).body { #expect(ack.seq == 2) }
        }
    }
}
