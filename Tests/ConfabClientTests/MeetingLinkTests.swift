// The meeting link `confab admin code` prints and `confab join LINK` reads:
// what it names, how it prints, and a clear refusal for each way it can be broken.

import ConfabClient
import ConfabProtocol
import Testing

@Suite("Meeting links")
struct MeetingLinkTests {
    static let fingerprint = "SHA256:" + String(repeating: "5f", count: 32)

    @Test("a link names the server, the room, the code and the pinned certificate, and prints as it was read")
    func roundTrip() throws {
        let text = "confab://example.org:7443/standup?code=k7dq-m3xa-9pwe&fp=\(Self.fingerprint)"
        let link = try MeetingLink(parsing: text)
        #expect(link.endpoint.url == "wss://example.org:7443/standup")
        #expect(link.endpoint.room?.rawValue == "standup")
        #expect(link.fingerprint?.description == Self.fingerprint)
        #expect(link.description == text)
        // Typed by hand: case and dashes do not matter; parameters it does not know are ignored.
        let typed = try MeetingLink(parsing: "CONFAB://example.org:7443/standup?code=K7DQM3XA9PWE&utm=mail")
        #expect(MeetingCodeFormat.display(typed.code) == "k7dq-m3xa-9pwe" && typed.fingerprint == nil)
    }

    @Test(
        "a broken link is refused with what is wrong",
        arguments: [
            ("wss://example.org:7443/standup?code=k7dq-m3xa-9pwe", "not a meeting link"),
            ("confab://example.org:7443/standup", "the link has no code"),
            ("confab://example.org:7443/standup?code=0000-1111-oooo", "the link's code is not a meeting code"),
            ("confab://example.org:7443/standup?code=k7dq-m3xa-9pwe&fp=SHA1:ab", "the link's fp is not SHA256"),
        ])
    func refusals(text: String, message: String) throws {
        let error = try #require(throws: SessionError.self, "accepted: \(text)") { try MeetingLink(parsing: text) }
        #expect(error.description.contains(message), "\(error.description)")
    }
}
