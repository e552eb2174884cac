#!/bin/sh
# Benchmarks for crio-server (run by `make bench`; B is the build directory).
#
# Starts crio-server on a scratch root and socket, measures its RSS, drives
# /runtime.v1.RuntimeService/Version with bench/grpc_version (a C HTTP/2 client),
# prints a summary against the targets, then stops the server with SIGTERM.
#
# A missed target is reported, not fatal.  The script exits non-zero when the
# server fails to start, crashes, fails a call, or does not exit 0 on SIGTERM.
#
# No peer is named for these figures, so only libcrio's are reported.
#
# Knobs (environment): BENCH_SCALE=N divides the call counts (quick runs),
# BENCH_THREADS sets [crio.api] thread_pool_size (default: the server's own).
# BENCH_SERVER runs another crio-server binary (to compare builds).
set -u

B=${B:-build}
SERVER=${BENCH_SERVER:-$B/crio-server}
CLIENT=$B/bench/grpc_version
SCALE=${BENCH_SCALE:-1}

for f in "$SERVER" "$CLIENT"; do
    if [ ! -x "$f" ]; then
        echo "bench: $f is missing (run make bench)" >&2
        exit 1
    fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/crio-bench.XXXXXX") || exit 1
SOCK=$TMP/crio.sock
PID=
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -KILL "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$TMP/conf.d" "$TMP/root" "$TMP/runroot"
: > "$TMP/crio.conf"
if [ -n "${BENCH_THREADS:-}" ]; then
    printf '[crio.api]\nthread_pool_size = %s\n' "$BENCH_THREADS" > "$TMP/crio.conf"
fi

rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

alive() {
    kill -0 "$PID" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$PID/stat" 2>/dev/null)" != Z ]
}

"$SERVER" --config "$TMP/crio.conf" --config-dir "$TMP/conf.d" --root "$TMP/root" \
    --runroot "$TMP/runroot" --listen "$SOCK" --log-level error 2> "$TMP/server.log" &
PID=$!

# Wait for the socket, 10 s at most.
i=0
while [ ! -S "$SOCK" ]; do
    if ! alive; then
        echo "bench: crio-server exited during start-up:" >&2
        cat "$TMP/server.log" >&2
        exit 1
    fi
    i=$((i + 1))
    if [ "$i" -gt 200 ]; then
        echo "bench: crio-server did not create $SOCK within 10 s" >&2
        exit 1
    fi
    sleep 0.05
done
sleep 0.2
RSS_IDLE=$(rss_kib "$PID")

echo "== crio-server $("$SERVER" --version 2>/dev/null | sed 's/^crio-server version //')," \
     "$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))"
echo "   client and server share these CPUs and compete for them; load average before the run:" \
     "$(cut -d' ' -f1-3 /proc/loadavg) (anything else running skews the figures)"

FAIL=0
run() {   # label connections calls inflight
    out=$("$CLIENT" --socket "$SOCK" --label "$1" --connections "$2" --calls "$3" --inflight "$4" --warmup 1000)
    rc=$?
    echo "$out"
    if [ "$rc" -ne 0 ]; then
        echo "bench: $1 failed (exit $rc)" >&2
        FAIL=1
    fi
    if ! alive; then
        echo "bench: crio-server died during $1" >&2
        FAIL=1
    fi
    eval "OUT_$5=\"\$out\""
}
field() {   # line key
    echo "$1" | tr ' ' '\n' | sed -n "s|^$2=||p" | sed 's/us$//'
}

run 1conn 1 $((20000 / SCALE)) 1 A
run 8conn 8 $((5000 / SCALE)) 1 B
run 8conn-inflight16 8 $((20000 / SCALE)) 16 C

RSS_LOAD=
alive && RSS_LOAD=$(rss_kib "$PID")

# Stop: SIGTERM, then the exit status (a crash shows as 128+signal).
STATUS=dead
if alive; then
    kill -TERM "$PID"
    i=0
    while alive && [ "$i" -lt 200 ]; do
        i=$((i + 1))
        sleep 0.05
    done
    if alive; then
        STATUS=hung
    else
        wait "$PID"
        STATUS=$?
    fi
else
    wait "$PID"
    STATUS="exited early with $?"
fi
PID=

verdict() {   # value op target  (integers; empty value = MISS)
    if [ -z "$1" ]; then echo MISS; return; fi
    if [ "$2" = lt ]; then [ "$1" -lt "$3" ] && echo PASS || echo MISS
    else [ "$1" -gt "$3" ] && echo PASS || echo MISS; fi
}

P50_A=$(field "${OUT_A:-}" p50)
P50_B=$(field "${OUT_B:-}" p50)
QPS_C=$(field "${OUT_C:-}" calls/s)
QPS_B=$(field "${OUT_B:-}" calls/s)

echo
echo "== summary"
printf '%-34s %-14s %-12s %s\n' metric value target result
printf '%-34s %-14s %-12s %s\n' "p50 latency, 1 connection" "${P50_A:-?} us" "< 100 us" "$(verdict "${P50_A}" lt 100)"
printf '%-34s %-14s %-12s %s\n' "p50 latency, 8 connections (*)" "${P50_B:-?} us" "< 100 us" "$(verdict "${P50_B}" lt 100)"
printf '%-34s %-14s %-12s %s\n' "throughput, 8 conn round trips" "${QPS_B:-?}/s" "> 20000/s" "$(verdict "${QPS_B}" gt 20000)"
printf '%-34s %-14s %-12s %s\n' "throughput, 8 conn x 16 inflight" "${QPS_C:-?}/s" "> 20000/s" "$(verdict "${QPS_C}" gt 20000)"
printf '%-34s %-14s %-12s %s\n' "RSS idle (after start)" "${RSS_IDLE:-?} KiB" "< 4096 KiB" "$(verdict "${RSS_IDLE}" lt 4096)"
printf '%-34s %-14s %-12s %s\n' "RSS after load" "${RSS_LOAD:-?} KiB" "(report)" "-"
printf '%-34s %-14s %-12s %s\n' "exit status on SIGTERM" "$STATUS" "0" "$([ "$STATUS" = 0 ] && echo PASS || echo FAIL)"

echo "(*) 8 clients in strict round trips: p50 is bounded below by about 8 / (calls/s) (Little's law),"
echo "    and client and server threads share $(nproc) CPUs, so this row measures queueing, not the server alone."

if [ "$STATUS" != 0 ]; then
    echo "bench: crio-server did not exit 0 on SIGTERM ($STATUS)" >&2
    [ -s "$TMP/server.log" ] && tail -20 "$TMP/server.log" >&2
    FAIL=1
fi
exit "$FAIL"
