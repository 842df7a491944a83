# podinit — build, test, benchmark. `make test` is what CI runs (via .ci/run).
TARGET   := x86_64-unknown-linux-musl
STATIC   := target/$(TARGET)/release/podinit
VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

.PHONY: setup build static test unit integration e2e demo bench release clean fuzz

# Installs missing packages and the musl target (no-op when present).
setup:
	bash scripts/setup.sh

build:
	cargo build

static:
	cargo build --release --target $(TARGET)
	@ls -l $(STATIC) | awk '{ printf "static binary: %s bytes (target <= 700000)\n", $$5 }'

unit:
	cargo test

integration: build
	bash tests/run.sh

e2e: static
	PODINIT=$(CURDIR)/$(STATIC) bash scripts/e2e.sh

# Everything CI checks: unit tests, shell integration tests as PID 1, runc end to end.
test: setup
	$(MAKE) unit integration e2e

demo: setup build
	bash examples/demo.sh

bench: static
	bash scripts/bench.sh

release: static
	mkdir -p dist
	cp $(STATIC) dist/podinit-$(VERSION)-x86_64-linux-musl
	cd dist && sha256sum podinit-$(VERSION)-x86_64-linux-musl > podinit-$(VERSION)-x86_64-linux-musl.sha256
	@cat dist/podinit-$(VERSION)-x86_64-linux-musl.sha256

clean:
	cargo clean
	rm -rf dist
