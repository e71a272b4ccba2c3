// `confab admin code|codes|revoke`: meeting codes (docs/ADMIN.md, "Meeting codes").
//
//   confab admin code ROOM --role R [--uses N] [--expires D]   ─▶ the code and its link
//   confab admin codes ROOM                                     ─▶ every code of the room, with its state
//   confab admin revoke ROOM CODE
import ArgumentParser
import ConfabClient
import ConfabProtocol
import ConfabServer
import Foundation

struct AdminCode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "code", abstract: "Make a meeting code: whoever has it joins ROOM with the role given.",
        discussion: """
            Prints the code and a link to send (confab://HOST:PORT/ROOM?code=…&fp=SHA256:…): \
            `confab join LINK --name NAME` exchanges it for a token, with the server pinned by the link. \
            With --json, the server's reply with the link added as "link".
            """)
    @OptionGroup var options: AdminOptions
    @Argument(help: "The room.") var room: String
    @Option(help: "The role it joins with.") var role: String
    @Option(help: "How many times it may be used (default: no limit).") var uses: Int?
    @Option(help: "How long it lasts: 90s, 30m, 2h, 7d (default: until revoked).") var expires: String?

    func validate() throws {
        guard RoomName(rawValue: room) != nil else { throw ValidationError("the room name: \(RoomName.validForm)") }
        guard RoleName(rawValue: role) != nil else { throw ValidationError("--role: \(RoleName.validForm)") }
        if let uses, uses < 1 { throw ValidationError("--uses must be at least 1") }
        if let expires, parseDuration(expires) == nil {
            throw ValidationError("--expires: a duration such as 90s, 30m, 2h or 7d")
        }
    }

    func run() async throws {
        let seconds = expires.flatMap(parseDuration).map { Int(max(1, $0.components.seconds)) }
        let body = AdminCreateCode(role: RoleName(uncheckedRawValue: role), uses: uses, expiresInSeconds: seconds)
        guard let reply = try await options.send("POST", "/api/v1/rooms/\(room)/codes", body: body, printsJSON: false),
            let code = try? JSONDecoder().decode(MeetingCodeInfo.self, from: reply)
        else { return }
        let endpoint = try options.endpoint().with(room: RoomName(uncheckedRawValue: room))
        let link = MeetingCodeFormat.normalize(code.code).map {
            MeetingLink(endpoint: endpoint, code: $0, fingerprint: pinnedFingerprint(for: endpoint)).description
        }
        if options.json {
            FileHandleOutput.standardOutput(try Self.json(reply, adding: link))
            return
        }
        AdminOptions.say(code.code)
        if let link { AdminOptions.say(link) }
    }

    /// The server's reply as it is, with `"link"` added: what the server
    /// cannot know (the address and certificate this command reached it by).
    static func json(_ reply: Data, adding link: String?) throws -> String {
        guard var object = try JSONSerialization.jsonObject(with: reply) as? [String: Any] else {
            return String(decoding: reply, as: UTF8.self)
        }
        if let link { object["link"] = link }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// The certificate this command just trusted: --fingerprint, else known_servers' line for the server.
    private func pinnedFingerprint(for endpoint: ServerEndpoint) -> CertificateFingerprint? {
        if let pin = options.trust.fingerprint.flatMap(CertificateFingerprint.init(parsing:)) { return pin }
        let text = (try? String(contentsOfFile: options.trust.knownServersPath, encoding: .utf8)) ?? ""
        return KnownServers(contents: text).entry(for: endpoint.hostAndPort)?.fingerprint
    }
}

struct AdminCodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "codes", abstract: "List a room's meeting codes.")
    @OptionGroup var options: AdminOptions
    @Argument(help: "The room.") var room: String

    func validate() throws {
        guard RoomName(rawValue: room) != nil else { throw ValidationError("the room name: \(RoomName.validForm)") }
    }

    func run() async throws {
        guard let list = try await options.fetch("/api/v1/rooms/\(room)/codes", as: MeetingCodeList.self) else { return }
        AdminOptions.printList(list.codes, empty: "no codes for \(room)") { code in
            let uses = "\(code.used)\(code.uses.map { " of \($0)" } ?? "") used"
            let expiry = code.expiresAt.map { "  expires \(clock($0))" } ?? ""
            return "\(code.code)  \(code.role)  \(code.state.rawValue)  \(uses)\(expiry)  by \(code.createdBy)"
        }
    }
}

struct AdminRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a meeting code.")
    @OptionGroup var options: AdminOptions
    @Argument(help: "The room.") var room: String
    @Argument(help: "The code.") var code: String

    func validate() throws {
        guard RoomName(rawValue: room) != nil else { throw ValidationError("the room name: \(RoomName.validForm)") }
        guard MeetingCodeFormat.normalize(code) != nil else { throw ValidationError("not a meeting code: \(code)") }
    }

    func run() async throws {
        try await options.perform("DELETE", "/api/v1/rooms/\(room)/codes/\(AdminOptions.segment(code))", done: "revoked \(code)")
    }
}
