#!/usr/bin/env bash
# Installs what podinit's build, demo and tests need on a fresh Debian machine,
# and nothing when it is all there already. Run as root (CI is root).
set -euo pipefail

rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl \
    || rustup target add x86_64-unknown-linux-musl
# std's source, to build the release binary without std's backtrace code (Makefile: static).
rustup component list --installed 2>/dev/null | grep -q '^rust-src' \
    || rustup component add rust-src || echo "setup: no rust-src; make static falls back to a plain build" >&2

# busybox must be the static build: the runc end-to-end tests copy it into bare rootfs.
need=""
static_busybox() { [ -x /bin/busybox ] && ! readelf -l /bin/busybox 2>/dev/null | grep -q interpreter; }
command -v readelf >/dev/null || need="$need binutils"
static_busybox || need="$need busybox-static"
command -v runc >/dev/null || need="$need runc"
command -v script >/dev/null || need="$need bsdutils"
command -v unshare >/dev/null || need="$need util-linux"
command -v python3 >/dev/null || need="$need python3"
command -v cc >/dev/null || need="$need gcc libc6-dev"
command -v pgrep >/dev/null || need="$need procps"
command -v shellcheck >/dev/null || need="$need shellcheck"
command -v setpriv >/dev/null || need="$need util-linux"
command -v jq >/dev/null || need="$need jq"
command -v curl >/dev/null || command -v wget >/dev/null || need="$need curl"
if [ -n "$need" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: missing:$need (run as root to install them)" >&2
        exit 1
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need
fi

# The grpc probe tests run a real gRPC health server (tests/pods/probes/health_server.py).
grpc_py() { python3 -c 'import grpc, grpc_health.v1.health' 2>/dev/null; }
grpc_py || python3 -m pip install -q grpcio grpcio-health-checking 2>/dev/null \
    || python3 -m pip install -q --break-system-packages grpcio grpcio-health-checking \
    || echo "setup: no grpcio: the grpc probe tests (test_sidecars_probes.sh) will fail" >&2
