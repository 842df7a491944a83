# shellcheck shell=bash
# OCI bundles and runc container lifecycle for scripts/e2e.sh. Source it after
# tests/lib.sh; it needs E2E_WORK (a scratch directory), and PODINIT and BUSYBOX
# (static binaries).
#
# Why foreground `runc run` in the background rather than `runc run -d`: a
# foreground runc waits for the container and exits with its status (128+N
# when it died of signal N), which is the one thing every scenario asserts.
# A detached container's exit code is gone once it stops. With
# `terminal: false` runc hands its own stdio to the container, so redirecting
# runc's stdout/stderr to files captures the container's output.

E2E_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_SEQ=0
E2E_IDS=()                # every container id we created, for the cleanup trap
declare -A E2E_RUNC=()    # id -> pid of the background `runc run`
declare -A E2E_BUNDLE=()  # id -> bundle directory

# now_ms: wall clock in milliseconds, for "stopped within N s" assertions.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# slurp FILE: its content, or nothing when it does not exist (yet).
slurp() { cat "$1" 2>/dev/null || true; }

# --- root filesystems --------------------------------------------------------

# mk_rootfs_busybox DIR: a minimal distro-less userland: busybox-static with a
# symlink per applet, and podinit at /sbin/podinit plus /pause pointing at it
# (the multi-call name the Kubernetes pause image uses).
mk_rootfs_busybox() {
    local dir=$1 applet
    mkdir -p "$dir/bin" "$dir/sbin" "$dir/etc" "$dir/tmp" "$dir/vol"
    cp "$BUSYBOX" "$dir/bin/busybox"
    for applet in $("$BUSYBOX" --list); do
        [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
    done
    cp "$PODINIT" "$dir/sbin/podinit"
    ln -s sbin/podinit "$dir/pause"
    # The `user` key resolves names from these, like any image's /etc.
    echo 'root:x:0:0:root:/:/bin/sh' >"$dir/etc/passwd"
    echo 'root:x:0:' >"$dir/etc/group"
}

# mk_rootfs_scratch DIR APP: what `FROM scratch` + two COPY lines give you:
# /podinit, the static /app, and nothing else (no shell, no libc, no /etc
# beyond the pod file the caller adds).
mk_rootfs_scratch() {
    local dir=$1 app=$2
    mkdir -p "$dir/etc" "$dir/vol"
    cp "$PODINIT" "$dir/podinit"
    cp "$app" "$dir/app"
}

# --- bundles and containers --------------------------------------------------

# new_container TEMPLATE_ROOTFS [ocispec.py options...]: make a bundle whose
# rootfs is a hard-linked copy of TEMPLATE_ROOTFS (cheap, and files a
# container creates stay in its own bundle) and whose config.json is edited by
# ocispec.py. Sets ID (unique on this host: runc ids are global) and BUNDLE.
new_container() {
    local template=$1; shift
    E2E_SEQ=$((E2E_SEQ + 1))
    ID=podinit-e2e-$$-$E2E_SEQ
    BUNDLE=$E2E_WORK/$ID
    mkdir -p "$BUNDLE"
    cp -al "$template" "$BUNDLE/rootfs"
    if [ ! -e "$E2E_WORK/spec.json" ]; then
        (cd "$E2E_WORK" && runc spec && mv config.json spec.json)
    fi
    cp "$E2E_WORK/spec.json" "$BUNDLE/config.json"
    python3 "$E2E_HERE/ocispec.py" "$BUNDLE/config.json" --rootfs "$BUNDLE/rootfs" \
        --hostname "$ID" "$@"
    E2E_IDS+=("$ID")
    E2E_BUNDLE[$ID]=$BUNDLE
}

# ct_out ID / ct_err ID: the container's captured stdout / stderr.
ct_out() { slurp "${E2E_BUNDLE[$1]}/out"; }
ct_err() { slurp "${E2E_BUNDLE[$1]}/err"; }

# ct_run ID SECONDS [runc run options...]: run to completion in the
# foreground, killed after SECONDS. Sets RC (the container's exit status).
ct_run() {
    local id=$1 limit=$2; shift 2
    local b=${E2E_BUNDLE[$id]}
    RC=0
    timeout -s KILL "$limit" runc run --bundle "$b" "$@" "$id" \
        </dev/null >"$b/out" 2>"$b/err" || RC=$?
    # A foreground runc deletes its container when it ends; if runc still
    # knows the id, it was `timeout` that ended runc, not the container.
    if runc state "$id" >/dev/null 2>&1; then
        t_fail "container $id still running after ${limit}s"
        runc delete -f "$id" >/dev/null 2>&1 || true
    fi
}

# ct_status ID: created | running | stopped, or nothing once runc forgot it.
ct_status() { runc state "$1" 2>/dev/null | sed -n 's/^  "status": "\(.*\)",$/\1/p' || true; }

# ct_pid ID: host pid of the container's process 1.
ct_pid() { runc state "$1" 2>/dev/null | sed -n 's/^  "pid": \([0-9]*\),$/\1/p' || true; }

# ct_start ID [runc run options...]: start in the background and wait (5 s at
# most) until runc reports it running. Sets CPID (host pid of its process 1).
# Returns 1 when it never got there, e.g. because it already exited.
ct_start() {
    local id=$1; shift
    local b=${E2E_BUNDLE[$id]}
    runc run --bundle "$b" "$@" "$id" </dev/null >"$b/out" 2>"$b/err" &
    E2E_RUNC[$id]=$!
    CPID=""
    wait_for 5 ct_is_running "$id" || return 1
    CPID=$(ct_pid "$id")
    [ -n "$CPID" ]
}
ct_is_running() { [ "$(ct_status "$1")" = running ]; }

# ct_alive ID / ct_gone ID: whether the background `runc run` for ID is still
# there (it returns when the container's process 1 is gone).
ct_alive() { kill -0 "${E2E_RUNC[$1]}" 2>/dev/null; }
ct_gone() { ! ct_alive "$1"; }

# ct_wait ID SECONDS: wait for a ct_start'ed container to end. Sets RC (its exit
# status) and ELAPSED_MS (since the call). On timeout: fail the case, kill it.
ct_wait() {
    local id=$1 limit=$2 t0 runc_pid=${E2E_RUNC[$1]}
    t0=$(now_ms)
    if ! wait_for "$limit" ct_gone "$id"; then
        t_fail "container $id still running after ${limit}s"
        runc kill "$id" KILL >/dev/null 2>&1 || true
    fi
    RC=0
    wait "$runc_pid" || RC=$?
    ELAPSED_MS=$(( $(now_ms) - t0 ))
}

# ct_kill ID SIGNAL: what `docker stop` / `docker kill` do: signal process 1.
ct_kill() { runc kill "$1" "$2" 2>&1 || t_fail "runc kill $1 $2 failed"; }

# ct_exec ID SECONDS CMD...: run CMD inside the running container (like
# `docker exec`, or Docker's HEALTHCHECK). Sets RC and OUT (stdout+stderr).
ct_exec() {
    local id=$1 limit=$2; shift 2
    RC=0
    OUT=$(timeout -s KILL "$limit" runc exec "$id" "$@" </dev/null 2>&1) || RC=$?
}

# e2e_cleanup: the EXIT trap. Force-delete every container (a no-op for those
# runc already removed), reap the background runc processes, drop the files.
e2e_cleanup() {
    local id
    for id in "${E2E_IDS[@]}"; do
        runc delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in "${!E2E_RUNC[@]}"; do
        kill -KILL "${E2E_RUNC[$id]}" 2>/dev/null || true
        wait "${E2E_RUNC[$id]}" 2>/dev/null || true
    done
    rm -rf "$E2E_WORK"
}

# --- processes seen from the host --------------------------------------------

# children_of PID: one "pid state comm" line per child of PID (zombies
# included), read from /proc/*/stat. comm may contain spaces and ')', so the
# fields are taken after the last ')'.
children_of() {
    local parent=$1 f line rest comm
    for f in /proc/[0-9]*/stat; do
        line=$(cat "$f" 2>/dev/null) || continue
        rest=${line##*) }
        comm=${line#*(}; comm=${comm%)*}
        set -- $rest
        [ "$2" = "$parent" ] && echo "${f//[^0-9]/} $1 $comm"
    done
    return 0
}

# zombies_of PID: the children of PID that are zombies (state Z).
zombies_of() { children_of "$1" | awk '$2 == "Z"'; }

# has_child PID COMM / has_no_children PID: for wait_for.
has_child() { children_of "$1" | grep " $2\$" >/dev/null; }
has_no_children() { [ -z "$(children_of "$1")" ]; }

# cwd_is_root PID: the process's cwd is its own root directory.
cwd_is_root() { [ "$(readlink "/proc/$1/cwd")" = "$(readlink "/proc/$1/root")" ]; }

# fd_closed PID PATH: the process holds no file descriptor on PATH.
fd_closed() { ! ls -l "/proc/$1/fd/" 2>/dev/null | grep -F "$2" >/dev/null; }

# ns_of PID TYPE: the namespace inode PID is in, e.g. "pid:[4026532301]".
ns_of() { readlink "/proc/$1/ns/$2" 2>/dev/null; }
