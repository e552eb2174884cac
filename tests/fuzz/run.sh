#!/bin/sh
# Builds every tests/fuzz/fuzz_*.c as a libFuzzer target (with ASan and UBSan)
# and runs each briefly on a copy of its seed corpus; `make fuzz` runs this.
#   B             build directory (default: build); outputs go to $B/fuzz/
#   FUZZ_SECONDS  time per target (default: 30)
# Exits non-zero when a target fails to build or finds a crash, leak or hang.
set -eu

B=${B:-build}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
FUZZ_CC=${FUZZ_CC:-clang}
OUT=$B/fuzz
mkdir -p "$OUT"

# The library sources the targets link (lib/base for now); json.c needs cJSON.
LIB_SRCS=$(ls lib/base/*.c)
DEP_CFLAGS=$(pkg-config --cflags libcjson 2>/dev/null || true)
DEP_LIBS=$(pkg-config --libs libcjson 2>/dev/null || echo -lcjson)

status=0
for src in tests/fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    bin=$OUT/fuzz_$name
    log=$OUT/fuzz_$name.log
    corpus=$OUT/corpus-$name

    # shellcheck disable=SC2086 # word splitting of the flag lists is intended
    if ! $FUZZ_CC -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib $DEP_CFLAGS \
        -o "$bin" "$src" $LIB_SRCS $DEP_LIBS -lm -lpthread; then
        echo "fuzz_$name: BUILD FAILED"
        status=1
        continue
    fi

    mkdir -p "$corpus"
    if [ -d "tests/fuzz/corpus/$name" ]; then
        cp -R "tests/fuzz/corpus/$name/." "$corpus/"
    fi

    if "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$OUT/fuzz_$name-" "$corpus" >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
        units=$(find "$corpus" -type f | wc -l | tr -d ' ')
        echo "fuzz_$name: ok, ${execs:-?} execs in ${SECONDS_PER_TARGET}s, cov ${cov:-?}, corpus $units"
    else
        echo "fuzz_$name: FAILED (log: $log; reproducer: $OUT/fuzz_$name-*)"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 10 || true
        status=1
    fi
done
exit $status
