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

    /// Each depth a theme is drawn at: true colour, 256, 16 and 8 colours.
    static let depths: [(ColorDepth, Int, String)] = [
        (.trueColor, 16, "true colour"), (.palette256, 16, "256 colours"), (.ansi, 16, "16 colours"), (.ansi, 8, "8 colours"),
    ]

    @Test("every text style of every built-in theme reaches 4.5:1 (WCAG AA) on its background, at every colour depth",
          arguments: BuiltInThemes.order)
    func contrast(name: String) throws {
        let theme = try ThemeLoader.load(name, userDirectory: "/nonexistent")
        let foregrounds = Slot.allCases.filter { $0 != .background && $0 != .surface }
        for (depth, ansiCount, label) in Self.depths {
            for background in [Slot.background, .surface] {
                let backgroundNumber = theme.resolved(background, depth: depth, ansiCount: ansiCount)
                // The mono theme uses the terminal's own colours: nothing to compute.
                guard let back = Theme.displayed(backgroundNumber, depth: depth) else { continue }
                for slot in foregrounds {
                    let front = try #require(Theme.displayed(theme.resolved(slot, depth: depth, ansiCount: ansiCount), depth: depth))
                    let ratio = Theme.contrast(front, back)
                    #expect(ratio >= 4.5, "\(name), \(label): \(slot.key) on \(background.key) is \((ratio * 100).rounded() / 100):1")
                }
            }
        }
    }

    @Test("the contrast ratio follows WCAG 2: black on white 21:1, equal colours 1:1, #777 on white about 4.48:1")
    func contrastFormula() {
        #expect(abs(Theme.contrast((0, 0, 0), (255, 255, 255)) - 21) < 0.001)
        #expect(Theme.contrast((90, 90, 90), (90, 90, 90)) == 1)
        #expect(abs(Theme.contrast((0x77, 0x77, 0x77), (255, 255, 255)) - 4.48) < 0.01)
    }

    @Test("with 16 and 8 colours the three built-in roles keep colours of their own", arguments: BuiltInThemes.order.filter { $0 != "mono" })
    func rolesDistinct(name: String) throws {
        let theme = try ThemeLoader.load(name, userDirectory: "/nonexistent")
        for ansiCount in [16, 8] {
            let roles = [Slot.roleHost, .roleSpeaker, .roleListener].map { theme.resolved($0, depth: .ansi, ansiCount: ansiCount) }
            #expect(Set(roles).count == 3, "\(name) with \(ansiCount) colours: roles \(roles)")
        }
    }

    @Test("without colour the selected tile and the speaking tile still look different (double and heavy borders)")
    func selectedAndSpeakingApart() {
        let peer = Fixtures.peer(0)
        func tile(selected: Bool, speaking: Bool) -> String {
            var buffer = Buffer(area: Rect(x: 0, y: 0, width: 30, height: TileWidget.height))
            TileWidget(peer: peer, isYou: false, level: 50, speaking: speaking, selected: selected, quality: nil, mutedByName: nil, animated: true)
                .render(in: buffer.area, into: &buffer)
            return buffer.lines.joined(separator: "\n")
        }
        let selected = tile(selected: true, speaking: false)
        let speaking = tile(selected: false, speaking: true)
        #expect(selected.hasPrefix("╔") && speaking.hasPrefix("┏"), "\(selected)\n\(speaking)")
    }

    @Test("COLORTERM=truecolor asks for the direct-colour variant of the terminal type; otherwise none")
    func directColourType() {
        #expect(NcursesBackend.directColourType(term: "xterm-256color", colorTerm: "truecolor") == "xterm-direct")
        #expect(NcursesBackend.directColourType(term: "tmux-256color", colorTerm: "24bit") == "tmux-direct")
        #expect(NcursesBackend.directColourType(term: "xterm-direct", colorTerm: "truecolor") == nil)
        #expect(NcursesBackend.directColourType(term: "xterm-256color", colorTerm: nil) == nil)
        #expect(NcursesBackend.directColourType(term: "xterm-256color", colorTerm: "") == nil)
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
