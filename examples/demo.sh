#!/bin/sh
# `make run`: start crio-server on a scratch root under build/demo and show it
# answering CRI calls through crioctl.  On a terminal the server keeps running
# until Ctrl-C; otherwise (or with DEMO_EXIT=1) it is stopped after the tour.
set -eu
B=${B:-build}
demo=$(pwd)/$B/demo
sock=$demo/crio.sock
rm -rf "$demo"
mkdir -p "$demo/crio.conf.d" "$demo/net.d"
# A local registry (Debian's docker-registry on 127.0.0.1) serving a busybox
# image built here, so the demo pulls without internet.
/usr/bin/python3 tests/fixtures/registry.py serve --dir "$demo/registry" --auth none --images busybox \
    --stdin ignore > "$demo/registry.json" 2>"$demo/registry.log" &
regpid=$!
i=0
until [ -s "$demo/registry.json" ]; do
    i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 "$regpid" 2>/dev/null; then
        echo "the demo registry did not start:" >&2
        cat "$demo/registry.log" >&2
        exit 1
    fi
    sleep 0.1
done
reghost=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["host"])' "$demo/registry.json")
cat > "$demo/registries.conf" <<CONF
[[registry]]
location = "$reghost"
insecure = true
CONF

cat > "$demo/crio.conf" <<CONF
# Demo configuration: everything under $demo.
[crio]
root = "$demo/root"
runroot = "$demo/run"

[crio.api]
listen = "$sock"

[crio.image]
registries_conf = "$demo/registries.conf"

[crio.network]
network_dir = "$demo/net.d"
CONF

"$B/crio-server" --config "$demo/crio.conf" --config-dir "$demo/crio.conf.d" 2>"$demo/crio-server.log" &
pid=$!
stop() {
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    if kill -0 "$regpid" 2>/dev/null; then
        kill -TERM "$regpid"
        wait "$regpid" || true
    fi
}
trap 'stop' EXIT
trap 'echo; stop; exit 0' INT TERM

i=0
until [ -S "$sock" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "crio-server did not start:" >&2
        cat "$demo/crio-server.log" >&2
        exit 1
    fi
    sleep 0.05
done

run() {
    echo "\$ crioctl $*"
    "$B/crioctl" -r "unix://$sock" "$@"
    echo
}
echo "crio-server (pid $pid) is serving CRI runtime.v1 on $sock"
echo
run version
run runtime-config
run info
run pull "$reghost/busybox:1"
run images --digests
run inspecti -o table "$reghost/busybox:1"
run imagefsinfo

if [ -t 0 ] && [ "${DEMO_EXIT:-0}" != 1 ]; then
    echo "crio-server keeps running: try   $B/crioctl -r unix://$sock info"
    echo "Its log is $demo/crio-server.log.  Press Ctrl-C to stop it."
    wait "$pid"
else
    stop
    echo "crio-server stopped."
fi
