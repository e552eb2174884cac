#!/bin/sh
# Install into a temporary DESTDIR, build examples/version.c with nothing but
# pkg-config's flags for the installed copy, run it, and check what it prints.
set -eu
B=${B:-build}
CC=${CC:-cc}
MAKE=${MAKE:-make}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=/opt/libcrio-test
$MAKE -s install DESTDIR="$tmp/dest" PREFIX="$prefix" B="$B" >/dev/null
pcdir="$tmp/dest$prefix/lib/pkgconfig"
# The .pc names the final prefix; point pkg-config at the staged tree.
flags=$(PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$tmp/dest" pkg-config --cflags --libs libcrio)
# Under SANITIZE=1 the library needs the sanitizer runtime in the program too.
"$CC" -std=c99 -Wall -Wextra -Werror ${SAN_FLAGS:-} examples/version.c $flags -o "$tmp/crio-version"
out=$(LD_LIBRARY_PATH="$tmp/dest$prefix/lib" "$tmp/crio-version" "$tmp/root")
fail=0
echo "$out" | grep -qx "RuntimeName: libcrio" || fail=1
echo "$out" | grep -q "^RuntimeVersion: $(PKG_CONFIG_PATH="$pcdir" pkg-config --modversion libcrio)$" || fail=1
echo "$out" | grep -q "^RuntimeReady: " || fail=1
# The program must have loaded the installed library, not the build tree's.
ldd_out=$(LD_LIBRARY_PATH="$tmp/dest$prefix/lib" ldd "$tmp/crio-version" | grep libcrio)
echo "$ldd_out" | grep -q "$tmp/dest$prefix/lib/libcrio.so.0" || fail=1
[ -f "$tmp/dest$prefix/include/crio/handle.h" ] || fail=1
if [ $fail -ne 0 ]; then
    echo "pkg-config example output:"; echo "$out"; echo "$ldd_out"
    echo "pkgconfig: 0 passed, 1 failed"
    exit 1
fi
echo "pkgconfig: 1 passed, 0 failed (examples/version.c built with pkg-config against a staged install)"
