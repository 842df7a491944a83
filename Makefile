# podinit — build, test, benchmark. `make test` is what CI runs (via .ci/run).
TARGET   := x86_64-unknown-linux-musl
STATIC   := target/$(TARGET)/release/podinit
VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

.PHONY: lint setup build static static-min test unit integration integration-static e2e docker-e2e demo bench release clean fuzz

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
#
# std is built with its `optimize_for_size` feature: core's smaller variants of
# sorting and integer formatting, none of which is on a hot path of PID 1
# (which waits in poll and does syscalls); -24 KB (870,528 -> 846,760 bytes).
BUILD_STD := -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size

# `make static` is the one binary the README, the Docker examples and the
# release ship: every mode, Kubernetes manifests included (target <= 900 KB).
# `make static-min` is the documented minimal PID 1 for those who want the
# smallest: init, pause and TOML pods, without the cargo feature `manifests`
# (a YAML parser, the manifest reader, export and import; docs/kubernetes.md),
# in its own target dir.
STATIC_MIN := target/min/$(TARGET)/release/podinit

# Peak RSS (docs/benchmarks.md, "Peak RSS while supervising"): the kernel maps the whole 64 KiB window of cached file
# pages around each page fault, so the static binary is linked by the
# toolchain's rust-lld with --symbol-ordering-file scripts/podinit.order, which
# puts the code init, pause and pod modes run at the start of .text, in a few
# windows. The names in it carry code hashes: a stale file only loses effect
# (lld skips unknown names); `bash scripts/symbol-order.sh` regenerates it from
# real runs. Without rust-lld: the default link, same code, no ordering.
GCC_LD = $(shell rustc --print sysroot)/lib/rustlib/$(shell rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld
ORDER_LINK = -C link-arg=-fuse-ld=lld -C link-arg=-B$(GCC_LD) \
	-C link-arg=-Wl,--symbol-ordering-file=$(CURDIR)/scripts/podinit.order -C link-arg=-Wl,--no-warn-symbol-ordering
# Extra rustc flags for the final link (scripts/symbol-order.sh: a map file).
STATIC_LINK_EXTRA :=

# With std rebuilt, a panic aborts on the spot (-C panic=immediate-abort, for
# std too): no panic message, location or formatting is linked in, -127 KB
# (954,408 -> 827,688 bytes with manifests). PID 1 never panics by
# design (tests/integration/test_hardening.sh checks the exit codes); if it did,
# the shipped binary dies on SIGILL (status 132) without a message, and
# `cargo build` (which keeps the messages) shows where. Stable cargo needs the
# flag through --config (a profile's `panic = "immediate-abort"` is nightly-only).
PANIC_ABORT := --config 'target.$(TARGET).rustflags=["-Zunstable-options","-Cpanic=immediate-abort"]'

# static_build FEATURE-FLAGS: one release build with std rebuilt when possible.
# `cargo rustc` so that the link flags reach the binary only (std is not rebuilt for them).
define static_build
	@link="$(ORDER_LINK) $(STATIC_LINK_EXTRA)"; \
	[ -x "$(GCC_LD)/ld.lld" ] || { link="$(STATIC_LINK_EXTRA)"; echo "no rust-lld at $(GCC_LD): default link, no symbol ordering"; }; \
	if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then \
		echo "RUSTC_BOOTSTRAP=1 cargo rustc --release --target $(TARGET) --bin podinit $(BUILD_STD) $(PANIC_ABORT) $(1) -- $$link"; \
		RUSTC_BOOTSTRAP=1 cargo rustc --release --target $(TARGET) --bin podinit $(BUILD_STD) $(PANIC_ABORT) $(1) -- $$link; \
	else \
		echo "rust-src missing (rustup component add rust-src): plain build"; \
		cargo rustc --release --target $(TARGET) --bin podinit $(1) -- $$link; \
	fi
endef

static: setup
	$(call static_build,)
	@ls -l $(STATIC) | awk '{ printf "static binary: %s bytes (target <= 900000)\n", $$5 }'

static-min: setup
	$(call static_build,--no-default-features --target-dir target/min)
	@ls -l $(STATIC_MIN) | awk '{ printf "minimal static binary (no manifests): %s bytes\n", $$5 }'

unit:
	cargo test

integration: build
	bash tests/run.sh

# The PID-1 suites again with the binaries users run: the static musl builds,
# full and minimal (their libc words errors its own way, their link order is their own).
integration-static: static static-min
	for b in $(STATIC) $(STATIC_MIN); do \
		for s in init pause hardening; do ONLY=test_$$s PODINIT=$(CURDIR)/$$b bash tests/run.sh || exit 1; done; \
	done

e2e: static
	PODINIT=$(CURDIR)/$(STATIC) bash scripts/e2e.sh

# Real Docker (root): installs docker.io if missing, runs its own dockerd.
docker-e2e: static
	PODINIT=$(CURDIR)/$(STATIC) bash scripts/docker-e2e.sh

# The shell scripts: shellcheck's errors fail the build (every suite also runs under `set -u`, from tests/lib.sh).
lint:
	shellcheck -S error tests/*.sh tests/integration/*.sh scripts/*.sh scripts/*/*.sh examples/*.sh
	# Cargo.toml's [lints] (missing_docs, unreachable_pub, SAFETY notes, 80-line functions) and clippy's defaults, as errors.
	cargo clippy --all-targets -- -D warnings
	# The committed report is the rendering of the committed rows (a hand edit or a renderer change fails here).
	python3 scripts/bench/render.py --check

# Everything CI checks: unit tests, shell integration tests as PID 1, runc and Docker end to end.
test: setup
	$(MAKE) lint unit integration integration-static e2e docker-e2e

demo: setup build
	bash examples/demo.sh

# Every measurement of scripts/bench/ (BENCH_ONLY=REGEX: only those; the other
# rows of docs/benchmarks.tsv stay), then docs/benchmarks.md from the rows,
# also when a measurement failed (the report lists it; make then fails).
bench: static
	PODINIT=$(CURDIR)/$(STATIC) bash scripts/bench.sh; s=$$?; python3 scripts/bench/render.py && exit $$s

# dist/podinit-VERSION-ARCH-linux-musl and its .sha256: x86_64 always, aarch64
# when its toolchain is there (rustup target add aarch64-unknown-linux-musl;
# apt-get install gcc-aarch64-linux-gnu).
release: static static-min
	mkdir -p dist
	cp $(STATIC) dist/podinit-$(VERSION)-x86_64-linux-musl
	cp $(STATIC_MIN) dist/podinit-min-$(VERSION)-x86_64-linux-musl
	@if command -v aarch64-linux-gnu-gcc >/dev/null && \
	    rustup target list --installed | grep -qx aarch64-unknown-linux-musl; then \
		RUSTC_BOOTSTRAP=1 cargo build --release --target aarch64-unknown-linux-musl $(BUILD_STD) && \
		cp target/aarch64-unknown-linux-musl/release/podinit dist/podinit-$(VERSION)-aarch64-linux-musl; \
	else \
		echo "aarch64: skipped (no aarch64-unknown-linux-musl target or aarch64-linux-gnu-gcc)"; \
	fi
	cd dist && for f in podinit-$(VERSION)-*-linux-musl podinit-min-$(VERSION)-*-linux-musl; do sha256sum $$f > $$f.sha256; done
	@ls -l dist

clean:
	cargo clean
	rm -rf dist
