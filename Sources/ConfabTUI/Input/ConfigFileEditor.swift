// Remembers a choice made during a meeting (the sound device `/device`
// switched to) in config.toml, for the next one. The file is the user's: one
// key's line is replaced or added, everything else (comments, order, other
// sections) is kept as written, and the result must still parse.
//
//   [audio] found, key in it  ─▶ that line replaced
//   [audio] found, no key     ─▶ the line added after the section's last entry
//   no [audio]                ─▶ the section appended
import ConfabClient
import Foundation

public enum ConfigFileEditor {
    /// `text` with `key = "value"` in `[section]`.
    public static func setting(_ key: String, to value: String, in section: String, text: String) -> String {
        setting(key, toml: quoted(value), in: section, text: text)
    }

    /// `text` with `key = toml` (a TOML value as written: `false`, `"x"`) in `[section]`.
    static func setting(_ key: String, toml: String, in section: String, text: String) -> String {
        var lines = text.isEmpty ? [] : text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        let entry = "\(key) = \(toml)"
        guard let header = lines.firstIndex(where: { tableName($0) == section }) else {
            if let last = lines.last, !last.trimmingCharacters(in: .whitespaces).isEmpty { lines.append("") }
            return (lines + ["[\(section)]", entry]).joined(separator: "\n") + "\n"
        }
        let end = lines[(header + 1)...].firstIndex { tableName($0) != nil } ?? lines.count
        if let existing = lines[(header + 1)..<end].firstIndex(where: { keyName($0) == key }) {
            lines[existing] = entry
        } else {
            let lastEntry = lines[header..<end].lastIndex { line in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                return !trimmed.isEmpty && !trimmed.hasPrefix("#")
            } ?? header
            lines.insert(entry, at: lastEntry + 1)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Sets `key` in `[section]` of the file at `path` (made, with its
    /// directory, when missing). Refuses, leaving the file alone, when the
    /// file does not parse as Confab's config before or after.
    public static func set(_ key: String, to value: String, in section: String, path: String) throws(ThemeError) {
        try set(key, toml: quoted(value), in: section, path: path)
    }

    /// Sets the boolean `key` in `[section]` of the file at `path`, as `set` does a string.
    public static func setBoolean(_ key: String, to value: Bool, in section: String, path: String) throws(ThemeError) {
        try set(key, toml: value ? "true" : "false", in: section, path: path)
    }

    private static func set(_ key: String, toml: String, in section: String, path: String) throws(ThemeError) {
        let before: String
        if FileManager.default.fileExists(atPath: path) {
            do { before = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ThemeError(path: path, line: nil, message: "cannot read: \(error.localizedDescription)")
            }
            _ = try ClientConfig.parse(before, path: path)
        } else {
            before = ""
        }
        let after = setting(key, toml: toml, in: section, text: before)
        _ = try ClientConfig.parse(after, path: path)
        do {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            try after.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ThemeError(path: path, line: nil, message: "cannot write: \(error.localizedDescription)")
        }
    }

    /// The table a `[name]` line opens, nil for any other line.
    static func tableName(_ line: String) -> String? {
        var trimmed = line.trimmingCharacters(in: .whitespaces)
        if let comment = trimmed.firstIndex(of: "#"), !trimmed[..<comment].contains("\"") {
            trimmed = String(trimmed[..<comment]).trimmingCharacters(in: .whitespaces)
        }
        guard trimmed.hasPrefix("["), trimmed.hasSuffix("]"), !trimmed.hasPrefix("[[") else { return nil }
        return String(trimmed.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
    }

    /// The bare key a `key = …` line sets, nil for any other line.
    static func keyName(_ line: String) -> String? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { return nil }
        return trimmed[..<equals].trimmingCharacters(in: .whitespaces)
    }

    /// A TOML basic string: a JSON string is one (TOML 1.0 has the same
    /// escapes, `\"`, `\\`, `\n`, `\uXXXX`, and JSON escapes every control).
    static func quoted(_ value: String) -> String { JSONValue.string(value).rendered }
}
