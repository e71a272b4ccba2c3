// `confab admin calls`: the calls in progress, from GET /api/v1/calls.

import ArgumentParser
import ConfabProtocol
import Foundation

struct AdminCalls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "calls", abstract: "List the calls in progress.")
    @OptionGroup var options: AdminOptions

    func run() async throws {
        guard let body = try await options.send("GET", "/api/v1/calls"),
            let list = try? JSONDecoder().decode(AdminCallList.self, from: body)
        else { return }
        if list.calls.isEmpty { FileHandleOutput.standardOutput("no calls in progress") }
        for call in list.calls {
            let people = call.participants.map { "\($0.user) (\($0.state.rawValue))" }.joined(separator: ", ")
            FileHandleOutput.standardOutput("\(call.id)  since \(clock(call.createdAt))  by \(call.caller): \(people)")
        }
    }
}
