#!/usr/bin/env python3
"""Edit a `runc spec` config.json for podinit's end-to-end tests.

`runc spec` writes an interactive-shell template (terminal: true, args: ["sh"],
read-only rootfs). This turns it into the container a test needs, in place:

    ocispec.py CONFIG --rootfs DIR [--env K=V]... [--cwd DIR] [--hostname NAME]
               [--bind HOST:DEST]... [--bind-ro HOST:DEST]... [--join TYPE=PATH]...
               -- ARGV...

--join pid=/proc/123/ns/pid makes the container enter an existing namespace
instead of creating one: exactly what `docker run --pid=container:X` and a
Kubernetes pod sandbox do.

Only the standard library: CI has CPython but not necessarily jq.
"""
import argparse
import json
import os
import sys

# OCI namespace type names, and the short names docker/nsenter users type.
NS_ALIASES = {"net": "network", "mnt": "mount"}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config")
    p.add_argument("--rootfs", required=True, help="absolute path of the root filesystem")
    p.add_argument("--env", action="append", default=[], help="K=V added to the process env")
    p.add_argument("--cwd", default="/")
    p.add_argument("--bind", action="append", default=[], help="HOST:DEST read-write bind mount")
    p.add_argument("--bind-ro", action="append", default=[], help="HOST:DEST read-only bind mount")
    p.add_argument("--join", action="append", default=[], help="TYPE=PATH: join this namespace")
    p.add_argument("--hostname", default=None)
    # Everything after the first "--" is the container's argv, verbatim (it
    # often holds "--" and "-c" itself, which argparse would take as options).
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a = p.parse_args(argv[:cut])
    a.args = argv[cut + 1:]

    with open(a.config) as f:
        spec = json.load(f)

    proc = spec["process"]
    # No tty: the harness runs runc with stdio redirected to files, and a
    # terminal would need a console socket.
    proc["terminal"] = False
    if a.args:
        proc["args"] = a.args
    proc["env"] = [e for e in proc.get("env", []) if not e.startswith("TERM=")] + a.env
    proc["cwd"] = a.cwd

    # Writable rootfs: podinit creates state_dir (/run/podinit) in it, as in a
    # container's writable layer.
    spec["root"] = {"path": os.path.abspath(a.rootfs), "readonly": False}
    if a.hostname:
        spec["hostname"] = a.hostname

    binds = [(b, "rw") for b in a.bind] + [(b, "ro") for b in a.bind_ro]
    for b, mode in binds:
        host, dest = b.split(":", 1)
        spec["mounts"].append({
            "destination": dest, "type": "bind", "source": os.path.abspath(host),
            "options": ["rbind", mode],
        })

    namespaces = spec["linux"]["namespaces"]
    for j in a.join:
        kind, path = j.split("=", 1)
        kind = NS_ALIASES.get(kind, kind)
        for ns in namespaces:
            if ns["type"] == kind:
                ns["path"] = path
                break
        else:
            namespaces.append({"type": kind, "path": path})

    with open(a.config + ".tmp", "w") as f:
        json.dump(spec, f, indent=2)
    os.rename(a.config + ".tmp", a.config)


if __name__ == "__main__":
    sys.exit(main())
