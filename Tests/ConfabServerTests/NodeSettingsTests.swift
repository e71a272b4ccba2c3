// `--node-id` and `--advertise` as `confab serve` checks them.

import ConfabServer
import Testing

@Suite("Node ids and advertised URLs")
struct NodeSettingsTests {
    @Test("a node id is 1 to 64 printable ASCII characters without spaces", arguments: [
        ("a", true), ("node-7:7443", true), (String(repeating: "n", count: 64), true),
        ("", false), ("has space", false), (String(repeating: "n", count: 65), false), ("tab\there", false),
        ("nœud", false), ("new\nline", false),
    ])
    func nodeID(id: String, valid: Bool) {
        #expect(NodeSettings.isValidID(id) == valid)
    }

    @Test("the default id is HOSTNAME:PORT, or HOSTNAME:any-HEX for port 0, and always valid")
    func defaultID() {
        let fixed = NodeSettings.defaultID(port: 7443)
        #expect(fixed.hasSuffix(":7443") && NodeSettings.isValidID(fixed))
        let picked = NodeSettings.defaultID(port: 0)
        #expect(picked.contains(":any-") && NodeSettings.isValidID(picked))
        #expect(NodeSettings.defaultID(port: 0) != picked, "two servers on port 0 in one process get different ids")
        // Six hex digits every time, zeros in front: one in sixteen draws starts with a zero.
        for _ in 0..<200 {
            let digits = NodeSettings.defaultID(port: 0).split(separator: ":any-").last ?? ""
            #expect(digits.count == 6 && digits.allSatisfy(\.isHexDigit), "\(digits)")
        }
    }

    @Test("--advertise takes wss://HOST[:PORT] only", arguments: [
        ("wss://a.example:7443", true), ("wss://[::1]:7443", true), ("wss://a.example", true), ("wss://a.example:7443/", true),
        ("https://a.example:7443", false), ("wss://a.example:7443/room", false), ("wss://u:p@a.example:7443", false),
        ("wss://a.example:7443?x=1", false), ("a.example:7443", false), ("wss://", false),
    ])
    func advertisedURL(url: String, valid: Bool) {
        #expect((NodeSettings.checkAdvertisedURL(url) == nil) == valid, "\(url)")
    }
}
