#!/usr/bin/env python3
"""The Kubernetes corpus test: podinit against real manifests (README, "Kubernetes manifests").

Every pod spec of every manifest in CORPUS (a Pod, or the pod template of a
Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job or
CronJob; a file with several is split into one unit per pod spec, each with the
file's other documents) must be either

  accepted: `podinit check` passes, and
    - import/export round-trip: the pod file `import` writes is the same pod
      (`import` of it prints it again) and `export` of the export is the export;
    - the YAML and JSON exports hold the same documents;
    - every exported pod-spec document passes `kubernetes-validate --strict`
      for Kubernetes 1.33 and for the newest version the package bundles (the
      file's other documents pass through as written: one already invalid in
      the source is noted, not failed);
    - the export equals the source on every field (honoured or ignored);
  or refused: exactly one line on stderr, FILE:LINE:COL: and a message whose
    reason is a row of the README's table (REASONS below, same order).

Nothing may crash or hang. Prints the counts: accepted as written, refused by
reason. Exit status 0 when every unit is one or the other.

    python3 tests/corpus/k8s_corpus.py PODINIT CORPUS [--images FILE|auto] [--min-rate PCT] [--quiet]

--images FILE is passed to podinit (the image configurations of the README's
"Images, ConfigMaps, Secrets and volumes") for the acceptance rate with image entrypoints; `auto` writes one that
gives every image of the corpus an entrypoint (`docker image inspect` JSON).
--objects auto also gives each pod spec `--secrets`/`--configmaps` directories
holding the Secrets and ConfigMaps it refers to but its file does not contain
(created with kubectl outside the file, on a cluster): each pod spec that
refers to one is then counted both ways, and checked fully with them.
--min-rate PCT fails the run when fewer pod specs are accepted (with
--objects, counted with the generated directories).
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

# Why a pod spec is refused: (reason as the README's table words it, pattern of
# podinit's message). The first that matches names the reason.
REASONS = [
    ("no command: runs the image's entrypoint", r"no command: podinit runs no image|needs the image's configuration|no image configuration|has no configuration for it"),
    ("args without command (appended to the image's entrypoint)", r"args without command"),
    ("ConfigMap or Secret podinit cannot read", r"ConfigMaps or Secrets|configMapKeyRef|secretKeyRef|envFrom|(ConfigMap|Secret) '[^']*' not found"),
    ("volume podinit cannot provide", r"persistentVolumeClaim|PersistentVolumeClaim|\bcsi\b|CSI|volumes\[\d+\]\.\w+: not supported"),
    ("httpHeaders on an httpGet hook", r"httpHeaders: not supported"),
    ("HTTPS probe or hook", r"scheme.*HTTPS|HTTPS"),
    ("other field podinit cannot honour", r": not supported: |is not supported|fieldRef"),
    ("removed or wrong apiVersion", r"is (apps|batch)/v1, found|is v1, found|a \w+ is [\w/]+, found"),
    ("invalid YAML a cluster rejects too (duplicate key, …)", r"invalid (YAML|JSON)"),
    ("wrong type or value a cluster rejects too", r"must be |is not (Always|OnFailure|Never)|bad name|duplicate container name|empty|missing|unknown field|no container named"),
    ("runAsNonRoot with no user podinit can switch to", r"runAsNonRoot|runAsGroup without runAsUser"),
    ("several pod specs in one list", r"documents have a pod spec"),
]

NOTES = []

WORKLOADS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"}


class NoDates(yaml.SafeLoader):
    """PyYAML without timestamps: a date is a string to Kubernetes and to podinit."""


NoDates.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_docs(text):
    """The non-empty documents of a YAML (or JSON) text; a JSON List's items are documents."""
    docs = [d for d in yaml.load_all(text, Loader=NoDates) if d is not None]
    if len(docs) == 1 and isinstance(docs[0], dict) and docs[0].get("kind") == "List" and "items" in docs[0]:
        return docs[0]["items"] or []
    return docs


def split_documents(text):
    """The raw text of each YAML document (`---` lines between them)."""
    parts, cur = [], []
    for line in text.splitlines(keepends=True):
        if re.match(r"^---(\s|$)", line):
            parts.append("".join(cur))
            cur = [line[3:].lstrip(" ")] if line[3:].strip() and not line[3:].strip().startswith("#") else []
            continue
        cur.append(line)
    parts.append("".join(cur))
    return parts


def units_of(path):
    """(name, text) for each pod spec of the file: one workload document and every
    other non-workload document. A file with one (or none) is itself."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if path.endswith(".json"):
        return [(path, text)]
    parts = split_documents(text)
    kinds = []
    for p in parts:
        try:
            d = yaml.load(p, Loader=NoDates)
        except yaml.YAMLError:
            d = None
        kinds.append(d.get("kind") if isinstance(d, dict) else None)
    workloads = [i for i, k in enumerate(kinds) if k in WORKLOADS]
    if len(workloads) <= 1:
        return [(path, text)]
    units = []
    for w in workloads:
        keep = [p for i, p in enumerate(parts) if i == w or kinds[i] not in WORKLOADS]
        units.append((f"{path}#{w + 1}", "\n---\n".join(keep)))
    return units


def has_pod_spec(text):
    """Whether a unit holds a workload document at all (else it is no pod spec)."""
    try:
        docs = load_docs(text)
    except yaml.YAMLError:
        # podinit must then refuse it; count it as a pod spec if it names a workload kind.
        return any(re.search(rf"^kind:\s*{k}\s*$", text, re.M) for k in WORKLOADS)
    return any(isinstance(d, dict) and d.get("kind") in WORKLOADS for d in docs)


def corpus_images(files):
    """Every container image the corpus names."""
    found = set()

    def walk(v):
        if isinstance(v, dict):
            if isinstance(v.get("image"), str) and isinstance(v.get("name"), str):
                found.add(v["image"])
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                walk(list(yaml.load_all(f.read(), Loader=NoDates)))
        except yaml.YAMLError:
            pass
    return sorted(found)


def write_images(files, path):
    """An images file (`docker image inspect` JSON) giving every corpus image an
    entrypoint, as a user would make with `docker image inspect $(images) > FILE`."""
    out = []
    for ref in corpus_images(files):
        key = "RepoDigests" if "@" in ref else "RepoTags"
        out.append({key: [ref], "Config": {"Entrypoint": ["/entrypoint"], "Cmd": ["serve"], "Env": None,
                                            "WorkingDir": "", "User": ""}})
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    return len(out)


def pod_specs(doc):
    """The pod spec(s) of one workload document."""
    if not isinstance(doc, dict) or doc.get("kind") not in WORKLOADS:
        return []
    spec = doc.get("spec")
    if doc["kind"] == "Pod":
        return [spec] if isinstance(spec, dict) else []
    if doc["kind"] == "CronJob":
        spec = (spec or {}).get("jobTemplate", {}).get("spec") if isinstance(spec, dict) else None
    tpl = spec.get("template") if isinstance(spec, dict) else None
    spec = tpl.get("spec") if isinstance(tpl, dict) else None
    return [spec] if isinstance(spec, dict) else []


def referred_objects(text):
    """{("configmaps"|"secrets", NAME): {KEY, ...}} that the unit's pod spec refers to
    (env keyRefs, envFrom, configMap/secret volumes and projections) and its file
    does not contain."""
    try:
        docs = load_docs(text)
    except yaml.YAMLError:
        return {}
    have = {("configmaps" if d.get("kind") == "ConfigMap" else "secrets", (d.get("metadata") or {}).get("name"))
            for d in docs if isinstance(d, dict) and d.get("kind") in ("ConfigMap", "Secret")}
    want = {}

    def add(kind, name, keys=()):
        if isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9][-._A-Za-z0-9]*", name) and (kind, name) not in have:
            want.setdefault((kind, name), set()).update(
                k for k in keys if isinstance(k, str) and re.fullmatch(r"[-._A-Za-z0-9]+", k) and k not in (".", ".."))

    def items(src):
        return [i.get("key") for i in (src.get("items") or []) if isinstance(i, dict)]

    for d in docs:
        for spec in pod_specs(d):
            containers = [c for k in ("initContainers", "containers") for c in (spec.get(k) or []) if isinstance(c, dict)]
            for c in containers:
                for e in c.get("env") or []:
                    vf = e.get("valueFrom") if isinstance(e, dict) else None
                    if not isinstance(vf, dict):
                        continue
                    for field, kind in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
                        r = vf.get(field)
                        if isinstance(r, dict):
                            add(kind, r.get("name"), [r.get("key")])
                for e in c.get("envFrom") or []:
                    for field, kind in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
                        r = e.get(field) if isinstance(e, dict) else None
                        if isinstance(r, dict):
                            add(kind, r.get("name"))
            for v in spec.get("volumes") or []:
                if not isinstance(v, dict):
                    continue
                if isinstance(v.get("configMap"), dict):
                    add("configmaps", v["configMap"].get("name"), items(v["configMap"]))
                if isinstance(v.get("secret"), dict):
                    add("secrets", v["secret"].get("secretName"), items(v["secret"]))
                for src in (v.get("projected") or {}).get("sources") or [] if isinstance(v.get("projected"), dict) else []:
                    if not isinstance(src, dict):
                        continue
                    for field, kind in (("configMap", "configmaps"), ("secret", "secrets")):
                        if isinstance(src.get(field), dict):
                            add(kind, src[field].get("name"), items(src[field]))
    return want


def write_objects(want, root):
    """`--configmaps`/`--secrets` arguments for directories (DIR/NAME/KEY) holding
    `want`, as `kubectl create secret generic NAME --from-literal=KEY=…` would."""
    args = []
    for kind in ("configmaps", "secrets"):
        objs = {n: keys for (k, n), keys in want.items() if k == kind}
        if not objs:
            continue
        top = os.path.join(root, kind)
        for name, keys in objs.items():
            os.makedirs(os.path.join(top, name), exist_ok=True)
            for key in keys:
                with open(os.path.join(top, name, key), "w") as f:
                    f.write(f"generated-{key}")
        args += [f"--{kind}", top]
    return args


def run(argv, stdin=None):
    try:
        p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=20)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "", ""
    except OSError as e:
        return "unrunnable", "", str(e)


def same(a, b):
    """Equal as Kubernetes reads them: 1 and 1.0 are one number."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str) or a == b


def main():
    args = sys.argv[1:]
    quiet = "--quiet" in args
    args = [a for a in args if a != "--quiet"]
    images, min_rate, objects = None, None, False
    if "--objects" in args:
        i = args.index("--objects")
        objects = args[i + 1] == "auto"
        del args[i : i + 2]
    if "--images" in args:
        i = args.index("--images")
        images = args[i + 1]
        del args[i : i + 2]
    if "--min-rate" in args:
        i = args.index("--min-rate")
        min_rate = float(args[i + 1])
        del args[i : i + 2]
    podinit, corpus = args
    import kubernetes_validate
    from kubernetes_validate import utils as kv_utils

    versions = ["1.33.0", kubernetes_validate.latest_version()]

    def validate(doc):
        """Problems kubernetes-validate --strict finds in one document, per version."""
        problems = []
        for v in versions:
            try:
                kubernetes_validate.validate(doc, v, strict=True)
            except kv_utils.SchemaNotFoundError:
                # A custom resource, or a kind this version no longer has: not the pod's.
                if doc.get("kind") in WORKLOADS:
                    problems.append(f"{v}: no schema for {doc.get('apiVersion')} {doc.get('kind')}")
            except kv_utils.ValidationError as e:
                problems.append(f"{v}: {e.message} at {'.'.join(str(p) for p in e.path)}")
            except kv_utils.InvalidSchemaError as e:
                problems.append(f"{v}: {e}")
        return problems

    files = []
    for root, _, names in os.walk(corpus):
        for n in names:
            if n.endswith((".yaml", ".yml", ".json")):
                files.append(os.path.join(root, n))
    files.sort()
    accepted, refused, failures, no_pod = [], {}, [], 0
    # With --objects: how many the images alone get accepted (`podinit check`; the
    # full checks are made with the generated directories).
    images_only, generated_for = 0, 0
    positioned = re.compile(r"^(.*):(\d+):(\d+): (.*)$")
    with tempfile.TemporaryDirectory(prefix="podinit-corpus.") as tmp:
        extra = []
        if images == "auto":
            images = os.path.join(tmp, "images.json")
            print(f"corpus: {write_images(files, images)} images given an entrypoint in {os.path.basename(images)}")
        if images:
            extra = ["--images", images]
        for path in files:
            for name, text in units_of(path):
                if not has_pod_spec(text):
                    no_pod += 1
                    continue
                rel = os.path.relpath(name, corpus)
                ext = ".json" if path.endswith(".json") else ".yaml"
                f = os.path.join(tmp, "unit" + ext)
                with open(f, "w", encoding="utf-8") as out:
                    out.write(text)
                unit_extra = extra
                want = referred_objects(text) if objects else {}
                if want:
                    import shutil

                    objdir = os.path.join(tmp, "objects")
                    shutil.rmtree(objdir, ignore_errors=True)
                    unit_extra = extra + write_objects(want, objdir)
                    generated_for += 1
                    rc0, _, _ = run([podinit, "check", *extra, "-c", f])
                    images_only += rc0 == 0
                rc, out, err = run([podinit, "check", *unit_extra, "-c", f])
                if rc == 0 and not want:
                    images_only += 1
                if rc == "timeout":
                    failures.append(f"{rel}: podinit check hung")
                    continue
                if rc != 0:
                    # podinit names every problem, one positioned line each, with a
                    # reason of the table; the unit counts under its first.
                    lines = err.strip().splitlines()
                    if rc != 1 or not lines:
                        failures.append(f"{rel}: check exited {rc} (crash?): {err.strip()[:300]}")
                        continue
                    reasons = []
                    for line in lines:
                        m = positioned.match(line)
                        if not m or not m.group(1).endswith(f"unit{ext}"):
                            failures.append(f"{rel}: not a positioned error: {line[:300]}")
                            break
                        why = next((r for r, rx in REASONS if re.search(rx, m.group(4))), None)
                        if why is None:
                            failures.append(f"{rel}: a refusal with no reason in the table: {m.group(4)}")
                            break
                        reasons.append((why, f"{rel}:{m.group(2)}:{m.group(3)}: {m.group(4)}"))
                    else:
                        refused.setdefault(reasons[0][0], []).append(reasons[0][1])
                    continue
                problems = check_accepted(podinit, unit_extra, f, text, tmp, validate)
                if problems:
                    failures.append(f"{rel}: " + "; ".join(problems))
                else:
                    accepted.append(rel)
    total = len(accepted) + sum(len(v) for v in refused.values())
    label = "with image configurations" if extra else "as written"
    print(f"corpus: {len(files)} files, {total} pod specs ({no_pod} units without one skipped)")
    pct = 100.0 * len(accepted) / total if total else 0
    if objects:
        print(f"  accepted {label} only: {images_only} ({100.0 * images_only / total if total else 0:.1f} %) (podinit check)")
        label += f" and generated Secret/ConfigMap directories (for {generated_for} pod specs)"
    print(f"  accepted {label}: {len(accepted)} ({pct:.1f} %): round trip, YAML = JSON, "
          f"kubernetes-validate --strict {' and '.join(versions)}, export = source")
    for why, _ in REASONS:
        if why in refused:
            print(f"  refused, {why}: {len(refused[why])}")
            if not quiet:
                for line in refused[why][:3]:
                    print(f"      e.g. {line}")
    if NOTES:
        print(f"  note: {len(NOTES)} other documents (not pod specs) were already invalid in their source, "
              f"passed through as written; e.g. {NOTES[0][:200]}")
    for f in failures:
        print(f"FAIL {f}")
    print(f"  neither accepted nor refused as it must be: {len(failures)}")
    if min_rate is not None and pct < min_rate:
        print(f"FAIL accepted {pct:.1f} % of pod specs, the target is {min_rate} %")
        return 1
    return 1 if failures else 0


def check_accepted(podinit, extra, f, text, tmp, validate):
    problems = []
    rc_y, yaml_out, err_y = run([podinit, "export", *extra, "-c", f])
    rc_j, json_out, err_j = run([podinit, "export", *extra, "--format", "json", "-c", f])
    if rc_y != 0 or rc_j != 0:
        return [f"export failed: {err_y.strip()[:200]} {err_j.strip()[:200]}"]
    try:
        source = load_docs(text)
        from_yaml = load_docs(yaml_out)
        from_json = load_docs(json.dumps(json.loads(json_out)))
    except (yaml.YAMLError, ValueError) as e:
        return [f"an export does not parse: {e}"]
    if not same(from_yaml, from_json):
        problems.append("the YAML and JSON exports differ")
    if not same(source, from_yaml):
        problems.append("the export is not the source: " + first_difference(source, from_yaml))
    for d in from_yaml:
        found = [f"kubernetes-validate {d.get('kind')} {p}" for p in validate(d)]
        if isinstance(d, dict) and d.get("kind") in WORKLOADS:
            problems.extend(found)
        elif found:
            # Another document of the file (a Service, an Ingress, …): podinit reads
            # nothing of it and passes it through as written, so it is as valid as
            # its source; noted, not podinit's fault.
            NOTES.append(found[0])
    # Round trip: export of the export is the export; import gives the same pod.
    again = os.path.join(tmp, "again.yaml")
    with open(again, "w") as out:
        out.write(yaml_out)
    rc, yaml_again, err = run([podinit, "export", *extra, "-c", again])
    if rc != 0 or yaml_again != yaml_out:
        problems.append(f"export of the export differs ({err.strip()[:200]})")
    rc, toml, err = run([podinit, "import", *extra, f])
    if rc != 0:
        problems.append(f"import failed: {err.strip()[:200]}")
        return problems
    t = os.path.join(tmp, "unit.toml")
    with open(t, "w") as out:
        out.write(toml)
    rc, toml_again, err = run([podinit, "import", t])
    if rc != 0 or toml_again != toml:
        problems.append(f"the imported pod file is not the same pod ({err.strip()[:200]})")
    rc, _, err = run([podinit, "check", "-c", t])
    if rc != 0:
        problems.append(f"check of the imported pod file: {err.strip()[:200]}")
    return problems


def first_difference(a, b, path="$"):
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return f"{path}: {a!r} vs {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'source' if k in a else 'export'}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return ""
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return ""
    return "" if a == b else f"{path}: {a!r} vs {b!r}"


if __name__ == "__main__":
    sys.exit(main())
