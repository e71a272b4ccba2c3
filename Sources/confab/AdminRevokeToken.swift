// `confab admin revoke-token TOKEN`: the admin token given is refused from now
// on, on every node sharing the server's store (docs/ADMIN.md, "Admin tokens").
import ArgumentParser
import ConfabProtocol
import Foundation

struct AdminRevokeTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke-token", abstract: "Revoke an admin token: the server refuses it from now on.",
        discussion: "Authorise with another admin token (--token or CONFAB_ADMIN_TOKEN); revoking the one you use works too.")
    @OptionGroup var options: AdminOptions
    @Argument(help: "The admin token to revoke.") var revoked: String

    func run() async throws {
        try await options.perform("POST", "/api/v1/tokens/revoke", body: AdminRevokeToken(token: revoked), done: "revoked")
    }
}
