import ArgumentParser
import ConfabProtocol
import ConfabServer
import Foundation

/// `confab token`: mint a join token with the server's secret.
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a join token (an HS256 JWT) for one user, room and role, a user token for calls, or an admin token.",
        discussion: """
            Signed with the token secret in the server's data directory; run it where the server runs.
            With --room and --role: a room token for `confab join`. With --user alone: a user token for
            `confab connect` (online, can ring and be rung) and `confab calls`. With --admin: an admin token for
            the management API (/api/v1/, docs/ADMIN.md), which no room or presence connection accepts.
            """)

    @Option(help: "The room the token admits to; leave it out for a user token.")
    var room: String?

    @Option(help: "The user id: the peer's identity in the room, or the user's on the server.")
    var user: String?

    @Flag(help: "An admin token for the management API (/api/v1/), instead of a room or user token.")
    var admin = false

    @Option(help: "With --admin: who the token names in the audit log (default: $USER, or admin).")
    var subject: String?

    @Option(help: "The role, from the room's template (built in: host, speaker, listener); with --room only.")
    var role: String?

    @Option(help: "The display name shown to others (default: the user id).")
    var name: String?

    @Option(help: "How long the token is valid: 90s, 30m, 2h, 7d.")
    var ttl = "2h"

    @OptionGroup var data: DataOption

    func validate() throws {
        if admin {
            guard room == nil, role == nil, user == nil, name == nil else {
                throw ValidationError("--admin takes no --room, --role, --user or --name (use --subject)")
            }
            guard AdminTokenAuthority.isValidSubject(adminSubject) else {
                throw ValidationError("--subject: 1 to 64 printable ASCII characters without spaces")
            }
            guard parseDuration(ttl) != nil else { throw ValidationError("--ttl: a duration such as 90s, 30m, 2h or 7d") }
            return
        }
        guard let user else { throw ValidationError("--user is required (or --admin for an admin token)") }
        guard subject == nil else { throw ValidationError("--subject goes with --admin") }
        switch (room, role) {
        case (let room?, let role?):
            guard RoomName(rawValue: room) != nil else { throw ValidationError("--room: \(RoomName.validForm)") }
            guard RoleName(rawValue: role) != nil else { throw ValidationError("--role: \(RoleName.validForm)") }
        case (nil, nil):
            break
        case (.some, nil):
            throw ValidationError("--room needs --role (or leave both out for a user token)")
        case (nil, .some):
            throw ValidationError("--role needs --room (a user token has no role)")
        }
        guard PeerID(rawValue: user) != nil else { throw ValidationError("--user: \(PeerID.validForm)") }
        guard parseDuration(ttl) != nil else { throw ValidationError("--ttl: a duration such as 90s, 30m, 2h or 7d") }
    }

    /// Who an admin token names.
    private var adminSubject: String {
        subject ?? ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "admin"
    }

    func run() async throws {
        if admin { return try await printAdminToken() }
        guard let user = user.flatMap(PeerID.init(rawValue:)), let ttl = parseDuration(ttl) else {
            throw CommandFailure("invalid arguments")
        }
        let directory = DataDirectory(path: data.directory)
        let secret: [UInt8]
        do {
            secret = try directory.tokenSecret(create: false)
        } catch {
            throw CommandFailure(error.description)
        }
        let now = Int64(Date().timeIntervalSince1970)
        let expiresAt = now + max(1, ttl.components.seconds)
        let claims: TokenClaims
        if let room = room.flatMap(RoomName.init(rawValue:)), let role = role.flatMap(RoleName.init(rawValue:)) {
            claims = TokenClaims(room: room, peer: user, name: name, role: role, issuedAt: now, expiresAt: expiresAt)
        } else {
            claims = TokenClaims(user: user, name: name, issuedAt: now, expiresAt: expiresAt)
        }
        do {
            print(try await TokenAuthority(secret: secret).sign(claims))
        } catch {
            throw CommandFailure(error.description)
        }
    }

    private func printAdminToken() async throws {
        guard let ttl = parseDuration(ttl) else { throw CommandFailure("invalid arguments") }
        let secret: [UInt8]
        do {
            secret = try DataDirectory(path: data.directory).tokenSecret(create: false)
        } catch {
            throw CommandFailure(error.description)
        }
        let now = Int64(Date().timeIntervalSince1970)
        let claims = AdminTokenClaims(subject: adminSubject, issuedAt: now, expiresAt: now + max(1, ttl.components.seconds))
        do {
            print(try await AdminTokenAuthority(secret: secret).sign(claims))
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
