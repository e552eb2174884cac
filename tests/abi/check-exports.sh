#!/bin/sh
# The library exports exactly the names in the version script, all crio_*,
# and every CRIO_API declaration in the public headers is among them.
set -eu
so=$1 map=$2 incdir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | grep -v '^LIBCRIO_' | sort -u > "$tmp/exported"
sed -n 's/^[[:space:]]*\(crio_[a-z0-9_]*\);.*/\1/p' "$map" | sort -u > "$tmp/mapped"
# Declarations: the identifier before "(" on lines starting with CRIO_API.
for h in "$incdir"/*.h; do gcc -fpreprocessed -dD -E -P "$h" 2>/dev/null; done | grep -v '^#' | tr '\n' ' ' | sed 's/;/;\n/g' | grep 'CRIO_API' |
    sed -n 's/.*[ *]\(crio_[a-z0-9_]*\)[[:space:]]*(.*/\1/p' | sort -u > "$tmp/declared"
fail=0
bad=$(grep -v '^crio_' "$tmp/exported" || true)
if [ -n "$bad" ]; then echo "FAIL: exported symbols outside crio_*:"; echo "$bad"; fail=1; fi
d=$(comm -3 "$tmp/exported" "$tmp/mapped")
if [ -n "$d" ]; then echo "FAIL: exports differ from $map (left: exported only, right: mapped only):"; echo "$d"; fail=1; fi
d=$(comm -3 "$tmp/declared" "$tmp/mapped")
if [ -n "$d" ]; then echo "FAIL: CRIO_API declarations differ from $map (left: declared only, right: mapped only):"; echo "$d"; fail=1; fi
soname=$(readelf -d "$so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
if [ "$soname" != "libcrio.so.0" ]; then echo "FAIL: SONAME is '$soname', want libcrio.so.0"; fail=1; fi
n=$(wc -l < "$tmp/exported")
if [ $fail -eq 0 ]; then echo "abi: 1 passed, 0 failed ($n exported symbols, all crio_*, SONAME $soname)"; else echo "abi: 0 passed, 1 failed"; fi
exit $fail
