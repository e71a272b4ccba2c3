// Rooms post their whole forwarding table on a role change or a publisher's
// arrival or departure (RoomHost.syncMedia), a listener's arrival or departure
// as a change of the table, and one peer's mute or SSRCs as a change of its row
// (RoomHost+MediaTable.swift). In a burst the media thread would apply a table
// of N peers per join, N times: only the last table of each room matters, and
// the changes posted after it.
//
//   ChangeQueue.take ─▶ latestPerRoom ─▶ Forwarder.apply (per room: the last table or removal,
//                                         then the row changes after it, in posting order)

extension ForwarderCommand {
    /// The room the command is about.
    var room: Int {
        switch self {
        case .room(let room, _, _): room
        case .removeRoom(let room): room
        case .addListener(let room, _, _): room
        case .removeListeners(let room, _): room
        case .updatePeer(let room, _, _, _): room
        }
    }

    /// Whether the command replaces everything the room posted before it.
    var replacesRoom: Bool {
        switch self {
        case .room, .removeRoom: true
        case .addListener, .removeListeners, .updatePeer: false
        }
    }

    /// `commands` without those a later table or removal of the same room
    /// replaces, in posting order: of each room, its last table or removal and
    /// the listener and row changes posted after it.
    static func latestPerRoom(_ commands: [ForwarderCommand]) -> [ForwarderCommand] {
        guard commands.count > 1 else { return commands }
        var replaced: Set<Int> = []
        var kept: [ForwarderCommand] = []
        for command in commands.reversed() where !replaced.contains(command.room) {
            kept.append(command)
            if command.replacesRoom { replaced.insert(command.room) }
        }
        return kept.reversed()
    }
}
