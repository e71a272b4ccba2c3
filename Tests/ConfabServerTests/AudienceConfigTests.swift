import ConfabProtocol
import ConfabRooms
import ConfabServer
import Testing

@Suite("Config: a room's audience section")
struct AudienceConfigTests {
    @Test("an audience section alone makes a town hall of the built-in roles")
    func townHall() throws {
        let text = "[rooms.town-hall.audience]\nquietRoles = [\"listener\"]\nquietAbove = 300\n"
        let file = try ConfigFile.parse(text, path: "confab.toml")
        var configuration = ServerConfiguration(dataDirectory: "/tmp/unused")
        file.apply(to: &configuration)
        let template = configuration.template(for: "town-hall")
        #expect(template.roles == RoomTemplate.standard.roles)
        #expect(template.audience == AudienceSettings(quietRoles: ["listener"], quietAbove: 300))
        #expect(configuration.template(for: "standup").audience == nil, "other rooms are as before")
    }

    @Test("a quiet role the template does not define is refused, naming it")
    func unknownQuietRole() throws {
        let error = try #require(throws: ConfigError.self, "accepted an undefined quiet role") {
            try ConfigFile.parse("[rooms.hall.audience]\nquietRoles = [\"audience\"]\n", path: "confab.toml")
        }
        #expect(error.message.contains("audience"))
    }
}
