import ConfabProtocol

// The room's shared state (docs/PROTOCOL.md, `state.set`): a few keys of one-line
// text for everyone in the room. Checks, in order: the role's `setState`, the
// key's form, the value (sanitised as one line), then the key count, so a
// refused change leaves the state as it was and tells the actor why.
//
//   state.set ─▶ setState? ─▶ key form? ─▶ value? ─▶ room for a new key? ─▶ state.changed to every connected peer
//
// Setting a key to the value it holds, or deleting a key that is not there,
// succeeds with no event.

extension Room {
    /// The shared state as `joined` carries it: sorted by key, nil when empty.
    public var sharedStateEntries: [StateEntry]? {
        sharedState.isEmpty ? nil : sharedState.values.sorted { $0.key < $1.key }
    }

    /// The state kept from the room's last run (a restart, or its node died
    /// and another took the room), before anyone joins.
    public mutating func restoreSharedState(_ entries: [StateEntry]) {
        sharedState = Dictionary(entries.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
    }

    mutating func setState(_ key: String, to value: String?, by actor: Peer, now: Timestamp) throws(CodedError)
        -> RoomOutcome
    {
        guard role(of: actor).permissions.setState else {
            throw CodedError(.cannotSetState, "role \(actor.role) may not change the room's shared state")
        }
        guard StateEntry.isValidKey(key) else {
            throw CodedError(.stateKeyInvalid, "the key is not valid: \(StateEntry.validKeyForm)")
        }
        guard let value else {
            guard sharedState.removeValue(forKey: key) != nil else { return RoomOutcome(events: []) }
            return announce(StateChanged(key: key, value: nil, by: actor.id, at: now))
        }
        let cleaned = try Self.cleaned(
            value, policy: .stateValue, what: "the value",
            empty: CodedError(.stateValueInvalid, "the value is empty once cleaned; send no value to delete the key"),
            tooLong: .stateValueInvalid)
        if sharedState[key]?.value == cleaned { return RoomOutcome(events: []) }
        guard sharedState[key] != nil || sharedState.count < ProtocolLimits.maximumStateKeys else {
            throw CodedError(
                .stateFull, "the room's shared state holds \(ProtocolLimits.maximumStateKeys) keys; delete one first")
        }
        sharedState[key] = StateEntry(key: key, value: cleaned, by: actor.id, at: now)
        return announce(StateChanged(key: key, value: cleaned, by: actor.id, at: now))
    }

    private func announce(_ change: StateChanged) -> RoomOutcome {
        RoomOutcome(events: [RoomEvent(audience: connectedIDs, body: .stateChanged(change))])
    }
}
