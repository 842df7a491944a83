#!/usr/bin/env bash
# Writes DIR/pod.toml: the 20-entry pod of the benchmark (10 init steps `true`,
# 10 apps `sleep 1000`, no probes), with its marker and state dirs in DIR.
# scripts/bench/idle.sh and rss.sh measure it; scripts/symbol-order.sh traces it, so the code
# order is made for the pod the benchmark reports. Usage: pod20.sh DIR
set -euo pipefail
dir=${1:?usage: pod20.sh DIR}
mkdir -p "$dir"
{
    echo 'name = "pod20"'
    echo 'restart_policy = "Always"'
    echo 'termination_grace_period = "2s"'
    echo "marker_dir = \"$dir/markers\""
    echo "state_dir = \"$dir/state\""
    for i in $(seq 1 10); do printf '\n[[init]]\nname = "init%d"\ncommand = ["true"]\n' "$i"; done
    for i in $(seq 1 10); do printf '\n[[app]]\nname = "app%d"\ncommand = ["sleep", "1000"]\n' "$i"; done
} >"$dir/pod.toml"
