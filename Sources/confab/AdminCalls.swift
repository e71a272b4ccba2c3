// `confab admin calls`: the calls in progress, from GET /api/v1/calls.

import ArgumentParser
import ConfabProtocol
import Foundation

struct AdminCalls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "calls", abstract: "List the calls in progress.")
    @OptionGroup var options: AdminOptions

    func run() async throws {
        guard let list = try await options.fetch("/api/v1/calls", as: AdminCallList.self) else { return }
        AdminOptions.printList(list.calls, empty: "no calls in progress") { call in
            let people = call.participants.map { "\($0.user) (\($0.state.rawValue))" }.joined(separator: ", ")
            return "\(call.id)  since \(clock(call.createdAt))  by \(call.caller): \(people)"
        }
    }
}
