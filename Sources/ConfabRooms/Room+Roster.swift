import ConfabProtocol

// `roster.list`: the room's connected peers, page by page, for a role that
// sees the audience.
//
//   request ─▶ permission ─▶ filters (role, hand, name prefix) ─▶ after the cursor ─▶ first `limit`
//
// Pages follow join order, (joinedAt, id), which never changes while a peer
// stays: a cursor is the last key of a page, so a peer present throughout is
// listed exactly once however many come and go between pages. A newcomer
// sorts after everyone already here and turns up on a later page.

/// Where a roster page ends: the join time and id of its last peer.
struct RosterCursor: Hashable, Comparable {
    var joinedAt: Int64
    var peer: PeerID

    init(joinedAt: Int64, peer: PeerID) {
        self.joinedAt = joinedAt
        self.peer = peer
    }

    /// The cursor as the client carries it: "<ms>.<peer id>".
    var text: String { "\(joinedAt).\(peer.rawValue)" }

    init?(text: String) {
        guard let dot = text.firstIndex(of: "."), let millis = Int64(text[..<dot]), millis >= 0,
            let peer = PeerID(rawValue: String(text[text.index(after: dot)...]))
        else { return nil }
        self.init(joinedAt: millis, peer: peer)
    }

    static func < (lhs: RosterCursor, rhs: RosterCursor) -> Bool {
        (lhs.joinedAt, lhs.peer) < (rhs.joinedAt, rhs.peer)
    }
}

extension Room {
    /// A page of the roster for `actor`, or why not.
    public func roster(_ request: RosterRequest, for actor: PeerID) throws(CodedError) -> RosterPage {
        guard let viewer = peers[actor], viewer.isConnected else {
            throw CodedError(.notJoined, "\(actor) is not in room \(name)")
        }
        guard role(of: viewer).permissions.seeAudience else {
            throw CodedError(.cannotSeeAudience, "role \(viewer.role) may not see the audience")
        }
        var after: RosterCursor?
        if let cursor = request.cursor {
            guard let parsed = RosterCursor(text: cursor) else {
                throw CodedError(.invalidMessage, "cursor: not one this server gave; start again without it")
            }
            after = parsed
        }
        if let role = request.role, template.role(named: role) == nil {
            throw CodedError(.roleNotFound, "room \(name) has no role \(role)")
        }
        let prefix = request.namePrefix?.lowercased()
        var matching: [(key: RosterCursor, peer: Peer)] = []
        var total = 0
        for peer in peers.values where peer.isConnected {
            if let role = request.role, peer.role != role { continue }
            if let raised = request.handRaised, (peer.handRaisedAt != nil) != raised { continue }
            if let prefix, !prefix.isEmpty, !peer.name.lowercased().hasPrefix(prefix) { continue }
            total += 1
            let key = RosterCursor(joinedAt: peer.joinedAt.millisecondsSince1970, peer: peer.id)
            if let after, key <= after { continue }
            matching.append((key, peer))
        }
        matching.sort { $0.key < $1.key }
        let page = matching.prefix(request.limit)
        let next = matching.count > page.count ? page.last.map { $0.key.text } : nil
        return RosterPage(peers: page.map { $0.peer.info }, next: next, total: total)
    }
}
