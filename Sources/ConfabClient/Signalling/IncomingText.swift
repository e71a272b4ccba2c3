import ConfabProtocol

// Defence in depth: the server sanitises names, chat and reasons, but a
// client never trusts a server with its terminal. Everything people wrote
// passes TextSanitizer again here, before it becomes an event and reaches the
// store. Nothing is refused: a message too long or empty after cleaning is
// cut or shown empty rather than lost, since the server already accepted it.

enum IncomingText {
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
        return String(cleaned.prefix(ProtocolLimits.maximumChatCharacters))
    }

    /// Server error messages are shown to people too.
    static func errorMessage(_ error: CodedError) -> CodedError {
        // `redirect` is only ever parsed as a URL of the same room (ConfabSession).
        CodedError(error.code, reason(error.message) ?? "", redirect: error.redirect)
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

    static func page(_ page: ChatPage) -> ChatPage {
        ChatPage(messages: page.messages.map(message), hasMore: page.hasMore)
    }

    static func roster(_ page: RosterPage) -> RosterPage {
        RosterPage(peers: page.peers.map(peer), next: page.next, total: page.total)
    }

    /// A value of the room's shared state: one line, cut at the protocol's limit.
    static func stateValue(_ text: String) -> String {
        let cleaned = TextSanitizer.clean(text, lineBreaks: .singleLine)
        return String(cleaned.prefix(ProtocolLimits.maximumStateValueCharacters))
    }

    static func stateChange(_ change: StateChanged) -> StateChanged {
        var change = change
        change.value = change.value.map(stateValue)
        return change
    }

    static func joined(_ joined: Joined) -> Joined {
        var joined = joined
        joined.state = joined.state?.map { entry in
            var entry = entry
            entry.value = stateValue(entry.value)
            return entry
        }
        joined.you = peer(joined.you)
        joined.peers = joined.peers.map(peer)
        joined.history = page(joined.history)
        return joined
    }
}
