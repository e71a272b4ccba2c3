#!/bin/bash
# Checks a `make install DESTDIR=ROOT PREFIX=PREFIX` as its user would find it:
# the binary runs without the Swift toolchain and serves, the man pages render,
# the completions load, the themes parse and the systemd unit points at the binary.
#
#   scripts/check-install.sh ROOT PREFIX
set -uo pipefail

root="$1$2"
prefix=$2
failures=0
check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then echo "check-install: ok   $what"; else
		echo "check-install: FAIL $what" >&2
		failures=$((failures + 1))
	fi
}
scratch=$(mktemp -d)
trap 'kill "$server" 2>/dev/null; rm -rf "$scratch"' EXIT
server=""

confab="$root/bin/confab"
check "bin/confab is executable" test -x "$confab"
finds_libraries() { ! LD_LIBRARY_PATH="${LIBRARY_PATH:-}" ldd "$confab" | grep -q 'not found'; }
check "every library it needs is there" finds_libraries
if [ "${RUNTIME_LINKED_IN:-yes}" = yes ]; then
	check "it needs no library from the Swift toolchain" bash -c "! ldd '$confab' | grep -E '/opt/swift|libswift'"
fi
# A clean environment: no PATH into the toolchain, no LD_LIBRARY_PATH.
# LIBRARY_PATH: where the test build's binary finds the benchmarks' allocation counter.
run() { env -i PATH=/usr/bin:/bin HOME="$scratch" XDG_CONFIG_HOME="$scratch/config" LD_LIBRARY_PATH="${LIBRARY_PATH:-}" "$confab" "$@"; }
# README promises that a machine needs only the packages it lists: every library
# the binary loads must come from one of them or from Debian's minimal base
# (debootstrap minbase: libc6, libgcc-s1, libtinfo6, zlib1g), never from the
# toolchain or the build tree.
listed_in_readme() {
	local listed missing="" path package
	listed=$(sed -n '/only these Debian packages/,/It installs:/p' README.md | grep -o '`lib[a-z0-9.+-]*`' | tr -d '`' | tr '\n' ' ')
	[ -n "$listed" ] || { echo "README.md lists no packages" >&2; return 1; }
	for path in $(ldd "$confab" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
		case "$path" in /opt/swift/* | "${LIBRARY_PATH:-/nonexistent}"/*) continue ;; esac
		package=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null)
		package=${package%%:*}
		case " libc6 libgcc-s1 libtinfo6 zlib1g $listed " in
			*" $package "*) ;;
			*) missing="$missing ${package:-?}($path)" ;;
		esac
	done
	[ -z "$missing" ] || { echo "check-install:      not in README.md's list:$missing" >"$scratch/unlisted"; return 1; }
}
if command -v dpkg >/dev/null; then
	check "every library it loads is from a package README.md lists (or Debian's base)" listed_in_readme
	[ -f "$scratch/unlisted" ] && cat "$scratch/unlisted" >&2
fi
prints_version() { run --version | grep -q '^[0-9]'; }
check "confab --version runs" prints_version

# It serves: TLS certificate, token secret and SQLite log made on first start, then a graceful stop.
# exec: $! must be the server itself, not a subshell around it.
(exec env -i PATH=/usr/bin:/bin HOME="$scratch" LD_LIBRARY_PATH="${LIBRARY_PATH:-}" "$confab" serve --port 0 \
	--data "$scratch/data" >"$scratch/serve.log" 2>&1) &
server=$!
# "listening" comes once it serves (and handles SIGTERM).
for _ in $(seq 1 150); do grep -q 'listening on wss://' "$scratch/serve.log" && break; sleep 0.2; done
check "confab serve starts, listens and prints its fingerprint" \
	bash -c "grep -q 'listening on wss://' '$scratch/serve.log' && grep -q 'fingerprint: SHA256:' '$scratch/serve.log'"
signs_token() { run token --data "$scratch/data" --room r --user u --role host | grep -q '^ey'; }
check "confab token signs with the server's secret" signs_token
kill -TERM "$server"
wait "$server"
check "confab serve stops cleanly on SIGTERM (status $?)" test $? -eq 0
server=""

man1="$root/share/man/man1"
for page in confab confab-serve confab-join confab-token confab-admin confab-admin-rooms confab-admin-room confab-admin-create \
	confab-admin-end confab-admin-remove confab-admin-mute confab-admin-say confab-admin-code; do
	check "man page $page(1)" test -f "$man1/$page.1"
done
check "confab-serve(1) renders and names the command" bash -c "MANWIDTH=80 man -l '$man1/confab-serve.1' 2>/dev/null | grep -q 'confab serve'"
check "as many man pages as commands" test "$(ls "$man1" | wc -l)" -ge 20

check "bash completion loads and completes confab" \
	bash -c "source '$root/share/bash-completion/completions/confab' && complete -p confab"
zsh_file=$(ls "$root"/share/zsh/*/_confab 2>/dev/null | head -1)
check "zsh completion (#compdef confab)" grep -q '^#compdef confab' "${zsh_file:-/nonexistent}"
check "fish completion" grep -q "complete -c 'confab'" "$root/share/fish/vendor_completions.d/confab.fish"

mkdir -p "$scratch/config/confab/themes"
cp "$root"/share/confab/themes/*.toml "$scratch/config/confab/themes/"
themes_parse() {
	run themes --json | jq -e 'any(.[]; .source | endswith("config/confab/themes/light.toml")) and all(.[]; .error == null)'
}
check "the installed themes parse" themes_parse

unit="$root/lib/systemd/system/confab-serve.service"
check "the systemd unit runs $prefix/bin/confab serve" grep -q "^ExecStart=$prefix/bin/confab serve" "$unit"
check "the unit stops with SIGTERM and restarts on failure" bash -c "grep -q '^KillSignal=SIGTERM' '$unit' && grep -q '^Restart=on-failure' '$unit'"
if command -v systemd-analyze >/dev/null; then
	# Only the missing binary may be reported: this is a scratch root, not /.
	check "systemd-analyze finds nothing else wrong in the unit" \
		bash -c "! systemd-analyze verify '$unit' 2>&1 | grep -v 'is not executable\|man confab' | grep -q ."
fi

if [ "$failures" -gt 0 ]; then echo "check-install: $failures check(s) failed" >&2; exit 1; fi
echo "check-install: all checks passed"
