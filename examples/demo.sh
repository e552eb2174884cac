#!/bin/sh
# `make run`: start crio-server with the default configuration on a scratch
# root (build/demo; its runroot in /run), import a busybox image built here
# from busybox-static (no registry needed), run a pod whose container prints a
# greeting -- examples/pod.json and examples/container.json, crictl's format --
# show `crioctl pods`, `crioctl ps -a` and `crioctl logs`, and remove the pod.
# Then pull the same image from a local registry (Debian's docker-registry on
# 127.0.0.1, serving the same busybox image).
#
# On a terminal the server keeps running afterwards until Ctrl-C; otherwise (or
# with DEMO_EXIT=1) it is stopped after the tour.  Every pod, mount and process
# the demo made is removed when it ends, however it ends.
set -eu
B=${B:-build}
case $B in
/*) ;;
*) B=$(pwd)/$B ;;
esac
demo=$B/demo
sock=$demo/crio.sock
# Pod and container state (and unix sockets, whose paths must fit in 108
# bytes) live in a short runroot under /run, as crio-server's default does.
run=
logdir=/tmp/libcrio-demo          # examples/pod.json's log_directory
image=localhost/busybox:1         # examples/container.json's image
bridge=crio-demo0                 # the demo network's bridge (removed at the end)
pid=
regpid=
stopped=

# Mount points under a directory, deepest first.
mounts_under() {
    awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}
unmount_under() {
    for m in $(mounts_under "$1"); do
        umount -l "$m" 2>/dev/null || true
    done
}

stop() {
    [ -z "$stopped" ] || return 0
    stopped=1
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        # Containers outlive crio-server by design: remove the pods first.
        "$B/crioctl" -r "unix://$sock" -t 60s rmp -a -f >/dev/null 2>&1 || true
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    if [ -n "$regpid" ] && kill -0 "$regpid" 2>/dev/null; then
        kill -TERM "$regpid"
        wait "$regpid" || true
    fi
    if [ -n "$run" ]; then
        unmount_under "$run"
        rm -rf "$run"
    fi
    unmount_under "$demo"
    ip link del "$bridge" 2>/dev/null || true
    rm -f "$logdir/hello.log"
    rmdir "$logdir" 2>/dev/null || true
}
on_exit() {
    rc=$?
    if [ "$rc" -ne 0 ] && [ -s "$demo/crio-server.log" ]; then
        echo "demo failed; the end of crio-server's log ($demo/crio-server.log):" >&2
        tail -n 15 "$demo/crio-server.log" >&2
    fi
    stop
}
trap on_exit EXIT
trap 'echo; exit 0' INT TERM

unmount_under "$demo"
rm -rf "$demo"
mkdir -p "$demo/crio.conf.d" "$demo/net.d" "$logdir"
run=$(mktemp -d /run/libcrio-demo.XXXXXX)

# The local registry builds busybox:1 into $demo/images and pushes it there.
/usr/bin/python3 tests/fixtures/registry.py serve --dir "$demo/images" --auth none --images busybox \
    --stdin ignore > "$demo/registry.json" 2>"$demo/registry.log" &
regpid=$!
i=0
until [ -s "$demo/registry.json" ]; do
    i=$((i + 1))
    if [ $i -gt 1200 ] || ! kill -0 "$regpid" 2>/dev/null; then
        echo "the demo registry did not start:" >&2
        cat "$demo/registry.log" >&2
        exit 1
    fi
    sleep 0.05
done
reghost=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["host"])' "$demo/registry.json")
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$reghost" > "$demo/registries.conf"

cat > "$demo/crio.conf" <<CONF
# Demo configuration: the defaults, with every path under $demo (and $run).
[crio]
root = "$demo/root"
runroot = "$run"

[crio.api]
listen = "$sock"

[crio.image]
registries_conf = "$demo/registries.conf"

[crio.network]
network_dir = "$demo/net.d"
CONF

# Pods get their network from Debian's CNI plugins: a bridge with addresses from
# host-local, and portmap for host ports.
cat > "$demo/net.d/10-demo.conflist" <<NET
{
  "cniVersion": "1.0.0",
  "name": "libcrio-demo",
  "plugins": [
    { "type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.89.0.0/24" }]],
                "dataDir": "$demo/cni-ipam" } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
NET

# In a session of its own: Ctrl-C stops the demo, which then removes the pods
# (crio-server must still be up for that) and stops crio-server.
setsid "$B/crio-server" --config "$demo/crio.conf" --config-dir "$demo/crio.conf.d" 2>"$demo/crio-server.log" &
pid=$!
i=0
until [ -S "$sock" ]; do
    i=$((i + 1))
    if [ $i -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "crio-server did not start:" >&2
        cat "$demo/crio-server.log" >&2
        exit 1
    fi
    sleep 0.05
done

ctl() {
    "$B/crioctl" -r "unix://$sock" "$@"
}
show() {   # prints the command, runs it
    echo "\$ crioctl $*"
    ctl "$@"
    echo
}
say() {
    echo "# $*"
}

echo "crio-server (pid $pid) is serving CRI runtime.v1 on $sock"
echo
show version

say "An image without a registry: busybox-static as an OCI layout (tests/fixtures/images.py), imported."
/usr/bin/python3 tests/fixtures/images.py build "$demo/images" busybox > /dev/null
show image import --name "$image" "$demo/images/busybox"
show images

say "A pod (examples/pod.json) and a container in it that greets (examples/container.json)."
echo "\$ crioctl runp examples/pod.json"
POD=$(ctl runp examples/pod.json)
echo "$POD"
echo
POD=$(echo "$POD" | cut -c1-13)   # a unique prefix of an id is enough, as with crictl
echo "\$ crioctl create $POD examples/container.json examples/pod.json"
CTR=$(ctl create "$POD" examples/container.json examples/pod.json)
echo "$CTR"
echo
CTR=$(echo "$CTR" | cut -c1-13)
show start "$CTR"

# The greeting is short: wait (10 s at most) until the container has exited.
i=0
until [ -n "$(ctl ps -a -q -s exited --id "$CTR")" ]; do
    i=$((i + 1))
    if [ $i -gt 200 ]; then
        echo "the container did not exit within 10 s" >&2
        ctl ps -a >&2
        exit 1
    fi
    sleep 0.05
done
show pods
say "Its IP came from the CNI bridge network in $demo/net.d:"
echo "\$ crioctl inspectp $POD | grep -m1 '\"ip\"'"
ctl inspectp "$POD" | grep -m1 '"ip"'
echo
show ps -a
show logs "$CTR"
show stopp "$POD"
show rmp "$POD"

say "The same image from a registry: Debian's docker-registry on $reghost."
show pull "$reghost/busybox:1"
show images

if [ -t 0 ] && [ "${DEMO_EXIT:-0}" != 1 ]; then
    echo "crio-server keeps running: try   $B/crioctl -r unix://$sock run examples/container.json examples/pod.json"
    echo "Its log is $demo/crio-server.log.  Press Ctrl-C to stop it."
    wait "$pid"
else
    stop
    echo "crio-server stopped; the pod, its container and their mounts are gone."
fi
