import ConfabProtocol

// Defence in depth: the server sanitises names, chat and reasons, but a
// client never trusts a server with its terminal. Everything people wrote
// passes TextSanitizer again here, before it becomes an event and reaches the
// store. Nothing is refused: a message too long or empty after cleaning is
// cut or shown empty rather than lost, since the server already accepted it.

package enum IncomingText {
    /// A display name; falls back to the peer id when nothing is left.
    static func name(_ text: String, fallback: PeerID) -> String {
        let cleaned = (try? TextSanitizer.sanitize(text, policy: .displayName)) ?? ""
        return cleaned.isEmpty ? fallback.rawValue : cleaned
    }

    static func reason(_ text: String?) -> String? {
        guard let text else { return nil }
        return (try? TextSanitizer.sanitize(text, policy: .reason)) ?? ""
    }

    static func chat(_ text: String) -> String {
        let cleaned = TextSanitizer.clean(
            text, lineBreaks: .multiline(maximumLines: ProtocolLimits.maximumChatLines))
        return cut(cleaned, at: ProtocolLimits.maximumChatCharacters)
    }

    /// The first `limit` characters, without the spaces or line breaks a
    /// cut may leave at the end (the sanitiser's output never ends in one).
    private static func cut(_ text: String, at limit: Int) -> String {
        guard text.count > limit else { return text }
        var kept = text.prefix(limit)
        while let last = kept.last, last.isWhitespace { kept.removeLast() }
        return String(kept)
    }

    /// Server error messages are shown to people too.
    package static func errorMessage(_ error: CodedError) -> CodedError {
        // `redirect` is only ever parsed as a URL of the same room (ConfabSession);
        // a wait is kept within what any limit asks for.
        CodedError(
            error.code, reason(error.message) ?? "", redirect: error.redirect, retryAfterMs: wait(error.retryAfterMs))
    }

    /// A server's `retryAfterMs`, kept within what any limit asks for.
    static func wait(_ retryAfterMs: Int?) -> Int? {
        retryAfterMs.map { min(max($0, 0), ProtocolLimits.maximumRetryAfterMs) }
    }

    static func peer(_ peer: PeerInfo) -> PeerInfo {
        var peer = peer
        peer.name = name(peer.name, fallback: peer.id)
        return peer
    }

    static func message(_ message: ChatMessage) -> ChatMessage {
        var message = message
        message.fromName = name(message.fromName, fallback: message.from)
        message.text = chat(message.text)
        return message
    }

    package static func page(_ page: ChatPage) -> ChatPage {
        ChatPage(messages: page.messages.map(message), hasMore: page.hasMore)
    }

    package static func roster(_ page: RosterPage) -> RosterPage {
        RosterPage(peers: page.peers.map(peer), next: page.next, total: page.total)
    }

    /// A value of the room's shared state: one line, cut at the protocol's limit.
    static func stateValue(_ text: String) -> String {
        cut(TextSanitizer.clean(text, lineBreaks: .singleLine), at: ProtocolLimits.maximumStateValueCharacters)
    }

    /// Nil for a key the protocol does not allow (it names the entry on
    /// screen): such a change is dropped, as no Confab server sends one.
    static func stateChange(_ change: StateChanged) -> StateChanged? {
        guard StateEntry.isValidKey(change.key) else { return nil }
        var change = change
        change.value = change.value.map(stateValue)
        return change
    }

    package static func joined(_ joined: Joined) -> Joined {
        var joined = joined
        joined.state = joined.state?.filter { StateEntry.isValidKey($0.key) }.map { entry in
            var entry = entry
            entry.value = stateValue(entry.value)
            return entry
        }
        joined.you = peer(joined.you)
        joined.peers = joined.peers.map(peer)
        joined.history = page(joined.history)
        // A question shown for less than a second, or kept for days, is no use
        // to a person, whatever a server says.
        joined.room.promptLifetimeMs = joined.room.promptLifetimeMs.map { min(max($0, 1_000), 3_600_000) }
        return joined
    }
}
