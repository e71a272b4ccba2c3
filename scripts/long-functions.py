#!/usr/bin/env python3
"""Lists Swift function and closure bodies longer than a limit (default 100 lines).

    scripts/long-functions.py Sources [LIMIT]

Counts from the line that opens a brace block to the line that closes it, for
every block that is not a type (struct, class, enum, extension, actor,
protocol). Strings and line comments are skipped roughly (a brace inside a
multi-line string literal is ignored); the output is a place to look.
"""
import pathlib
import re
import sys

TYPE = re.compile(
    r'^\s*(?:@\w+(?:\([^)]*\))?\s+)*'
    r'(?:public |private |fileprivate |internal |final |open |package |nonisolated |indirect )*'
    r'(struct|class|enum|extension|actor|protocol)\b')


def code_only(line):
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    cut = line.find('//')
    return line[:cut] if cut >= 0 else line


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else 'Sources')
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    found = 0
    for path in sorted(root.rglob('*.swift')):
        stack = []
        in_string = False
        for number, raw in enumerate(path.read_text().splitlines(), 1):
            if raw.count('"""') % 2 == 1:
                in_string = not in_string
                continue
            if in_string:
                continue
            for character in code_only(raw):
                if character == '{':
                    stack.append((number, bool(TYPE.match(raw)), raw.strip()))
                elif character == '}' and stack:
                    start, is_type, header = stack.pop()
                    if not is_type and number - start + 1 > limit:
                        found += 1
                        print(f'{path}:{start}-{number} ({number - start + 1} lines) {header[:80]}')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
