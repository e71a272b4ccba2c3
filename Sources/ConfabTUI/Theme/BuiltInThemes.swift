// The built-in themes, compiled in so the binary finds them wherever it is
// installed. Generated from themes/*.toml by scripts/embed-themes.py; a test
// (ThemeTests) fails when a file and its copy here differ.

enum BuiltInThemes {
    static let order = ["default", "light", "high-contrast", "mono"]

    static let files: [String: String] = [
        "default": #"""
# Confab's default theme: dark, calm surfaces, one warm colour for speech.
name = "default"
description = "dark: deep blue-grey surfaces, green for speech"

[colors]
background = "#1b1d27"
surface = "#262a38"
text = "#d8dcea"
dim = "#7c8299"
accent = "#7aa2f7"
speaking = "#9ece6a"
warning = "#e0af68"
error = "#f7768e"
ok = "#73daca"

[roles]
host = "#bb9af7"
speaker = "#7dcfff"
listener = "#a9b1d6"
other = "#ff9e64"

[attributes]
speaking = "bold"

"""#,
        "light": #"""
# A light theme for bright rooms and light terminals.
name = "light"
description = "light: paper white, ink text, deep green for speech"

[colors]
background = "#fafaf7"
surface = "#ecebe4"
text = "#2b2b2b"
dim = "#77756c"
accent = "#1f5fbf"
speaking = "#1a7f37"
warning = "#9a6700"
error = "#cf222e"
ok = "#116329"

[roles]
host = "#8250df"
speaker = "#0969da"
listener = "#57606a"
other = "#bc4c00"

[attributes]
speaking = "bold"

"""#,
        "high-contrast": #"""
# Maximum contrast: black and pure colours, bold where it matters.
name = "high-contrast"
description = "high contrast: black background, pure bright colours, bold accents"

[colors]
background = "#000000"
surface = "#000000"
text = "#ffffff"
dim = "#c0c0c0"
accent = "#00ffff"
speaking = "#00ff00"
warning = "#ffff00"
error = "#ff0000"
ok = "#00ff00"

[roles]
host = "#ff00ff"
speaker = "#00ffff"
listener = "#ffffff"
other = "#ffff00"

[attributes]
speaking = "bold underline"
accent = "bold"
error = "bold"
warning = "bold"

"""#,
        "mono": #"""
# No colour at all: the terminal's own colours, meaning carried by attributes
# (what NO_COLOR gives with any theme).
name = "mono"
description = "mono: the terminal's own colours; bold, dim and reverse carry meaning"

[colors]
background = "default"
surface = "default"
text = "default"
dim = "default"
accent = "default"
speaking = "default"
warning = "default"
error = "default"
ok = "default"

[attributes]
speaking = "bold"
accent = "bold"
error = "bold reverse"
warning = "bold"
dim = "dim"
host = "bold"

"""#,
    ]

    /// The default (dark) theme; it is checked by the tests, so it always parses.
    static let defaultTheme: Theme = {
        do {
            return try ThemeLoader.parse(files["default"] ?? "", path: "built-in theme default", fallbackName: "default")
        } catch {
            return Theme(name: "default", colors: [:])
        }
    }()
}
