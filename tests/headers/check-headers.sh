#!/bin/sh
# Each public header must compile on its own as C99 (-pedantic) and as C++.
set -eu
B=${B:-build}
CC=${CC:-cc}
CXX=${CXX:-c++}
out="$B/tests/headers"
mkdir -p "$out"
pass=0
fail=0
for h in include/crio.h "$@"; do
    name=$(echo "$h" | sed 's|^include/||')
    src="$out/$(echo "$name" | tr '/.' '__').c"
    printf '#include <%s>\n#include <%s>\nint crio_header_check(void);\nint crio_header_check(void) { return 0; }\n' "$name" "$name" > "$src"
    if "$CC" -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -c "$src" -o "$src.o" &&
       "$CXX" -x c++ -std=c++11 -pedantic -Wall -Wextra -Werror -Iinclude -c "$src" -o "$src.cxx.o"; then
        pass=$((pass + 1))
    else
        echo "FAIL: $name does not compile on its own (C99 or C++)"
        fail=$((fail + 1))
    fi
done
echo "headers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
