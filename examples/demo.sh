#!/usr/bin/env bash
# The README's first command (`make demo`): podinit as PID 1 of a fresh PID
# namespace runs examples/web/pod.toml. Its init step generates a page, its
# app serves it on http://127.0.0.1:8080/. The demo fetches the page, shows
# `podinit status`, stops the pod with SIGTERM as `docker stop` would, and
# prints podinit's exit status. Then it starts the pod once more, as after a
# container restart: the init step's run-once marker matches, so it is skipped.
#
# Needs: target/debug/podinit (`cargo build`; or PODINIT=/path/to/podinit),
# unshare (util-linux), busybox or python3 (the web server), curl or wget.
# Not root: it uses a user namespace (unshare --user --map-root-user).
# Leaves its files in /tmp/podinit-demo-web (removed at the start of each run).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PODINIT=${PODINIT:-$ROOT/target/debug/podinit}
POD=$ROOT/examples/web/pod.toml
URL=http://127.0.0.1:8080/
DEMO_DIR=/tmp/podinit-demo-web

die() { echo "demo: $*" >&2; exit 1; }

[ -x "$PODINIT" ] || die "no podinit binary at $PODINIT: run 'cargo build' first"
command -v unshare >/dev/null || die "unshare not found (util-linux)"
command -v busybox >/dev/null || command -v python3 >/dev/null || die "the web server needs busybox or python3"

# fetch URL: print the body (curl, wget, or busybox wget).
fetch() {
    if command -v curl >/dev/null; then curl -fsS --max-time 2 "$1"
    elif command -v wget >/dev/null; then wget -q -T 2 -O - "$1"
    else busybox wget -q -T 2 -O - "$1"; fi
}

if fetch "$URL" >/dev/null 2>&1; then
    die "something already answers at $URL; stop it first"
fi

NS=(--pid --fork --mount-proc)
[ "$(id -u)" = 0 ] || NS=(--user --map-root-user "${NS[@]}")

UNSHARE=""   # pid of unshare, whose child is podinit
PID1=""      # podinit's pid as seen from here (it is PID 1 inside)
cleanup() {
    if [ -n "$UNSHARE" ] && kill -0 "$UNSHARE" 2>/dev/null; then
        [ -n "$PID1" ] && kill -KILL "$PID1" 2>/dev/null
        wait "$UNSHARE" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B="" N=""; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }

# start: podinit as PID 1, its log lines on our stderr; wait for the page.
start() {
    echo "\$ unshare ${NS[*]} podinit run -c examples/web/pod.toml &"
    unshare "${NS[@]}" "$PODINIT" run -c "$POD" &
    UNSHARE=$!
    PID1=""
    local i
    for i in $(seq 1 100); do
        [ -n "$PID1" ] || PID1=$(cat "/proc/$UNSHARE/task/$UNSHARE/children" 2>/dev/null | awk '{print $1}')
        if [ -n "$PID1" ] && fetch "$URL" >/dev/null 2>&1; then return 0; fi
        kill -0 "$UNSHARE" 2>/dev/null || die "podinit exited early"
        sleep 0.1
    done
    die "nothing answers at $URL after 10 s"
}

# stop: SIGTERM to podinit (PID 1 of the pod), then its exit status.
stop() {
    echo "\$ kill -TERM <podinit>"
    kill -TERM "$PID1"
    local rc=0
    wait "$UNSHARE" || rc=$?
    UNSHARE=""
    echo "podinit exited with status $rc"
    return "$rc"
}

rm -rf "$DEMO_DIR" 2>/dev/null || die "cannot remove $DEMO_DIR (left by another user? remove it first)"

step "Start the pod: init step 'generate' writes the page, then app 'httpd' serves it"
start
sleep 0.2

step "Fetch the page"
echo "\$ curl $URL"
fetch "$URL"

step "Ask podinit for the pod's state"
echo "\$ podinit status -c examples/web/pod.toml"
"$PODINIT" status -c "$POD"

step "Stop it the way 'docker stop' does: SIGTERM to PID 1"
rc1=0
stop || rc1=$?

step "Start it again (a container restart): the run-once marker skips 'generate'"
start
echo "\$ curl $URL"
fetch "$URL"
rc2=0
stop || rc2=$?

[ "$rc1" = 0 ] && [ "$rc2" = 0 ]
