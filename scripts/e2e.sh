#!/usr/bin/env bash
# podinit end to end: PID 1 of real OCI containers, run by runc.
#
# The unit and shell tests prove podinit under `unshare`; this proves it where
# it lives, as process 1 of containers made by a real runtime:
#   1. docker-init drop-in   podinit bind-mounted at /sbin/docker-init, as
#                            `docker run --init` does; stop, kill, exit codes
#   2. pause sandbox         a second container joins the pause container's
#                            pid/ipc/net namespaces (`--pid=container:`, a
#                            Kubernetes pod sandbox)
#   3. pod in a container    `podinit run` with a run-once init step whose
#                            marker survives a container restart
#   4. scratch image         only /podinit and a static /app: sidecar, tcp
#                            waiter, app, and no shell anywhere
#
# Usage: scripts/e2e.sh            (as root; builds the static binary)
#        PODINIT=path scripts/e2e.sh   (use that static binary, no build)
# Needs: runc, busybox-static, python3, cc (for the scratch app).
# Prints "e2e: N passed, N failed"; exits non-zero when anything failed.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=x86_64-unknown-linux-musl

if [ "$(id -u)" != 0 ]; then
    echo "e2e: skipped: runc needs root to create namespaces and cgroups (CI runs as root)"
    exit 0
fi

# --- prerequisites -----------------------------------------------------------

die() { echo "e2e: error: $*" >&2; exit 1; }

# is_static FILE: no ELF interpreter, so it runs in a rootfs without a libc.
is_static() { ! readelf -l "$1" 2>/dev/null | grep 'program interpreter' >/dev/null; }

command -v runc >/dev/null || die "runc not found (apt-get install runc)"
command -v python3 >/dev/null || die "python3 not found (edits the OCI config.json)"
command -v readelf >/dev/null || die "readelf not found (apt-get install binutils)"
BUSYBOX=${BUSYBOX:-$(command -v busybox || true)}
[ -n "$BUSYBOX" ] || die "busybox not found (apt-get install busybox-static)"
is_static "$BUSYBOX" || die "$BUSYBOX is dynamically linked; the rootfs has no libc (apt-get install busybox-static)"
CC=${CC:-cc}

if [ -z "${PODINIT:-}" ]; then
    echo "e2e: building the static binary (cargo build --release --target $TARGET)"
    (cd "$ROOT" && cargo build --quiet --release --target "$TARGET") || die "build failed"
    PODINIT=$ROOT/target/$TARGET/release/podinit
fi
[ -x "$PODINIT" ] || die "no podinit binary at $PODINIT"
is_static "$PODINIT" || die "$PODINIT is dynamically linked; build it with --target $TARGET"
PODINIT=$(cd "$(dirname "$PODINIT")" && pwd)/$(basename "$PODINIT")
export PODINIT BUSYBOX
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)

T_SUITE=e2e
# shellcheck source=../tests/lib.sh
. "$ROOT/tests/lib.sh"
E2E_WORK=$T_TMP/e2e
# shellcheck source=e2e/lib.sh
. "$ROOT/scripts/e2e/lib.sh"

# tests/lib.sh only removes T_TMP; containers must go first, or they outlive us.
trap 'e2e_cleanup; rm -rf "$T_TMP"' EXIT
trap 'exit 130' INT TERM
trap 'echo "e2e: aborted at line $LINENO: $BASH_COMMAND" >&2' ERR

mkdir -p "$E2E_WORK"
BUSYBOX_ROOTFS=$E2E_WORK/rootfs-busybox
mk_rootfs_busybox "$BUSYBOX_ROOTFS"

# new_vol NAME: a host directory to bind-mount at /vol: how the host sees what
# happened inside (and where state outlives a container).
new_vol() { VOL=$E2E_WORK/vol-$1; mkdir -p "$VOL"; }

# assert_le A B WHAT: A <= B (numbers).
assert_le() { [ "$1" -le "$2" ] || t_fail "${3:-value}: expected <= $2, got $1"; }

# show_logs ID: on failure, what podinit and the container printed.
show_logs() {
    [ "$T_CASE_OK" = 1 ] && return 0
    echo "    --- $1 stdout:"; ct_out "$1" | tail -n 15 | sed 's/^/    | /'
    echo "    --- $1 stderr:"; ct_err "$1" | tail -n 15 | sed 's/^/    | /'
}

echo "e2e: podinit $VERSION from $PODINIT, $(runc --version | sed -n 1p)"

# === 1. docker-init drop-in ===================================================
# `docker run --init` bind-mounts its init binary at /sbin/docker-init and runs
# `/sbin/docker-init -- CMD`. The image does not contain podinit at all.

# init_container VOL ARGV...: a busybox container whose process 1 is podinit
# mounted the way Docker mounts docker-init.
init_container() {
    local vol=$1; shift
    new_container "$BUSYBOX_ROOTFS" --bind "$vol:/vol" \
        --bind-ro "$PODINIT:/sbin/docker-init" -- /sbin/docker-init "$@"
}

t_begin "init: exit code and stdio pass through docker-init (exit 42)"
new_vol init-exit
init_container "$VOL" -- sh -c 'echo to-stdout; echo to-stderr >&2; exit 42'
ct_run "$ID" 15
assert_eq 42 "$RC" "container exit status"
assert_contains "$(ct_out "$ID")" "to-stdout" "container stdout"
assert_contains "$(ct_err "$ID")" "to-stderr" "container stderr"
show_logs "$ID"; t_end

t_begin "init: docker-init --version answers in tini's format (docker info parses it)"
init_container "$VOL" --version
ct_run "$ID" 15
assert_eq 0 "$RC" "exit status"
assert_contains "$(ct_out "$ID")" "tini version $VERSION" "docker-init --version"
show_logs "$ID"; t_end

t_begin "init: runc kill TERM (docker stop) ends the container promptly with 143"
new_vol init-term
init_container "$VOL" -- sh -c 'echo up >/vol/ready; sleep 300'
if ct_start "$ID"; then
    wait_for 5 test -e "$VOL/ready" || t_fail "the command never started"
    ct_kill "$ID" TERM
    ct_wait "$ID" 10
    assert_eq 143 "$RC" "exit status (128 + SIGTERM)"
    # docker stop waits 10 s before its SIGKILL; a clean stop is far quicker.
    assert_le "$ELAPSED_MS" 3000 "milliseconds from TERM to exit"
else t_fail "container did not start"; fi
show_logs "$ID"; t_end

t_begin "init: a TERM trap's exit code becomes the container's"
new_vol init-trap
init_container "$VOL" -- sh -c \
    'trap "echo trapped >/vol/trapped; exit 3" TERM; echo up >/vol/ready; while :; do sleep 0.1; done'
if ct_start "$ID"; then
    wait_for 5 test -e "$VOL/ready" || t_fail "the command never started"
    ct_kill "$ID" TERM
    ct_wait "$ID" 10
    assert_eq 3 "$RC" "exit status"
    assert_eq trapped "$(slurp "$VOL/trapped")" "the trap ran"
else t_fail "container did not start"; fi
show_logs "$ID"; t_end

t_begin "init: a command ignoring TERM survives it, and runc kill KILL ends it (137)"
new_vol init-ignore
init_container "$VOL" -- sh -c 'trap "" TERM; echo up >/vol/ready; while :; do sleep 0.1; done'
if ct_start "$ID"; then
    wait_for 5 test -e "$VOL/ready" || t_fail "the command never started"
    ct_kill "$ID" TERM
    sleep 1
    ct_alive "$ID" || t_fail "the container died of a TERM its command ignores"
    ct_kill "$ID" KILL
    ct_wait "$ID" 5
    assert_eq 137 "$RC" "exit status (128 + SIGKILL)"
else t_fail "container did not start"; fi
show_logs "$ID"; t_end

# Peers exit as soon as the main child does, and the kernel SIGKILLs the rest
# of the namespace: a background writer never flushes. podinit TERMs them first.
t_begin "init: when the main command exits, background processes get TERM first"
new_vol init-siblings
init_container "$VOL" -- sh -c \
    '(trap "echo flushed >/vol/sibling; exit 0" TERM; while :; do sleep 0.1; done) &
     echo up >/vol/ready; sleep 0.5; exit 5'
t0=$(now_ms)
ct_run "$ID" 20
elapsed=$(( $(now_ms) - t0 ))
assert_eq 5 "$RC" "exit status (the main command's)"
assert_eq flushed "$(slurp "$VOL/sibling")" "the background process's TERM trap ran"
# The grace period (5 s) is a limit, not a sleep.
assert_le "$elapsed" 4000 "milliseconds until the container ended"
show_logs "$ID"; t_end

t_begin "init: -t bounds the wait for a background process that ignores TERM"
new_vol init-grace
init_container "$VOL" -t 1s -- sh -c \
    '(trap "" TERM; while :; do sleep 0.1; done) & sleep 0.3; exit 5'
t0=$(now_ms)
ct_run "$ID" 20
elapsed=$(( $(now_ms) - t0 ))
assert_eq 5 "$RC" "exit status (the main command's, even though a straggler was killed)"
assert_le 1000 "$elapsed" "milliseconds (the 1 s grace was granted)"
assert_le "$elapsed" 4000 "milliseconds (the straggler was killed after 1 s, not 5)"
show_logs "$ID"; t_end

# === 2. pause sandbox =========================================================
# Container A holds the namespaces; container B joins them through
# /proc/<A>/ns/* as `docker run --pid=container:A --ipc=container:A
# --net=container:A` and every Kubernetes pod sandbox do.

t_begin "pause: a joined container shares pid/ipc/net and sees pause as PID 1"
new_vol pause
new_container "$BUSYBOX_ROOTFS" --bind "$VOL:/vol" -- /sbin/podinit pause
A=$ID
if ct_start "$A"; then
    APID=$CPID
    # B's orphan: the subshell exits at once, so its `sleep 2` is re-parented
    # to the namespace's PID 1 (A), which must reap it when it ends. (Not to
    # B's runc: a subreaper only adopts orphans from its own pid namespace.)
    new_container "$BUSYBOX_ROOTFS" --bind "$VOL:/vol" \
        --join "pid=/proc/$APID/ns/pid" --join "ipc=/proc/$APID/ns/ipc" \
        --join "network=/proc/$APID/ns/net" \
        -- sh -c 'cat /proc/1/cmdline >/vol/pid1; (sleep 2 &); echo up >/vol/ready; exec sleep 60'
    B=$ID
    if ct_start "$B"; then
        BPID=$CPID
        wait_for 5 test -e "$VOL/ready" || t_fail "B's command never started"
        for ns in pid ipc net; do
            assert_eq "$(ns_of "$APID" $ns)" "$(ns_of "$BPID" $ns)" "B's $ns namespace (A's expected)"
        done
        assert_ne "$(ns_of "$APID" mnt)" "$(ns_of "$BPID" mnt)" "mount namespaces (B keeps its own)"
        assert_eq "/sbin/podinit pause " "$(slurp "$VOL/pid1" | tr '\0' ' ')" "PID 1 as B sees it"
    else t_fail "container B (joining A's namespaces) did not start"; fi
else t_fail "pause container A did not start"; fi
show_logs "$A"; t_end

t_begin "pause: orphans of the joined container are re-parented to pause and reaped"
if [ -n "${BPID:-}" ]; then
    wait_for 3 has_child "$APID" sleep \
        || t_fail "B's orphan was not re-parented to A (children of A: $(children_of "$APID" | tr '\n' ';'))"
    # `sleep 2` ends two seconds after B started; its zombie must not stay.
    wait_for 5 has_no_children "$APID" \
        || t_fail "A still has children: $(children_of "$APID" | tr '\n' ';')"
    assert_eq "" "$(zombies_of "$APID")" "zombies under pause"
else t_fail "no sandbox (see the previous case)"; fi
t_end

t_begin "pause: runc kill TERM ends pause with 0, and the kernel ends the joined container"
if [ -n "${BPID:-}" ]; then
    ct_kill "$A" TERM
    ct_wait "$A" 5
    assert_eq 0 "$RC" "pause exit status"
    assert_le "$ELAPSED_MS" 2000 "milliseconds from TERM to exit"
    ct_wait "$B" 5
    assert_eq 137 "$RC" "B's exit status (SIGKILLed with its pid namespace)"
else t_fail "no sandbox (see the first pause case)"; fi
show_logs "$A"; t_end

t_begin "pause: invoked as /pause: pins no cwd or fd, ignores HUP, exits 0 on INT"
new_vol pause-name
# cwd inside a bind mount and an inherited fd on a file in it: both would keep
# the volume busy if pause held on to them.
new_container "$BUSYBOX_ROOTFS" --bind "$VOL:/vol" --cwd /vol -- /pause
exec 3>"$VOL/held"
started=0; ct_start "$ID" --preserve-fds 1 && started=1
exec 3>&-
if [ "$started" = 1 ]; then
    wait_for 2 cwd_is_root "$CPID" || t_fail "cwd is $(readlink "/proc/$CPID/cwd"), not the container's /"
    wait_for 2 fd_closed "$CPID" "$VOL/held" || t_fail "the inherited fd 3 is still open"
    ct_kill "$ID" HUP
    sleep 0.5
    ct_alive "$ID" || t_fail "pause exited on SIGHUP"
    ct_kill "$ID" INT
    ct_wait "$ID" 5
    assert_eq 0 "$RC" "exit status after SIGINT"
else t_fail "container did not start"; fi
show_logs "$ID"; t_end

t_begin "pause: /pause -V prints the version"
new_container "$BUSYBOX_ROOTFS" -- /pause -V
ct_run "$ID" 15
assert_eq 0 "$RC" "exit status"
assert_contains "$(ct_out "$ID")" "$VERSION" "/pause -V"
show_logs "$ID"; t_end

# === 3. pod in a container ====================================================
# A pod file with a run-once init step and a TERM-trapping app; the markers
# live on a volume, so a new container (a restart, in Docker or Kubernetes
# terms) on the same volume must skip the step.

# POD_TOML: literal TOML strings ('...') keep the shell scripts readable.
POD_TOML=$(cat <<'EOF'
name = "e2e-pod"
namespace = "e2e"
termination_grace_period = "10s"
marker_dir = "/vol/markers"

[[init]]
name = "seed"
command = ["sh", "-c", "echo seeded >>/vol/seed.log"]
once = true

[[app]]
name = "web"
command = ["sh", "-c", '''
echo "$POD_NAME $POD_NAMESPACE $CONTAINER_NAME" >/vol/app.env
trap "echo stopped >/vol/app.stopped; exit 0" TERM
echo up >/vol/app.up
while :; do sleep 0.1; done
''']
EOF
)

# pod_container VOL: a fresh container running the pod file above. The file
# sits at the default path, as examples/docker/Dockerfile.pod installs it, so
# `podinit run`, `status` and `health` find it without -c.
pod_container() {
    new_container "$BUSYBOX_ROOTFS" --bind "$1:/vol" -- /sbin/podinit run
    mkdir -p "$BUNDLE/rootfs/etc/podinit"
    printf '%s\n' "$POD_TOML" >"$BUNDLE/rootfs/etc/podinit/pod.toml"
}

t_begin "pod: init step, app with pod env, runc kill TERM -> graceful stop, exit 0"
new_vol pod
POD_VOL=$VOL
pod_container "$POD_VOL"
POD1=$ID
pod_up=0
if ct_start "$POD1" && wait_for 10 test -e "$POD_VOL/app.up"; then
    pod_up=1
    assert_eq "seeded" "$(slurp "$POD_VOL/seed.log")" "seed.log after the init step"
    assert_file "$POD_VOL/markers/seed.done"
    assert_eq "e2e-pod e2e web" "$(slurp "$POD_VOL/app.env")" "POD_NAME POD_NAMESPACE CONTAINER_NAME"
else t_fail "the app never came up"; fi
t_end

t_begin "pod: podinit status and podinit health work through runc exec (HEALTHCHECK)"
if [ "$pod_up" = 1 ]; then
    ct_exec "$POD1" 10 /sbin/podinit health
    assert_eq 0 "$RC" "podinit health exit status (output: $OUT)"
    ct_exec "$POD1" 10 /sbin/podinit status
    assert_eq 0 "$RC" "podinit status exit status"
    assert_contains "$OUT" "e2e-pod" "podinit status"
    assert_contains "$OUT" "Running" "podinit status"
else t_fail "no running pod (see the previous case)"; fi
t_end

t_begin "pod: runc kill TERM stops the app gracefully and exits 0"
if [ "$pod_up" = 1 ]; then
    ct_kill "$POD1" TERM
    ct_wait "$POD1" 15
    assert_eq 0 "$RC" "pod exit status"
    assert_eq stopped "$(slurp "$POD_VOL/app.stopped")" "the app's TERM trap ran"
    assert_le "$ELAPSED_MS" 5000 "milliseconds from TERM to exit (grace is 10 s, but a limit)"
else t_fail "no running pod (see the first pod case)"; fi
show_logs "$POD1"; t_end

t_begin "pod: a new container on the same volume skips the once step"
rm -f "$POD_VOL/app.up" "$POD_VOL/app.stopped"
pod_container "$POD_VOL"
if ct_start "$ID" && wait_for 10 test -e "$POD_VOL/app.up"; then
    assert_eq "seeded" "$(slurp "$POD_VOL/seed.log")" "seed.log (the step ran exactly once)"
    assert_contains "$(ct_err "$ID")" "skipped" "podinit's log of the second start"
    ct_kill "$ID" TERM
    ct_wait "$ID" 15
    assert_eq 0 "$RC" "exit status of the second pod"
else t_fail "the app never came up in the second container"; fi
show_logs "$ID"; t_end

# === 4. scratch image =========================================================
# FROM scratch + podinit + one static binary. No shell means every piece the
# pod needs (sidecar, waiting for the port, the stop) is podinit's own.

SCRATCH_TOML=$(cat <<'EOF'
name = "scratch"
restart_policy = "Never"
termination_grace_period = "5s"
marker_dir = "/vol/markers"

[[init]]
name = "server"
restart = "Always"
command = ["/app", "serve", "8080", "500", "/vol/server.term"]

[[init]]
name = "wait-server"
wait_for = { tcp = "127.0.0.1:8080", timeout = "10s" }

[[app]]
name = "client"
command = ["/app", "get", "8080", "/vol/got"]
EOF
)

t_begin "scratch: sidecar, tcp waiter and app in a rootfs of /podinit + /app only"
new_vol scratch
SCRATCH_ROOTFS=$E2E_WORK/rootfs-scratch
if "$CC" -static -Os -o "$E2E_WORK/app" "$ROOT/scripts/e2e/scratch-app.c" 2>"$E2E_WORK/cc.log"; then
    mk_rootfs_scratch "$SCRATCH_ROOTFS" "$E2E_WORK/app"
    printf '%s\n' "$SCRATCH_TOML" >"$SCRATCH_ROOTFS/etc/pod.toml"
    new_container "$SCRATCH_ROOTFS" --bind "$VOL:/vol" -- /podinit run -c /etc/pod.toml
    assert_eq "" "$(find "$BUNDLE/rootfs" -name sh)" "shells in the rootfs"
    ct_run "$ID" 30
    # The server listens 500 ms after it starts: the client only connects if
    # the waiter held it back, and the pod ends when the client is done.
    assert_eq 0 "$RC" "pod exit status (all apps succeeded, sidecar stopped in time)"
    assert_eq "served-by scratch/server
client scratch/client" "$(slurp "$VOL/got")" "what the client got"
    assert_eq term "$(slurp "$VOL/server.term")" "the sidecar was stopped with TERM"
    show_logs "$ID"
else
    t_fail "cannot build the static app with $CC -static: $(head -c 300 "$E2E_WORK/cc.log")"
fi
t_end

t_summary || exit 1
