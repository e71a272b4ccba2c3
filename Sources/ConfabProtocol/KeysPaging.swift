// `keys.publish` in pages: a key sealed to each of thousands of quiet
// listeners does not fit one client message (64 KiB; an entry is about 150
// bytes, so about 400 recipients do). A sender splits one key (same track,
// epoch and SSRC) over several messages; the server relays each entry as it
// comes and treats a page of the SSRC it already announced as more of the
// same key, not as a rotation (docs/PROTOCOL.md, `keys.publish`).

extension PublishKeysRequest {
    /// Room left in every page for the envelope (`v`, `type`, `id`, `track`,
    /// `epoch`, `ssrc`): generous, since identifiers are at most 128 bytes.
    static let envelopeAllowanceBytes = 1_024

    /// The bytes one entry adds to a message: `{"peer":"…","sealed":"…"}` and a comma.
    static func entryBytes(_ key: SealedKey) -> Int {
        // Peer ids need no JSON escaping (letters, digits and `._-@+`).
        let base64 = (key.sealed.count + 2) / 3 * 4
        return #"{"peer":"","sealed":""},"#.utf8.count + key.peer.rawValue.utf8.count + base64
    }

    /// The same key for `keys`' recipients in as many messages as it takes,
    /// each within `ProtocolLimits.maximumClientMessageBytes` and
    /// `maximumSealedKeys`; one message (possibly with no keys) when they fit.
    public static func pages(track: TrackID, epoch: Int, ssrc: UInt32?, keys: [SealedKey]) -> [PublishKeysRequest] {
        let budget = ProtocolLimits.maximumClientMessageBytes - envelopeAllowanceBytes
        var pages: [PublishKeysRequest] = []
        var page: [SealedKey] = []
        var bytes = 0
        for key in keys {
            let size = entryBytes(key)
            if !page.isEmpty, bytes + size > budget || page.count == ProtocolLimits.maximumSealedKeys {
                pages.append(PublishKeysRequest(track: track, epoch: epoch, keys: page, ssrc: ssrc))
                page = []
                bytes = 0
            }
            page.append(key)
            bytes += size
        }
        if !page.isEmpty || pages.isEmpty {
            pages.append(PublishKeysRequest(track: track, epoch: epoch, keys: page, ssrc: ssrc))
        }
        return pages
    }
}
