#!/usr/bin/env bash
# Kubernetes manifests (issue 12): podinit runs a Pod manifest (YAML or JSON,
# or a workload's pod template) as PID 1 exactly as it runs the pod file it
# maps to; bad manifests start nothing; exported manifests parse with PyYAML
# and, where kubectl is installed, decode as typed Kubernetes objects.
#
# What `check`, `export` and `import` print (each bad manifest's one line, the
# examples' twins, the export/import round trips) is pinned whole in
# tests/cli.rs.
#
#   PODINIT=$PWD/target/debug/podinit bash tests/integration/test_manifests.sh

. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/pod_lib.sh"
T_SUITE=manifests
suite_requires

EX=$ROOT/examples
MANIFESTS=$ROOT/tests/manifests

# PyYAML is the independent reader the exported manifests must satisfy.
if ! python3 -c 'import yaml' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-yaml >/dev/null 2>&1 \
            || pip install -q pyyaml >/dev/null 2>&1 || true
    fi
fi
HAVE_PYYAML=0
python3 -c 'import yaml' 2>/dev/null && HAVE_PYYAML=1

pstatus() { "$PODINIT" status -c "$P" "$@" 2>&1; }
http_get() { curl -fsS --max-time 2 "$1" 2>/dev/null || wget -q -T 2 -O - "$1" 2>/dev/null; }


# field_is EXPR WANT: json_field EXPR is WANT (for wait_for, which re-runs it).
field_is() { [ "$(json_field "$1")" = "$2" ]; }

# lifecycle: podinit's started/exited/waiting lines of $ERR, without pids and times.
lifecycle() {
    printf '%s\n' "$ERR" | grep -E ': (started pid|exited|killed by|waiting for)' \
        | sed -E 's/^podinit: [A-Z]+ //; s/ pid [0-9]+//; s/ after .*//; s/: waiting for .*/: waiting/'
}

# listen PORT [BODY]: a local HTTP server on 127.0.0.1:PORT serving BODY at /
# and "ok" at /started, in the background until the suite ends; waits until it
# answers. LISTEN_DIR is its directory, with the request log in LISTEN_DIR/log.
LISTENERS=""
listen() {
    LISTEN_DIR=$(mktemp -d "$T_TMP/listen.XXXXXX")
    printf '%s' "${2:-ok}" >"$LISTEN_DIR/index.html"
    printf 'ok' >"$LISTEN_DIR/started"
    python3 -m http.server --bind 127.0.0.1 --directory "$LISTEN_DIR" "$1" >"$LISTEN_DIR/log" 2>&1 &
    LISTENERS="$LISTENERS $!"
    wait_for 10 http_get "http://127.0.0.1:$1/" || t_fail "listener on $1 did not come up"
}
stop_listeners() {
    local p
    for p in $LISTENERS; do kill "$p" 2>/dev/null; done
    LISTENERS=""
}
suite_cleanup() {
    stop_listeners
    pod_cleanup
}

# copy_into NAME SRC [SED-ARGS...]: D = a fresh case directory, P = D/<SRC's name>,
# a copy of SRC with @D@ replaced by D (and the extra sed expressions applied).
copy_into() {
    local name=$1 src=$2
    shift 2
    D=$T_TMP/$name
    rm -rf "$D"
    mkdir -p "$D"
    P=$D/$(basename "$src")
    sed -e "s|@D@|$D|g" "$@" "$src" >"$P"
}

# ============================================================================
# The examples' twins: pod.yaml is the same pod as pod.toml, and runs the same
# ============================================================================

# example_pair NAME DEMO_DIR [PORT...]: PT and PY = copies of examples/NAME/pod.toml
# and pod.yaml in one directory D, with DEMO_DIR (replaced by D) and each PORT
# (FREE[i]) moved out of the way, so a demo a user left running is not
# disturbed. Both pods then see the same paths, as they would in place.
example_pair() {
    local name=$1 demo=$2 port sed_args=()
    shift 2
    FREE=()
    for port in "$@"; do
        FREE+=("$(free_port)")
        sed_args+=(-e "s|$port|${FREE[-1]}|g")
    done
    D=$T_TMP/ex-$name
    rm -rf "$D"
    mkdir -p "$D"
    PT=$D/pod.toml PY=$D/pod.yaml
    sed -e "s|$demo|$D|g" "${sed_args[@]}" "$EX/$name/pod.toml" >"$PT"
    sed -e "s|$demo|$D|g" "${sed_args[@]}" "$EX/$name/pod.yaml" >"$PY"
}

# use FMT: P = the toml or yaml copy of example_pair, on a clean slate (no
# markers, data or state of the other format's run).
use() {
    find "$D" -mindepth 1 -maxdepth 1 ! -name pod.toml ! -name pod.yaml -exec rm -rf {} +
    if [ "$1" = toml ]; then P=$PT; else P=$PY; fi
}

t_begin "twin env-once: pod.yaml prints what pod.toml prints and runs its step once"
example_pair env-once /tmp/podinit-demo-env-once
for fmt in toml yaml; do
    use $fmt
    run_pod
    assert_eq 0 "$RC" "$fmt: exit status ($ERR)"
    eval "OUT_$fmt=\$(printf '%s\n' \"\$OUT\" | sed 's/, first at .*//')"
    eval "HASH_$fmt=\$(grep '^hash ' \"\$D/markers/initialize.done\")"
    run_pod
    assert_contains "$ERR" "initialize: skipped (marker)" "$fmt: second start"
    assert_match "$OUT" '^initialized 1 time\(s\), ' "$fmt: second start"
done
assert_eq "$OUT_toml" "$OUT_yaml" "stdout of pod.toml vs pod.yaml"
assert_match "$OUT_yaml" '^POD_NAME=env-once$' "yaml stdout"
assert_match "$OUT_yaml" '^CONTAINER_NAME=show-env$' "yaml stdout"
# Same definition, same marker: a pod moved from pod.toml to pod.yaml keeps its done steps.
assert_ne "" "$HASH_toml" "the marker's hash"
assert_eq "$HASH_toml" "$HASH_yaml" "the marker hash of pod.toml vs pod.yaml"
t_end

if command -v busybox >/dev/null; then
    t_begin "twin web: pod.yaml serves the page pod.toml serves; a restart skips the step"
    example_pair web /tmp/podinit-demo-web 8080
    url=http://127.0.0.1:${FREE[0]}/
    for fmt in toml yaml; do
        use $fmt
        start_pod
        wait_for 10 http_get "$url" || t_fail "$fmt: nothing answers at $url"
        page=$(http_get "$url")
        assert_contains "$page" "Hello from pod web in namespace demo" "$fmt: page"
        assert_contains "$page" "Generated by the init step generate at 20" "$fmt: page"
        eval "PAGE_$fmt=\$(printf '%s\n' \"\$page\" | grep -v 'Generated by')"
        assert_match "$(pstatus | tr -s ' ')" '^web 1/1 Running 0 ' "$fmt: status"
        assert_match "$(pstatus | tr -s ' ')" '^generate init Completed - 0 0 ' "$fmt: status"
        kill -TERM "$P1"
        stop_wait 10
        assert_eq 0 "$RC" "$fmt: exit status"
        start_pod
        wait_for 10 http_get "$url" || t_fail "$fmt: nothing answers after the restart"
        kill -TERM "$P1"
        stop_wait 10
        assert_contains "$ERR" "generate: skipped (marker)" "$fmt: restart"
    done
    assert_eq "$PAGE_toml" "$PAGE_yaml" "page of pod.toml vs pod.yaml"
    # The image names what runs on a cluster; the volumes are made real (issue 24): neither is ignored.
    assert_not_contains "$ERR" "image ignored" "INFO lines of the yaml pod"
    assert_not_contains "$ERR" "spec.volumes ignored" "INFO lines of the yaml pod"
    t_end

    t_begin "twin wait-services: with pod.yaml too the app starts only after both services answer"
    example_pair wait-services /tmp/podinit-demo-wait-services 15432 16379
    for fmt in toml yaml; do
        use $fmt
        start_pod
        wait_for 15 grep -q '^app: ' "$D/out" || t_fail "$fmt: the app never printed its line"
        assert_match "$(cat "$D/out")" '^app: db: ok, cache: ok$' "$fmt: app output"
        kill -TERM "$P1"
        stop_wait 10
        assert_eq 0 "$RC" "$fmt: exit status"
        eval "LIFE_$fmt=\$(lifecycle)"
    done
    assert_eq "$LIFE_toml" "$LIFE_yaml" "lifecycle of pod.toml vs pod.yaml"
    assert_contains "$LIFE_yaml" "wait-cache: exited 0"
    t_end
else
    echo "note: skipped the web and wait-services twins: no busybox"
fi

# ============================================================================
# The Kubernetes docs' own examples, run by podinit
# ============================================================================

t_begin "k8s docs myapp: the app starts after init-myservice and init-mydb see their services"
svc=$(free_port) db=$(free_port)
[ "$svc" = "$db" ] && db=$((db + 1))
copy_into myapp "$MANIFESTS/good/myapp.yaml" -e "s|@MYSERVICE_PORT@|$svc|g" -e "s|@MYDB_PORT@|$db|g"
start_pod
wait_for 10 grep -q 'waiting for myservice' "$D/out" || t_fail "init-myservice is not waiting"
wait_for 5 field_is status Init:0/2 || t_fail "status is $(json_field status), not Init:0/2"
assert_not_contains "$(cat "$D/out")" "The app is running!" "before the services"
listen "$svc"
wait_for 10 grep -q 'waiting for mydb' "$D/out" || t_fail "init-mydb is not waiting"
wait_for 5 field_is status Init:1/2 || t_fail "status is $(json_field status), not Init:1/2"
assert_not_contains "$(cat "$D/out")" "The app is running!" "before mydb"
listen "$db"
wait_for 10 grep -q 'The app is running!' "$D/out" || t_fail "the app never ran"
wait_for 5 field_is status Running || t_fail "status is $(json_field status), not Running"
kill -TERM "$P1"
stop_wait 10
assert_eq 0 "$RC" "exit status"
assert_eq "init-myservice: started
init-myservice: exited 0
init-mydb: started
init-mydb: exited 0
myapp-container: started
myapp-container: killed by SIGTERM" "$(lifecycle)" "lifecycle"
t_end

t_begin "k8s docs init-demo: the init container fills the emptyDir, the web server serves it"
up=$(free_port) port=$(free_port)
[ "$up" = "$port" ] && port=$((port + 1))
listen "$up" "<h1>page from upstream</h1>"
copy_into init-demo "$MANIFESTS/good/init-demo.yaml" -e "s|@UPSTREAM_PORT@|$up|g" -e "s|@PORT@|$port|g"
rc=0; out=$("$PODINIT" check -c "$P" 2>&1) || rc=$?
assert_eq 0 "$rc" "check ($out)"
for f in spec.dnsPolicy spec.containers[0].ports; do
    assert_contains "$out" "$f ignored" "check's INFO lines"
done
start_pod
wait_for 10 http_get "http://127.0.0.1:$port/" || t_fail "nothing answers on $port"
assert_eq "<h1>page from upstream</h1>" "$(http_get "http://127.0.0.1:$port/")" "served page"
pod_wait 10 nginx
kill -TERM "$P1"
stop_wait 10
assert_eq 0 "$RC" "exit status"
t_end

t_begin "deployment: hooks (httpGet, sleep) and the downward API of a pod template"
hook=$(free_port)
listen "$hook"
copy_into hooks "$MANIFESTS/good/hooks-env.yaml" -e "s|@HOOK_PORT@|$hook|g"
start_pod
wait_for 10 [ -s "$D/env" ] || t_fail "the app wrote no env"
env_out=$(cat "$D/env" 2>/dev/null)
assert_match "$env_out" '^MY_POD=hooks$' "env"
assert_match "$env_out" '^MY_NAMESPACE=shop$' "env"
assert_match "$env_out" '^MY_TIER=web$' "env"
assert_match "$env_out" '^MY_OWNER=team-a$' "env"
assert_match "$env_out" '^MY_ACCOUNT=robot$' "env"
assert_match "$env_out" '^MY_IP=[0-9a-f.:]+$' "env"
# Resolved when the pod starts (they stay fieldRefs through import and export).
assert_match "$env_out" "^MY_NODE=$(cat /proc/sys/kernel/hostname)\$" "env"
assert_match "$env_out" '^MY_UID=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "env"
assert_match "$env_out" '^MY_GREETING=hello hooks$' "env"
# status.hostIP is this machine's address, as status.podIP; a downwardAPI file of
# either is written at start with the env var's value (one UID for both).
my_ip=$(printf '%s\n' "$env_out" | sed -n 's/^MY_IP=//p')
my_uid=$(printf '%s\n' "$env_out" | sed -n 's/^MY_UID=//p')
assert_match "$env_out" "^MY_HOST_IP=$my_ip\$" "env"
assert_match "$env_out" "^FILE_ip=$my_ip\$" "downwardAPI file ip"
assert_match "$env_out" "^FILE_uid=$my_uid\$" "downwardAPI file uid"
assert_match "$env_out" '^POD_NAMESPACE=shop$' "env"
wait_for 5 grep -q 'GET /started' "$LISTEN_DIR/log" \
    || t_fail "the postStart httpGet hook never reached the listener"
t0=$(now_ms)
kill -TERM "$P1"
stop_wait 10
assert_eq 0 "$RC" "exit status"
assert_between 900 8000 "$(( $(now_ms) - t0 ))" "ms to stop (preStop sleeps 1 s)"
t_end

t_begin "formats: JSON without an extension, a CronJob, a multi-document file"
D=$T_TMP/formats
mkdir -p "$D"
cat >"$D/pod" <<EOF
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "from-json", "annotations": {"podinit.dev/state-dir": "$D/state", "podinit.dev/marker-dir": "$D/m"}},
 "spec": {"restartPolicy": "Never", "containers": [{"name": "hello", "command": ["echo", "hello from json"]}]}}
EOF
P=$D/pod
run_pod
assert_eq 0 "$RC" "json pod exit status ($ERR)"
assert_eq "hello from json" "$OUT" "json pod output"
cat >"$D/cron.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      backoffLimit: 1
      template:
        metadata:
          annotations: {podinit.dev/state-dir: "$D/state2", podinit.dev/marker-dir: "$D/m2"}
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: job, command: [sh, -c, "echo job of \$POD_NAME"]}
EOF
P=$D/cron.yaml
run_pod
assert_eq 0 "$RC" "cronjob exit status ($ERR)"
assert_eq "job of nightly" "$OUT" "cronjob output"
# A ConfigMap of the same file is read (for configMapKeyRef, envFrom, volumes), not ignored.
assert_not_contains "$ERR" "ConfigMap 'settings' (line 1) ignored"
assert_contains "$ERR" "spec.schedule ignored"
t_end

# ============================================================================
# Bad manifests: run gives check's one error (file, line, column, field path)
# and starts nothing
# ============================================================================

n_bad=0
for f in "$MANIFESTS"/bad/*.yaml "$MANIFESTS"/bad/*.json; do
    name=$(basename "$f")
    if [ -f "$f.expect" ]; then expect=$(cat "$f.expect"); else expect=$(head -n1 "$f" | sed -n 's/^# expect: //p'); fi
    t_begin "bad: $name: run gives one error ($expect), starts nothing"
    n_bad=$((n_bad + 1))
    copy_into "bad-$name" "$f"
    run_pod 10
    assert_eq 1 "$RC" "run exit status"
    assert_eq 1 "$(printf '%s\n' "$ERR" | wc -l)" "lines of run's stderr ($ERR)"
    assert_contains "$ERR" "podinit: $P:$expect" "run's stderr"
    assert_no_file "$D/started"
    assert_no_file "$D/state"
    t_end
done
t_begin "bad: at least 15 sample bad manifests"
assert_between 15 1000 "$n_bad" "bad manifests"
t_end

# ============================================================================
# What an independent reader (PyYAML) makes of the exported manifests
# ============================================================================

ROUND_TRIP_FILES="$EX/web/pod.toml $EX/env-once/pod.toml $EX/wait-services/pod.toml $EX/docker/pod.toml
$ROOT/tests/pods/good/every-key.toml $ROOT/tests/pods/good/spec-example.toml"
if [ "$HAVE_PYYAML" = 1 ]; then
    for f in $ROUND_TRIP_FILES; do
        rel=${f#"$ROOT"/}
        t_begin "PyYAML: the YAML and JSON manifests of $rel are one Pod, with the fields Kubernetes needs"
        D=$T_TMP/rt-$(echo "$rel" | tr / -)
        mkdir -p "$D"
        "$PODINIT" export -c "$f" >"$D/m.yaml" 2>/dev/null || t_fail "export failed"
        "$PODINIT" export --format json -c "$f" >"$D/m.json" 2>/dev/null || t_fail "export --format json failed"
        "$PODINIT" import "$D/m.yaml" >"$D/t.toml" 2>/dev/null || t_fail "import failed"
        out=$(python3 - "$D/m.yaml" "$D/m.json" "$D/t.toml" <<'EOF' 2>&1
import json, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
assert len(docs) == 1, f"{len(docs)} documents"
m = docs[0]
assert m == json.load(open(sys.argv[2])), "the YAML and JSON exports differ"
assert (m["apiVersion"], m["kind"]) == ("v1", "Pod"), (m["apiVersion"], m["kind"])
spec = m["spec"]
everyone = spec.get("initContainers", []) + spec["containers"]
for c in everyone:
    env = {e["name"]: e for e in c["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", c["name"]
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace", c["name"]
    assert isinstance(c["command"], list) and all(isinstance(a, str) for a in c["command"]), c["command"]
    assert c["image"] == "busybox:stable", c["image"]
    for v in c["env"]:
        assert "value" not in v or isinstance(v["value"], str), v
for k, v in m["metadata"].get("annotations", {}).items():
    assert isinstance(v, str), (k, v)
    assert len(k.split("/", 1)[1]) <= 63, k
# Sidecars are restartable init containers; the pod file says which entries are.
text = open(sys.argv[3]).read()
sidecars = [c["name"] for c in spec.get("initContainers", []) if c.get("restartPolicy") == "Always"]
assert len(sidecars) == text.count('restart = "Always"'), sidecars
EOF
        ) || t_fail "PyYAML: $out"
        t_end
    done
else
    echo "note: PyYAML missing: the exported manifests were not read by an independent parser"
fi

# kubectl: `kubectl create --dry-run=client` needs an API server even with
# --validate=false (it asks discovery which resource a kind is), so it cannot
# run offline. `kubectl set env --local` decodes the file into a typed v1.Pod
# without a server: a wrong type fails, a field kubectl does not know is dropped
# from its output. Every field of the export must come back.
if command -v kubectl >/dev/null && [ "$HAVE_PYYAML" = 1 ]; then
    KCFG=$T_TMP/kubeconfig
    cat >"$KCFG" <<'EOF'
apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: offline, context: {cluster: offline, user: offline}}]
current-context: offline
users: [{name: offline, user: {token: offline}}]
EOF
    kver=$(KUBECONFIG=$KCFG kubectl version --client -o json 2>/dev/null | python3 -c 'import json,sys; v=json.load(sys.stdin)["clientVersion"]; print(v["major"] + "." + v["minor"].rstrip("+"))' 2>/dev/null)
    for f in $ROUND_TRIP_FILES; do
        rel=${f#"$ROOT"/}
        t_begin "kubectl $kver: the manifest of $rel decodes as a typed Pod with every field kept"
        D=$T_TMP/kc-$(echo "$rel" | tr / -)
        mkdir -p "$D"
        "$PODINIT" export -c "$f" >"$D/m.yaml" 2>/dev/null
        rc=0
        KUBECONFIG=$KCFG timeout 30 kubectl set env --local --dry-run=client -o json -f "$D/m.yaml" PODINIT_TEST=1 >"$D/k.json" 2>"$D/k.err" || rc=$?
        assert_eq 0 "$rc" "kubectl exit status ($(cat "$D/k.err"))"
        out=$(python3 - "$D/m.yaml" "$D/k.json" "$kver" <<'EOF' 2>&1
import json, sys, yaml
mine = yaml.safe_load(open(sys.argv[1]))
theirs = json.load(open(sys.argv[2]))
major, minor = (int(x) for x in sys.argv[3].split("."))
missing = []
def walk(a, b, path):
    if isinstance(a, dict):
        for k, v in a.items():
            # lifecycle.stopSignal is new in Kubernetes 1.33: older kubectl drops it.
            if k == "stopSignal" and (major, minor) < (1, 33):
                continue
            if not isinstance(b, dict) or k not in b:
                missing.append(f"{path}.{k}")
            else:
                walk(v, b[k], f"{path}.{k}")
    elif isinstance(a, list):
        if not isinstance(b, list):
            missing.append(path)
            return
        for i, v in enumerate(a):
            # kubectl set env appended its variable: compare what we wrote.
            if i >= len(b):
                missing.append(f"{path}[{i}]")
            else:
                walk(v, b[i], f"{path}[{i}]")
    elif a != b:
        missing.append(f"{path} ({a!r} became {b!r})")
walk(mine, theirs, "")
assert not missing, "kubectl lost: " + ", ".join(missing)
EOF
        ) || t_fail "$out"
        t_end
    done
else
    echo "note: kubectl or PyYAML missing: the exported manifests were not decoded by kubectl"
fi

stop_listeners
t_summary
