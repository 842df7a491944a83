#!/usr/bin/env bash
# podinit end to end with a real Docker engine.
#
# scripts/e2e.sh proves podinit under runc; this proves it under dockerd, as
# users run it, with the images built from examples/docker/:
#   1. Docker's init      a daemon started with --init-path = podinit (named
#                         docker-init); `docker run --init`: PID 1, exit codes,
#                         `docker stop`, what `docker info` parses
#   2. pause sandbox      Dockerfile.pause as /pause with a published port; two
#                         containers joining it with --net/--ipc/--pid=container:
#   3. pod image          Dockerfile.pod: init step fills the volume, httpd
#                         serves it, HEALTHCHECK, stop, restart, exec status/restart
#   4. locked down        --user 1000:1000 --read-only --tmpfs /run --cap-drop ALL
#   5. signals and stdio  docker kill -s HUP, docker run -t (job control), -i
#
# Every image is built here FROM scratch (static busybox + podinit): nothing is
# pulled from a registry (`docker run --pull=never`).
#
# The script always starts a dockerd of its own: scenario 1 needs a daemon
# whose --init-path is podinit, and a private daemon leaves the machine's
# Docker (if any) and its images alone. It has its own data root, exec root,
# socket, pidfile, containerd namespace and key file under a temp dir, no
# docker0 bridge (--bridge=none) and no iptables rules (--iptables=false);
# containers that need a network get one `docker network create`d here.
# Everything it made (containers, volumes, network, images, the daemon, its
# mounts and files) is removed at exit, also when a check fails or on ^C; the
# daemon's log is shown when something failed.
#
# Usage: scripts/docker-e2e.sh               (as root; builds the static binary)
#        PODINIT=path scripts/docker-e2e.sh  (use that static binary, no build)
# Needs: root, busybox-static, python3, curl or wget, script (bsdutils);
#        installs docker.io (apt-get) when dockerd or docker is missing.
# Prints "docker-e2e: N passed, N failed"; exits non-zero when anything failed.
# Skips (exit 0, one line saying why) only when not root or when dockerd
# cannot start on this machine.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=x86_64-unknown-linux-musl
T0=$(date +%s%N)

if [ "$(id -u)" != 0 ]; then
    echo "docker-e2e: skipped: dockerd needs root (CI runs as root)"
    exit 0
fi

die() { echo "docker-e2e: error: $*" >&2; exit 1; }

# is_static FILE: no ELF interpreter, so it runs in an image without a libc.
is_static() { ! readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'; }

command -v readelf >/dev/null || die "readelf not found (apt-get install binutils)"
command -v python3 >/dev/null || die "python3 not found (reads docker inspect's JSON)"
command -v script >/dev/null || die "script not found (apt-get install bsdutils)"
command -v curl >/dev/null || command -v wget >/dev/null || die "neither curl nor wget found (apt-get install curl)"
BUSYBOX=${BUSYBOX:-$(command -v busybox || true)}
[ -n "$BUSYBOX" ] || die "busybox not found (apt-get install busybox-static)"
is_static "$BUSYBOX" || die "$BUSYBOX is dynamically linked; a FROM scratch image has no libc (apt-get install busybox-static)"

if [ -z "${PODINIT:-}" ]; then
    echo "docker-e2e: building the static binary (make static)"
    make -C "$ROOT" --no-print-directory static >/dev/null || die "make static failed"
    PODINIT=$ROOT/target/$TARGET/release/podinit
fi
[ -x "$PODINIT" ] || die "no podinit binary at $PODINIT"
is_static "$PODINIT" || die "$PODINIT is dynamically linked; build it with make static"
PODINIT=$(cd "$(dirname "$PODINIT")" && pwd)/$(basename "$PODINIT")
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)
GIT_HASH=$("$PODINIT" --version | sed -n 's/.* - git\.//p')

# --- Docker: the packages, then a daemon of our own ---------------------------

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null || ! command -v containerd >/dev/null; then
    echo "docker-e2e: installing docker.io (apt-get)"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io; } \
        >/tmp/podinit-docker-install.log 2>&1 \
        || { tail -n 20 /tmp/podinit-docker-install.log >&2; die "apt-get install docker.io failed (log above)"; }
    rm -f /tmp/podinit-docker-install.log
fi

T_SUITE=docker-e2e
# shellcheck source=../tests/lib.sh
. "$ROOT/tests/lib.sh"

# Everything of this run lives under W; RUN names it in docker (lower case).
W=$T_TMP/d
RUN=$(basename "$T_TMP" | sed 's/.*\.//' | tr 'A-Z' 'a-z')
LABEL=podinit-e2e=$RUN
NET=podinit-e2e-$RUN
IMG_BB=podinit-e2e-$RUN/busybox
IMG_INIT=podinit-e2e-$RUN/init
IMG_PAUSE=podinit-e2e-$RUN/pause
IMG_POD=podinit-e2e-$RUN/pod
IMAGES="$IMG_BB $IMG_INIT $IMG_PAUSE $IMG_POD"
mkdir -p "$W/bin" "$W/client" "$W/ctx/dist" "$W/ctx/examples/docker" "$W/pods"

export DOCKER_HOST=unix://$W/docker.sock
export DOCKER_CONFIG=$W/client   # not ~/.docker: no contexts, no credentials
export DOCKER_BUILDKIT=0         # the classic builder: no buildx plugin needed
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH

DOCKERD_PID=""
DOCKERD_LOG=$W/dockerd.log

# dk ARGS...: the docker CLI, bounded so a hung daemon fails the check.
dk() { timeout -k 5 "${DK_LIMIT:-60}" docker "$@"; }

# show_dockerd_log: its last warnings and errors; the whole log is kept.
KEPT_LOG=/tmp/podinit-docker-e2e.dockerd.log
show_dockerd_log() {
    [ -s "$DOCKERD_LOG" ] || return 0
    cp "$DOCKERD_LOG" "$KEPT_LOG" 2>/dev/null
    echo "--- dockerd's last warnings and errors (whole log: $KEPT_LOG):"
    grep -v -e 'level=info' -e 'IPv4 forwarding is disabled' "$DOCKERD_LOG" | tail -n 30 | sed 's/^/    | /'
}

# docker_cleanup: every container, volume, network and image of this run,
# then the daemon, its leftover mounts and its files. Idempotent; CLEANED=1
# once it ran. Runs from the EXIT trap too.
CLEANED=0
remove_run_objects() {
    local ids
    ids=$(DK_LIMIT=20 dk ps -aq --filter "label=$LABEL" 2>/dev/null)
    [ -n "$ids" ] && DK_LIMIT=60 dk rm -f -v $ids >/dev/null 2>&1
    ids=$(DK_LIMIT=20 dk volume ls -q --filter "label=$LABEL" 2>/dev/null)
    [ -n "$ids" ] && DK_LIMIT=20 dk volume rm -f $ids >/dev/null 2>&1
    ids=$(DK_LIMIT=20 dk network ls -q --filter "label=$LABEL" 2>/dev/null)
    [ -n "$ids" ] && DK_LIMIT=20 dk network rm $ids >/dev/null 2>&1
    # The images, and the untagged layers the builder left behind.
    DK_LIMIT=30 dk rmi -f $IMAGES >/dev/null 2>&1
    DK_LIMIT=30 dk image prune -f >/dev/null 2>&1
}
docker_cleanup() {
    [ "$CLEANED" = 1 ] && return 0
    CLEANED=1
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        remove_run_objects
        kill -TERM "$DOCKERD_PID" 2>/dev/null
        local i
        for i in $(seq 1 200); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$DOCKERD_PID" 2>/dev/null; then
            echo "docker-e2e: dockerd did not stop within 20s; SIGKILL" >&2
            pkill -KILL -P "$DOCKERD_PID" 2>/dev/null   # its containerd, by parent pid
            kill -KILL "$DOCKERD_PID" 2>/dev/null
        fi
        wait "$DOCKERD_PID" 2>/dev/null
    fi
    # Mounts the daemon could not undo (after a SIGKILL): innermost first.
    if [ -d "$W" ]; then
        awk -v w="$W" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r |
            while read -r m; do umount -l "$m" 2>/dev/null; done
    fi
    local d
    for d in ${NEW_HOST_DIRS:-}; do rmdir "$d" 2>/dev/null; done
}

on_exit() {
    [ "$BASHPID" = "$T_MAIN_PID" ] || return 0
    local failed=0
    [ "$T_FAIL" != 0 ] && failed=1
    if [ "$CLEANED" = 0 ] && [ "${SUMMARY_DONE:-0}" = 0 ]; then
        failed=1
        echo "docker-e2e: aborted during '${T_NAME:-setup}'; removing what it made"
    fi
    docker_cleanup
    [ "$failed" = 1 ] && show_dockerd_log
    rm -rf "$T_TMP"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# dockerd makes these whatever its exec root (plugin discovery, shim sockets):
# the ones that were not there before go again at the end, if empty.
HOST_DIRS="/run/docker/plugins /run/docker /run/containerd/s /run/containerd"
NEW_HOST_DIRS=""
for d in $HOST_DIRS; do [ -e "$d" ] || NEW_HOST_DIRS="$NEW_HOST_DIRS $d"; done

# start_dockerd: a private daemon whose init is podinit. Returns 1 (and says
# why in DOCKERD_WHY) when it does not come up.
start_dockerd() {
    cp "$PODINIT" "$W/bin/docker-init"
    # Not the machine's /etc/docker/daemon.json. Before Docker 23 the daemon
    # also writes a trust key, by default to /etc/docker/key.json: into W instead
    # (later versions neither write it nor know the setting).
    local major
    major=$(dockerd --version 2>/dev/null | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p')
    if [ "${major:-0}" -lt 23 ]; then
        printf '{ "deprecated-key-path": "%s/key.json" }\n' "$W" >"$W/daemon.json"
    else
        echo '{}' >"$W/daemon.json"
    fi
    dockerd --config-file "$W/daemon.json" \
        --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/dockerd.pid" \
        -H "$DOCKER_HOST" \
        --containerd-namespace "podinit-e2e-$RUN" --containerd-plugins-namespace "podinit-e2e-$RUN-plugins" \
        --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        --init-path "$W/bin/docker-init" >"$DOCKERD_LOG" 2>&1 &
    DOCKERD_PID=$!
    local i
    for i in $(seq 1 600); do
        if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
            DOCKERD_WHY="dockerd exited: $(grep -E 'level=(fatal|error)|failed' "$DOCKERD_LOG" | tail -n1)"
            DOCKERD_PID=""
            return 1
        fi
        DK_LIMIT=5 dk version --format '{{.Server.Version}}' >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    DOCKERD_WHY="dockerd did not answer on $DOCKER_HOST within 60s: $(tail -n1 "$DOCKERD_LOG")"
    return 1
}

if ! start_dockerd; then
    echo "docker-e2e: skipped: Docker cannot run on this machine: $DOCKERD_WHY"
    show_dockerd_log
    SUMMARY_DONE=1
    exit 0
fi
echo "docker-e2e: podinit $VERSION (git.$GIT_HASH) from $PODINIT"
echo "docker-e2e: dockerd $(dk version --format '{{.Server.Version}}') (storage $(dk info --format '{{.Driver}}')), client $(dk version --format '{{.Client.Version}}'), pid $DOCKERD_PID, root $W"

# --- helpers -------------------------------------------------------------------

# drun ARGS...: docker run, labelled as this run's (cleanup finds it), never
# pulling. Its stderr loses the CLI's note that the daemon does no IP
# forwarding (on purpose: containers only talk to this host).
drun() {
    { dk run --pull=never --label "$LABEL" "$@" 2>&1 1>&3 3>&- |
        { grep -v 'IPv4 forwarding is disabled' || true; } >&2; } 3>&1
}

# insp OBJ FORMAT: docker inspect --format FORMAT OBJ.
insp() { dk inspect --format "$2" "$1" 2>/dev/null; }

# is_running C / has_exited C
is_running() { [ "$(insp "$1" '{{.State.Running}}')" = true ]; }
has_exited() { [ "$(insp "$1" '{{.State.Status}}')" = exited ]; }

# health_is C STATUS: the HEALTHCHECK status (starting, healthy, unhealthy).
health_is() { [ "$(insp "$1" '{{.State.Health.Status}}')" = "$2" ]; }

# logs_have C TEXT: the container's output (stdout and stderr) contains TEXT.
logs_have() { dk logs "$1" 2>&1 | grep -qF -- "$2"; }

# count_in_logs C TEXT: how many lines of its output contain TEXT.
count_in_logs() { dk logs "$1" 2>&1 | grep -cF -- "$2"; }

# host_port C PORT: the host port docker published the container's PORT on.
host_port() { dk port "$1" "$2/tcp" 2>/dev/null | sed -n 's/^127\.0\.0\.1://p' | head -n1; }

# http_get URL: the body, or a non-zero status.
http_get() {
    if command -v curl >/dev/null; then curl -fsS -m 3 "$1" 2>/dev/null
    else wget -qO- -T 3 "$1" 2>/dev/null; fi
}

# http_has URL TEXT: the body of URL contains TEXT.
http_has() { http_get "$1" | grep -qF -- "$2"; }

# timed CMD...: run CMD; ELAPSED_MS is how long it took, RC its status.
timed() {
    local t0; t0=$(now_ms)
    RC=0; "$@" >/dev/null 2>&1 || RC=$?
    ELAPSED_MS=$(( $(now_ms) - t0 ))
}

# wait_c SECONDS C CMD...: wait_for, but gives up (one last try) as soon as
# container C is not running, so a dead container fails fast.
wait_c() {
    local limit=$1 c=$2; shift 2
    local end=$(( $(date +%s%N) + limit * 1000000000 ))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        "$@" >/dev/null 2>&1 && return 0
        if ! is_running "$c"; then
            "$@" >/dev/null 2>&1 && return 0
            t_fail "container $c is not running: $(insp "$c" '{{.State.Status}}, exit code {{.State.ExitCode}}')"
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# assert_le A B WHAT: A <= B (integers).
assert_le() { [ "$1" -le "$2" ] 2>/dev/null || t_fail "${3:-value}: expected <= $2, got '$1'"; }

# exit_code C: the container's exit status once it stopped.
exit_code() { insp "$1" '{{.State.ExitCode}}'; }

# show_logs C...: when the case failed, what the containers printed.
show_logs() {
    [ "$T_CASE_OK" = 1 ] && return 0
    local c
    for c in "$@"; do
        echo "    --- docker logs $c (last 20 lines):"
        dk logs --tail 20 "$c" 2>&1 | sed 's/^/    | /'
    done
}

# Per scenario wall time, printed at the end.
SCEN_NAME=""; SCEN_T0=0; SCEN_TIMES=""
scenario() {
    scenario_end
    SCEN_NAME=$1; SCEN_T0=$(now_ms)
    echo "== $1"
}
scenario_end() {
    [ -n "$SCEN_NAME" ] || return 0
    local ms=$(( $(now_ms) - SCEN_T0 ))
    SCEN_TIMES="$SCEN_TIMES$(printf '  %-48s %3d.%01ds' "$SCEN_NAME" $((ms / 1000)) $((ms % 1000 / 100)))
"
    SCEN_NAME=""
}

# --- the images ----------------------------------------------------------------
# The build context is a copy of the files the Dockerfiles name, laid out as in
# the repository (after `make release` and `cp /bin/busybox dist/busybox`), so
# `docker build -f examples/docker/Dockerfile.X .` is what a user runs.

scenario "build: images FROM scratch"
cp "$BUSYBOX" "$W/ctx/dist/busybox"
cp "$PODINIT" "$W/ctx/dist/podinit-$VERSION-x86_64-linux-musl"
cp "$ROOT/examples/docker/"Dockerfile.* "$ROOT/examples/docker/pod.toml" "$W/ctx/examples/docker/"
cp "$ROOT/.dockerignore" "$W/ctx/"
# A plain busybox image for `docker run --init`: podinit is not in it, Docker
# mounts it as /sbin/docker-init.
cat >"$W/ctx/Dockerfile.busybox" <<'EOF'
FROM scratch
COPY dist/busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -m 1777 /tmp"]
EOF

# build IMAGE DOCKERFILE: docker build in the context; 1 (log shown) on failure.
build() {
    DK_LIMIT=180 dk build --label "$LABEL" --build-arg "PODINIT_VERSION=$VERSION" \
        -t "$1" -f "$W/ctx/$2" "$W/ctx" >"$W/build.log" 2>&1 && return 0
    t_fail "docker build -f $2 failed"
    tail -n 15 "$W/build.log" | sed 's/^/    | /'
    return 1
}

t_begin "build: the example Dockerfiles (+ a busybox one) build FROM scratch without a pull"
build "$IMG_BB" Dockerfile.busybox
build "$IMG_INIT" examples/docker/Dockerfile.init
build "$IMG_PAUSE" examples/docker/Dockerfile.pause
build "$IMG_POD" examples/docker/Dockerfile.pod
# FROM scratch: the only layers are the ones built here, so the image holds
# nothing but busybox, podinit and pod.toml.
for img in $IMAGES; do
    [ -n "$(insp "$img" '{{.Id}}')" ] || t_fail "image $img is missing"
done
assert_eq "[/pause]" "$(insp "$IMG_PAUSE" '{{json .Config.Entrypoint}}' | tr -d '"')" "pause ENTRYPOINT"
assert_eq "65535:65535" "$(insp "$IMG_PAUSE" '{{.Config.User}}')" "pause USER"
assert_eq '[CMD /podinit health]' "$(insp "$IMG_POD" '{{.Config.Healthcheck.Test}}')" "pod HEALTHCHECK"
t_end
[ "$T_FAIL" = 0 ] || { echo "docker-e2e: the images did not build; no scenario can run"; t_summary; exit 1; }

dk network create --label "$LABEL" "$NET" >/dev/null || die "docker network create $NET failed"

# === 1. podinit as Docker's init ===============================================
# dockerd --init-path points at podinit copied as docker-init; `docker run
# --init` bind-mounts it at /sbin/docker-init and runs `docker-init -- CMD`.

scenario "1. podinit as Docker's init (--init)"

t_begin "init: docker info shows the init version it parsed from podinit (tini format)"
assert_eq "tini version $VERSION - git.$GIT_HASH" "$("$W/bin/docker-init" --version)" "docker-init --version"
assert_eq "$W/bin/docker-init $GIT_HASH" "$(dk info --format '{{.InitBinary}} {{.InitCommit.ID}}')" "docker info InitBinary InitCommit.ID"
assert_contains "$(dk info 2>/dev/null)" "init version: $GIT_HASH" "docker info"
t_end

t_begin "init: PID 1 of docker run --init is podinit, running the command"
out=$(drun --rm --init --network none "$IMG_BB" sh -c \
    'tr "\0" " " </proc/1/cmdline; echo; sha256sum /proc/1/exe | cut -d" " -f1; echo "me=$$"' 2>&1)
assert_contains "$(echo "$out" | sed -n 1p)" "/sbin/docker-init -- sh -c" "PID 1's command line"
assert_eq "$(sha256sum "$PODINIT" | cut -d' ' -f1)" "$(echo "$out" | sed -n 2p)" "sha256 of PID 1's executable (podinit's expected)"
assert_ne "me=1" "$(echo "$out" | sed -n 3p)" "the command's pid"
t_end

t_begin "init: exit codes pass through (42, 128+USR1, 127 for a missing command)"
RC=0; drun --rm --init --network none "$IMG_BB" sh -c 'exit 42' >/dev/null 2>&1 || RC=$?
assert_eq 42 "$RC" "exit status of sh -c 'exit 42'"
RC=0; drun --rm --init --network none "$IMG_BB" sh -c 'kill -USR1 $$' >/dev/null 2>&1 || RC=$?
assert_eq 138 "$RC" "exit status of a command killed by SIGUSR1"
RC=0; out=$(drun --rm --init --network none "$IMG_BB" no-such-cmd 2>&1) || RC=$?
assert_eq 127 "$RC" "exit status of a missing command"
assert_match "$out" '^podinit: .*no-such-cmd.*not found' "docker-init's error"
t_end

t_begin "init: docker stop: the command's TERM trap runs and its exit code is the container's, well within the stop timeout"
C=init-trap-$RUN
drun -d --name "$C" --init --network none "$IMG_BB" sh -c \
    'trap "echo got-TERM; exit 3" TERM; echo up; while :; do sleep 0.1; done' >/dev/null
wait_c 10 "$C" logs_have "$C" up || t_fail "the command never started"
timed dk stop -t 10 "$C"
assert_eq 0 "$RC" "docker stop status"
assert_le "$ELAPSED_MS" 3000 "milliseconds docker stop took (its timeout is 10 s)"
assert_eq 3 "$(exit_code "$C")" "container exit code"
logs_have "$C" got-TERM || t_fail "the TERM trap did not run"
show_logs "$C"; t_end

t_begin "init: docker stop ends a plain 'sleep' with 143 at once; without --init it waits for SIGKILL"
C=init-sleep-$RUN
drun -d --name "$C" --init --network none "$IMG_BB" sleep 300 >/dev/null
wait_for 3 is_running "$C" || t_fail "container not running"
timed dk stop -t 10 "$C"
assert_le "$ELAPSED_MS" 3000 "milliseconds docker stop took with --init"
assert_eq 143 "$(exit_code "$C")" "exit code with --init (128+SIGTERM)"
# The control: sleep as PID 1 has no TERM handler, the kernel ignores TERM for
# it, and docker stop must wait for its timeout (1 s here) and SIGKILL.
C=noinit-sleep-$RUN
drun -d --name "$C" --network none "$IMG_BB" sleep 300 >/dev/null
wait_for 3 is_running "$C" || t_fail "control container not running"
timed dk stop -t 1 "$C"
assert_le 1000 "$ELAPSED_MS" "milliseconds docker stop -t 1 took without an init"
assert_eq 137 "$(exit_code "$C")" "exit code without an init (SIGKILL)"
t_end

t_begin "init: an orphan of the command is reaped by docker-init (no zombie)"
out=$(drun --rm --init --network none "$IMG_BB" sh -c \
    '(sleep 0.2 &); sleep 1.2; ps -o pid,ppid,stat,args' 2>&1)
assert_contains "$out" "/sbin/docker-init" "ps output"
assert_no_match "$out" '^ *[0-9]+ +[0-9]+ +Z' "ps in the container (a zombie)"
t_end

t_begin "init: Dockerfile.init (ENTRYPOINT podinit --) serves, and docker stop gives 143 fast"
C=init-image-$RUN
drun -d --name "$C" --network "$NET" -p 127.0.0.1::8000 "$IMG_INIT" >/dev/null
PORT=$(host_port "$C" 8000)
wait_c 10 "$C" http_has "http://127.0.0.1:$PORT/" "podinit init" || t_fail "httpd not reachable on 127.0.0.1:$PORT"
assert_eq "/podinit -- httpd -f -p 8000 -h /www " "$(dk exec "$C" cat /proc/1/cmdline | tr '\0' ' ')" "PID 1's command line"
timed dk stop -t 10 "$C"
assert_le "$ELAPSED_MS" 3000 "milliseconds docker stop took"
assert_eq 143 "$(exit_code "$C")" "exit code (httpd died of SIGTERM)"
show_logs "$C"; t_end

# === 2. the sandbox pattern =====================================================
# /pause holds the network, IPC and PID namespaces and the published port;
# a web container and an app container join them, as in a Kubernetes pod.

scenario "2. pause sandbox (--net/--ipc/--pid=container:)"
P=pause-$RUN WEB=sbx-web-$RUN APP=sbx-app-$RUN
JOIN="--net=container:$P --ipc=container:$P --pid=container:$P"

t_begin "sandbox: /pause holds the port; web and app join it and reach each other on localhost"
drun -d --name "$P" --ipc=shareable --network "$NET" -p 127.0.0.1::8080 "$IMG_PAUSE" >/dev/null
wait_for 3 is_running "$P" || t_fail "pause is not running"
PAUSE_PID=$(insp "$P" '{{.State.Pid}}')
# shellcheck disable=SC2086
drun -d --name "$WEB" $JOIN "$IMG_BB" sh -c \
    'mkdir /www; echo from-web >/www/index.html; exec httpd -f -p 8080 -h /www' >/dev/null
# shellcheck disable=SC2086
drun -d --name "$APP" $JOIN "$IMG_BB" sh -c \
    'mkdir /www; echo from-app >/www/index.html; exec httpd -f -p 9090 -h /www' >/dev/null
wait_for 3 is_running "$APP" || t_fail "the app container is not running"
wait_c 10 "$APP" dk exec "$APP" sh -c 'wget -qO- http://127.0.0.1:8080/ | grep -q from-web' \
    || t_fail "app cannot reach web on 127.0.0.1:8080"
wait_c 10 "$WEB" dk exec "$WEB" sh -c 'wget -qO- http://127.0.0.1:9090/ | grep -q from-app' \
    || t_fail "web cannot reach app on 127.0.0.1:9090"
PORT=$(host_port "$P" 8080)
wait_c 10 "$P" http_has "http://127.0.0.1:$PORT/" from-web \
    || t_fail "the port published on pause (127.0.0.1:$PORT) does not reach web"
for c in "$WEB" "$APP"; do
    for ns in net ipc pid; do
        assert_eq "$(readlink "/proc/$PAUSE_PID/ns/$ns")" "$(dk exec "$c" readlink /proc/self/ns/$ns)" "$c's $ns namespace (pause's expected)"
    done
done
show_logs "$P" "$WEB" "$APP"; t_end

t_begin "sandbox: ps in the joined containers shows /pause as PID 1"
for c in "$WEB" "$APP"; do
    out=$(dk exec "$c" ps -o pid,args 2>&1)
    assert_match "$out" '^ *1 +/pause$' "ps in $c"
    assert_match "$out" 'httpd -f -p (8080|9090)' "ps in $c (both apps visible)"
done
t_end

t_begin "sandbox: orphans of a joined container are re-parented to /pause and reaped"
# The subshells exit at once; their sleeps are re-parented to the PID
# namespace's init, /pause (containerd-shim, a subreaper, is outside the
# namespace and does not adopt them), which must reap them when they end.
# (Their stdio is not docker exec's pipes, or exec waits for them to close.)
dk exec "$APP" sh -c '(sleep 1.5 </dev/null >/dev/null 2>&1 &); (sleep 2 </dev/null >/dev/null 2>&1 &); true'
orphans_of_pause() { ps -e -o ppid=,args= | awk -v p="$PAUSE_PID" '$1 == p && $2 == "sleep"' | wc -l; }
orphans_ge() { [ "$(orphans_of_pause)" -ge "$1" ]; }
wait_for 3 orphans_ge 2 || t_fail "no orphan sleep was re-parented to /pause (host pid $PAUSE_PID)"
no_zombie_in_sandbox() { [ -z "$(ns_zombies "$(pidns_of "$PAUSE_PID")")" ] && [ "$(orphans_of_pause)" = 0 ]; }
wait_for 5 no_zombie_in_sandbox || t_fail "zombies left in the sandbox: $(ns_procs "$(pidns_of "$PAUSE_PID")" | tr '\n' ';')"
assert_eq "" "$(zombie_children "$PAUSE_PID")" "zombie children of /pause"
t_end

t_begin "sandbox: docker stop pause: exit 0 at once, and the joined containers end with it"
timed dk stop -t 10 "$P"
assert_le "$ELAPSED_MS" 3000 "milliseconds docker stop pause took"
assert_eq 0 "$(exit_code "$P")" "pause exit code"
for c in "$WEB" "$APP"; do
    wait_for 10 has_exited "$c" || t_fail "$c still runs after the sandbox ended"
done
show_logs "$P"; t_end

# === 3. a pod image ==============================================================
# examples/docker/Dockerfile.pod as the README runs it: the seed init step
# writes /data/www, httpd serves it; the marker on the named volume survives.

scenario "3. pod image (podinit run, HEALTHCHECK)"
VOL=podinit-e2e-$RUN-web
dk volume create --label "$LABEL" "$VOL" >/dev/null
C=pod-$RUN
# --health-interval: the image's HEALTHCHECK command with a 1 s period, so the
# test does not wait 5 s per probe.
POD_RUN="--network $NET -p 127.0.0.1::8080 -v $VOL:/data --health-interval=1s"

t_begin "pod: the init step fills the volume, httpd serves it on the published port, healthy"
t0=$(now_ms)
# shellcheck disable=SC2086
drun -d --name "$C" $POD_RUN "$IMG_POD" >/dev/null
PORT=$(host_port "$C" 8080)
if wait_c 20 "$C" health_is "$C" healthy; then echo "    (healthy after $(( $(now_ms) - t0 )) ms)"
else t_fail "not healthy after 20 s: $(insp "$C" '{{.State.Health.Status}}')"; fi
assert_eq "<h1>web in docker</h1>" "$(http_get "http://127.0.0.1:$PORT/")" "page served on 127.0.0.1:$PORT"
assert_eq 0 "$(count_in_logs "$C" 'skipped (marker)')" "'skipped (marker)' lines on the first start"
assert_eq '[CMD /podinit health]' "$(insp "$C" '{{.Config.Healthcheck.Test}}')" "the container's health check (the image's)"
show_logs "$C"; t_end

t_begin "pod: docker exec C /podinit status shows the pod"
RC=0; out=$(dk exec "$C" /podinit status 2>&1) || RC=$?
assert_eq 0 "$RC" "podinit status exit status"
# READY counts the sidecar too, as kubectl counts restartable init containers.
assert_match "$out" '^web +2/2 +Running ' "pod line"
assert_match "$out" '^seed +init +Completed ' "seed line"
assert_match "$out" '^heartbeat +sidecar +Running ' "heartbeat line"
assert_match "$out" '^httpd +app +Running +true ' "httpd line"
t_end

# status_field C ENTRY FIELD: a field of ENTRY in `podinit status --json`.
status_field() {
    dk exec "$1" /podinit status --json 2>/dev/null | python3 -c '
import json, sys
st = json.load(sys.stdin)
print([e for e in st["entries"] if e["name"] == sys.argv[1]][0].get(sys.argv[2]))' "$2" "$3" 2>/dev/null
}

t_begin "pod: docker exec C /podinit restart httpd restarts it (new pid, serves again)"
pid0=$(status_field "$C" httpd pid)
RC=0; out=$(dk exec "$C" /podinit restart httpd 2>&1) || RC=$?
assert_eq 0 "$RC" "podinit restart exit status ($out)"
pid_changed() { p=$(status_field "$C" httpd pid); [ -n "$p" ] && [ "$p" != None ] && [ "$p" != "$pid0" ]; }
wait_c 10 "$C" pid_changed || t_fail "httpd pid is still $pid0 (or gone) after the restart"
wait_c 10 "$C" http_has "http://127.0.0.1:$PORT/" "web in docker" || t_fail "httpd does not serve after the restart"
wait_c 10 "$C" health_is "$C" healthy || t_fail "not healthy again after the restart"
show_logs "$C"; t_end

t_begin "pod: docker restart (same container) skips the done step: 'seed: skipped (marker)'"
timed dk restart -t 10 "$C"
assert_eq 0 "$RC" "docker restart status"
assert_le "$ELAPSED_MS" 8000 "milliseconds docker restart took (stop grace is 8 s, a limit)"
wait_c 20 "$C" health_is "$C" healthy || t_fail "not healthy after docker restart"
assert_eq 1 "$(count_in_logs "$C" 'seed: skipped (marker)')" "'seed: skipped (marker)' lines after one restart"
show_logs "$C"; t_end

t_begin "pod: docker stop: graceful stop, exit 0, before the 10 s timeout"
timed dk stop -t 10 "$C"
assert_le "$ELAPSED_MS" 8000 "milliseconds docker stop took"
assert_eq 0 "$(exit_code "$C")" "exit code"
assert_eq false "$(insp "$C" '{{.State.OOMKilled}}')" "OOM killed"
show_logs "$C"; t_end

t_begin "pod: a new container on the same named volume skips the done step"
C2=pod2-$RUN
# shellcheck disable=SC2086
drun -d --name "$C2" $POD_RUN "$IMG_POD" >/dev/null
wait_c 20 "$C2" health_is "$C2" healthy || t_fail "the second container is not healthy"
assert_eq 1 "$(count_in_logs "$C2" 'seed: skipped (marker)')" "'seed: skipped (marker)' lines"
PORT=$(host_port "$C2" 8080)
assert_eq "<h1>web in docker</h1>" "$(http_get "http://127.0.0.1:$PORT/")" "page (from the volume)"
timed dk stop -t 10 "$C2"
assert_eq 0 "$(exit_code "$C2")" "exit code"
show_logs "$C2"; t_end

t_begin "pod: the HEALTHCHECK stays unhealthy until readiness passes, then turns healthy"
# The same image with another pod file: the app is ready only once /tmp/ready exists.
cat >"$W/pods/gated.toml" <<'EOF'
name = "gated"
[[app]]
name = "web"
command = ["sh", "-c", "echo up; while :; do sleep 0.1; done"]
readiness_probe = { exec = ["test", "-e", "/tmp/ready"], period = "1s" }
EOF
chmod 644 "$W/pods/gated.toml"
C=gated-$RUN
drun -d --name "$C" --network none --health-interval=1s -v "$W/pods/gated.toml:/etc/podinit/pod.toml:ro" "$IMG_POD" >/dev/null
health_runs_ge() { [ "$(insp "$C" '{{len .State.Health.Log}}')" -ge "$1" ] 2>/dev/null; }
wait_c 15 "$C" health_runs_ge 3 || t_fail "fewer than 3 health checks ran in 15 s"
assert_ne healthy "$(insp "$C" '{{.State.Health.Status}}')" "health status before readiness"
assert_eq "" "$(insp "$C" '{{range .State.Health.Log}}{{if eq .ExitCode 0}}ok {{end}}{{end}}')" "passing health checks before readiness"
RC=0; dk exec "$C" /podinit health >/dev/null 2>&1 || RC=$?
assert_ne 0 "$RC" "podinit health exit status before readiness"
dk exec "$C" touch /tmp/ready
wait_c 15 "$C" health_is "$C" healthy || t_fail "not healthy 15 s after readiness: $(insp "$C" '{{.State.Health.Status}}')"
show_logs "$C"; dk rm -f "$C" >/dev/null; t_end

# === 4. unprivileged and locked down ===========================================

scenario "4. --user 1000 --read-only --cap-drop ALL"
LOCKED="--user 1000:1000 --read-only --cap-drop ALL --security-opt no-new-privileges"

t_begin "locked: with --tmpfs /run and a data dir of uid 1000: runs, healthy, state and markers saved"
mkdir -p "$W/data-locked" && chown 1000:1000 "$W/data-locked"
C=locked-$RUN
# shellcheck disable=SC2086
drun -d --name "$C" $LOCKED --tmpfs /run --network "$NET" -p 127.0.0.1::8080 \
    -v "$W/data-locked:/data" --health-interval=1s "$IMG_POD" >/dev/null
PORT=$(host_port "$C" 8080)
wait_c 20 "$C" health_is "$C" healthy || t_fail "not healthy after 20 s: $(insp "$C" '{{.State.Health.Status}}')"
assert_eq "<h1>web in docker</h1>" "$(http_get "http://127.0.0.1:$PORT/")" "page served"
st=$(dk exec "$C" cat /proc/1/status 2>/dev/null)
assert_match "$st" '^Uid:[[:space:]]+1000[[:space:]]' "podinit's uid"
assert_match "$st" '^CapEff:[[:space:]]+0+$' "podinit's effective capabilities"
assert_file "$W/data-locked/.podinit/seed.done"
assert_eq 1000 "$(stat -c %u "$W/data-locked/.podinit/seed.done" 2>/dev/null)" "owner of the marker"
RC=0; dk exec "$C" test -f /run/podinit/status.json || RC=$?
assert_eq 0 "$RC" "status.json on the /run tmpfs"
RC=0; out=$(dk exec "$C" /podinit status 2>&1) || RC=$?
assert_eq 0 "$RC" "podinit status exit status ($out)"
RC=0; out=$(dk exec "$C" /podinit restart httpd 2>&1) || RC=$?
assert_eq 0 "$RC" "podinit restart httpd as uid 1000 ($out)"
assert_eq 0 "$(count_in_logs "$C" WARN)" "WARN lines"
timed dk stop -t 10 "$C"
assert_eq 0 "$(exit_code "$C")" "exit code of docker stop"
show_logs "$C"; t_end

t_begin "locked: no writable state_dir or marker_dir: one clear warning each, the pod still serves"
# No /run tmpfs: /run/podinit cannot be made on the read-only root. The data
# dir is uid 1000's, but its .podinit (the marker_dir) is root's.
mkdir -p "$W/data-ro/.podinit" && chown 1000:1000 "$W/data-ro" && chmod 755 "$W/data-ro/.podinit"
C=locked-ro-$RUN
# shellcheck disable=SC2086
drun -d --name "$C" $LOCKED --network "$NET" -p 127.0.0.1::8080 -v "$W/data-ro:/data" "$IMG_POD" >/dev/null
PORT=$(host_port "$C" 8080)
wait_c 20 "$C" http_has "http://127.0.0.1:$PORT/" "web in docker" || t_fail "the pod does not serve"
assert_eq 1 "$(count_in_logs "$C" 'state_dir /run/podinit')" "warnings about state_dir"
assert_match "$(dk logs "$C" 2>&1)" '^podinit: WARN .*state_dir /run/podinit: .*running without status file' "the state_dir warning"
assert_eq 1 "$(count_in_logs "$C" 'marker not saved')" "warnings about the marker"
assert_match "$(dk logs "$C" 2>&1)" '^podinit: WARN +seed: marker not saved' "the marker warning"
RC=0; out=$(dk exec "$C" /podinit status 2>&1) || RC=$?
assert_ne 0 "$RC" "podinit status exit status without a status file"
assert_eq 1 "$(printf '%s\n' "$out" | wc -l)" "lines of podinit status's error ($out)"
assert_contains "$out" "no status file" "podinit status"
RC=0; dk exec "$C" /podinit health >/dev/null 2>&1 || RC=$?
assert_ne 0 "$RC" "podinit health exit status without a status file"
is_running "$C" || t_fail "the container is not running"
assert_eq 0 "$(insp "$C" '{{.RestartCount}}')" "restarts of the container"
timed dk stop -t 10 "$C"
assert_eq 0 "$(exit_code "$C")" "exit code of docker stop"
show_logs "$C"; t_end

# === 5. signals, TTY and stdin ===================================================

scenario "5. kill -s HUP, run -t, run -i"

t_begin "signals: docker kill -s HUP reaches every app and sidecar of a pod, which keeps running"
cat >"$W/pods/signals.toml" <<'EOF'
name = "signals"
termination_grace_period = "5s"

[[init]]
name = "side"
restart = "Always"
command = ["sh", "-c", '''trap "echo side-got-HUP" HUP; echo side-up; while :; do sleep 0.1; done''']

[[app]]
name = "one"
command = ["sh", "-c", '''trap "echo one-got-HUP" HUP; echo one-up; while :; do sleep 0.1; done''']

[[app]]
name = "two"
command = ["sh", "-c", '''trap "echo two-got-HUP" HUP; echo two-up; while :; do sleep 0.1; done''']
EOF
chmod 644 "$W/pods/signals.toml"
C=hup-pod-$RUN
drun -d --name "$C" --network none -v "$W/pods/signals.toml:/etc/podinit/pod.toml:ro" "$IMG_POD" >/dev/null
for n in side one two; do wait_c 10 "$C" logs_have "$C" "$n-up" || t_fail "$n never started"; done
dk kill -s HUP "$C" >/dev/null
for n in side one two; do wait_c 5 "$C" logs_have "$C" "$n-got-HUP" || t_fail "$n did not get SIGHUP"; done
sleep 0.3
is_running "$C" || t_fail "the pod ended on SIGHUP"
timed dk stop -t 10 "$C"
assert_eq 0 "$(exit_code "$C")" "exit code of docker stop"
show_logs "$C"; t_end

t_begin "signals: docker kill -s HUP reaches the command of docker run --init"
C=hup-init-$RUN
drun -d --name "$C" --init --network none "$IMG_BB" sh -c \
    'trap "echo got-HUP" HUP; echo up; while :; do sleep 0.1; done' >/dev/null
wait_c 10 "$C" logs_have "$C" up || t_fail "the command never started"
dk kill -s HUP "$C" >/dev/null
wait_c 5 "$C" logs_have "$C" got-HUP || t_fail "the command did not get SIGHUP"
is_running "$C" || t_fail "the container ended on SIGHUP"
show_logs "$C"; dk rm -f "$C" >/dev/null; t_end

t_begin "tty: docker run -t: the command leads its own process group, the tty's foreground one"
out=$(drun --rm -t --init --network none "$IMG_BB" sh -c \
    'read -r pid comm state ppid pgrp sid tty tpgid rest </proc/$$/stat
     echo "pid=$pid pgrp=$pgrp tpgid=$tpgid"; [ -t 0 ] && echo stdin-tty' 2>/dev/null | tr -d '\r')
pid=$(echo "$out" | sed -n 's/.*pid=\([0-9]*\) .*/\1/p')
pgrp=$(echo "$out" | sed -n 's/.*pgrp=\([0-9]*\).*/\1/p')
tpgid=$(echo "$out" | sed -n 's/.*tpgid=\([0-9-]*\).*/\1/p')
assert_ne "" "$pid" "the command's pid ($out)"
assert_ne 1 "$pid" "the command's pid"
assert_eq "$pid" "$pgrp" "the command's process group (its own pid expected)"
assert_eq "$pgrp" "$tpgid" "the tty's foreground process group (the command's expected)"
assert_contains "$out" stdin-tty "stdin of the command"
t_end

t_begin "tty: docker run -it: ^C typed on the terminal interrupts the command (job control)"
# script(1) gives docker a terminal; ^C written to it reaches the container's
# tty, whose line discipline sends SIGINT to the foreground process group.
cat >"$W/tty-run.sh" <<EOF
exec docker run --pull=never --label "$LABEL" --rm -it --init --network none "$IMG_BB" sh -c \
    'trap "echo G""OT-INT; exit 7" INT; echo RE""ADY; while :; do sleep 0.1; done'
EOF
: >"$W/tty.out"
RC=0
{
    wait_for 20 grep -q '^READY' "$W/tty.out"
    printf '\003'
    wait_for 10 grep -q 'GOT-INT' "$W/tty.out"
} | timeout 40 script -qfec "bash $W/tty-run.sh" "$W/tty.out" >/dev/null 2>&1 || RC=$?
assert_eq 7 "$RC" "exit status (the INT trap's)"
grep -q 'GOT-INT' "$W/tty.out" || t_fail "the INT trap did not run: $(tr -d '\r' <"$W/tty.out" | tail -n 5)"
t_end

t_begin "stdin: docker run -i passes stdin through to the command, EOF included"
RC=0
out=$(printf 'one\ntwo\nthree\n' | drun --rm -i --init --network none "$IMG_BB" sh -c \
    'n=0; while read -r l; do n=$((n + 1)); echo "got:$l"; done; echo "lines:$n"' 2>/dev/null) || RC=$?
assert_eq 0 "$RC" "exit status"
assert_eq "got:one
got:two
got:three
lines:3" "$out" "what the command read"
t_end

scenario_end

# --- cleanup, checked -------------------------------------------------------------

t_begin "cleanup: no container, volume, network or image of this run is left; dockerd stopped"
docker_cleanup_probe() {
    echo "containers=$(dk ps -aq --filter "label=$LABEL" | wc -l)" \
        "volumes=$(dk volume ls -q --filter "label=$LABEL" | wc -l)" \
        "networks=$(dk network ls -q --filter "label=$LABEL" | wc -l)" \
        "images=$(dk images -aq | wc -l)"
}
remove_run_objects
assert_eq "containers=0 volumes=0 networks=0 images=0" "$(docker_cleanup_probe)" "what is left in the daemon"
docker_cleanup
kill -0 "$DOCKERD_PID" 2>/dev/null && t_fail "dockerd (pid $DOCKERD_PID) still runs"
assert_eq "" "$(awk -v w="$W" 'index($2, w) == 1 { print $2 }' /proc/mounts)" "mounts left under $W"
t_end

echo "docker-e2e: time per scenario:"
printf '%s' "$SCEN_TIMES"
echo "docker-e2e: total $(( ($(date +%s%N) - T0) / 1000000000 ))s"
SUMMARY_DONE=1
t_summary
