// `confab themes`: every theme (built-in and ~/.config/confab/themes), each
// with a one-line preview of its slots in the terminal's own colours.
import ArgumentParser
import ConfabTUI
import Foundation

struct Themes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the colour themes and preview each (built-in ones and ~/.config/confab/themes/*.toml).")

    @Flag(help: "Print JSON: name, source, description, and the error of a broken file.")
    var json = false

    func run() throws {
        let entries = ThemeLoader.available()
        if json {
            let objects: [[String: String]] = entries.map { entry in
                var object = ["name": entry.name, "source": entry.source]
                switch entry.result {
                case .success(let theme): object["description"] = theme.description
                case .failure(let error): object["error"] = error.description
                }
                return object
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let environment = ProcessInfo.processInfo.environment
        let plain = isatty(1) == 0
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty || plain
        let trueColor = ["truecolor", "24bit"].contains(environment["COLORTERM"] ?? "")
        let depth: ColorDepth = noColor ? .none : trueColor ? .trueColor : .palette256
        for entry in entries {
            switch entry.result {
            case .success(let theme):
                print("\(entry.name)  (\(entry.source))  \(theme.description)")
                print("  " + ThemePreview.line(theme, depth: depth, plain: plain))
            case .failure(let error):
                print("\(entry.name)  (\(entry.source))  broken: \(error)")
            }
        }
        print("Use one with --theme NAME, or theme = \"NAME\" in ~/.config/confab/config.toml.")
    }
}
