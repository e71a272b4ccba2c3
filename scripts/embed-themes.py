#!/usr/bin/env python3
"""Regenerates Sources/ConfabTUI/Theme/BuiltInThemes.swift from themes/*.toml.

The built-in themes are compiled into the binary so `confab` finds them
wherever it is installed; ThemeTests fails when the two copies differ.
"""
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
order = ["default", "light", "high-contrast", "mono"]
out = ['''// The built-in themes, compiled in so the binary finds them wherever it is
// installed. Generated from themes/*.toml by scripts/embed-themes.py; a test
// (ThemeTests) fails when a file and its copy here differ.

enum BuiltInThemes {
    static let order = ["default", "light", "high-contrast", "mono"]

    static let files: [String: String] = [''']
for name in order:
    text = (root / "themes" / f"{name}.toml").read_text()
        # A multi-line literal drops the line break before its closing delimiter.
    out.append(f'        "{name}": #"""\n{text}\n"""#,')
out.append('''    ]

    /// The default (dark) theme; it is checked by the tests, so it always parses.
    static let defaultTheme: Theme = {
        do {
            return try ThemeLoader.parse(files["default"] ?? "", path: "built-in theme default", fallbackName: "default")
        } catch {
            return Theme(name: "default", colors: [:])
        }
    }()
}
''')
(root / "Sources/ConfabTUI/Theme/BuiltInThemes.swift").write_text("\n".join(out))
