// `confab admin role ROOM PEER ROLE [--ask]` and `confab admin state ROOM [KEY [VALUE] | KEY --delete]`:
// a peer's role and the room's shared state through the management API (docs/ADMIN.md).
import ArgumentParser
import ConfabProtocol
import Foundation

struct AdminRole: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "role", abstract: "Give a peer a role at once, or (--ask) ask it to take the role.")
    @OptionGroup var options: AdminOptions
    @OptionGroup var target: AdminPeerArguments
    @Argument(help: "The role, one of the room's template.") var role: String
    @Flag(help: "Ask the peer instead (it may decline).") var ask = false

    func validate() throws {
        guard RoleName(rawValue: role) != nil else { throw ValidationError("the role: \(RoleName.validForm)") }
    }

    func run() async throws {
        let body = AdminChangeRole(role: RoleName(uncheckedRawValue: role), force: !ask)
        guard let reply = try await options.send("POST", target.path + "/role", body: body) else { return }
        let (peer, room) = (target.peer, target.room)
        if let sent = try? JSONDecoder().decode(AdminPromptSent.self, from: reply) {
            AdminOptions.say("asked \(peer) to take the role \(role) in \(room) (prompt \(sent.prompt))")
        } else {
            AdminOptions.say("\(peer) is now \(role) in \(room)")
        }
    }
}

struct AdminState: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Show the room's shared state, set a key (KEY VALUE) or delete one (KEY --delete).",
        discussion: "Keys the terminal front shows: agenda, pinned, spotlight. Peers see a change at once.")
    @OptionGroup var options: AdminOptions
    @Argument(help: "The room.") var room: String
    @Argument(help: "The key: a-z, 0-9, '.', '_', '-'.") var key: String?
    @Argument(help: "The value: one line, at most 500 characters.") var value: String?
    @Flag(help: "Delete the key.") var delete = false

    func validate() throws {
        if delete, key == nil || value != nil { throw ValidationError("--delete takes a KEY and no VALUE") }
        if key != nil, value == nil, !delete { throw ValidationError("give a VALUE to set the key, or --delete") }
    }

    func run() async throws {
        let base = "/api/v1/rooms/\(AdminOptions.segment(room))/state"
        guard let key else {
            guard let state = try await options.fetch(base, as: AdminRoomState.self) else { return }
            AdminOptions.printList(state.state, empty: "no shared state in \(room)") { entry in
                "\(entry.key): \(entry.value)  (\(entry.by), \(clock(entry.at)))"
            }
            return
        }
        let path = base + "/" + AdminOptions.segment(key)
        if let value {
            try await options.perform("PUT", path, body: AdminSetState(value: value), done: "set \(key) in \(room)")
        } else {
            try await options.perform("DELETE", path, done: "deleted \(key) in \(room)")
        }
    }
}
