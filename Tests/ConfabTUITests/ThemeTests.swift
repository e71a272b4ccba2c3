import ConfabTestSupport
import Foundation
import Testing
@testable import ConfabTUI

@Suite("themes")
struct ThemeTests {
    static let repoThemes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("themes").path

    @Test("every built-in theme parses and gives every slot a colour", arguments: BuiltInThemes.order)
    func builtIn(name: String) throws {
        let theme = try ThemeLoader.load(name, userDirectory: "/nonexistent")
        #expect(theme.name == name)
        for slot in Slot.allCases {
            #expect(theme.colors[slot] != nil, "\(name) lacks \(slot)")
        }
    }

    @Test("the compiled-in copies equal themes/*.toml (run scripts/embed-themes.py after editing)", arguments: BuiltInThemes.order)
    func embeddedCopiesMatch(name: String) throws {
        let file = try String(contentsOfFile: Self.repoThemes + "/\(name).toml", encoding: .utf8)
        #expect(BuiltInThemes.files[name] == file)
    }

    @Test("a broken theme names the line and falls back to the default")
    func brokenNamesLine() throws {
        let directory = try TempDirectory(prefix: "confab-theme")
        let bad = """
            name = "bad"
            [colors]
            background = "#000000"
            surface = "#111111"
            text = "not-a-colour"
            """
        try bad.write(toFile: directory.file("bad.toml"), atomically: true, encoding: .utf8)
        #expect(throws: ThemeError.self) { try ThemeLoader.load("bad", userDirectory: directory.path) }
        do {
            _ = try ThemeLoader.load("bad", userDirectory: directory.path)
        } catch {
            #expect(error.line == 5)
            #expect(error.description.contains("bad.toml:5"))
        }
        let (theme, problem) = ThemeLoader.loadOrDefault("bad", userDirectory: directory.path)
        #expect(theme.name == "default")
        #expect(problem?.line == 5)
    }

    @Test("a TOML syntax error names its line")
    func syntaxError() {
        #expect(throws: ThemeError.self) { try ThemeLoader.parse("[colors]\nbackground = \n", path: "x.toml", fallbackName: "x") }
        do { _ = try ThemeLoader.parse("name = \"a\"\n[colors\n", path: "x.toml", fallbackName: "x") } catch {
            #expect(error.line == 2)
        }
    }

    @Test("a missing slot and an unknown slot are refused")
    func missingAndUnknown() {
        let missing = "[colors]\nbackground = \"default\"\n"
        #expect(throws: ThemeError.self) { try ThemeLoader.parse(missing, path: "m.toml", fallbackName: "m") }
        let unknown = (BuiltInThemes.files["mono"] ?? "") + "\n[roles]\nwizard = \"red\"\n"
        do { _ = try ThemeLoader.parse(unknown, path: "u.toml", fallbackName: "u") } catch {
            #expect(error.message.contains("wizard"))
            #expect(error.line != nil)
        }
    }

    @Test("user themes shadow built-ins and are listed")
    func userThemes() throws {
        let directory = try TempDirectory(prefix: "confab-theme")
        let custom = (BuiltInThemes.files["light"] ?? "").replacingOccurrences(of: "name = \"light\"", with: "name = \"mine\"")
        try custom.write(toFile: directory.file("mine.toml"), atomically: true, encoding: .utf8)
        let names = ThemeLoader.available(userDirectory: directory.path).map(\.name)
        #expect(names.prefix(4) == ["default", "light", "high-contrast", "mono"])
        #expect(names.contains("mine"))
        #expect(try ThemeLoader.load("mine", userDirectory: directory.path).name == "mine")
        #expect(try ThemeLoader.load(directory.file("mine.toml")).name == "mine")
    }

    @Test("colours degrade to the terminal's depth")
    func degrade() {
        let teal = Color.rgb(0x73, 0xda, 0xca)
        #expect(ColorDepth.trueColor.resolve(teal) == 0x73daca)
        let palette = ColorDepth.palette256.resolve(teal)
        #expect((16...255).contains(palette))
        #expect((0..<8).contains(ColorDepth.ansi.resolve(teal)))
        #expect(ColorDepth.none.resolve(teal) == -1)
        #expect(ColorDepth.palette256.resolve(.terminalDefault) == -1)
        #expect(ColorDepth.ansi.resolve(.rgb(255, 0, 0)) == 1)
        #expect(ColorDepth.palette256.resolve(.rgb(0, 0, 0)) == 16)
        #expect(ColorDepth.detect(colors: 256, noColor: true) == .none)
        #expect(ColorDepth.detect(colors: 256, noColor: false) == .palette256)
        #expect(ColorDepth.detect(colors: 1 << 24, noColor: false) == .trueColor)
        #expect(ColorDepth.detect(colors: 8, noColor: false) == .ansi)
    }

    @Test("without colour, attributes keep speaking, errors and highlights apart")
    func monoAttributes() {
        let theme = BuiltInThemes.defaultTheme
        #expect(theme.attributes(for: Style(.speaking), depth: .none).contains(.bold))
        #expect(theme.attributes(for: Style(.error), depth: .none).contains(.reverse))
        #expect(theme.attributes(for: Style(.text, on: .accent), depth: .none).contains(.reverse))
        #expect(!theme.attributes(for: Style(.text, on: .surface), depth: .none).contains(.reverse))
    }

    @Test("the client config maps keys and names broken lines")
    func clientConfig() throws {
        let config = try ClientConfig.parse("theme = \"light\"\n[keys]\nmute = \"x\"\n[chat]\nmentionBell = false\n", path: "c.toml")
        #expect(config.theme == "light")
        #expect(config.keyMap.action(for: "x") == .mute)
        #expect(config.keyMap.action(for: "m") == nil)
        #expect(!config.mentionBell)
        do { _ = try ClientConfig.parse("[keys]\nfly = \"f\"\n", path: "c.toml") } catch {
            #expect(error.line == 2)
        }
    }

    @Test("the preview line uses SGR only from the theme, and none without colour")
    func preview() {
        let plain = ThemePreview.line(BuiltInThemes.defaultTheme, depth: .none, plain: true)
        #expect(!plain.contains("\u{1B}"))
        #expect(plain.contains("speaking"))
        let coloured = ThemePreview.line(BuiltInThemes.defaultTheme, depth: .trueColor)
        #expect(coloured.contains("\u{1B}[48;2;27;29;39;38;2;"))
    }
}
