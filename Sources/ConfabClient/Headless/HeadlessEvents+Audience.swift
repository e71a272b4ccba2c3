import ConfabProtocol

// The audience lines of `confab join --headless --events` (docs/BOTS.md):
//
//   {"event":"counts","total":1234,"roles":[{"count":1,"role":"host"},…]}
//   {"event":"roster","peers":[…],"next":"…","total":1234,"request":{…}}
//   {"event":"state.changed","key":"agenda","value":"Q3 review","by":"ana","at":"…"}   (no value: deleted)

extension HeadlessEvents {
    /// Counts, roster pages and the room's shared state.
    static func audienceJSON(_ event: SessionEvent) -> JSONValue {
        switch event {
        case .countsUpdated(let counts):
            return .object(["event": .string("counts"), "total": .int(counts.total), "roles": .encoding(counts.roles)])
        case .rosterPage(let page, let request):
            return .object([
                "event": .string("roster"), "peers": .encoding(page.peers), "next": page.next.map(JSONValue.string),
                "total": .int(page.total), "request": .encoding(request),
            ])
        case .stateChanged(let change):
            return .object([
                "event": .string("state.changed"), "key": .string(change.key), "value": change.value.map(JSONValue.string),
                "by": .string(change.by.rawValue), "at": .encoding(change.at),
            ])
        default:
            preconditionFailure("\(event) is not in this family")
        }
    }
}
