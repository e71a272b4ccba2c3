// Rooms post their whole forwarding table on every change (RoomHost.syncMedia).
// In a burst of joins the media thread would apply a table of N peers per
// join, N times: only the last table of each room matters.
//
//   ChangeQueue.take ─▶ latestPerRoom ─▶ Forwarder.apply (the last command of each room, in posting order)

extension ForwarderCommand {
    /// The room the command is about.
    var room: Int {
        switch self {
        case .room(let room, _, _): room
        case .removeRoom(let room): room
        }
    }

    /// `commands` without those a later command of the same room replaces
    /// (a table or a removal replaces everything before it), in posting order.
    static func latestPerRoom(_ commands: [ForwarderCommand]) -> [ForwarderCommand] {
        guard commands.count > 1 else { return commands }
        var seen: Set<Int> = []
        var kept: [ForwarderCommand] = []
        for command in commands.reversed() where seen.insert(command.room).inserted {
            kept.append(command)
        }
        return kept.reversed()
    }
}
