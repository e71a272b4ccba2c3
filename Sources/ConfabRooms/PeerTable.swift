import ConfabProtocol

/// The peers of a room by id, with the indexes a room of thousands needs
/// kept up to date as it changes: the connected peers of each role, the
/// connected ones announced to everyone, and the connected ones with a hand
/// up. With them a join counts the room, finds who hears of it and lists the
/// stage without walking the whole audience (in a town hall of 10,000 those
/// walks made every join cost the size of the room).
///
/// Every change goes through the subscript's setter, which takes the old
/// peer's part out of the indexes and puts the new one's in, so no caller
/// can forget one. Two tables are equal when they hold the same peers.
public struct PeerTable: Hashable, Sendable {
    private var byID: [PeerID: Peer] = [:]
    /// Connected peers of each role (a role with none may be missing).
    public private(set) var connectedByRole: [RoleName: Set<PeerID>] = [:]
    /// Connected peers that are not quiet.
    public private(set) var connectedAnnounced: Set<PeerID> = []
    /// Connected peers with a hand up.
    public private(set) var connectedRaisedHands: Set<PeerID> = []

    public init() {}

    public subscript(id: PeerID) -> Peer? {
        get { byID[id] }
        set {
            let old: Peer?
            if let newValue {
                old = byID.updateValue(newValue, forKey: id)
            } else {
                old = byID.removeValue(forKey: id)
            }
            unindex(old)
            index(newValue)
        }
    }

    @discardableResult
    public mutating func removeValue(forKey id: PeerID) -> Peer? {
        let old = byID.removeValue(forKey: id)
        unindex(old)
        return old
    }

    public var values: Dictionary<PeerID, Peer>.Values { byID.values }
    public var keys: Dictionary<PeerID, Peer>.Keys { byID.keys }
    public var count: Int { byID.count }
    public var isEmpty: Bool { byID.isEmpty }

    /// How many connected peers there are.
    public var connectedCount: Int { connectedByRole.values.reduce(0) { $0 + $1.count } }

    private mutating func index(_ peer: Peer?) {
        guard let peer, peer.isConnected else { return }
        connectedByRole[peer.role, default: []].insert(peer.id)
        if !peer.isQuiet { connectedAnnounced.insert(peer.id) }
        if peer.handRaisedAt != nil { connectedRaisedHands.insert(peer.id) }
    }

    private mutating func unindex(_ peer: Peer?) {
        guard let peer, peer.isConnected else { return }
        connectedByRole[peer.role]?.remove(peer.id)
        if connectedByRole[peer.role]?.isEmpty == true { connectedByRole[peer.role] = nil }
        if !peer.isQuiet { connectedAnnounced.remove(peer.id) }
        if peer.handRaisedAt != nil { connectedRaisedHands.remove(peer.id) }
    }

    public static func == (lhs: PeerTable, rhs: PeerTable) -> Bool { lhs.byID == rhs.byID }
    public func hash(into hasher: inout Hasher) { hasher.combine(byID) }
}
