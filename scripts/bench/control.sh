#!/usr/bin/env bash
# Control-socket latency: an app `sleep 1000`, podinit as PID 1; `podinit
# restart -c FILE a` (replies once the new process runs) and `podinit status`
# (asks the socket), with the client's own start (`podinit -V`) and the app's
# (`sleep 0`) for reference. hyperfine, 3 warm-up runs + 30.
#
# Rows (CMD: restart status version sleep0):
#   control.CMD.{mean,sd,min,max,median}   ms
#   control.restarts                       restarts before the status below
#   control.hwm                            kB, podinit's VmHWM after them
#   control.status_out.N                   line N of `podinit status` then
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root
need unshare python3
podinit_bin
hyperfine_flags
CTL=$WORK/ctl
mkdir -p "$CTL"
cat > "$CTL/pod.toml" <<TOML
name = "ctl"
restart_policy = "Always"
termination_grace_period = "5s"
marker_dir = "$CTL/markers"
state_dir = "$CTL/state"

[[app]]
name = "a"
command = ["sleep", "1000"]
TOML
ns_start "$CTL/podinit.log" "$PODINIT" run -c "$CTL/pod.toml" || { problem "control socket not measurable: podinit could not be started"; exit 0; }
PC=$NSP
wait_pod "$CTL/state" running 10 || { problem "control socket not measurable: the pod did not reach Running within 10 s"; exit 0; }
if ! timeout 10 "$PODINIT" restart -c "$CTL/pod.toml" a >"$WORK/ctl1.out" 2>&1; then
    problem "control socket not measurable: $(head -c 300 "$WORK/ctl1.out" | tr '\n' ' ')"
    exit 0
fi
J=$WORK/ctl.json
# shellcheck disable=SC2086
if ! hyperfine $HF_N --warmup 3 --runs 30 --export-json "$J" \
    -n "podinit restart a" "$PODINIT restart -c $CTL/pod.toml a" \
    -n "podinit status" "$PODINIT status -c $CTL/pod.toml" \
    -n "podinit -V (process start only)" "$PODINIT -V" \
    -n "sleep 0 (the app's own start)" "sleep 0" >/dev/null 2>"$WORK/hf.err"; then
    cat "$WORK/hf.err" >&2
    problem "hyperfine of podinit restart/status failed: $(head -c 300 "$WORK/hf.err")"
    exit 0
fi
mapfile -t T < <(hf "$J")
hf_rows restart "${T[0]}"
hf_rows status "${T[1]}"
hf_rows version "${T[2]}"
hf_rows sleep0 "${T[3]}"
sleep 0.5
timeout 5 "$PODINIT" status -c "$CTL/pod.toml" > "$WORK/ctl-status.out" 2>&1
row restarts $((30 + 3 + 1))
row hwm "$(st_field "$PC" VmHWM)" kB
n=0
while IFS= read -r l; do n=$((n + 1)); row "status_out.$n" "$l"; done < "$WORK/ctl-status.out"
