#!/usr/bin/env bash
# Static checks of examples/: the files users copy must not rot.
#  - every Dockerfile COPYs the release artefact dist/podinit-<ver>-x86_64-linux-musl
#    (and may COPY dist/busybox, the static busybox the image's shell comes from)
#    of the version in Cargo.toml, and its ENTRYPOINT/HEALTHCHECK are valid
#    exec-form JSON naming podinit the way the README says;
#  - the Kubernetes manifests parse and hold what their README promises;
#  - every pod file (examples/docker/*.toml, the ConfigMap's pod.toml) passes
#    `podinit check`;
#  - the READMEs reference the files.
# Runs no container; needs python3 (PyYAML optional).

. "$(dirname "$0")/../lib.sh"
T_SUITE=examples
DOCKER=$ROOT/examples/docker
K8S=$ROOT/examples/kubernetes
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)
ARTEFACT_RE='^dist/podinit-[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?-x86_64-linux-musl$'

# --- Dockerfiles -------------------------------------------------------------

# instruction FILE NAME: the arguments of every NAME instruction, one a line
# (Dockerfile keywords are case-insensitive; these files use no continuations).
instruction() { sed -n "s/^[[:space:]]*$2[[:space:]]\{1,\}//Ip" "$1"; }

# resolve FILE TEXT: TEXT with ${ARG} / $ARG replaced by the ARG defaults in FILE,
# which is what `docker build` does without --build-arg.
resolve() {
    local file=$1 text=$2 name value
    while IFS='=' read -r name value; do
        text=${text//\$\{$name\}/$value}
        text=${text//\$$name/$value}
    done < <(instruction "$file" ARG | grep '=')
    printf '%s' "$text"
}

# json_array TEXT: TEXT is an exec-form JSON array; print its items space-separated.
json_array() {
    python3 -c 'import json,sys; a=json.loads(sys.argv[1]); assert isinstance(a,list) and a and all(isinstance(x,str) for x in a); print(" ".join(a))' "$1" 2>/dev/null
}

for df in "$DOCKER"/Dockerfile.*; do
    name=$(basename "$df")
    t_begin "docker: $name copies the release artefact of version $VERSION"
    found=0
    while read -r line; do
        set -- $line
        while [ "${1:-}" != "${1#--}" ]; do shift; done   # --chmod=, --from=, ...
        src=$(resolve "$df" "$1")
        case "$src" in
        dist/busybox) ;;   # busybox-static's binary, copied there by hand (the Dockerfiles say how)
        dist/*)
            found=1
            printf '%s\n' "$src" | grep -Eq "$ARTEFACT_RE" \
                || t_fail "COPY source '$src' is not dist/podinit-<version>-x86_64-linux-musl"
            assert_eq "dist/podinit-$VERSION-x86_64-linux-musl" "$src" "COPY source with the default PODINIT_VERSION"
            ;;
        *) [ -e "$ROOT/$src" ] || t_fail "COPY source '$src' does not exist (build context is the repository root)" ;;
        esac
    done < <(instruction "$df" COPY)
    [ "$found" = 1 ] || t_fail "no COPY of dist/podinit-*"
    t_end

    t_begin "docker: $name ENTRYPOINT is exec-form JSON running podinit"
    ep=$(instruction "$df" ENTRYPOINT | tail -n1)
    argv=$(json_array "$ep") || t_fail "ENTRYPOINT is not an exec-form JSON array: $ep"
    case "$name" in
    Dockerfile.pause)
        assert_eq "scratch" "$(instruction "$df" FROM | tail -n1)" "base image"
        assert_eq "/pause" "$argv" "ENTRYPOINT" ;;
    Dockerfile.init) assert_eq "/podinit --" "$argv" "ENTRYPOINT" ;;
    Dockerfile.pod)
        assert_eq "/podinit run" "$argv" "ENTRYPOINT"
        hc=$(instruction "$df" HEALTHCHECK)
        assert_contains "$hc" "CMD" "HEALTHCHECK"
        assert_eq "/podinit health" "$(json_array "${hc#*CMD }")" "HEALTHCHECK command" ;;
    *) t_fail "unknown Dockerfile: add its expectations to this test" ;;
    esac
    t_end
done

# --- Kubernetes manifests ----------------------------------------------------

if python3 -c 'import yaml' 2>/dev/null; then
    # yaml_check FILE PYTHON: load every document of FILE as `docs`, then run
    # the PYTHON assertions; each failing assert prints its message.
    yaml_check() {
        python3 - "$1" "$2" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]
for d in docs:
    assert d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"), \
        f"document without apiVersion/kind/metadata.name: {str(d)[:80]}"
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
try:
    exec(sys.argv[2])
except (AssertionError, KeyError, IndexError, TypeError) as e:
    sys.exit(f"{type(e).__name__}: {e}")
EOF
    }
else
    echo "note: PyYAML not installed; manifests get a structural check only"
    # Without a parser: tabs are illegal in YAML indentation, and every
    # document needs apiVersion and kind.
    yaml_check() {
        ! grep -q "$(printf '\t')" "$1" || { echo "tab in $1"; return 1; }
        local docs kinds
        docs=$(( $(grep -c '^---' "$1") + 1 ))
        kinds=$(grep -c '^kind:' "$1")
        [ "$docs" = "$kinds" ] || { echo "$docs documents, $kinds kind: lines"; return 1; }
        grep -q '^apiVersion:' "$1"
    }
fi

t_begin "kubernetes: pod-entrypoint.yaml runs podinit with the downward API and a ConfigMap pod file"
out=$(yaml_check "$K8S/pod-entrypoint.yaml" '
pod = by_kind["Pod"][0]["spec"]
c = pod["containers"][0]
assert c["command"][:2] == ["/podinit", "run"], c["command"]
env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in c["env"]}
assert env.get("POD_NAME") == "metadata.name", env
assert env.get("POD_NAMESPACE") == "metadata.namespace", env
cms = {d["metadata"]["name"]: d for d in by_kind["ConfigMap"]}
vols = {v["name"]: v for v in pod["volumes"]}
for m in c["volumeMounts"]:
    v = vols[m["name"]]
    if "configMap" in v:
        assert v["configMap"]["name"] in cms, "volume names a ConfigMap this file lacks"
        assert "pod.toml" in cms[v["configMap"]["name"]]["data"]
        assert m["mountPath"].rstrip("/") + "/pod.toml" in c["command"], "command does not use the mounted pod file"
assert pod["terminationGracePeriodSeconds"] > 20, "kubelet grace must exceed the pod file grace (20s)"
' 2>&1) || t_fail "$out"
t_end

t_begin "kubernetes: shared-pid.yaml shares the process namespace"
out=$(yaml_check "$K8S/shared-pid.yaml" '
pod = by_kind["Pod"][0]["spec"]
assert pod["shareProcessNamespace"] is True
assert len(pod["containers"]) >= 2, "a shared namespace needs at least two containers"
' 2>&1) || t_fail "$out"
t_end

# --- pod files ---------------------------------------------------------------

POD_FILES=$(ls "$DOCKER"/*.toml)
# The ConfigMap's pod.toml is a pod file too.
if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$K8S/pod-entrypoint.yaml" >"$T_TMP/configmap-pod.toml" <<'EOF'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap":
        sys.stdout.write(d["data"]["pod.toml"])
EOF
    POD_FILES="$POD_FILES $T_TMP/configmap-pod.toml"
fi

# check_implemented: `podinit check` rejects a file with an unknown key (exit 1).
check_implemented() {
    printf 'bogus_key = 1\n' >"$T_TMP/bogus.toml"
    local rc=0
    "$PODINIT" check -c "$T_TMP/bogus.toml" >/dev/null 2>&1 || rc=$?
    [ "$rc" = 1 ]
}

if [ ! -x "$PODINIT" ]; then
    echo "note: skipped 'podinit check' of the pod files: no binary at $PODINIT (cargo build)"
elif ! check_implemented; then
    echo "note: skipped 'podinit check' of the pod files: '$PODINIT check' does not reject an unknown key yet"
else
    for f in $POD_FILES; do
        t_begin "pod file: podinit check ${f#"$ROOT"/}"
        rc=0; out=$("$PODINIT" check -c "$f" 2>&1) || rc=$?
        assert_eq 0 "$rc" "podinit check exit status ($out)"
        t_end
    done
fi

# --- READMEs -----------------------------------------------------------------

t_begin "docs: every example file is referenced from its directory's README"
for f in "$DOCKER"/Dockerfile.* "$DOCKER"/*.toml "$K8S"/*.yaml; do
    dir=$(dirname "$f")
    grep -qF "$(basename "$f")" "$dir/README.md" || t_fail "${dir#"$ROOT"/}/README.md does not mention $(basename "$f")"
done
t_end

t_begin "docs: the top-level README links both example directories"
readme=$(cat "$ROOT/README.md" 2>/dev/null || true)
assert_contains "$readme" "examples/docker" "README.md"
assert_contains "$readme" "examples/kubernetes" "README.md"
t_end

t_summary
