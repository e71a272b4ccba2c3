#!/usr/bin/env bash
# Builds libsrtp2 from Debian's own source package with libsrtp's built-in
# crypto, into .build/vendor/srtp, for Confab to link statically.
#
# Why: Debian's libsrtp2 is built on NSS, which creates a PK11 context (14 heap
# allocations) for every packet protected or unprotected; the built-in AES-ICM
# and HMAC-SHA1 allocate nothing per packet, which the media path needs
# (BENCHMARKS.md). The trade: no AEAD_AES_128_GCM (that needs a crypto
# library), so AES_CM_128_HMAC_SHA1_80 is the profile.
#
# Nothing here is committed to the repository: the source comes from Debian's
# archive at build time (the same version as the installed libsrtp2-dev). If
# anything fails, it says so and Confab builds against the system libsrtp2.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$root/.build/vendor"
prefix="$vendor/srtp"
pc="$prefix/lib/pkgconfig/libsrtp2.pc"
[ -f "$pc" ] && exit 0

work="$vendor/srtp-src"
rm -rf "$work" && mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
cat > "$work/sources.list" <<SOURCES
deb-src http://deb.debian.org/debian bookworm main
SOURCES
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root" -qq)
cd "$work"
apt-get "${apt_opts[@]}" update
apt-get "${apt_opts[@]}" source --download-only libsrtp2
tar xzf libsrtp2_*.orig.tar.gz
cd libsrtp-*/
./configure --prefix="$prefix" > configure.log 2>&1
make -j"$(nproc)" libsrtp2.a > make.log 2>&1
make install > install.log 2>&1
# A name of our own, so the linker cannot pick the system's libsrtp2 instead.
mv "$prefix/lib/libsrtp2.a" "$prefix/lib/libconfabsrtp2.a"
rm -f "$prefix"/lib/libsrtp2.so*
sed -i 's/^Libs: .*/Libs: -L${libdir} -lconfabsrtp2/' "$pc"
rm -rf "$work"
echo "build-libsrtp: libsrtp2 with built-in crypto in $prefix"
