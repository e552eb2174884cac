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
cat > "$demo/crio.conf" <<CONF
# Demo configuration: everything under $demo.
[crio]
root = "$demo/root"
runroot = "$demo/run"

[crio.api]
listen = "$sock"

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

if [ -t 0 ] && [ "${DEMO_EXIT:-0}" != 1 ]; then
    echo "crio-server keeps running: try   $B/crioctl -r unix://$sock info"
    echo "Its log is $demo/crio-server.log.  Press Ctrl-C to stop it."
    wait "$pid"
else
    stop
    echo "crio-server stopped."
fi
