import ConfabProtocol

// Shortcuts over the session's requests: each says in one call what the
// requests in ConfabSession.swift say with an argument.

extension ConfabSession {
    public func setMuted(_ muted: Bool) async throws(SessionError) {
        if muted { try await muteSelf() } else { try await unmuteSelf() }
    }

    public func broadcast(_ text: String) async throws(SessionError) -> ChatAck {
        try await send(text, to: .broadcast)
    }

    public func send(_ text: String, toRoles roles: [RoleName]) async throws(SessionError) -> ChatAck {
        try await send(text, to: .roles(roles))
    }

    public func send(_ text: String, toPeers peers: [PeerID]) async throws(SessionError) -> ChatAck {
        try await send(text, to: .peers(peers))
    }

    /// Loads the page before the oldest message we hold.
    @discardableResult
    public func loadOlderChat(limit: Int = ProtocolLimits.defaultHistoryPageSize) async throws(SessionError) -> ChatPage {
        try await fetchHistory(HistoryRequest(before: store.state.chat.first?.seq, limit: limit))
    }

    /// Asks a peer to take a role (a prompt it accepts or declines).
    @discardableResult
    public func requestRoleChange(of peer: PeerID, to role: RoleName) async throws(SessionError) -> PromptID? {
        try await changeRole(of: peer, to: role, force: false)
    }

    /// Requests a track state change of another peer: muting applies at
    /// once (when permitted); unmuting is a request the owner answers.
    @discardableResult
    public func setTrack(_ track: TrackID, muted: Bool) async throws(SessionError) -> PromptID? {
        if muted {
            try await mute(track: track)
            return nil
        }
        return try await requestUnmute(track: track)
    }
}
