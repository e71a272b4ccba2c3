import ConfabProtocol

extension Switchboard {
    /// The calls in progress as clients see them, in a fixed order (the management API).
    public var callsInProgress: [CallInfo] { callIDs.compactMap { call($0) } }
}
