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
dim = "#9296aa"
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

# 16 and 8 colours: chosen by hand, each readable (4.5:1, WCAG AA, with
# xterm's palette) on the background, roles in colours of their own.
[ansi]
background = "black"
surface = "black"
text = "white"
dim = "bright-black"
accent = "bright-cyan"
speaking = "bright-green"
warning = "yellow"
error = "bright-red"
ok = "green"
host = "bright-magenta"
speaker = "cyan"
listener = "white"
other = "bright-yellow"

# With 8 colours red, blue and magenta are too dark on black: errors are
# yellow (and bold), and the roles take the four colours that remain.
[ansi8]
dim = "white"
accent = "cyan"
speaking = "green"
error = "yellow"
ok = "green"
host = "yellow"
speaker = "cyan"
listener = "white"
other = "green"

"""#,
        "light": #"""
# A light theme for bright rooms and light terminals.
name = "light"
description = "light: paper white, ink text, deep green for speech"

[colors]
background = "#fafaf7"
surface = "#ecebe4"
text = "#2b2b2b"
dim = "#6b6961"
accent = "#1f5fbf"
speaking = "#146c2e"
warning = "#8e5f00"
error = "#cb212d"
ok = "#116329"

[roles]
host = "#7045c1"
speaker = "#0965d1"
listener = "#57606a"
other = "#9a3e00"

[attributes]
speaking = "bold"

# 16 and 8 colours on a white background: only black, blue, red and
# magenta (and bright blue) stay readable (4.5:1 with xterm's palette).
[ansi]
background = "bright-white"
surface = "bright-white"
text = "black"
dim = "black"
accent = "bright-blue"
speaking = "blue"
warning = "magenta"
error = "red"
ok = "blue"
host = "magenta"
speaker = "blue"
listener = "black"
other = "red"

# With 8 colours magenta is too light on white: three colours remain.
[ansi8]
background = "white"
surface = "white"
accent = "blue"
warning = "red"
host = "red"

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

[ansi]
background = "black"
surface = "black"
text = "bright-white"
dim = "white"
accent = "bright-cyan"
speaking = "bright-green"
warning = "bright-yellow"
error = "bright-red"
ok = "bright-green"
host = "bright-magenta"
speaker = "bright-cyan"
listener = "bright-white"
other = "bright-yellow"

# With 8 colours red and magenta are too dark on black.
[ansi8]
error = "yellow"
host = "green"

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
