#!/usr/bin/env bash
# Real manifests as people write them (issue 24): what the image runs
# (--images), ConfigMaps and Secrets (documents of the same file, --secrets
# directories), volumes made real at pod start (an emptyDir shared under two
# mount paths, configMap files), and what the kubelet sets (HOSTNAME,
# JOB_COMPLETION_INDEX). Every refusal comes before anything runs.
#
# What `check` says of a Secret or ConfigMap it cannot find is pinned whole in
# tests/cli.rs (tests/manifests/cli/).
#
#   PODINIT=$PWD/target/debug/podinit bash tests/integration/test_k8s_inputs.sh

. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/pod_lib.sh"
T_SUITE=manifest_inputs
suite_requires

field_is() { [ "$(json_field "$1")" = "$2" ]; }
http_get() { wget -q -T 2 -O - "$1" 2>/dev/null || curl -fsS --max-time 2 "$1" 2>/dev/null; }

# newcase NAME: D = a fresh case directory, P = D/pod.yaml from stdin with @D@ replaced.
newcase() {
    D=$T_TMP/$1
    rm -rf "$D"
    mkdir -p "$D"
    P=$D/pod.yaml
    sed "s|@D@|$D|g; s|@PORT@|${PORT:-0}|g" >"$P"
}

# The images: busybox's own configuration (no Entrypoint, Cmd sh, an Env), as
# `docker image inspect` prints it, and an "httpd" image whose Entrypoint serves
# a directory, as an OCI image config given as REF=FILE.
write_images() {
    cat >"$D/inspect.json" <<EOF
[{"Id": "sha256:1", "RepoTags": ["busybox:stable"], "RepoDigests": [],
  "Config": {"Entrypoint": null, "Cmd": ["sh"], "Env": ["PATH=$PATH", "FROM_IMAGE=busybox \$(NOT_EXPANDED)"],
             "WorkingDir": "", "User": ""}}]
EOF
    cat >"$D/httpd.json" <<EOF
{"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
 "config": {"Entrypoint": ["busybox", "httpd", "-f", "-p", "127.0.0.1:$PORT"], "Cmd": ["-h", "/usr/share/nginx/html"],
            "Env": ["PATH=$PATH"], "WorkingDir": "$D"}}
EOF
}

# ============================================================================
# The Kubernetes docs' init-container example: an emptyDir at two mount paths
# ============================================================================

if command -v busybox >/dev/null; then
    t_begin "init container fills an emptyDir at /work-dir; the web server serves it from its own mount path"
    PORT=$(free_port)
    newcase init-emptydir <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: init-demo
  annotations:
    podinit.dev/marker-dir: @D@/markers
    podinit.dev/state-dir: @D@/state
spec:
  containers:
  - name: nginx
    image: example.com/httpd:1
    args: ["-h", "@D@/usr/share/nginx/html"]
    readinessProbe:
      httpGet: {path: /index.html, port: @PORT@}
      periodSeconds: 1
    volumeMounts:
    - name: workdir
      mountPath: @D@/usr/share/nginx/html
  initContainers:
  - name: install
    image: busybox:stable
    command: ["sh", "-c", "echo hello from the init container > @D@/work-dir/index.html; env > @D@/work-dir/env.txt; pwd >> @D@/work-dir/env.txt"]
    volumeMounts:
    - name: workdir
      mountPath: "@D@/work-dir"
  dnsPolicy: Default
  volumes:
  - name: workdir
    emptyDir: {}
EOF
    write_images
    # Without the images' configuration: one positioned line naming the image and the flag.
    rc=0; out=$("$PODINIT" check -c "$P" --images "$D/inspect.json" 2>&1) || rc=$?
    assert_eq 1 "$rc" "check without the httpd image's config ($out)"
    assert_match "$out" "pod.yaml:10:5: spec.containers\[0\]: args without command go to the entrypoint of image 'example.com/httpd:1'.*--images FILE"
    assert_eq 1 "$(printf '%s\n' "$out" | grep -c .)" "lines of the error"
    rc=0; out=$("$PODINIT" check -c "$P" --images "$D/inspect.json" --images "example.com/httpd:1=$D/httpd.json" 2>&1) || rc=$?
    assert_eq 0 "$rc" "check with both images ($out)"
    pid1_bg "$D/out" "$D/err" -- run -c "$P" --images "$D/inspect.json" --images "example.com/httpd:1=$D/httpd.json" \
        || t_fail "podinit did not start"
    BGS="$BGS $BG"
    wait_for 10 http_get "http://127.0.0.1:$PORT/index.html" || t_fail "no page: $(cat "$D/err")"
    assert_eq "hello from the init container" "$(http_get "http://127.0.0.1:$PORT/index.html")" "the page"
    # One directory: the web server's mount path is a link to the init container's.
    assert_eq "$D/work-dir" "$(readlink "$D/usr/share/nginx/html")" "the second mount path"
    envtxt=$(http_get "http://127.0.0.1:$PORT/env.txt")
    assert_match "$envtxt" '^HOSTNAME=init-demo$' "the init container's env"
    # The image's Env under the container's, taken literally (the kubelet expands no image value).
    assert_match "$envtxt" '^FROM_IMAGE=busybox \$\(NOT_EXPANDED\)$' "the init container's env"
    wait_for 10 field_is 'e["nginx"]["ready"]' True || t_fail "nginx not Ready: $(cat "$D/err")"
    # status finds the pod without being told the images: what it runs does not matter there.
    rc=0; out=$("$PODINIT" status -c "$P" 2>&1) || rc=$?
    assert_eq 0 "$rc" "status without --images ($out)"
    assert_match "$out" "nginx +.*Running"
    kill -TERM "$P1"
    stop_wait
    assert_eq 0 "$RC" "exit status after SIGTERM ($ERR)"
    t_end
else
    echo "note: busybox not installed; the init-container example is skipped"
fi

# ============================================================================
# ConfigMaps and Secrets
# ============================================================================

t_begin "a ConfigMap volume's files are listed at its mount path (items, subPath, mode)"
newcase configmap-volume <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: game-config
data:
  game.properties: |
    enemies=aliens
    lives=3
  ui.properties: "color.good=purple\n"
---
apiVersion: v1
kind: Pod
metadata:
  name: configmap-pod
  annotations:
    podinit.dev/marker-dir: @D@/markers
    podinit.dev/state-dir: @D@/state
spec:
  restartPolicy: Never
  containers:
  - name: test
    image: busybox:stable
    command: ["sh", "-c", "ls @D@/etc/config; cat @D@/etc/config/game.properties; cat @D@/etc/ui.conf; stat -c %a @D@/etc/renamed/g"]
    volumeMounts:
    - {name: config, mountPath: @D@/etc/config}
    - {name: config, mountPath: @D@/etc/ui.conf, subPath: ui.properties}
    - {name: picked, mountPath: @D@/etc/renamed}
  volumes:
  - name: config
    configMap: {name: game-config}
  - name: picked
    configMap:
      name: game-config
      defaultMode: 0600
      items: [{key: game.properties, path: g}]
EOF
run_pod
assert_eq 0 "$RC" "exit status ($ERR)"
assert_eq "game.properties
ui.properties
enemies=aliens
lives=3
color.good=purple
600" "$OUT" "what the container saw"
t_end

t_begin "a Secret's value reaches env (secretKeyRef, envFrom with prefix), from the file and from --secrets"
newcase secret-env <"$ROOT/tests/manifests/cli/secret-env.yaml"
mkdir -p "$D/secrets/api"
printf 'k3y' >"$D/secrets/api/key"
run_pod_args() { as_pid1 30 -- run -c "$P" "$@" >"$D/out" 2>"$D/err"; OUT=$(cat "$D/out"); ERR=$(cat "$D/err"); }
run_pod_args --secrets "$D/secrets"
assert_eq 0 "$RC" "exit status ($ERR)"
# $ in a Secret's value is not $(VAR)-expanded, and the value is exact.
assert_eq 'password=s3cr3t$x user=admin from_dir=k3y missing=unset' "$OUT" "what the container saw"
t_end

t_begin "an Indexed Job's pod gets JOB_COMPLETION_INDEX=0 and the host name NAME-0"
newcase indexed-job <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: sample
spec:
  completions: 3
  completionMode: Indexed
  template:
    metadata:
      annotations:
        podinit.dev/marker-dir: @D@/markers
        podinit.dev/state-dir: @D@/state
    spec:
      restartPolicy: Never
      containers:
      - name: worker
        command: ["sh", "-c", "echo index=$JOB_COMPLETION_INDEX host=$HOSTNAME"]
EOF
run_pod
assert_eq 0 "$RC" "exit status ($ERR)"
assert_eq "index=0 host=sample-0" "$OUT" "what the container saw"
t_end

# ============================================================================
# Refusals: before anything runs
# ============================================================================

t_begin "an emptyDir whose two mount paths both hold files: a clear error at start, nothing runs"
newcase emptydir-conflict <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: conflict
  annotations:
    podinit.dev/marker-dir: @D@/markers
    podinit.dev/state-dir: @D@/state
spec:
  containers:
  - name: a
    command: ["touch", "@D@/ran-a"]
    volumeMounts: [{name: shared, mountPath: @D@/one}]
  - name: b
    command: ["touch", "@D@/ran-b"]
    volumeMounts: [{name: shared, mountPath: @D@/two}]
  volumes:
  - {name: shared, emptyDir: {}}
EOF
mkdir -p "$D/one" "$D/two"
echo x >"$D/one/f"
echo y >"$D/two/g"
run_pod
assert_eq 1 "$RC" "exit status ($ERR)"
assert_match "$ERR" "pod.yaml:15:20: spec.containers\[1\].volumeMounts\[0\]: volume at $D/two: $D/two is a directory that is not empty, and it must be the same directory as $D/one"
assert_no_file "$D/ran-a"
assert_no_file "$D/ran-b"
t_end

t_begin "storage podinit cannot attach must be mounted already"
newcase cluster-volume <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: nfs
  annotations:
    podinit.dev/marker-dir: @D@/markers
    podinit.dev/state-dir: @D@/state
spec:
  restartPolicy: Never
  containers:
  - name: a
    command: ["ls", "@D@/data"]
    volumeMounts: [{name: data, mountPath: @D@/data}]
  volumes:
  - name: data
    nfs: {server: nfs.example.com, path: /exports}
EOF
run_pod
assert_eq 1 "$RC" "exit status ($ERR)"
assert_contains "$ERR" "volume at $D/data: $D/data: No such file or directory; podinit cannot attach a nfs volume"
mkdir -p "$D/data"
touch "$D/data/mounted-by-docker"
run_pod
assert_eq 0 "$RC" "exit status once it is there ($ERR)"
assert_eq "mounted-by-docker" "$OUT" "what the container saw"
t_end

t_summary
