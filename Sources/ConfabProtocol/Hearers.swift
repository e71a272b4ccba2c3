// Who hears a publisher without being announced to it: the quiet audience
// of a large room (docs/PROTOCOL.md, "Large rooms" and `hearers`).
//
//   quiet peer joins / leaves / changes role ─▶ server batches (≤ 100 ms)
//     ─▶ hearers {added, removed} ─▶ each publisher
//   publisher joins / resumes / takes a publishing role ─▶ hearers {reset, added (paged, more)} ─▶ that publisher
//   publisher ─▶ seals its media key to every hearer (keys.publish, paged under 64 KiB) ─▶ keys ─▶ each quiet peer
//
// The publisher's SDK keeps these peers apart from the room's peers: a
// speaker's screen does not list the audience, but its key reaches it.

import ConfabMacros

/// `hearers`: to a peer whose role publishes audio, changes to the quiet
/// peers that hear it (they get no `peer.joined` to it, so this is how it
/// learns whom to seal its media key to).
@PublicMemberwiseInit
public struct HearersUpdate: Codable, Hashable, Sendable {
    /// True on the first page of a full list: forget the quiet hearers you held before.
    public var reset: Bool = false
    /// More pages of this update follow: act on the list (seal, rotate) once the last arrives.
    public var more: Bool = false
    /// Quiet peers that hear you now (or again: seal your current key to them even if you had).
    public var added: [Hearer] = []
    /// Quiet peers that no longer hear you (left, went silent, changed role, or were announced).
    public var removed: [PeerID] = []

    private enum CodingKeys: String, CodingKey {
        case reset, more, added, removed
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        reset = try container.decodeIfPresent(Bool.self, forKey: .reset) ?? false
        more = try container.decodeIfPresent(Bool.self, forKey: .more) ?? false
        let limit = 0...ProtocolLimits.maximumHearersPerMessage
        added = try container.decodeIfPresent([Hearer].self, forKey: .added, counts: limit, of: "hearers") ?? []
        removed = try container.decodeIfPresent([PeerID].self, forKey: .removed, counts: limit, of: "peers") ?? []
        guard added.count + removed.count <= ProtocolLimits.maximumHearersPerMessage else {
            throw DecodingError.dataCorruptedError(
                forKey: .removed, in: container,
                debugDescription:
                    "at most \(ProtocolLimits.maximumHearersPerMessage) entries in added and removed together")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if reset { try container.encode(true, forKey: .reset) }
        if more { try container.encode(true, forKey: .more) }
        if !added.isEmpty || removed.isEmpty { try container.encode(added, forKey: .added) }
        if !removed.isEmpty { try container.encode(removed, forKey: .removed) }
    }

    /// Cuts a list into messages of at most `maximumHearersPerMessage`
    /// entries: `more` on all but the last, `reset` on the first when asked.
    /// Nothing to say and no reset gives no message.
    public static func pages(added: [Hearer], removed: [PeerID], reset: Bool) -> [HearersUpdate] {
        let size = ProtocolLimits.maximumHearersPerMessage
        var pages: [HearersUpdate] = []
        var (addedAt, removedAt) = (0, 0)
        while addedAt < added.count || removedAt < removed.count || (reset && pages.isEmpty) {
            let adding = min(size, added.count - addedAt)
            let removing = min(size - adding, removed.count - removedAt)
            pages.append(
                HearersUpdate(
                    reset: reset && pages.isEmpty, more: false, added: Array(added[addedAt..<addedAt + adding]),
                    removed: Array(removed[removedAt..<removedAt + removing])))
            addedAt += adding
            removedAt += removing
        }
        for index in pages.indices.dropLast() { pages[index].more = true }
        return pages
    }
}

/// A quiet peer that hears you, and the key to seal yours to.
@PublicMemberwiseInit
public struct Hearer: Codable, Hashable, Sendable {
    public var peer: PeerID
    public var publicKey: X25519PublicKey
    /// The audio formats beyond Opus it plays (`PeerInfo.receives`); absent: Opus only.
    public var receives: AudioPayloadFormats? = nil
}

extension ProtocolLimits {
    /// Entries (`added` and `removed` together) in one `hearers` message.
    public static let maximumHearersPerMessage = 500
}

extension KeyedDecodingContainer {
    /// An optional list whose length is in `counts`.
    func decodeIfPresent<Element: Decodable>(
        _ type: [Element].Type, forKey key: Key, counts: ClosedRange<Int>, of noun: String
    ) throws -> [Element]? {
        guard contains(key) else { return nil }
        return try decode(type, forKey: key, counts: counts, of: noun)
    }
}
