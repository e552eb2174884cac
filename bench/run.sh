#!/bin/sh
# Benchmarks for crio-server (run by `make bench`; B is the build directory).
#
# 1. Starts crio-server on a scratch root and socket, measures its RSS, drives
#    /runtime.v1.RuntimeService/Version with bench/grpc_version (a C HTTP/2
#    client), then stops the server with SIGTERM.  No peer is named for these
#    figures, so only libcrio's are reported.
# 2. bench/unpack: crio_layer_unpack against `tar -xzf` on the same ~200 MiB
#    gzip layer (target: within 1.2x of tar's time).
# 3. bench/pull.py: CRI PullImage of big:1 (5 layers x 50 MiB, gzip) from a
#    local docker-registry against `skopeo copy` to an OCI layout (target:
#    at most 0.7x skopeo's time), and containerd's `ctr images pull` when
#    containerd is installed.
# 4. bench/pod_start.py: RunPodSandbox + CreateContainer + StartContainer of a
#    busybox sleep (median and p90 of 50) against a bare `runc run -d` of an
#    equivalent bundle (target: crio/runc < 2) and containerd's CRI plugin
#    driven by the same client when it can run here (target: faster).
# 5. bench/list_scale.py: ListContainers and ListPodSandbox p99 of 200 calls
#    with 50 pods x 10 containers (target: < 2 ms each).
# 6. bench/pod_rss.py: crio-server VmRSS with 100 running pods (target:
#    < 20 MiB) and each crio-monitor's (target: < 1 MiB).
# 7. bench/network.py: RunPodSandbox of a pod on a CNI bridge + host-local +
#    portmap network (median and p90 of 50), the plugins' ADD time (from the
#    verbose PodSandboxStatus) apart from libcrio's overhead (target: < 5 ms);
#    then 100 pods up and down x 3 rounds (target: no growth of crio-server's
#    RSS, fds, netns mounts, veths, IP allocations, iptables rules, CNI cache).
# Then prints one summary of every figure against its target.
#
# A missed target is reported, not fatal.  The script exits non-zero when the
# server fails to start, crashes, fails a call, or does not exit 0 on SIGTERM,
# or when the unpack, pull, pod start, list, memory or network benchmark fails
# (a failed unpack, pull or CRI call, a wrong result, a crash).
#
# Knobs (environment): BENCH_SCALE=N divides the call counts (quick runs),
# BENCH_THREADS sets [crio.api] thread_pool_size (default: the server's own).
# BENCH_SERVER runs another crio-server binary (to compare builds; the pull
# benchmark uses it too).  BENCH_RUNS sets the unpack and pull runs (default
# 3; the medians are compared).  BENCH_PULL_CONCURRENCY sets [crio.image]
# max_concurrent_downloads for the pull (default: the server's own).
# BENCH_POD_RUNS sets the pod start runs (default 50, divided by BENCH_SCALE).
# BENCH_NET_RUNS sets the network pod start runs (default 50, divided by
# BENCH_SCALE; the leak rounds' 100 pods are divided by BENCH_SCALE too).
# BENCH_ONLY=version|unpack|pull|podstart|list|podrss|network runs one part.
set -u

B=${B:-build}
SERVER=${BENCH_SERVER:-$B/crio-server}
CLIENT=$B/bench/grpc_version
SCALE=${BENCH_SCALE:-1}
RUNS=${BENCH_RUNS:-3}
ONLY=${BENCH_ONLY:-}
HERE=$(dirname "$0")
PY=/usr/bin/python3

for f in "$SERVER" "$CLIENT" "$B/bench/unpack" "$B/bench/grpc_pull"; do
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

want() {   # part: is it to run?
    [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]
}

FAIL=0
say_load() {
    echo "   load average now: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (anything else running skews the figures)"
}

bench_version() {
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
    if [ "$STATUS" != 0 ]; then
        echo "bench: crio-server did not exit 0 on SIGTERM ($STATUS)" >&2
        [ -s "$TMP/server.log" ] && tail -20 "$TMP/server.log" >&2
        FAIL=1
    fi
}

# Runs a command, shows its output as it comes and keeps it in $TMP/$1.out;
# its exit status goes to $TMP/$1.rc.
tee_run() {   # name command...
    name=$1
    shift
    { "$@"; echo $? > "$TMP/$name.rc"; } 2>&1 | tee "$TMP/$name.out"
}
summary_field() {   # file key: the value of key= on the file's *-summary line
    sed -n 's/^[a-z]*-summary //p' "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s|^$2=||p"
}

# One benchmark: its title, then the command's output (kept in $TMP/NAME.out);
# a non-zero exit fails the run, naming WHAT.
bench_part() {   # name what title command...
    name=$1
    what=$2
    echo
    echo "== $3"
    shift 3
    say_load
    tee_run "$name" "$@"
    rc=$(cat "$TMP/$name.rc" 2>/dev/null || echo 1)
    if [ "$rc" -ne 0 ]; then
        echo "bench: $what failed (exit $rc)" >&2
        FAIL=1
    fi
}

# A benchmark script in Python, its temporary files in $TMP.
bench_py() {   # name title script args...
    name=$1
    title=$2
    shift 2
    bench_part "$name" "$1" "$title" env TMPDIR="$TMP" "$PY" "$@"
}

bench_unpack() {
    bench_part unpack bench/unpack \
        "unpack: crio_layer_unpack vs tar -xzf, the same ~200 MiB gzip layer, $RUNS runs each" \
        "$B/bench/unpack" --runs "$RUNS" --dir "$TMP"
}

bench_pull() {
    set -- --build "$B" --runs "$RUNS"
    [ -n "${BENCH_PULL_CONCURRENCY:-}" ] && set -- "$@" --concurrency "$BENCH_PULL_CONCURRENCY"
    bench_part pull bench/pull.py \
        "pull: CRI PullImage vs skopeo copy (and ctr images pull), big:1 from a local registry, $RUNS runs each" \
        env TMPDIR="$TMP" "$PY" "$HERE/pull.py" "$@"
}

POD_RUNS=$(( ${BENCH_POD_RUNS:-50} / SCALE ))
[ "$POD_RUNS" -ge 1 ] || POD_RUNS=1
LIST_CALLS=$(( 200 / SCALE ))
[ "$LIST_CALLS" -ge 1 ] || LIST_CALLS=1
NET_RUNS=$(( ${BENCH_NET_RUNS:-50} / SCALE ))
[ "$NET_RUNS" -ge 1 ] || NET_RUNS=1
NET_PODS=$(( 100 / SCALE ))
[ "$NET_PODS" -ge 1 ] || NET_PODS=1

want version && bench_version
want unpack && bench_unpack
want pull && bench_pull
want podstart && bench_py podstart "pod start: crio vs runc run -d (and containerd's CRI), $POD_RUNS runs each" \
    "$HERE/pod_start.py" --build "$B" --runs "$POD_RUNS"
want list && bench_py list "list: ListContainers and ListPodSandbox, 50 pods x 10 containers, $LIST_CALLS calls each" \
    "$HERE/list_scale.py" --build "$B" --calls "$LIST_CALLS"
want podrss && bench_py podrss "memory: crio-server and crio-monitor RSS with 100 running pods" \
    "$HERE/pod_rss.py" --build "$B"
want network && bench_py network \
    "network: pod start on a CNI bridge ($NET_RUNS runs), $NET_PODS pods up and down x 3 rounds" \
    "$HERE/network.py" --build "$B" --runs "$NET_RUNS" --pods "$NET_PODS" --rounds 3

verdict() {   # value op target  (integers; empty value = MISS)
    if [ -z "$1" ]; then echo MISS; return; fi
    if [ "$2" = lt ]; then [ "$1" -lt "$3" ] && echo PASS || echo MISS
    else [ "$1" -gt "$3" ] && echo PASS || echo MISS; fi
}
fverdict() {   # value max  (decimals; PASS when value <= max; empty value = MISS)
    if [ -z "$1" ]; then echo MISS; return; fi
    awk -v v="$1" -v m="$2" 'BEGIN { print (v + 0 <= m + 0) ? "PASS" : "MISS" }'
}
lverdict() {   # value max  (decimals; PASS when value < max; empty value = MISS)
    if [ -z "$1" ] || [ "$1" = - ]; then echo MISS; return; fi
    awk -v v="$1" -v m="$2" 'BEGIN { print (v + 0 < m + 0) ? "PASS" : "MISS" }'
}
row() {
    printf '%-42s %-26s %-11s %s\n' "$@"
}
# The row comparing crio with containerd (its *-summary has ctr= and ctr_ratio=),
# or saying why containerd was skipped.
ctr_row() {   # label file unit target result skipped-why
    if [ "$(summary_field "$2" ctr)" != - ]; then
        row "$1" "$(summary_field "$2" ctr_ratio) ($(summary_field "$2" crio) / $(summary_field "$2" ctr) $3)" "$4" "$5"
    else
        row "$1" "skipped ($6)" "$4" "-"
    fi
}

unpack_rows() {   # file
    UR=$(summary_field "$1" ratio)
    row "unpack $(summary_field "$1" mib) MiB layer, crio/tar -xzf" \
        "$UR ($(summary_field "$1" crio) / $(summary_field "$1" tar) s)" "<= 1.20" "$(fverdict "$UR" 1.20)"
}
pull_rows() {   # file
    PR=$(summary_field "$1" ratio)
    row "pull big:1, crio/skopeo (**)" "$PR ($(summary_field "$1" crio) / $(summary_field "$1" skopeo) s)" \
        "<= 0.70" "$(fverdict "$PR" 0.70)"
    ctr_row "pull big:1, crio/ctr (**)" "$1" s "(report)" "-" "no containerd"
}
podstart_rows() {   # file
    SC=$(summary_field "$1" crio)
    SR=$(summary_field "$1" runc)
    row "pod start (run+create+start), crio" "$SC ms (p90 $(summary_field "$1" crio_p90))" "(report)" "-"
    row "pod start, crio/runc run -d (***)" "$(summary_field "$1" ratio) ($SC / $SR ms)" "< 2.00" \
        "$(lverdict "$(summary_field "$1" ratio)" 2)"
    ctr_row "pod start, crio/containerd CRI (***)" "$1" ms "< 1.00" \
        "$(lverdict "$(summary_field "$1" ctr_ratio)" 1)" "see below"
}
list_rows() {   # file
    LC=$(summary_field "$1" lc_p99)
    row "ListContainers p99, $(summary_field "$1" containers) containers (****)" \
        "$LC ms (server CPU $(summary_field "$1" lc_cpu))" "< 2 ms" "$(lverdict "$LC" 2)"
    LP=$(summary_field "$1" lp_p99)
    row "ListPodSandbox p99, $(summary_field "$1" pods) pods (****)" \
        "$LP ms (server CPU $(summary_field "$1" lp_cpu))" "< 2 ms" "$(lverdict "$LP" 2)"
}
podrss_rows() {   # file
    RS=$(summary_field "$1" server_kib)
    row "RSS crio-server, $(summary_field "$1" pods) running pods" "$RS KiB" "< 20480 KiB" \
        "$(verdict "$RS" lt 20480)"
    RM=$(summary_field "$1" monitor_max_kib)
    row "RSS crio-monitor, max of $(summary_field "$1" monitors)" \
        "$RM KiB (avg $(summary_field "$1" monitor_avg_kib))" "< 1024 KiB" "$(verdict "$RM" lt 1024)"
}
network_rows() {   # file
    row "pod start, CNI bridge (RunPodSandbox)" \
        "$(summary_field "$1" run_ms) ms (p90 $(summary_field "$1" run_p90))" "(report)" "-"
    row "  CNI plugins' ADD (add_ms)" \
        "$(summary_field "$1" add_ms) ms (p90 $(summary_field "$1" add_p90))" "(report)" "-"
    NO=$(summary_field "$1" overhead_ms)
    row "  libcrio overhead, run - add_ms (*****)" "$NO ms (p90 $(summary_field "$1" overhead_p90))" \
        "< 5 ms" "$(lverdict "$NO" 5)"
    row "StopPodSandbox, CNI bridge (DEL)" \
        "$(summary_field "$1" stop_ms) ms (p90 $(summary_field "$1" stop_p90))" "(report)" "-"
    row "pod start / stop, host network" \
        "$(summary_field "$1" host_ms) / $(summary_field "$1" host_stop_ms) ms" "(report)" "-"
    NL=$(summary_field "$1" leak)
    row "$(summary_field "$1" pods) pods x $(summary_field "$1" rounds) rounds, growth (*****)" \
        "RSS $(summary_field "$1" rss_kib) KiB, fds $(summary_field "$1" fds)" "no growth" \
        "$([ "$NL" = PASS ] && echo PASS || echo MISS)"
}
# The rows of part NAME, when it ran: ROWS (a function of its output file)
# when its *-summary line has KEY, else one row saying that METRIC failed.
part_rows() {   # name key rows metric target
    want "$1" || return 0
    if [ -n "$(summary_field "$TMP/$1.out" "$2")" ]; then
        "$3" "$TMP/$1.out"
    else
        row "$4" "failed" "$5" "FAIL"
    fi
}

echo
echo "== summary"
row metric value target result
if want version; then
    P50_A=$(field "${OUT_A:-}" p50)
    P50_B=$(field "${OUT_B:-}" p50)
    QPS_C=$(field "${OUT_C:-}" calls/s)
    QPS_B=$(field "${OUT_B:-}" calls/s)
    row "Version p50 latency, 1 connection" "${P50_A:-?} us" "< 100 us" "$(verdict "${P50_A}" lt 100)"
    row "Version p50 latency, 8 connections (*)" "${P50_B:-?} us" "< 100 us" "$(verdict "${P50_B}" lt 100)"
    row "Version throughput, 8 conn round trips" "${QPS_B:-?}/s" "> 20000/s" "$(verdict "${QPS_B}" gt 20000)"
    row "Version throughput, 8 conn x 16 inflight" "${QPS_C:-?}/s" "> 20000/s" "$(verdict "${QPS_C}" gt 20000)"
    row "RSS idle (after start)" "${RSS_IDLE:-?} KiB" "< 4096 KiB" "$(verdict "${RSS_IDLE}" lt 4096)"
    row "RSS after load" "${RSS_LOAD:-?} KiB" "(report)" "-"
    row "exit status on SIGTERM" "$STATUS" "0" "$([ "$STATUS" = 0 ] && echo PASS || echo FAIL)"
fi
part_rows unpack ratio unpack_rows "unpack ~200 MiB layer, crio/tar -xzf" "<= 1.20"
part_rows pull ratio pull_rows "pull big:1, crio/skopeo (**)" "<= 0.70"
part_rows podstart crio podstart_rows "pod start (run+create+start), crio" "(report)"
part_rows list lc_p99 list_rows "ListContainers / ListPodSandbox p99" "< 2 ms"
part_rows podrss server_kib podrss_rows "RSS crio-server / crio-monitor, 100 pods" "< 20480 / 1024 KiB"
part_rows network overhead_ms network_rows "pod start, CNI bridge: libcrio overhead" "< 5 ms"

if want version; then
    echo "(*) 8 clients in strict round trips: p50 is bounded below by about 8 / (calls/s) (Little's law),"
    echo "    and client and server threads share $(nproc) CPUs, so this row measures queueing, not the server alone."
fi
if want pull; then
    echo "(**) medians of $RUNS runs, 250 MiB in 5 gzip layers from docker-registry on 127.0.0.1 (sharing the CPUs)."
    echo "    crio: PullImage request to response; it downloads, verifies (blob digests and diff_ids), UNPACKS"
    echo "    and syncs every layer.  skopeo copy: only copies the blobs into an OCI layout (verified, fsynced),"
    echo "    no unpack.  ctr images pull: downloads, then unpacks into containerd's overlayfs snapshotter."
fi
if want podstart; then
    echo "(***) medians of $POD_RUNS runs, interleaved, from the same Python grpc client; host-network pods."
    echo "    runc: overlay mount + config.json + \`runc run -d\` (the floor any runtime pays)."
    SK=$(sed -n 's/^podstart-ctr-skipped //p' "$TMP/podstart.out" 2>/dev/null)
    [ -n "$SK" ] && echo "    containerd skipped: $SK"
fi
if want list; then
    echo "(****) $LIST_CALLS calls each on one connection from Python's grpc (replies not decoded), containers"
    echo "    created, not started; server CPU: crio-server's CPU time per call (ms), from /proc."
fi
if want network; then
    echo "(*****) medians of $NET_RUNS runs, one pod at a time, no container; runroot on a tmpfs the benchmark"
    echo "    mounts (as /run/crio is in production), root on disk.  add_ms: the plugins' ADD time as crio-server"
    echo "    measured it; the overhead includes the Python client's round trip ($(summary_field "$TMP/network.out" rtt_ms) ms"
    echo "    for Version).  Growth: after each round's teardown, rounds 2-3 against round 1: fds and every kernel"
    echo "    object equal, VmRSS within $(summary_field "$TMP/network.out" rss_tol_kib) KiB (why not: $(summary_field "$TMP/network.out" leak_why))."
fi
exit "$FAIL"
