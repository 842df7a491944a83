#!/usr/bin/env bash
# Pod mode, part 2 (SPEC §4, issue 5): sidecars, probes, lifecycle hooks,
# `podinit health`, built-in waiters and log prefixes, each as PID 1 of a fresh
# PID namespace with real pod files written to a temp dir.
#
# Covers: sidecar start order (the next init entry waits for the sidecar's
# startup probe), a sidecar restarted after kill -9, stop order (apps in
# parallel, then sidecars one by one in reverse); exec, tcp and http probes
# passing and failing with the READY flags and `podinit health` following
# them; failure/success thresholds; an exec probe that hangs is killed at its
# timeout; startup gating readiness and liveness; liveness (and startup)
# failure → graceful stop and restart per policy; post_start (runs after the
# app started, failure kills the app); pre_stop (before the stop signal, inside
# the grace period); tcp/http/file/unix waiters, a waiter timeout, waiters
# running again on the next start; log_prefix (chatty apps, no trailing
# newline, 16 KiB cut, stderr); SIGHUP forwarded to apps and sidecars only;
# grpc readiness against a real gRPC health server (grpcio), from a pod file
# and from a manifest, and httpGet.httpHeaders as the server sees them; a
# probe whose host's DNS server never answers (a mount namespace with its own
# resolv.conf) leaves `podinit status` and signal forwarding untouched.
#
# The first back-off is 10 s, so the two restart cases start first and are
# checked at the end, while the other cases run. Total: about 45 s.
# Needs root (unshare --pid, --mount), python3 (servers, status.json) and
# python's grpcio + grpcio-health-checking (scripts/setup.sh installs them).

. "$(dirname "$0")/../lib.sh"
T_SUITE=probes

. "$ROOT/tests/pod_lib.sh"
suite_requires
# The real interpreter (not a pyenv shim), so a server's pid is python's own.
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ -z "$PY" ]; then
    echo "note: skipped: no python3 (the test servers and status.json checks need it)"
    t_summary
    exit 0
fi
SRV=$ROOT/tests/pods/probes/server.py
chmod 755 "$T_TMP"

# In pod files @PY@ is python3, @SRV@ the test server (tests/pods/probes/server.py),
# @PORT@ / @PORT2@ $PORT / $PORT2, @HOST@ $HOST (default 127.0.0.1), @D@ the case dir.
pod_filter() {
    sed -e "s|@D@|$D|g" -e "s|@PY@|$PY|g" -e "s|@SRV@|$SRV|g" -e "s|@PORT@|${PORT:-}|g" \
        -e "s|@PORT2@|${PORT2:-}|g" -e "s|@HOST@|${HOST:-127.0.0.1}|g"
}

# Servers the script itself runs on the host (waiter targets).
SERVERS=""

# On exit: no server and no pod of ours outlives the script.
suite_cleanup() {
    local b
    for b in $SERVERS; do kill -KILL "$b" 2>/dev/null; done
    pod_cleanup
}

# server MODE ADDR ARGS...: run the test server on the host (not in a pod).
server() {
    "$PY" "$SRV" "$@" >/dev/null 2>&1 &
    SERVERS="$SERVERS $!"
    LAST_SERVER=$!
}

# put FILE TEXT: replace FILE atomically (servers and probes never see it half written).
put() { printf '%s\n' "$2" >"$1.tmp" && mv -f "$1.tmp" "$1"; }

# health: run `podinit health`; sets HRC and HOUT.
health() {
    HRC=0
    HOUT=$("$PODINIT" health -c "$P" 2>&1) || HRC=$?
}

# pstatus: `podinit status` with runs of blanks squeezed.
pstatus() { "$PODINIT" status -c "$P" 2>&1 | tr -s ' '; }

# lines FILE: FILE's lines joined by blanks ("" when it is missing).
lines() { tr '\n' ' ' <"$1" 2>/dev/null | sed 's/ $//'; }

# count FILE PATTERN: lines of FILE matching the ERE PATTERN (0 when it is missing).
count() { local n; n=$(grep -Ec -- "$2" "$1" 2>/dev/null); echo "${n:-0}"; }

# count_is FILE PATTERN N: FILE has N lines matching PATTERN (for wait_for).
count_is() { [ "$(count "$1" "$2")" = "$3" ]; }

# ready_flip WANT ERE BASE MIN WHY: sample app's READY, then N = the lines of
# $D/att matching ERE less BASE, every 30 ms for 5 s at most, until READY is
# WANT. Sets FLIP_N (N then; empty when READY never became WANT), FLIP_AT
# (now_ms then) and EARLY (WHY with N for %s when N < MIN: the flag moved
# before the threshold). READY first, so N is never less than podinit had seen.
ready_flip() {
    local want=$1 ere=$2 base=$3 min=$4 why=$5 end r n
    EARLY="" FLIP_N="" FLIP_AT=""
    end=$(($(now_ms) + 5000))
    while [ "$(now_ms)" -lt "$end" ]; do
        r=$(ef app ready); n=$(($(count "$D/att" "$ere") - base))
        if [ "$r" = "$want" ]; then
            # shellcheck disable=SC2059 # WHY is the format
            [ "$n" -lt "$min" ] && EARLY=$(printf "$why" "$n")
            FLIP_N=$n FLIP_AT=$(now_ms)
            return 0
        fi
        sleep 0.03
    done
}

# two_ports: PORT and PORT2, two different free ports.
two_ports() {
    PORT=$(free_port) PORT2=$(free_port)
    while [ "$PORT2" = "$PORT" ]; do PORT2=$(free_port); done
}

# host_pid NSPID: the host pid of process NSPID of the pod whose podinit is P1.
host_pid() {
    local p ns
    ns=$(pidns_of "$P1")
    for p in $(ns_procs "$ns" | awk '{ print $1 }'); do
        [ "$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status" 2>/dev/null)" = "$1" ] && { echo "$p"; return 0; }
    done
    return 1
}

# ============================================================================
# The two restart cases: the first failure is restarted at once, the second
# after the 10 s back-off (the kubelet's curve): started now, finished at the end.
# ============================================================================

t_begin "sidecar: kill -9 of a sidecar (restart_policy Never): restarted at once; a second kill -9: CrashLoopBackOff, health fails, apps untouched"
newpod side-restart <<'EOF'
name = "siderestart"
restart_policy = "Never"
termination_grace_period = "5s"
[[init]]
name = "side"
restart = "Always"
command = ["sh", "-c", "date +%s%N >> @D@/side-starts; echo $$$$ > @D@/side.pid; exec tail -f /dev/null"]
[[app]]
name = "app"
command = ["sh", "-c", "echo app >> @D@/app-starts; exec tail -f /dev/null"]
EOF
start_pod
SR_BG=$BG SR_P1=$P1 SR_D=$D SR_P=$P SR_KILLED=0
ready "$D/side.pid" "$D/app-starts"
wait_for 5 status_is Running || t_fail "pod never Running (last: $(json_field status))"
assert_eq sidecar "$(ef side kind)" "side's KIND"
hp=$(host_pid "$(cat "$D/side.pid" 2>/dev/null)")
if [ -n "$hp" ]; then
    kill -KILL "$hp"
else
    t_fail "cannot find the sidecar's host pid"
fi
wait_for 3 count_is "$D/side-starts" . 2 || t_fail "the sidecar was not restarted at once after the first kill -9"
wait_for 3 entry_is side state Running || t_fail "side not Running after its first restart (last: $(ef side state))"
assert_eq 1 "$(ef side restarts)" "side's RESTARTS after the first kill"
hp=$(host_pid "$(cat "$D/side.pid" 2>/dev/null)")
if [ -n "$hp" ]; then
    SR_KILLED=$(date +%s%N)
    kill -KILL "$hp"
else
    t_fail "cannot find the restarted sidecar's host pid"
fi
wait_for 3 entry_is side state CrashLoopBackOff || t_fail "side never in CrashLoopBackOff (last: $(ef side state))"
assert_eq "137 (SIGKILL)" "$(ef side last_exit)" "side's LAST EXIT"
assert_eq False "$(ef side ready)" "side's READY during the back-off"
assert_eq Running "$(ef app state)" "the app's state"
health
assert_ne 0 "$HRC" "health exit status while the sidecar is down"
assert_contains "$HOUT" "side not ready (CrashLoopBackOff)"
assert_match "$(pstatus)" '^siderestart 1/2 ' "status pod row (READY counts the sidecar)"
t_end

t_begin "liveness: failing liveness probe (failure_threshold 2) → graceful stop, the TERM trap runs, restarted at once; the second time CrashLoopBackOff"
newpod liveness-restart <<'EOF'
restart_policy = "Always"
termination_grace_period = "5s"
[[app]]
name = "app"
command = ["sh", "-c", "date +%s%N >> @D@/starts; touch @D@/alive; trap 'echo term >> @D@/log; exit 0' TERM; while :; do sleep 0.1; done"]
liveness_probe = { exec = ["test", "-e", "@D@/alive"], period = "200ms", timeout = "500ms", failure_threshold = 2 }
EOF
start_pod
LV_BG=$BG LV_P1=$P1 LV_D=$D LV_P=$P
ready "$D/alive"
sleep 0.8
assert_no_file "$D/log"
assert_eq 1 "$(count "$D/starts" .)" "starts while the probe passes"
t0=$(now_ms)
rm -f "$D/alive"
wait_for 4 test -e "$D/log" || t_fail "the app's TERM trap never ran"
assert_between 150 2500 "$(($(now_ms) - t0))" "ms from the failing probe target to the TERM trap (2 failures at 200ms)"
wait_for 3 count_is "$D/starts" . 2 || t_fail "the app was not restarted at once after its first liveness failure"
wait_for 3 entry_is app restarts 1 || t_fail "app's RESTARTS after the first failure: $(ef app restarts)"
assert_not_contains "$(cat "$D/err")" "app: restarting in" "the first restart waits for no back-off"
# The restarted app recreated its probe target; fail it again: now the back-off.
ready "$D/alive"
sleep 0.5
rm -f "$D/alive"
wait_for 4 count_is "$D/log" term 2 || t_fail "the app's TERM trap never ran the second time"
wait_for 3 entry_is app state CrashLoopBackOff || t_fail "app never in CrashLoopBackOff (last: $(ef app state))"
assert_eq "0 (liveness)" "$(ef app last_exit)" "app's LAST EXIT"
assert_eq CrashLoopBackOff "$(json_field status)" "pod STATUS"
ERR=$(cat "$D/err")
assert_contains "$ERR" "app: liveness probe failed (1/2)"
assert_contains "$ERR" "app: liveness probe failed (2/2)"
assert_contains "$ERR" "app: liveness probe failed; restarting it"
assert_contains "$ERR" "app: sending SIGTERM"
assert_contains "$ERR" "app: restarting in 10s"
t_end

# ============================================================================
# Sidecars
# ============================================================================

t_begin "sidecar: starts in its place; the next init step waits for its startup probe (port opens after 1 s)"
PORT=$(free_port)
newpod side-order <<'EOF'
name = "sideorder"
restart_policy = "Never"
termination_grace_period = "5s"
[[init]]
name = "before"
command = ["sh", "-c", "date +%s%N > @D@/before"]
[[init]]
name = "side"
restart = "Always"
command = ["sh", "-c", "date +%s%N > @D@/side-start; exec @PY@ @SRV@ tcp @PORT@ --delay 1 --stamp @D@/side-listening"]
startup_probe = { tcp = "127.0.0.1:@PORT@", period = "200ms", timeout = "500ms", failure_threshold = 30 }
[[init]]
name = "after"
command = ["sh", "-c", "date +%s%N > @D@/after"]
[[app]]
name = "app"
command = ["sh", "-c", "date +%s%N > @D@/app; exec tail -f /dev/null"]
EOF
start_pod
ready "$D/side-start"
sleep 0.4
# One read of status.json, well before the port opens.
assert_eq "Init:1/3 sidecar Running False Waiting" \
    "$(json_field '" ".join([s["status"], e["side"]["kind"], e["side"]["state"], str(e["side"]["ready"]), e["after"]["state"]])')" \
    "pod STATUS, side's KIND STATE READY, after's STATE while the sidecar's startup probe fails"
assert_no_file "$D/after"
wait_for 5 test -e "$D/app" || t_fail "the app never started"
b=$(cat "$D/before" 2>/dev/null) s=$(cat "$D/side-start" 2>/dev/null) l=$(cat "$D/side-listening" 2>/dev/null)
a=$(cat "$D/after" 2>/dev/null) p=$(cat "$D/app" 2>/dev/null)
[ -n "$b" ] && [ -n "$s" ] && [ -n "$l" ] && [ -n "$a" ] && [ -n "$p" ] || t_fail "missing timestamps: before=$b side=$s listening=$l after=$a app=$p"
if [ -n "$b$s$l$a$p" ]; then
    [ "${b:-0}" -lt "${s:-0}" ] || t_fail "the sidecar started before the step ahead of it ended"
    [ "${l:-0}" -lt "${a:-0}" ] || t_fail "the next step started ($a) before the sidecar listened ($l)"
    [ "${a:-0}" -lt "${p:-0}" ] || t_fail "the app started before the last init step"
    assert_between 900 5000 "$(( (${a:-0} - ${s:-0}) / 1000000 ))" "ms from the sidecar's start to the next step"
fi
wait_for 3 status_is Running || t_fail "pod never Running (last: $(json_field status))"
assert_eq "sidecar Running True" "$(ef side kind) $(ef side state) $(ef side ready)" "side once started"
assert_match "$(pstatus)" '^sideorder 2/2 Running 0 ' "status pod row"
assert_match "$(pstatus)" '^side sidecar Running true 0 - ' "status sidecar row"
health
assert_eq 0 "$HRC" "health exit status ($HOUT)"
ERR=$(cat "$D/err")
assert_contains "$ERR" "side: not started yet (" "a slow start is one line (issue 26)"
assert_contains "$ERR" "side: startup probe passed"
term_pod_ok
t_end

t_begin "stop: apps get their stop signal in parallel; then sidecars one at a time, last declared first"
newpod stop-order <<'EOF'
termination_grace_period = "10s"
[[init]]
name = "s1"
restart = "Always"
command = ["sh", "-c", "trap 'echo s1-term >> @D@/log; sleep 0.3; echo s1-done >> @D@/log; exit 0' TERM; touch @D@/s1; while :; do sleep 0.1; done"]
[[init]]
name = "s2"
restart = "Always"
command = ["sh", "-c", "trap 'echo s2-term >> @D@/log; sleep 0.3; echo s2-done >> @D@/log; exit 0' TERM; touch @D@/s2; while :; do sleep 0.1; done"]
[[init]]
name = "s3"
restart = "Always"
command = ["sh", "-c", "trap 'echo s3-term >> @D@/log; sleep 0.3; echo s3-done >> @D@/log; exit 0' TERM; touch @D@/s3; while :; do sleep 0.1; done"]
[[app]]
name = "a1"
command = ["sh", "-c", "trap 'echo a1-term >> @D@/log; sleep 0.6; echo a1-done >> @D@/log; exit 0' TERM; touch @D@/a1; while :; do sleep 0.1; done"]
[[app]]
name = "a2"
command = ["sh", "-c", "trap 'echo a2-term >> @D@/log; sleep 0.6; echo a2-done >> @D@/log; exit 0' TERM; touch @D@/a2; while :; do sleep 0.1; done"]
EOF
start_pod
ready "$D/s1" "$D/s2" "$D/s3" "$D/a1" "$D/a2"
t0=$(now_ms)
term_pod
ms=$(($(now_ms) - t0))
assert_eq 0 "$RC" "exit status"
# The two apps' lines in each pair may come in either order.
log=$( (sed -n 1,2p "$D/log" | sort; sed -n 3,4p "$D/log" | sort; sed -n '5,$p' "$D/log") 2>/dev/null | tr '\n' ' ' | sed 's/ $//')
assert_eq "a1-term a2-term a1-done a2-done s3-term s3-done s2-term s2-done s1-term s1-done" "$log" "order of the TERM traps ($(lines "$D/log"))"
assert_between 1300 4000 "$ms" "ms from SIGTERM to exit (apps 0.6 s together, then 3 × 0.3 s)"
t_end

t_begin "signals: SIGHUP goes to apps and sidecars, never to a running init step"
newpod hup <<'EOF'
termination_grace_period = "5s"
[[init]]
name = "side"
restart = "Always"
command = ["sh", "-c", "trap 'echo side-hup >> @D@/log' HUP; touch @D@/side-ready; while :; do sleep 0.1; done"]
[[init]]
name = "gate"
command = ["sh", "-c", "trap 'echo gate-hup >> @D@/log' HUP; touch @D@/gate-ready; until [ -e @D@/go ]; do sleep 0.05; done"]
[[app]]
name = "app"
command = ["sh", "-c", "trap 'echo app-hup >> @D@/log' HUP; touch @D@/app-ready; while :; do sleep 0.1; done"]
EOF
start_pod
ready "$D/side-ready" "$D/gate-ready"
kill -HUP "$P1"
wait_for 3 grep -q side-hup "$D/log" || t_fail "the sidecar did not get the first SIGHUP"
sleep 0.4
assert_eq "side-hup" "$(lines "$D/log")" "signals seen while the init step runs"
touch "$D/go"
ready "$D/app-ready"
kill -HUP "$P1"
wait_for 3 grep -q app-hup "$D/log" || t_fail "the app did not get SIGHUP"
wait_for 3 count_is "$D/log" side-hup 2 || t_fail "the sidecar did not get the second SIGHUP"
assert_eq 0 "$(count "$D/log" gate-hup)" "SIGHUPs the init step saw"
kill -0 "$P1" 2>/dev/null || t_fail "podinit exited on SIGHUP"
term_pod_ok
t_end

# ============================================================================
# Probes
# ============================================================================

t_begin "probes: exec, tcp (on a sidecar) and http readiness pass and fail; READY, STATUS and health follow"
two_ports
newpod kinds <<'EOF'
name = "kinds"
termination_grace_period = "5s"
[[init]]
name = "tc"
restart = "Always"
command = ["@PY@", "@SRV@", "tcp", "@PORT@", "--flag", "@D@/tc-ok"]
readiness_probe = { tcp = "127.0.0.1:@PORT@", period = "200ms", timeout = "500ms", failure_threshold = 1 }
[[app]]
name = "ex"
command = ["tail", "-f", "/dev/null"]
readiness_probe = { exec = ["test", "-e", "@D@/ex-ok"], period = "200ms", timeout = "500ms", failure_threshold = 1 }
[[app]]
name = "ht"
command = ["@PY@", "@SRV@", "http", "@PORT2@", "--code", "@D@/ht-code", "--log", "@D@/ht-log"]
readiness_probe = { http = "http://127.0.0.1:@PORT2@/healthz?x=1", period = "200ms", timeout = "500ms", failure_threshold = 1 }
EOF
touch "$D/tc-ok" "$D/ex-ok"
put "$D/ht-code" 200
start_pod
pod_wait 5
assert_eq "Running True True True" "$(json_field status) $(ef tc ready) $(ef ex ready) $(ef ht ready)" "status and READY flags"
health
assert_eq 0 "$HRC" "health exit status while ready ($HOUT)"
assert_match "$(pstatus)" '^kinds 3/3 Running ' "status pod row"

# flip NAME BREAK FIX WHAT STATUS: BREAK makes NAME's probe fail (the pod
# STATUS is then STATUS: kubectl's NotReady counts apps only), FIX makes it pass.
flip() {
    local name=$1 brk=$2 fix=$3 what=$4 want=$5 o
    eval "$brk"
    wait_for 3 entry_is "$name" ready False || t_fail "$name: still ready 3 s after $what"
    assert_eq "False $want" "$(json_field ready) $(json_field status)" "pod ready and STATUS after $what"
    for o in tc ex ht; do
        [ "$o" = "$name" ] || assert_eq True "$(ef "$o" ready)" "$o's READY while $name fails"
    done
    assert_match "$(pstatus)" '^kinds 2/3 ' "status pod row after $what"
    health
    assert_ne 0 "$HRC" "health exit status after $what"
    assert_contains "$HOUT" "$name not ready (Running)"
    assert_eq 1 "$(printf '%s\n' "$HOUT" | wc -l)" "health prints one line"
    eval "$fix"
    pod_wait 3 "$name"
    pod_wait 2
    health
    assert_eq 0 "$HRC" "health exit status after fixing $name ($HOUT)"
}
flip ex 'rm -f "$D/ex-ok"' 'touch "$D/ex-ok"' "the exec probe's file went away" NotReady
flip tc 'rm -f "$D/tc-ok"' 'touch "$D/tc-ok"' "the sidecar closed its port" Running
flip ht 'put "$D/ht-code" 503' 'put "$D/ht-code" 200' "the http server answered 503" NotReady
flip ht 'put "$D/ht-code" 404' 'put "$D/ht-code" 302' "the http server answered 404 (a 302 is ready)" NotReady
assert_eq "302 True" "$(cat "$D/ht-code") $(ef ht ready)" "a 302 answer counts as ready"
sleep 0.5
assert_eq True "$(ef ht ready)" "READY of ht while it answers 302"
ERR=$(cat "$D/err")
assert_contains "$ERR" "ex: readiness probe failed (1/1): command exited 1"
assert_contains "$ERR" "ht: readiness probe failed (1/1): HTTP status 503"
assert_contains "$ERR" "ht: readiness probe failed (1/1): HTTP status 404"
assert_match "$ERR" 'tc: readiness probe failed \(1/1\): connect.*refused' "stderr"
assert_match "$ERR" "tc: not ready\$" "stderr"
assert_match "$ERR" "tc: ready\$" "stderr"
assert_match "$(head -n1 "$D/ht-log" 2>/dev/null)" '^GET /healthz\?x=1 HTTP/1\.[01]$' "the http probe's request line"
term_pod_ok
t_end

t_begin "probes: failure_threshold 3 and success_threshold 2 are honoured (period 200ms)"
newpod thresholds <<'EOF'
termination_grace_period = "5s"
[[app]]
name = "app"
command = ["tail", "-f", "/dev/null"]
readiness_probe = { exec = ["sh", "-c", "if [ -e @D@/ok ]; then echo ok >> @D@/att; else echo fail >> @D@/att; exit 1; fi"], period = "200ms", timeout = "500ms", failure_threshold = 3, success_threshold = 2 }
EOF
touch "$D/ok"
start_pod
ready_flip True '^ok$' 0 2 "ready after %s success(es)"
assert_eq "" "$EARLY" "readiness before success_threshold"
[ -n "$FLIP_N" ] || t_fail "never ready in 5 s"
fails_before=$(count "$D/att" '^fail$')
assert_eq 0 "$fails_before" "failures before the flag went"
t0=$(now_ms)
rm -f "$D/ok"
ready_flip False '^fail$' 0 3 "not ready after %s failure(s)"
assert_eq "" "$EARLY" "not ready before failure_threshold"
[ -n "$FLIP_N" ] || t_fail "still ready 5 s after the probe started failing"
assert_between 380 3000 "$((${FLIP_AT:-t0} - t0))" "ms from the first failing moment to not ready (3 failures 200ms apart)"
oks=$(count "$D/att" '^ok$')
touch "$D/ok"
ready_flip True '^ok$' "$oks" 2 "ready again after %s success(es)"
assert_eq "" "$EARLY" "ready again before success_threshold"
[ -n "$FLIP_N" ] || t_fail "not ready again 5 s after the probe passed"
ERR=$(cat "$D/err")
for k in 1 2 3; do assert_contains "$ERR" "app: readiness probe failed ($k/3)"; done
assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c 'app: not ready')" "'not ready' lines"
term_pod_ok
t_end

t_begin "probes: an exec probe that hangs (sleep 100) is killed at its timeout (500ms) and counts as a failure"
newpod hang <<'EOF'
termination_grace_period = "5s"
[[app]]
name = "app"
command = ["tail", "-f", "/dev/null"]
readiness_probe = { exec = ["sleep", "100"], period = "200ms", timeout = "500ms", failure_threshold = 1 }
EOF
start_pod
ns=$(pidns_of "$P1")
declare -A first_seen=() last_seen=()
max=0 ready_seen=""
end=$(( $(now_ms) + 2600 ))
while [ "$(now_ms)" -lt "$end" ]; do
    t=$(now_ms)
    pids=$(ns_procs "$ns" | awk '$4 == "sleep" && $2 != "Z" { print $1 }')
    n=$(printf '%s\n' $pids | grep -c .)
    [ "$n" -gt "$max" ] && max=$n
    for p in $pids; do
        [ -n "${first_seen[$p]:-}" ] || first_seen[$p]=$t
        last_seen[$p]=$t
    done
    [ "$(ef app ready)" = True ] && ready_seen=yes
    sleep 0.05
done
assert_between 1 1 "$max" "sleep 100 processes alive at once"
longest=0
for p in "${!first_seen[@]}"; do
    life=$(( ${last_seen[$p]} - ${first_seen[$p]} ))
    [ "$life" -gt "$longest" ] && longest=$life
done
assert_between 2 6 "${#first_seen[@]}" "probe attempts seen in 2.6 s"
assert_between 0 1000 "$longest" "ms the longest sleep 100 was seen alive"
assert_eq "" "$ready_seen" "the app was ready at some point"
ERR=$(cat "$D/err")
n=$(printf '%s\n' "$ERR" | grep -Ec 'app: readiness probe failed \(([0-9]+/1|[0-9]+ in a row)\): timed out after 0\.5s$')
assert_between 2 6 "$n" "timed-out attempts logged"
health
assert_ne 0 "$HRC" "health exit status"
assert_contains "$HOUT" "app not ready (Running)"
sleep 0.3
assert_eq "" "$(ns_zombies "$ns")" "zombies in the pod"
term_pod_ok
t_end

t_begin "probes: a startup probe gates readiness and liveness; a failing liveness probe then stops the app gracefully (Never: pod exits with its code)"
newpod gate <<'EOF'
restart_policy = "Never"
termination_grace_period = "5s"
[[app]]
name = "app"
command = ["sh", "-c", "trap 'echo term >> @D@/log; exit 3' TERM; touch @D@/up; while :; do sleep 0.1; done"]
startup_probe = { exec = ["test", "-e", "@D@/started"], period = "200ms", timeout = "500ms", failure_threshold = 50 }
readiness_probe = { exec = ["sh", "-c", "echo r >> @D@/readiness-runs"], period = "200ms", timeout = "500ms" }
liveness_probe = { exec = ["sh", "-c", "echo l >> @D@/liveness-runs; exit 1"], period = "200ms", timeout = "500ms", failure_threshold = 1 }
EOF
start_pod
ready "$D/up"
sleep 1.5
assert_no_file "$D/readiness-runs"
assert_no_file "$D/liveness-runs"
assert_no_file "$D/log"
assert_eq "Running False" "$(ef app state) $(ef app ready)" "the app before its startup probe passed"
assert_eq NotReady "$(json_field status)" "pod STATUS before the startup probe passed"
assert_contains "$(cat "$D/err")" "app: not started yet (" "a slow start is one line (issue 26)"
touch "$D/started"
stop_wait 10
assert_eq 3 "$RC" "exit status (the app's TERM trap exits 3)"
assert_eq "term" "$(lines "$D/log")" "the app's TERM trap"
assert_file "$D/liveness-runs"
assert_eq "3 (liveness)" "$(ef app last_exit)" "app's LAST EXIT"
assert_eq 0 "$(ef app restarts)" "app's RESTARTS (Never)"
lp=$(printf '%s\n' "$ERR" | grep -n 'app: startup probe passed' | head -n1 | cut -d: -f1)
lf=$(printf '%s\n' "$ERR" | grep -n 'app: liveness probe failed' | head -n1 | cut -d: -f1)
[ -n "$lp" ] && [ -n "$lf" ] && [ "$lp" -lt "$lf" ] || t_fail "startup passed (line ${lp:-none}) must come before the first liveness failure (line ${lf:-none})"
assert_contains "$ERR" "app: sending SIGTERM"
t_end

t_begin "probes: a startup probe that fails failure_threshold times stops the app (reason startup)"
newpod startup-fails <<'EOF'
restart_policy = "Never"
termination_grace_period = "5s"
[[app]]
name = "app"
command = ["sh", "-c", "trap 'echo term >> @D@/log; exit 4' TERM; while :; do sleep 0.1; done"]
startup_probe = { exec = ["false"], period = "200ms", timeout = "500ms", failure_threshold = 3 }
EOF
run_pod 15
assert_eq 4 "$RC" "exit status"
assert_between 350 4000 "$MS" "wall time (ms; 3 failures 200ms apart)"
assert_eq "term" "$(lines "$D/log")" "the app's TERM trap"
assert_eq "4 (startup)" "$(ef app last_exit)" "app's LAST EXIT"
assert_contains "$ERR" "app: startup probe failed (3/3)"
t_end

# ============================================================================
# Hooks
# ============================================================================

t_begin "post_start: runs after the app started (sees its process and pid file); the app is not ready until it ends"
newpod post-start <<'EOF'
termination_grace_period = "5s"
[[app]]
name = "app"
command = ["sh", "-c", "echo $$$$ > @D@/app.pid; while :; do sleep 0.1; done", "app-marker"]
post_start = ["sh", "-c", "pgrep -of 'app-marke[r]' > @D@/hook-pgrep; for i in `seq 100`; do [ -s @D@/app.pid ] && break; sleep 0.02; done; echo \"$CONTAINER_NAME `cat @D@/app.pid`\" > @D@/hook-saw; sleep 3; touch @D@/hook-done"]
EOF
start_pod
ready "$D/hook-saw"
assert_eq "Running False" "$(ef app state) $(ef app ready)" "the app while post_start runs"
assert_eq NotReady "$(json_field status)" "pod STATUS while post_start runs"
wait_for 6 test -e "$D/hook-done" || t_fail "post_start never finished"
wait_for 2 entry_is app ready True || t_fail "the app not ready after post_start"
apid=$(cat "$D/app.pid" 2>/dev/null)
assert_eq "$apid" "$(cat "$D/hook-pgrep" 2>/dev/null)" "the app's pid as post_start found it running"
assert_eq "app $apid" "$(cat "$D/hook-saw" 2>/dev/null)" "CONTAINER_NAME and the pid file post_start saw"
assert_eq "$apid" "$(ef app pid)" "the app's pid in status"
term_pod_ok
t_end

t_begin "post_start: a failing hook kills the app (no TERM trap), counted as a failure: Never → pod exits 137, LAST EXIT (post_start)"
newpod post-start-fails <<'EOF'
restart_policy = "Never"
termination_grace_period = "5s"
[[app]]
name = "app"
command = ["sh", "-c", "trap 'echo term >> @D@/log' TERM; echo up >> @D@/log; while :; do sleep 0.1; done"]
post_start = ["sh", "-c", "until [ -e @D@/log ]; do sleep 0.02; done; exit 7"]
[[app]]
name = "other"
command = ["sh", "-c", "sleep 0.5"]
EOF
run_pod 15
assert_eq 137 "$RC" "exit status"
assert_between 0 4000 "$MS" "wall time (ms)"
assert_eq "up" "$(lines "$D/log")" "the app's log (killed, not stopped)"
assert_eq "137 (post_start)" "$(ef app last_exit)" "app's LAST EXIT"
assert_eq Error "$(ef app state)" "app's STATE"
assert_eq Error "$(json_field status)" "pod STATUS"
assert_contains "$ERR" "app: post_start hook exited 7; killing the app"
assert_not_contains "$ERR" "restarting in"
t_end

t_begin "pre_stop: runs before the stop signal, for apps and then sidecars; the pod exits 0"
newpod pre-stop <<'EOF'
termination_grace_period = "10s"
[[init]]
name = "side"
restart = "Always"
command = ["sh", "-c", "trap 'echo side-term >> @D@/log; exit 0' TERM; touch @D@/side-ready; while :; do sleep 0.1; done"]
pre_stop = ["sh", "-c", "echo side-pre_stop >> @D@/log"]
[[app]]
name = "app"
command = ["sh", "-c", "trap 'echo app-term >> @D@/log; exit 0' TERM; touch @D@/ready; while :; do sleep 0.1; done"]
pre_stop = ["sh", "-c", "echo app-pre_stop-begin $CONTAINER_NAME >> @D@/log; sleep 0.5; echo app-pre_stop-end >> @D@/log"]
EOF
start_pod
ready "$D/side-ready" "$D/ready"
t0=$(now_ms)
term_pod
ms=$(($(now_ms) - t0))
assert_eq 0 "$RC" "exit status"
assert_eq "app-pre_stop-begin app app-pre_stop-end app-term side-pre_stop side-term" "$(lines "$D/log")" "order in the log"
assert_between 400 3000 "$ms" "ms from SIGTERM to exit"
assert_contains "$ERR" "app: running pre_stop"
t_end

t_begin "pre_stop: its time counts against the grace period (sleep 5, grace 1s): SIGKILL at ~1 s, exit 137, no stop signal"
newpod pre-stop-grace <<'EOF'
termination_grace_period = "1s"
[[app]]
name = "app"
command = ["sh", "-c", "trap 'echo term >> @D@/log; exit 0' TERM; touch @D@/ready; while :; do sleep 0.1; done"]
pre_stop = ["sh", "-c", "echo pre_stop >> @D@/log; sleep 5; echo pre_stop-end >> @D@/log"]
EOF
start_pod
ready "$D/ready"
t0=$(now_ms)
term_pod
ms=$(($(now_ms) - t0))
assert_eq 137 "$RC" "exit status"
assert_between 900 3000 "$ms" "ms from SIGTERM to exit (grace 1s)"
assert_eq "pre_stop" "$(lines "$D/log")" "log (the hung hook was killed, no TERM trap)"
assert_match "$(ef app last_exit)" '^137' "app's LAST EXIT"
t_end

# ============================================================================
# Built-in waiters
# ============================================================================

t_begin "wait_for: file, tcp, http and unix waiters each wait until their target appears, then the next entry runs"
two_ports
# The http waiter names its host (libc resolver), where localhost is 127.0.0.1 first.
HOST=127.0.0.1
[ "$("$PY" -S -c 'import socket; print(socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)[0][4][0])' 2>/dev/null)" = 127.0.0.1 ] && HOST=localhost
newpod waiters <<'EOF'
restart_policy = "Never"
[[init]]
name = "w-file"
wait_for = { file = "@D@/flag", period = "200ms", timeout = "30s" }
[[init]]
name = "w-tcp"
wait_for = { tcp = "127.0.0.1:@PORT@", period = "200ms", timeout = "30s" }
[[init]]
name = "w-http"
wait_for = { http = "http://@HOST@:@PORT2@/up", period = "200ms", timeout = "30s" }
[[init]]
name = "w-unix"
wait_for = { unix = "@D@/w.sock", period = "200ms", timeout = "30s" }
[[app]]
name = "app"
command = ["sh", "-c", "echo app >> @D@/log"]
EOF
start_pod
# hold NAME: NAME is waiting and still is 0.6 s later (and the next entry has not started).
hold() {
    wait_for 5 entry_is "$1" state Running || t_fail "$1 never started waiting (last: $(ef "$1" state))"
    sleep 0.6
    assert_eq Running "$(ef "$1" state)" "$1's state before its target exists"
    assert_no_file "$D/log"
}
# done_within NAME: NAME completes within 2 s.
done_within() {
    wait_for 2 entry_is "$1" state Completed || t_fail "$1 did not complete 2 s after its target appeared (last: $(ef "$1" state))"
}
hold w-file
assert_eq Waiting "$(ef w-tcp state)" "the next waiter's state"
touch "$D/flag"
done_within w-file
hold w-tcp
server tcp "$PORT"
done_within w-tcp
hold w-http
server http "$PORT2" --code "$D/http-code" --log "$D/http-log"
# The server answers 503 first: the waiter keeps waiting.
wait_for 3 test -s "$D/http-log" || t_fail "the http waiter never reached the server"
sleep 0.5
assert_eq Running "$(ef w-http state)" "w-http's state while the server answers 503"
put "$D/http-code" 200
done_within w-http
hold w-unix
server unix "$D/w.sock"
done_within w-unix
stop_wait 10
assert_eq 0 "$RC" "exit status ($ERR)"
assert_eq app "$(lines "$D/log")" "the app ran once, after the waiters"
for w in w-file w-tcp w-http w-unix; do
    assert_contains "$ERR" "$w: waiting for"
    assert_eq "0" "$(ef $w last_exit)" "$w's LAST EXIT"
done
assert_match "$(head -n1 "$D/http-log" 2>/dev/null)" '^GET /up HTTP/1\.[01]$' "the http waiter's request line"
assert_eq "" "$(ls -A "$D/markers" 2>/dev/null)" "markers (waiters keep none)"
t_end

t_begin "wait_for: on the next start the waiters wait again (no marker), and pass at once"
rm -f "$D/log"
run_pod 15
assert_eq 0 "$RC" "exit status ($ERR)"
assert_eq 4 "$(printf '%s\n' "$ERR" | grep -c ': waiting for')" "waiting lines"
assert_not_contains "$ERR" "skipped (marker)"
assert_eq app "$(lines "$D/log")" "the app ran"
assert_between 0 3000 "$MS" "wall time (ms)"
for b in $SERVERS; do kill -TERM "$b" 2>/dev/null; done
t_end

t_begin "wait_for: a waiter that times out fails (exit 1, Never); the app never starts"
PORT=$(free_port)
newpod waiter-timeout <<'EOF'
restart_policy = "Never"
[[init]]
name = "w"
wait_for = { tcp = "127.0.0.1:@PORT@", timeout = "1s", period = "200ms" }
[[app]]
name = "app"
command = ["touch", "@D@/app-ran"]
EOF
run_pod 15
assert_eq 1 "$RC" "exit status"
assert_between 900 3500 "$MS" "wall time (ms; timeout 1s)"
assert_no_file "$D/app-ran"
assert_contains "$ERR" "w: gave up waiting"
assert_eq "Init:Error" "$(json_field status)" "pod STATUS"
assert_eq "1 (timeout)" "$(ef w last_exit)" "w's LAST EXIT"
assert_eq "None 0 None" "$(ef app last_exit) $(ef app restarts) $(ef app pid)" "the app's LAST EXIT, RESTARTS, pid"
t_end

# ============================================================================
# log_prefix
# ============================================================================

t_begin "log_prefix: chatty apps (awk, sh echo, python in odd-sized writes): every line once, prefixed, in order, none split"
PAD=$(printf 'p%.0s' $(seq 90))
newpod prefix <<'EOF'
log_prefix = true
restart_policy = "Never"
termination_grace_period = "5s"
[[init]]
name = "step"
command = ["sh", "-c", "echo step-out; echo step-err >&2"]
[[init]]
name = "side"
restart = "Always"
command = ["sh", "-c", "echo side-up; trap 'echo side-bye; exit 0' TERM; while :; do sleep 0.1; done"]
[[app]]
name = "alpha"
command = ["awk", "BEGIN { for (i = 1; i <= 2000; i++) printf \"alpha %d @PAD@\\n\", i; print \"alpha-err\" > \"/dev/stderr\" }"]
[[app]]
name = "beta"
command = ["sh", "-c", "for i in `seq 2000`; do echo \"beta $i @PAD@\"; done"]
[[app]]
name = "gamma"
command = ["@PY@", "-c", "import os, random\ndata = b''.join(b'gamma %d @PAD@\\n' % i for i in range(1, 2001))\nwhile data:\n    n = random.randint(1, 700)\n    os.write(1, data[:n])\n    data = data[n:]\n"]
[[app]]
name = "tail"
command = ["sh", "-c", "printf 'first-line\\ntail-no-newline'"]
[[app]]
name = "long"
command = ["sh", "-c", "head -c 40000 /dev/zero | tr '\\0' L; echo; echo after-long"]
EOF
sed -i "s|@PAD@|$PAD|g" "$P"
run_pod 30
assert_eq 0 "$RC" "exit status ($(printf '%s\n' "$ERR" | grep -v '^\[' | tail -n 5))"
out=$(python3 - "$D/out" "$PAD" <<'PYEOF' 2>&1
import re, sys
pad = sys.argv[2]
raw = open(sys.argv[1], "rb").read()
problems = []
if not raw.endswith(b"\n"):
    problems.append("stdout does not end with a newline")
lines = raw.decode("latin-1").split("\n")[:-1]
by = {}
for ln in lines:
    m = re.match(r"^\[([a-z]+)\] (.*)$", ln, re.S)
    if not m:
        problems.append("unprefixed line: %r" % ln[:80])
        continue
    by.setdefault(m.group(1), []).append(m.group(2))
for name in ("alpha", "beta", "gamma"):
    want = ["%s %d %s" % (name, i, pad) for i in range(1, 2001)]
    got = by.get(name, [])
    if got != want:
        bad = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        problems.append("%s: %d lines, first difference at %d: %r" % (name, len(got), bad, got[bad][:80] if bad < len(got) else None))
if by.get("step") != ["step-out"]:
    problems.append("step: %r" % by.get("step"))
if by.get("side") != ["side-up", "side-bye"]:
    problems.append("side: %r" % by.get("side"))
if by.get("tail") != ["first-line", "tail-no-newline"]:
    problems.append("tail: %r" % by.get("tail"))
L = by.get("long", [])
if [len(x) for x in L[:3]] != [16384, 16384, 7232] or any(set(x) != {"L"} for x in L[:3]) or L[3:] != ["after-long"]:
    problems.append("long: pieces of %r, then %r" % ([len(x) for x in L], L[3:] if len(L) > 3 else None))
extra = set(by) - {"alpha", "beta", "gamma", "step", "side", "tail", "long"}
if extra:
    problems.append("unexpected prefixes %r" % sorted(extra))
print("\n".join(problems))
PYEOF
)
assert_eq "" "$out" "stdout problems"
assert_contains "$ERR" "[alpha] alpha-err"
assert_contains "$ERR" "[step] step-err"
assert_not_contains "$OUT" "alpha-err"
assert_not_contains "$OUT" "step-err"
assert_not_contains "$ERR" "[beta] beta 1 "
t_end

# ============================================================================
# grpc probes, probe headers, host names resolved off PID 1's thread
# ============================================================================

HS=$ROOT/tests/pods/probes/health_server.py
if ! "$PY" -c 'import grpc, grpc_health.v1.health' 2>/dev/null; then
    t_begin "grpc probes: a real gRPC health server"
    t_fail "python's grpcio and grpcio-health-checking are missing (scripts/setup.sh installs them)"
    t_end
else

t_begin "grpc: readiness against a real gRPC health server (grpcio): SERVING → ready, NOT_SERVING → not ready, an unknown service fails, with the kubelet's messages"
PORT=$(free_port)
newpod grpc <<EOF
name = "grpc"
termination_grace_period = "5s"
[[app]]
name = "gs"
command = ["$PY", "$HS", "@PORT@", "@D@/status", "api.v1.Orders"]
readiness_probe = { grpc = "127.0.0.1:@PORT@", period = "200ms", timeout = "1s", failure_threshold = 1 }
[[app]]
name = "svc"
command = ["tail", "-f", "/dev/null"]
readiness_probe = { grpc = "127.0.0.1:@PORT@", service = "api.v1.Orders", period = "200ms", timeout = "1s", failure_threshold = 1 }
[[app]]
name = "nosvc"
command = ["tail", "-f", "/dev/null"]
readiness_probe = { grpc = "127.0.0.1:@PORT@", service = "no.such.Service", period = "200ms", timeout = "1s", failure_threshold = 1 }
EOF
put "$D/status" SERVING
start_pod
pod_wait 15 gs
pod_wait 3 svc
assert_eq "True True False" "$(ef gs ready) $(ef svc ready) $(ef nosvc ready)" "READY of gs, svc, nosvc while SERVING"
put "$D/status" NOT_SERVING
wait_for 3 entry_is gs ready False || t_fail "gs still ready 3 s after NOT_SERVING"
wait_for 3 entry_is svc ready False || t_fail "svc still ready 3 s after NOT_SERVING"
put "$D/status" SERVING
wait_for 3 entry_is gs ready True || t_fail "gs not ready again after SERVING"
wait_for 3 entry_is svc ready True || t_fail "svc not ready again after SERVING"
ERR=$(cat "$D/err")
assert_contains "$ERR" 'gs: readiness probe failed (1/1): service unhealthy (responded with "NOT_SERVING")'
assert_contains "$ERR" 'svc: readiness probe failed (1/1): service unhealthy (responded with "NOT_SERVING")'
assert_match "$ERR" "nosvc: readiness probe failed \(.*\): error: health rpc probe failed: rpc error: code = NotFound desc = " "stderr"
assert_match "$ERR" "gs: readiness probe failed \(1/1\): error: failed to connect service at \"127.0.0.1:$PORT\"" "stderr before the server listens"
term_pod_ok
t_end

t_begin "grpc and httpHeaders in a manifest: a grpc readiness probe follows the server; the httpGet probe sends its headers (Host override, kube-probe User-Agent)"
two_ports
D=$T_TMP/grpc-manifest P=$T_TMP/grpc-manifest/pod.yaml
rm -rf "$D"; mkdir -p "$D"; chmod 755 "$D"
cat >"$P" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: grpc-manifest
  annotations: {podinit.dev/state-dir: "$D/state", podinit.dev/marker-dir: "$D/markers"}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: api
    command: ["$PY", "$HS", "$PORT", "$D/status"]
    readinessProbe:
      grpc: {port: $PORT}
      periodSeconds: 1
      failureThreshold: 1
  - name: web
    command: ["$PY", "$SRV", "http", "$PORT2", "--code", "$D/code", "--headers", "$D/headers"]
    readinessProbe:
      httpGet:
        port: $PORT2
        path: /ready
        httpHeaders:
        - {name: Host, value: probe.example}
        - {name: X-Probe, value: "one"}
        - {name: X-Probe, value: "two"}
      periodSeconds: 1
EOF
put "$D/status" SERVING
put "$D/code" 200
start_pod
pod_wait 15 api
pod_wait 5 web
head=$(awk 'BEGIN { RS = "" } NR == 1' "$D/headers" 2>/dev/null | tr -d '\r')
assert_match "$head" '^GET /ready HTTP/1\.[01]$' "request line"
assert_match "$head" '^Host: probe\.example$' "the Host header"
assert_match "$head" '^User-Agent: kube-probe/1\.[0-9]+$' "the User-Agent"
assert_match "$head" '^Accept: \*/\*$' "the Accept header"
assert_eq "X-Probe: one X-Probe: two" "$(printf '%s\n' "$head" | grep '^X-Probe' | tr '\n' ' ' | sed 's/ $//')" "the repeated header, in order"
put "$D/status" NOT_SERVING
wait_for 4 entry_is api ready False || t_fail "api still ready 4 s after NOT_SERVING"
assert_eq True "$(ef web ready)" "web's READY"
assert_contains "$(cat "$D/err")" 'api: readiness probe failed (1/1): service unhealthy (responded with "NOT_SERVING")'
term_pod_ok
t_end

fi

t_begin "dns: a probe that names a host whose DNS server never answers blocks nothing: status answers at once, a forwarded signal arrives"
D=$T_TMP/dns P=$T_TMP/dns/pod.toml
newpod dns <<'EOF'
name = "dns"
termination_grace_period = "5s"
[[app]]
name = "a"
command = ["sh", "-c", "trap 'echo hup >> @D@/sig' HUP; echo $$$$ > @D@/a.pid; while :; do sleep 0.05; done"]
readiness_probe = { tcp = "db.podinit-test:5432", period = "1s", timeout = "20s" }
EOF
# A resolver on a loopback address of its own (127/8 is all loopback), seen only
# by the pod through a mount namespace with its own resolv.conf.
NS_IP=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
printf 'nameserver %s\noptions timeout:20 attempts:1\n' "$NS_IP" >"$D/resolv.conf"
server dns "$NS_IP" --log "$D/queries" --stamp "$D/dns-up"
DNS_SERVER=$LAST_SERVER
ready "$D/dns-up"
unshare --mount sh -c 'mount --bind "$1" /etc/resolv.conf && exec unshare --pid --fork --mount-proc "$2" run -c "$3"' \
    sh "$D/resolv.conf" "$PODINIT" "$P" >"$D/out" 2>"$D/err" &
BG=$!
BGS="$BGS $BG"
wait_for 5 test -s "$D/queries" || t_fail "the probe never asked the DNS server ($(cat "$D/err"))"
ready "$D/a.pid"
t0=$(now_ms)
sout=$("$PODINIT" status -c "$P" 2>"$D/status-err")
ms=$(($(now_ms) - t0))
assert_eq "" "$(cat "$D/status-err")" "status stderr (a live answer, not the last status.json)"
assert_match "$sout" '^a ' "status app row"
echo "    note: podinit status answered in $ms ms while the lookup hangs"
# The brief's 100 ms, with room for a loaded 2-core CI box: a blocked loop takes 20 s.
assert_between 0 500 "$ms" "ms for podinit status while the lookup hangs"
P1=$(pgrep -P "$BG" | head -n1)
t0=$(now_ms)
kill -HUP "$P1"
wait_for 2 test -s "$D/sig" || t_fail "SIGHUP not forwarded while the lookup hangs"
assert_between 0 500 "$(($(now_ms) - t0))" "ms for the forwarded SIGHUP"
assert_eq False "$(ef a ready)" "a's READY while its probe's host does not resolve"
term_pod_ok
kill -KILL "$DNS_SERVER" 2>/dev/null
wait "$DNS_SERVER" 2>/dev/null
t_end

# ============================================================================
# The restart cases started at the top
# ============================================================================

t_begin "sidecar: restarted ~10 s after the second kill -9 (whatever the pod's policy); RESTARTS 2; the pod still runs"
D=$SR_D P=$SR_P BG=$SR_BG P1=$SR_P1
wait_for 25 count_is "$D/side-starts" . 3 || t_fail "the sidecar was not restarted within 25 s"
wait_for 3 entry_is side state Running || t_fail "side not Running again (last: $(ef side state))"
third=$(sed -n 3p "$D/side-starts" 2>/dev/null)
assert_between 8000 20000 "$(( (${third:-0} - SR_KILLED) / 1000000 ))" "ms from the second kill -9 to the restart"
assert_eq 2 "$(ef side restarts)" "side's RESTARTS"
assert_eq "137 (SIGKILL)" "$(ef side last_exit)" "side's LAST EXIT"
wait_for 2 entry_is side ready True || t_fail "side not ready again"
assert_eq 1 "$(count "$D/app-starts" .)" "app starts"
health
assert_eq 0 "$HRC" "health exit status after the restart ($HOUT)"
ERR=$(cat "$D/err")
assert_contains "$ERR" "side: killed by SIGKILL"
assert_contains "$ERR" "side: restarting in 10s"
term_pod_ok
t_end

t_begin "liveness: the app is restarted after the back-off (RESTARTS 2, LAST EXIT (liveness)) and then stays up"
D=$LV_D P=$LV_P BG=$LV_BG P1=$LV_P1
wait_for 25 count_is "$D/starts" . 3 || t_fail "the app was not restarted within 25 s"
second=$(sed -n 2p "$D/starts" 2>/dev/null) third=$(sed -n 3p "$D/starts" 2>/dev/null)
assert_between 8000 25000 "$(( (${third:-0} - ${second:-0}) / 1000000 ))" "ms between the second and third starts"
wait_for 3 entry_is app state Running || t_fail "app not Running again (last: $(ef app state))"
assert_eq 2 "$(ef app restarts)" "app's RESTARTS"
assert_eq "0 (liveness)" "$(ef app last_exit)" "app's LAST EXIT"
sleep 1
assert_eq "3 2" "$(count "$D/starts" .) $(count "$D/log" term)" "starts and TERM traps 1 s after the restart"
assert_match "$(pstatus)" '^app app Running true 2 0 \(liveness\) ' "status app row"
term_pod_ok
assert_eq 3 "$(count "$D/log" term)" "TERM traps after the pod stopped"
t_end

wait
t_summary
