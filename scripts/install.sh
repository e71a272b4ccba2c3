#!/bin/bash
# `make install`: the confab binary (Swift runtime linked statically), its
# themes, a man page per command, shell completions and the systemd unit.
#
#   scripts/install.sh BUILD_DIR DESTDIR PREFIX
#
# BUILD_DIR holds the confab just built with --static-swift-stdlib and the man
# pages swift-argument-parser's generate-manual plugin wrote into MAN_PAGES.
set -euo pipefail

build_dir=$1
destdir=$2
prefix=$3
man_pages=${MAN_PAGES:?MAN_PAGES: the directory of the generated man pages}
root="$destdir$prefix"
binary="$build_dir/confab"

[ -x "$binary" ] || { echo "install: no $binary (build it first)" >&2; exit 1; }
# RUNTIME_LINKED_IN=no: the test build, linked to the toolchain (check-install-layout).
if [ "${RUNTIME_LINKED_IN:-yes}" = yes ] && ldd "$binary" | grep -q 'libswiftCore'; then
	echo "install: $binary links the Swift runtime dynamically (build with --static-swift-stdlib)" >&2
	exit 1
fi

install -D -m 0755 "$binary" "$root/bin/confab"

# Themes: the built-in ones are compiled in; these are starting points to copy
# into ~/.config/confab/themes and edit.
install -d -m 0755 "$root/share/confab/themes"
install -m 0644 themes/*.toml themes/README.md "$root/share/confab/themes/"

# Man pages: generate-manual names them confab.join.1; man(1) users expect
# confab-join(1), as git-commit(1).
install -d -m 0755 "$root/share/man/man1"
for page in "$man_pages"/*.1; do
	name=$(basename "$page" .1)
	dashed=${name//./-}
	title=$(tr '[:lower:]' '[:upper:]' <<<"$dashed")
	sed "s/^\.Dt [^ ]* 1$/.Dt $title 1/" "$page" >"$root/share/man/man1/$dashed.1"
	chmod 0644 "$root/share/man/man1/$dashed.1"
done

# Shell completions where Debian's shells look for them.
if [ "$prefix" = /usr ]; then zsh_dir=share/zsh/vendor-completions; else zsh_dir=share/zsh/site-functions; fi
install -d -m 0755 "$root/share/bash-completion/completions" "$root/$zsh_dir" "$root/share/fish/vendor_completions.d"
"$binary" --generate-completion-script bash >"$root/share/bash-completion/completions/confab"
"$binary" --generate-completion-script zsh >"$root/$zsh_dir/_confab"
"$binary" --generate-completion-script fish >"$root/share/fish/vendor_completions.d/confab.fish"

# The systemd unit, pointing at this prefix's binary (docs/confab-serve.service).
install -d -m 0755 "$root/lib/systemd/system"
sed "s|/usr/local/bin/confab|$prefix/bin/confab|g" docs/confab-serve.service >"$root/lib/systemd/system/confab-serve.service"
chmod 0644 "$root/lib/systemd/system/confab-serve.service"

echo "installed confab into $root"
