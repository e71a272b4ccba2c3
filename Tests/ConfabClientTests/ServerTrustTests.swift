@testable import ConfabClient
import ConfabProtocol
import ConfabTestSupport
import Foundation
import Testing

private let hex = "3f2a9c0e1b4d5f6a7b8c9d0e1f2a3b4c5d6e7f80912a3b4c5d6e7f8091a2b3c4"
private let pin = CertificateFingerprint("SHA256:" + hex)
private let other = CertificateFingerprint("SHA256:" + String(repeating: "ab", count: 32))

@Suite("Certificate fingerprints and known_servers")
struct ServerTrustTests {
    @Test(
        "fingerprints parse with or without colons and prefix, in any case",
        arguments: [
            "SHA256:" + hex,
            "sha256:" + hex.uppercased(),
            hex,
            "SHA256:" + stride(from: 0, to: 64, by: 2).map { offset in
                let start = hex.index(hex.startIndex, offsetBy: offset)
                return String(hex[start..<hex.index(start, offsetBy: 2)])
            }.joined(separator: ":").uppercased(),
        ])
    func parses(_ text: String) {
        #expect(CertificateFingerprint(text) == pin)
        #expect(CertificateFingerprint(text)?.description == "SHA256:" + hex)
    }

    @Test("malformed fingerprints are refused", arguments: ["", "SHA256:", "SHA256:abc", String(repeating: "g", count: 64), "SHA1:" + hex])
    func refusesMalformed(_ text: String) {
        #expect(CertificateFingerprint(text) == nil)
    }

    @Test("the fingerprint is SHA-256 over the certificate's DER bytes")
    func digest() {
        // SHA-256 of the three bytes "abc" (FIPS 180-2 example).
        let fingerprint = CertificateFingerprint(certificateDER: Array("abc".utf8))
        #expect(fingerprint.description == "SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("first use records the server")
    func firstUse() throws {
        let trust = ServerTrust.trustOnFirstUse(knownServersPath: "/tmp/k")
        let known = KnownServers(contents: "# comment\nother.example:7443 \(try #require(other))\n")
        let decision = trust.decide(presented: try #require(pin), hostAndPort: "room.example:7443", knownServers: known)
        #expect(decision == .trustAndRecord(line: "room.example:7443 SHA256:\(hex)\n"))
    }

    @Test("the same certificate passes")
    func samePasses() throws {
        let trust = ServerTrust.trustOnFirstUse(knownServersPath: "/tmp/k")
        let known = KnownServers(contents: "room.example:7443 SHA256:\(hex.uppercased())\n")
        #expect(trust.decide(presented: try #require(pin), hostAndPort: "room.example:7443", knownServers: known) == .trusted)
    }

    @Test("a changed certificate is refused, naming the file and the line")
    func changedRefused() throws {
        let trust = ServerTrust.trustOnFirstUse(knownServersPath: "/home/a/.config/confab/known_servers")
        let known = KnownServers(contents: "# servers\n\nroom.example:7443 SHA256:\(hex)\n")
        let decision = trust.decide(presented: try #require(other), hostAndPort: "room.example:7443", knownServers: known)
        guard case .refused(let message) = decision else {
            Issue.record("expected a refusal, got \(decision)")
            return
        }
        #expect(message.contains("line 3 of /home/a/.config/confab/known_servers"))
        #expect(message.contains("has changed"))
    }

    @Test("a different port is a different server")
    func portMatters() throws {
        let trust = ServerTrust.trustOnFirstUse(knownServersPath: "/tmp/k")
        let known = KnownServers(contents: "room.example:7443 SHA256:\(hex)\n")
        let decision = trust.decide(presented: try #require(other), hostAndPort: "room.example:8443", knownServers: known)
        guard case .trustAndRecord = decision else {
            Issue.record("expected first use, got \(decision)")
            return
        }
    }

    @Test("a pinned fingerprint must match, whatever known_servers says")
    func pinned() throws {
        let trust = ServerTrust.pinned(try #require(pin), knownServersPath: nil)
        let known = KnownServers(contents: "room.example:7443 \(try #require(other))\n")
        #expect(trust.decide(presented: try #require(pin), hostAndPort: "room.example:7443", knownServers: known) == .trusted)
        guard case .refused(let message) = trust.decide(
            presented: try #require(other), hostAndPort: "room.example:7443", knownServers: known)
        else {
            Issue.record("a wrong certificate passed the pin")
            return
        }
        #expect(message.contains("not the pinned"))
    }

    @Test("known_servers honours XDG_CONFIG_HOME, else ~/.config")
    func defaultPath() {
        #expect(
            KnownServers.defaultPath(environment: ["XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/a"])
                == "/x/cfg/confab/known_servers")
        #expect(KnownServers.defaultPath(environment: ["HOME": "/home/a"]) == "/home/a/.config/confab/known_servers")
        // A relative XDG_CONFIG_HOME is invalid per the XDG spec and ignored.
        #expect(
            KnownServers.defaultPath(environment: ["XDG_CONFIG_HOME": "cfg", "HOME": "/home/a"])
                == "/home/a/.config/confab/known_servers")
    }

    @Test("recording appends to the file, which then trusts the same certificate and refuses another")
    func fileRoundTrip() throws {
        let directory = try TempDirectory()
        let path = directory.file("confab/known_servers")
        let trust = ServerTrust.trustOnFirstUse(knownServersPath: path)
        let first = trust.decide(presented: try #require(pin), hostAndPort: "a:1", knownServers: KnownServers(contents: ""))
        guard case .trustAndRecord(let line) = first else {
            Issue.record("expected first use")
            return
        }
        try FileManager.default.createDirectory(atPath: directory.file("confab"), withIntermediateDirectories: true)
        try Data(("# mine\n" + line).utf8).write(to: URL(fileURLWithPath: path))
        let contents = try String(contentsOfFile: path, encoding: .utf8)
        let known = KnownServers(contents: contents)
        #expect(known.entry(for: "a:1")?.line == 2)
        #expect(trust.decide(presented: try #require(pin), hostAndPort: "a:1", knownServers: known) == .trusted)
        guard case .refused = trust.decide(presented: try #require(other), hostAndPort: "a:1", knownServers: known)
        else {
            Issue.record("a changed certificate passed")
            return
        }
    }
}

@Suite("Server URLs and the reconnection policy")
struct EndpointAndPolicyTests {
    @Test("wss URLs parse into host, port and room")
    func parsesURL() throws {
        let endpoint = try ServerEndpoint(url: "wss://room.example:8443/standup")
        #expect(endpoint == ServerEndpoint(host: "room.example", port: 8443, room: "standup"))
        #expect(try ServerEndpoint(url: "wss://room.example/standup").port == 7443)
        #expect(try ServerEndpoint(url: "wss://[::1]:7443/r").hostAndPort == "[::1]:7443")
    }

    @Test("bad URLs are refused", arguments: ["https://a/r", "wss://a:7443/", "wss://a/..", "wss://a/r/x", "wss://a/r?x=1", "nonsense"])
    func refusesURL(_ text: String) {
        #expect(throws: SessionError.self) { try ServerEndpoint(url: text) }
    }

    @Test("a host that percent-decodes to control characters (a redirect from a hostile server) is refused",
          arguments: ["wss://%1B%5D52%3Bc%3BaGk%3D%07x:7443/r", "wss://a%0Ab:7443/r", "wss://%E2%80%AEnimda:7443/r"])
    func refusesHostileHost(_ text: String) {
        #expect(throws: SessionError.self) { try ServerEndpoint(url: text) }
        #expect(throws: SessionError.self) { try ServerEndpoint(serverURL: text.replacingOccurrences(of: "/r", with: "")) }
    }

    @Test("the media address a server names must be a host name or IP address")
    func mediaHost() throws {
        func joinedMedia(_ host: String) -> Data {
            Data(#"{"host":"\#(host)","port":7443,"username":"u","password":"p"}"#.utf8)
        }
        for good in ["127.0.0.1", "::1", "fe80::1%eth0", "media.example"] {
            #expect((try? JSONDecoder().decode(MediaEndpoint.self, from: joinedMedia(good)))?.host == good)
        }
        for bad in [#"\u001b]0;x\u0007"#, "a b", "", #"a\nb"#] {
            #expect(throws: DecodingError.self, "\(bad)") { try JSONDecoder().decode(MediaEndpoint.self, from: joinedMedia(bad)) }
        }
    }

    @Test("the standard policy retries within 1 s, grows, and never waits more than 10 s")
    func standardPolicy() {
        let policy = ReconnectPolicy.standard
        for random in [0.0, 0.3, 0.999] {
            #expect(policy.delayMs(attempt: 1, random: random) <= 1_000)
            #expect(policy.delayMs(attempt: 1, random: random) >= 500)
            for attempt in 1...30 {
                #expect(policy.delayMs(attempt: attempt, random: random) <= 10_000)
            }
        }
        #expect(policy.delayMs(attempt: 3, random: 0) == 4_000)
        #expect(policy.delayMs(attempt: 3, random: 0.999) < policy.delayMs(attempt: 3, random: 0))
    }
}

@Suite("What an admin server answers, as errors show it")
struct AdminReplyTests {
    @Test("a status line or error message with terminal escapes is shown without them")
    func hostileReplyText() {
        let escape = "\u{1B}]52;c;aGk=\u{07}"
        let bodies = [
            "HTTP/1.1 418 \(escape)teapot\r\n\r\n",
            #"HTTP/1.1 400 Bad\#r\#n\#r\#n{"error":{"code":1004,"name":"invalidMessage","message":"bad \u001b[2Jthing"}}"#,
        ]
        for text in bodies {
            do {
                _ = try AdminHTTPClient.parse(Array(text.utf8))
                Issue.record("an error status was taken for success")
            } catch {
                #expect(!error.message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\(error.message)")
                #expect(error.message.contains("teapot") || error.message.contains("thing"))
            }
        }
    }

    @Test("a 429's retryAfterMs reaches the error, kept within 0 … 60,000 ms")
    func rateLimitWait() {
        func wait(_ value: String) -> Int? {
            let text = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\n\r\n"
                + #"{"error":{"code":5003,"name":"chatRateLimited","message":"later","retryAfterMs":"#
                + value + "}}"
            do {
                _ = try AdminHTTPClient.parse(Array(text.utf8))
                Issue.record("a 429 was taken for success")
                return nil
            } catch {
                #expect(error.code == .chatRateLimited, "\(error)")
                return error.retryAfterMs
            }
        }
        #expect(wait("1250") == 1_250)
        #expect(wait("86400000") == ProtocolLimits.maximumRetryAfterMs, "a day is taken as the longest wait any limit asks")
        #expect(wait("-5") == 0)
        #expect(wait("null") == nil)
    }
}
