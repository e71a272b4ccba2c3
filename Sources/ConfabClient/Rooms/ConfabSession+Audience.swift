import ConfabProtocol

// The audience of a large room as a client sees it: counts arrive by
// themselves (`room.counts` ─▶ RoomState.counts); the roster is read page by
// page on request, for roles allowed to see the audience.
//
//   listRoster(request) ─▶ roster.list ─▶ roster.page ─▶ listeners (didReceiveRosterPage) ─▶ caller

extension ConfabSession {
    /// Reads a page of the room's peers (needs `seeAudience`): pass the
    /// previous page's `next` as `cursor` for the following one.
    @discardableResult
    public func listRoster(_ query: RosterRequest = RosterRequest()) async throws(SessionError) -> RosterPage {
        let reply = try await request(.listRoster(query))
        guard case .rosterPage(let page) = reply else { throw .unexpected(reply, for: .listRoster) }
        let clean = IncomingText.roster(page)
        emit(.rosterPage(clean, request: query))
        return clean
    }

    /// Reads the whole roster, page after page (at most `maximumPages`).
    public func fullRoster(
        role: RoleName? = nil, handRaised: Bool? = nil, namePrefix: String? = nil,
        pageSize: Int = ProtocolLimits.maximumRosterPageSize, maximumPages: Int = 1_000
    ) async throws(SessionError) -> [PeerInfo] {
        var peers: [PeerInfo] = []
        var cursor: String?
        for _ in 0..<maximumPages {
            let page = try await listRoster(
                RosterRequest(cursor: cursor, limit: pageSize, role: role, handRaised: handRaised, namePrefix: namePrefix))
            peers += page.peers
            guard let next = page.next else { break }
            cursor = next
        }
        return peers
    }
}
