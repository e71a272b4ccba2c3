import ConfabProtocol

// The audience lines of `confab join --headless --events` (docs/BOTS.md):
//
//   {"event":"counts","total":1234,"roles":[{"count":1,"role":"host"},…]}
//   {"event":"roster","peers":[…],"next":"…","total":1234,"request":{…}}

extension HeadlessEvents {
    /// Counts and roster pages.
    static func audienceJSON(_ event: SessionEvent) -> JSONValue {
        switch event {
        case .countsUpdated(let counts):
            return .object(["event": .string("counts"), "total": .int(counts.total), "roles": .encoding(counts.roles)])
        case .rosterPage(let page, let request):
            return .object([
                "event": .string("roster"), "peers": .encoding(page.peers), "next": page.next.map(JSONValue.string),
                "total": .int(page.total), "request": .encoding(request),
            ])
        default:
            preconditionFailure("\(event) is not in this family")
        }
    }
}
