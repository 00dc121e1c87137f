# Kiln's commands. `make run` and `make test` install whatever is missing first; every tool comes
# from a package registry (crates.io, npm, Debian), never from a tool's own download.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

CARGO_LEPTOS_VERSION := 0.3.10
WASM_BINDGEN_VERSION := 0.2.129

# wasm-opt (npm's binaryen) and Playwright live in end2end/node_modules.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends

.PHONY: run build test test-rust test-e2e bench tools rust-tools node-tools chromium clean

## make run: build in release mode and serve on http://127.0.0.1:3000 (data in ./kiln.db).
run: build
	./target/release/kiln serve

## make build: the release binary (target/release/kiln) and front end (target/site); pages
## declared lazy are split into their own WASM files, loaded when first opened.
build: tools
	cargo leptos build --release --split

## make test: every test — Rust unit and integration tests, then the browser tests in Chromium.
test: test-rust test-e2e

# With KILN_TEST_POSTGRES_URL set (CI sets it), the store's suites run a second time on
# PostgreSQL, each test on a database of its own, with the multi-process tests. `--workspace`
# again, though the suites are the server's: the same features as the first run, so its build
# is reused rather than the app and server compiled a second time.
test-rust: rust-tools
	cargo test --workspace --locked
	@if [ -n "$${KILN_TEST_POSTGRES_URL:-}" ]; then \
		echo "== The store's suites again, on PostgreSQL"; \
		KILN_TEST_STORE=postgres cargo test --workspace --locked \
			--test auth --test ingest --test delivery --test delivery_properties --test planner --test postgres; \
	else \
		echo "KILN_TEST_POSTGRES_URL is not set: the PostgreSQL suites are skipped"; \
	fi

test-e2e: build node-tools chromium
	cd end2end && npx playwright test

## make bench: performance measurements (docs/BENCHMARKS.md records results with the machine).
bench: build node-tools chromium
	@command -v sqlite3 >/dev/null || { echo "Installing the sqlite3 shell from Debian…"; $(SUDO) apt-get update -q && $(APT_INSTALL) sqlite3; }
	@echo "== Planner: one recompute in WASM, and the bundle size"
	cd end2end && node bench/planner.mjs
	@echo "== Ingest: 1,000,000 rows through the HTTP API into SQLite, beside sqlite3's .import"
	cargo bench -p server --bench ingest
	@echo "== Delivery: 100,000 leads to a local endpoint, and 5 minutes of pacing at 10/s against the sandbox"
	cargo bench -p server --bench delivery
	@echo "== Monitoring: dashboard requests with 1,000,000 leads and 200 imports"
	cargo bench -p server --bench dashboard
	@echo "== PostgreSQL: leads/s with 1, 2 and 3 kiln worker processes"
	KILN_BENCH_POSTGRES_URL=$${KILN_BENCH_POSTGRES_URL:-$${KILN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}} \
		cargo bench -p server --bench postgres

tools: rust-tools node-tools

rust-tools:
	@command -v cc >/dev/null || { echo "Installing a C toolchain (build-essential)…"; $(SUDO) apt-get update -q && $(APT_INSTALL) build-essential pkg-config; }
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@cargo leptos --version 2>/dev/null | grep -q " $(CARGO_LEPTOS_VERSION)$$" || { \
		echo "Installing cargo-leptos $(CARGO_LEPTOS_VERSION) (about 12 minutes, once)…"; \
		cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked; }
	@wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)$$" || { \
		echo "Installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (must match the wasm-bindgen crate)…"; \
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --locked; }

node-tools: end2end/node_modules/.package-lock.json

end2end/node_modules/.package-lock.json: end2end/package.json end2end/package-lock.json
	@command -v npm >/dev/null || { echo "Installing Node.js and npm from Debian…"; $(SUDO) apt-get update -q && $(APT_INSTALL) nodejs npm; }
	cd end2end && npm ci --no-audit --no-fund
	@touch $@

chromium:
	@test -x /usr/bin/chromium || { echo "Installing Chromium from Debian…"; $(SUDO) apt-get update -q && $(APT_INSTALL) chromium chromium-driver; }

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results end2end/.kiln
