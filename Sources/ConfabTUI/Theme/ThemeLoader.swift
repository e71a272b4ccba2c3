// Reading themes: from a TOML file, from ~/.config/confab/themes, or built
// in. A broken file never stops a meeting: the error names the file and the
// line, and the default theme is used instead.
//
//   --theme NAME|PATH ─▶ PATH? read it : ~/.config/confab/themes/NAME.toml ?? built-in NAME
//                     ─▶ ThemeLoader.parse ─▶ Theme | ThemeError(path, line, message) ─▶ default
import ConfabMacros
import Foundation
import TOMLKit

/// A theme file that cannot be used, and where.
@PublicMemberwiseInit
public struct ThemeError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public var description: String {
        "\(path)\(line.map { ":\($0)" } ?? ""): \(message)"
    }
}

public enum ThemeLoader {
    /// A client file's TOML (a theme, config.toml), or the error at the line TOMLKit names.
    static func table(_ text: String, path: String) throws(ThemeError) -> TOMLTable {
        do {
            return try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ThemeError(path: path, line: Int(error.source.begin.line), message: error.description)
        } catch {
            throw ThemeError(path: path, line: nil, message: "\(error)")
        }
    }

    /// The slot keys of `[colors]` and `[roles]`.
    static let colorKeys = Slot.allCases.filter { !$0.isRole }.map(\.key)
    static let roleKeys = Slot.allCases.filter(\.isRole).map(\.key)

    /// Parses a theme file. Every slot of `[colors]` is required (a theme
    /// that forgets one would show it in the terminal's default colour by
    /// surprise); `[roles]` entries default to `accent`.
    public static func parse(_ text: String, path: String, fallbackName: String) throws(ThemeError) -> Theme {
        let table = try Self.table(text, path: path)
        for key in table.keys where !["name", "description", "colors", "roles", "attributes", "ansi", "ansi8"].contains(key) {
            throw ThemeError(path: path, line: line(of: key, in: nil, text: text), message: "unknown key \"\(key)\"")
        }
        let name = table["name"]?.string ?? fallbackName
        let description = table["description"]?.string ?? ""
        guard let colorsTable = table["colors"]?.table else {
            throw ThemeError(path: path, line: nil, message: "missing [colors] table")
        }
        var colors: [Slot: Color] = [:]
        try readColors(colorsTable, section: "colors", keys: colorKeys, text: text, path: path, into: &colors)
        for key in colorKeys where colorsTable[key] == nil {
            throw ThemeError(path: path, line: line(of: "colors", in: nil, text: text), message: "[colors] lacks \"\(key)\"")
        }
        if let roles = table["roles"]?.table {
            try readColors(roles, section: "roles", keys: roleKeys, text: text, path: path, into: &colors)
        }
        for slot in Slot.allCases where slot.isRole && colors[slot] == nil {
            colors[slot] = colors[.accent]
        }
        var attributes: [Slot: TextAttributes] = [:]
        if let table = table["attributes"]?.table {
            for key in table.keys {
                guard let slot = Slot.allCases.first(where: { $0.key == key }) else {
                    throw ThemeError(path: path, line: line(of: key, in: "attributes", text: text), message: "unknown slot \"\(key)\"")
                }
                guard let value = table[key]?.string, let parsed = parseAttributes(value) else {
                    throw ThemeError(
                        path: path, line: line(of: key, in: "attributes", text: text),
                        message: "attributes.\(key): a string of bold, dim, reverse, underline, italic (space-separated)")
                }
                attributes[slot] = parsed
            }
        }
        var theme = Theme(name: name, description: description, colors: colors, attributes: attributes)
        theme.ansi16 = try readANSI(table["ansi"]?.table, section: "ansi", limit: 16, text: text, path: path)
        theme.ansi8 = try readANSI(table["ansi8"]?.table, section: "ansi8", limit: 8, text: text, path: path)
        return theme
    }

    /// `[ansi]` and `[ansi8]`: the colour each slot takes on a 16- or
    /// 8-colour terminal, by ANSI name or number, chosen by hand instead
    /// of the nearest (which turns every pastel white and dark reds unreadable).
    private static func readANSI(_ table: TOMLTable?, section: String, limit: Int, text: String, path: String) throws(ThemeError) -> [Slot: UInt8] {
        guard let table else { return [:] }
        var result: [Slot: UInt8] = [:]
        for key in table.keys {
            guard let slot = Slot.allCases.first(where: { $0.key == key }) else {
                throw ThemeError(path: path, line: line(of: key, in: section, text: text), message: "unknown slot \"\(key)\" in [\(section)]")
            }
            let value = table[key]?.string ?? table[key]?.int.map(String.init) ?? ""
            let number: UInt8? = switch Color(parsing: value) {
            case .ansi(let n)?: n
            case .indexed(let n)?: n
            default: nil
            }
            guard let number, Int(number) < limit else {
                throw ThemeError(
                    path: path, line: line(of: key, in: section, text: text),
                    message: "\(section).\(key): one of the \(limit) ANSI colours (\(Color.ansiNames.prefix(limit).joined(separator: ", ")))")
            }
            result[slot] = number
        }
        return result
    }

    private static func readColors(
        _ table: TOMLTable, section: String, keys: [String], text: String, path: String, into colors: inout [Slot: Color]
    ) throws(ThemeError) {
        for key in table.keys {
            guard keys.contains(key), let slot = Slot.allCases.first(where: { $0.key == key && $0.isRole == (section == "roles") })
            else {
                throw ThemeError(
                    path: path, line: line(of: key, in: section, text: text),
                    message: "unknown slot \"\(key)\" in [\(section)] (known: \(keys.joined(separator: ", ")))")
            }
            guard let value = table[key]?.string ?? table[key]?.int.map(String.init), let color = Color(parsing: value) else {
                throw ThemeError(
                    path: path, line: line(of: key, in: section, text: text),
                    message: "\(section).\(key): not a colour (use \"#rrggbb\", a name such as \"bright-blue\", 0-255, or \"default\")")
            }
            colors[slot] = color
        }
    }

    static func parseAttributes(_ text: String) -> TextAttributes? {
        var result: TextAttributes = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "," }) {
            switch word {
            case "bold": result.insert(.bold)
            case "dim": result.insert(.dim)
            case "reverse": result.insert(.reverse)
            case "underline": result.insert(.underline)
            case "italic": result.insert(.italic)
            case "none": break
            default: return nil
            }
        }
        return result
    }

    /// The line that defines `key` (inside `[section]` when given), 1-based.
    /// TOMLKit reports lines for syntax errors only, so values are found here.
    static func line(of key: String, in section: String?, text: String) -> Int? {
        var current: String?
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                current = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
                if section == nil, current == key { return number + 1 }
                continue
            }
            guard current == section else { continue }
            if line.hasPrefix(key + " ") || line.hasPrefix(key + "=") || line.hasPrefix("\"\(key)\"") { return number + 1 }
        }
        return nil
    }

    // MARK: - Finding themes

    /// The user's theme directory: $XDG_CONFIG_HOME/confab/themes or ~/.config/confab/themes.
    public static func userDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let config = environment["XDG_CONFIG_HOME"], !config.isEmpty { return config + "/confab/themes" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.config/confab/themes"
    }

    /// A theme by name or path. Paths (anything with a "/" or ending in
    /// ".toml") are read as given; names look in the user's directory first,
    /// then among the built-in themes.
    public static func load(_ nameOrPath: String, userDirectory: String = userDirectory()) throws(ThemeError) -> Theme {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") {
            return try loadFile(nameOrPath)
        }
        let userPath = userDirectory + "/" + nameOrPath + ".toml"
        if FileManager.default.fileExists(atPath: userPath) {
            return try loadFile(userPath)
        }
        guard let text = BuiltInThemes.files[nameOrPath] else {
            let known = available(userDirectory: userDirectory).map(\.name).joined(separator: ", ")
            throw ThemeError(path: nameOrPath, line: nil, message: "no such theme (available: \(known))")
        }
        return try parse(text, path: "built-in theme \(nameOrPath)", fallbackName: nameOrPath)
    }

    /// Loads `nameOrPath`, or the default theme with the reason it could not.
    public static func loadOrDefault(_ nameOrPath: String?, userDirectory: String = userDirectory()) -> (Theme, ThemeError?) {
        guard let nameOrPath else { return (BuiltInThemes.defaultTheme, nil) }
        do {
            return (try load(nameOrPath, userDirectory: userDirectory), nil)
        } catch {
            return (BuiltInThemes.defaultTheme, error)
        }
    }

    public static func loadFile(_ path: String) throws(ThemeError) -> Theme {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ThemeError(path: path, line: nil, message: "cannot read: \(error.localizedDescription)")
        }
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try parse(text, path: path, fallbackName: name)
    }

    /// A theme the user can pick, where it comes from, and whether it loads.
    public struct Entry: Hashable, Sendable {
        public var name: String
        public var source: String
        public var result: Result<Theme, ThemeError>
    }

    /// Every theme: built-in ones, then the user's (which shadow built-ins of the same name).
    public static func available(userDirectory: String = userDirectory()) -> [Entry] {
        var entries: [String: Entry] = [:]
        for (name, text) in BuiltInThemes.files {
            let result: Result<Theme, ThemeError>
            do { result = .success(try parse(text, path: "built-in theme \(name)", fallbackName: name)) } catch {
                result = .failure(error)
            }
            entries[name] = Entry(name: name, source: "built-in", result: result)
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: userDirectory)) ?? []
        for file in files where file.hasSuffix(".toml") {
            let path = userDirectory + "/" + file
            let name = String(file.dropLast(5))
            let result: Result<Theme, ThemeError>
            do { result = .success(try loadFile(path)) } catch { result = .failure(error) }
            entries[name] = Entry(name: name, source: path, result: result)
        }
        let order = BuiltInThemes.order
        return entries.values.sorted {
            let lhs = order.firstIndex(of: $0.name) ?? order.count
            let rhs = order.firstIndex(of: $1.name) ?? order.count
            return lhs != rhs ? lhs < rhs : $0.name < $1.name
        }
    }
}
