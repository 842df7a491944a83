# podinit — build, test, benchmark. `make test` is what CI runs (via .ci/run).
TARGET   := x86_64-unknown-linux-musl
STATIC   := target/$(TARGET)/release/podinit
VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

.PHONY: setup build static static-k8s test unit integration e2e docker-e2e demo bench release clean fuzz

# Installs missing packages and the musl target (no-op when present).
setup:
	bash scripts/setup.sh

build:
	cargo build

# The release binary rebuilds std without its `backtrace` feature: the default
# panic hook otherwise links a DWARF symbolizer (gimli, addr2line, miniz,
# libunwind) of ~300 KB into a binary that aborts on panic anyway. Panic
# messages stay. -Z build-std needs rust-src and, on a stable toolchain,
# RUSTC_BOOTSTRAP=1 for this one cargo call; without rust-src the plain stable
# build is used (same code, bigger binary).
BUILD_STD := -Z build-std=std,panic_abort -Z build-std-features=

# `make static` is the PID-1 binary, the one with the 700 KB target: every
# mode but Kubernetes manifests (cargo feature `manifests`, ~250 KB: a YAML
# parser, the manifest reader, export and import; see docs/kubernetes.md).
# `make static-k8s` is the same binary with manifests, in its own target dir.
STATIC_K8S := target/k8s/$(TARGET)/release/podinit

# static_build FEATURE-FLAGS: one release build with std rebuilt when possible.
define static_build
	@if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then \
		echo "RUSTC_BOOTSTRAP=1 cargo build --release --target $(TARGET) $(BUILD_STD) $(1)"; \
		RUSTC_BOOTSTRAP=1 cargo build --release --target $(TARGET) $(BUILD_STD) $(1); \
	else \
		echo "rust-src missing (rustup component add rust-src): plain build"; \
		cargo build --release --target $(TARGET) $(1); \
	fi
endef

static: setup
	$(call static_build,--no-default-features)
	@ls -l $(STATIC) | awk '{ printf "static binary: %s bytes (target <= 700000)\n", $$5 }'

static-k8s: setup
	$(call static_build,--target-dir target/k8s)
	@ls -l $(STATIC_K8S) | awk '{ printf "static binary with manifests: %s bytes\n", $$5 }'

unit:
	cargo test

integration: build
	bash tests/run.sh

e2e: static
	PODINIT=$(CURDIR)/$(STATIC) bash scripts/e2e.sh

# Real Docker (root): installs docker.io if missing, runs its own dockerd.
docker-e2e: static
	PODINIT=$(CURDIR)/$(STATIC) bash scripts/docker-e2e.sh

# Everything CI checks: unit tests, shell integration tests as PID 1, runc and Docker end to end.
test: setup
	$(MAKE) unit integration e2e docker-e2e

demo: setup build
	bash examples/demo.sh

bench: static
	PODINIT=$(CURDIR)/$(STATIC) bash scripts/bench.sh

# dist/podinit-VERSION-ARCH-linux-musl and its .sha256: x86_64 always, aarch64
# when its toolchain is there (rustup target add aarch64-unknown-linux-musl;
# apt-get install gcc-aarch64-linux-gnu).
release: static static-k8s
	mkdir -p dist
	cp $(STATIC) dist/podinit-$(VERSION)-x86_64-linux-musl
	cp $(STATIC_K8S) dist/podinit-k8s-$(VERSION)-x86_64-linux-musl
	@if command -v aarch64-linux-gnu-gcc >/dev/null && \
	    rustup target list --installed | grep -qx aarch64-unknown-linux-musl; then \
		RUSTC_BOOTSTRAP=1 cargo build --release --target aarch64-unknown-linux-musl $(BUILD_STD) --no-default-features && \
		cp target/aarch64-unknown-linux-musl/release/podinit dist/podinit-$(VERSION)-aarch64-linux-musl; \
	else \
		echo "aarch64: skipped (no aarch64-unknown-linux-musl target or aarch64-linux-gnu-gcc)"; \
	fi
	cd dist && for f in podinit-$(VERSION)-*-linux-musl podinit-k8s-$(VERSION)-*-linux-musl; do sha256sum $$f > $$f.sha256; done
	@ls -l dist

clean:
	cargo clean
	rm -rf dist
