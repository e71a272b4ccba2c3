import Testing

@testable import ConfabServer

@Suite("postgresql:// URLs")
struct DatabaseURLTests {
    @Test("the parts, with libpq's defaults: port 5432, the database named after the user, sslmode prefer")
    func parts() throws {
        let full = try DatabaseURL(parsing: "postgresql://confab:s%40cret@db.example.org:6543/meetings?sslmode=verify-full")
        #expect(full.host == "db.example.org" && full.port == 6543 && full.user == "confab")
        #expect(full.password == "s@cret" && full.database == "meetings" && full.tls == .verifyFull)
        let short = try DatabaseURL(parsing: "postgres://confab@localhost")
        #expect(short.port == 5432 && short.database == "confab" && short.password == nil && short.tls == .prefer)
        let v6 = try DatabaseURL(parsing: "postgresql://confab:pw@[::1]:5433/db?sslmode=disable")
        #expect(v6.host == "::1" && v6.port == 5433 && v6.tls == .disable)
        #expect(v6.redacted == "postgresql://confab:***@[::1]:5433/db?sslmode=disable")
    }

    @Test("a bad URL is refused with the reason, and never shows the password", arguments: [
        ("mysql://confab:hunter2@db/x", "not a postgresql://"),
        ("postgresql://confab:hunter2@/x", "no host"),
        ("postgresql://db.example.org/x", "no user"),
        ("postgresql://confab:hunter2@db/x?sslmode=maybe", "sslmode must be one of disable, prefer, require, verify-full"),
        ("postgresql://confab:hunter2@db/x?timeout=3", "unknown parameter timeout"),
    ])
    func refused(text: String, reason: String) {
        #expect {
            _ = try DatabaseURL(parsing: text)
        } throws: { error in
            let description = String(describing: error)
            return description.contains(reason) && !description.contains("hunter2")
        }
    }
}
