# Cello's one Makefile: CI and humans call the same targets. `make help` lists them.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export CARGO_TARGET_DIR ?= $(HOME)/.cache/cello-target
# Tests build with the `testing` profile (optimised, no fat LTO: minutes faster on two
# cores); benchmarks and `make release` use the real release profile.
PROFILE ?= testing
# Extra cargo features of the native module for `make build`: the test suite exercises
# the PostgreSQL and MySQL drivers and RabbitMQ against the local servers (scripts/services.sh);
# add otel for the OpenTelemetry tests (FEATURES=postgres,mysql,otel), which skip without it.
FEATURES ?= postgres,mysql,rabbitmq
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-26s\033[0m %s\n", $$1, $$2}'

# h2 and hyper with Cello's patches (patches/, docs/h2-patches.md, docs/decisions.md).
# Cargo.toml's [patch.crates-io] points at vendor/ and cargo cannot resolve the workspace
# without it, so every target that runs cargo depends on these stamps. The in-tree build
# backend (build_backend/cello_build.py) runs the same script for `pip install .`.
VENDORED := vendor/h2/.cello-patched vendor/hyper/.cello-patched

$(VENDORED) &: build_backend/vendor_patched.py $(wildcard patches/*.patch) Cargo.lock
	$(PYTHON) build_backend/vendor_patched.py

.PHONY: vendor
vendor: $(VENDORED) ## fetch h2 and hyper from crates.io and apply patches/ into vendor/ (before any cargo command)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

.PHONY: venv
venv: $(PY) ## create .venv with the build and test tools
	$(PY) -m pip install -q "maturin>=1.7,<2" pytest pytest-timeout "httpx>=0.27" hypothesis "pydantic>=2" msgspec mypy ruff websockets kosoku trustme h2 aioquic pycurl brotli zstandard jinja2 fastapi schemathesis openapi-spec-validator "openapi-ui-bundles==0.3.0" prometheus_client opentelemetry-api opentelemetry-sdk opentelemetry-proto grpcio grpcio-tools grpcio-reflection grpcio-health-checking "gql[httpx]>=3.5" "graphql-core>=3.2" "moto[server]"
	$(PY) -m pip install -q "graphene-django-graphiql-static==0.8"  # GraphiQL's files (python/cello/graphql/graphiql.py)

.PHONY: build
build: venv $(VENDORED) ## compile the native module into .venv (profile: $(PROFILE))
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --profile $(PROFILE) -q $(if $(FEATURES),--features $(FEATURES))

.PHONY: release
release: venv $(VENDORED) ## build with the release profile (fat LTO) and install into .venv
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release -q

.PHONY: run
run: build ## build and serve examples/hello.py on http://127.0.0.1:8000
	$(PY) examples/hello.py --host 127.0.0.1 --port 8000

.PHONY: services
services: ## start the local services the tests use (Redis, PostgreSQL, MariaDB, RabbitMQ, moto for SQS, tansu for Kafka), installing them if missing
	scripts/services.sh

.PHONY: test
# The tests build the native module with the optional features whose tests need a build
# that has them (OpenTelemetry export), so none of them is skipped in CI.
test: FEATURES = postgres,mysql,otel,graphql,rabbitmq,sqs,kafka
test: build services test-rust test-instructions test-python ## build (with postgres, mysql, otel, graphql, rabbitmq, sqs, kafka), then run every Rust and Python test and the instruction-count gate

# The crates Rust users embed on their own: each is tested alone, with its optional
# features off as well, and must package (the file list `cargo package` would publish).
CRATES := cello-router cello-http cello-middleware cello-observability cello-data cello-protocols cello-json cello-patterns

.PHONY: test-rust
test-rust: $(VENDORED) ## cargo tests of the standalone crates (no Python needed), default and no-default features
	cargo test -q $(foreach crate,$(CRATES),-p $(crate))
	cargo test -q -p cello-http --no-default-features
	cargo test -q -p cello-middleware --all-features
	cargo test -q -p cello-observability --features otel
	cargo test -q -p cello-data --all-features
	cargo test -q -p cello-protocols --features rabbitmq
	cargo test -q -p cello-protocols --features grpc-proto --lib grpc
	CELLO_SQS_ENDPOINT=http://127.0.0.1:4566 cargo test -q -p cello-protocols --features sqs
	cargo test -q -p cello-protocols --features kafka --lib kafka
	CELLO_KAFKA_BROKERS=127.0.0.1:9092 cargo test -q -p cello-protocols --features kafka --test kafka
	cargo test -q -p cello-patterns --features postgres
	$(foreach crate,$(CRATES),cargo package -q -p $(crate) --list --allow-dirty >/dev/null &&) true

.PHONY: test-python
test-python: ## pytest over a real socket and the TestClient
	$(PY) -m pytest -q $(PYTEST_ARGS)

.PHONY: lint
lint: venv $(VENDORED) ## clippy, rustfmt, ruff, mypy --strict
	cargo clippy -q $(foreach crate,$(CRATES),-p $(crate)) -p cello-py -p cello-instructions --all-targets --all-features -- -D warnings
	cargo fmt --all --check
	$(VENV)/bin/ruff check python tests integration examples build_backend scripts
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest cello._cello

.PHONY: deny
deny: $(VENDORED) ## licences and advisories (installs cargo-deny on first use)
	command -v cargo-deny >/dev/null || cargo install --locked cargo-deny
	cargo deny check

.PHONY: fmt
fmt: venv $(VENDORED) ## format Rust and Python
	cargo fmt --all
	$(VENV)/bin/ruff format python tests examples

# Benchmarks compare like for like on Python 3.12 (the original framework needs 3.12+):
# Cello's release wheel (fat LTO) is installed into a 3.12 virtualenv of its own.
BENCH_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python) $(shell command -v python3.12))
BENCH_VENV ?= $(HOME)/.cache/cello-bench/venvs/cello-release
BENCH_ARGS ?=

.PHONY: bench-wheel
# The wheel has the postgres feature for the TechEmpower database scenarios (benches/README.md);
# BENCH_PROFILE=testing builds it without fat LTO, when minutes matter more than the last percent.
BENCH_FEATURES ?= postgres
BENCH_PROFILE ?= release
bench-wheel: venv $(VENDORED) ## build the release wheel and install it into the 3.12 bench virtualenv
	rm -rf $(CARGO_TARGET_DIR)/bench-wheels
	$(VENV)/bin/maturin build --profile $(BENCH_PROFILE) -q $(if $(BENCH_FEATURES),--features $(BENCH_FEATURES)) -o $(CARGO_TARGET_DIR)/bench-wheels
	test -x $(BENCH_VENV)/bin/python || $(BENCH_PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --force-reinstall $(CARGO_TARGET_DIR)/bench-wheels/*.whl
	$(BENCH_VENV)/bin/pip install -q pydantic==2.14.4 jinja2==3.1.6

.PHONY: bench
bench: bench-wheel ## the full comparison with peer frameworks (hours; see benches/README.md)
	$(PYTHON) benches/run.py --cello-python $(BENCH_VENV)/bin/python $(BENCH_ARGS)

.PHONY: bench-quick
bench-quick: bench-wheel ## one round: Cello vs the original vs nginx, three scenarios
	$(PYTHON) benches/run.py --quick --cello-python $(BENCH_VENV)/bin/python $(BENCH_ARGS)

.PHONY: bench-json
bench-json: build ## JSON encode/decode micro-benchmark: Cello vs json, orjson, msgspec
	$(VENV)/bin/pip install -q orjson msgspec
	$(PY) benches/jsonbench.py


.PHONY: bench-eventstore
bench-eventstore: FEATURES = postgres
bench-eventstore: build ## event store vs the eventsourcing library on the local PostgreSQL
	$(VENV)/bin/pip install -q "eventsourcing[postgres]"
	$(PY) benches/eventstore_bench.py

.PHONY: bench-messaging
bench-messaging: FEATURES = rabbitmq,kafka
bench-messaging: build services ## messages per second end to end, Cello vs FastStream, on the local RabbitMQ and Kafka (tansu)
	$(VENV)/bin/pip install -q "faststream[rabbit,kafka]"
	$(PY) benches/messaging_bench.py $(BENCH_ARGS)

.PHONY: bench-graphql
# The release wheel of bench-wheel, with the graphql feature, on the peers' Python 3.12.
bench-graphql: BENCH_FEATURES = postgres,graphql
bench-graphql: bench-wheel ## GraphQL requests/s (list of 100, nested DataLoader), Cello vs Strawberry on Granian and the original (~7 min)
	$(PYTHON) benches/graphql_bench.py --cello-python $(BENCH_VENV)/bin/python --cello-build "$(BENCH_PROFILE) profile" $(BENCH_ARGS)

# criterion's baselines live in this checkout (target/ is ignored), not in the shared cargo cache.
CRITERION_HOME ?= $(CURDIR)/target/criterion
BENCH_BASELINE ?= main
# --bench '*': bench targets only; each library's libtest harness rejects criterion's options.
BENCH_RUST := CRITERION_HOME=$(CRITERION_HOME) cargo bench $(foreach crate,$(CRATES),-p $(crate)) --bench '*' --

.PHONY: bench-rust
bench-rust: $(VENDORED) ## criterion benches of the crates; saved as baseline $(BENCH_BASELINE)
	$(BENCH_RUST) --save-baseline $(BENCH_BASELINE)

.PHONY: bench-rust-compare
bench-rust-compare: $(VENDORED) ## criterion benches again: each one's change against baseline $(BENCH_BASELINE)
	$(BENCH_RUST) --baseline $(BENCH_BASELINE)

.PHONY: test-instructions
test-instructions: $(VENDORED) ## instruction-count gate (callgrind): fails if a hot path costs >3% more than benches/instructions/baseline.json
	$(PYTHON) scripts/instruction_gate.py check

.PHONY: bench-instructions-update
bench-instructions-update: $(VENDORED) ## re-measure instruction counts and rewrite benches/instructions/baseline.json
	$(PYTHON) scripts/instruction_gate.py update

.PHONY: clean
clean: ## remove the virtualenv and build products of this checkout
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Fuzzing (docs/fuzzing.md): cargo-fuzz/libFuzzer targets in fuzz/, a workspace of its own.
# Stable Rust, no -Z flags: --sanitizer none (AddressSanitizer needs nightly's
# -Zsanitizer, and the crates have almost no unsafe code); debug assertions on; lints
# capped, as for a dependency (the patched h2 in vendor/ is a path crate, and its own
# `--cfg fuzzing` module does not pass its deny(missing_docs)). cargo-fuzz is installed
# into $(FUZZ_TOOLS) on first use.
FUZZ_SECONDS ?= 20
FUZZ_LONG_SECONDS ?= 1800
FUZZ_TOOLS ?= $(HOME)/.cache/cello-tools
FUZZ_TARGET_DIR ?= $(HOME)/.cache/cello-fuzz-target
FUZZ_TARGETS = $(shell sed -n 's/^name = "\(.*\)"$$/\1/p' fuzz/Cargo.toml | grep -v '^cello-fuzz$$')
CARGO_FUZZ = PATH="$(FUZZ_TOOLS)/bin:$$PATH" CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) RUSTFLAGS="--cap-lints warn" \
	cargo fuzz
FUZZ_BUILD_FLAGS = --sanitizer none --debug-assertions --codegen-units 16

.PHONY: fuzz-tools
fuzz-tools:
	test -x $(FUZZ_TOOLS)/bin/cargo-fuzz || cargo install cargo-fuzz --locked --root $(FUZZ_TOOLS)

.PHONY: fuzz-build
fuzz-build: fuzz-tools $(VENDORED) ## build every fuzz target (fuzz/)
	$(CARGO_FUZZ) build $(FUZZ_BUILD_FLAGS)

# Each target runs on a copy of its seed corpus (fuzz/corpus/<target>/ stays as
# committed); a crash, a timeout or an out-of-memory fails the run and leaves its input
# in fuzz/artifacts/<target>/.
define run_fuzz
	mkdir -p $(FUZZ_TARGET_DIR)/logs; for target in $(FUZZ_TARGETS); do \
		work=$(FUZZ_TARGET_DIR)/corpus/$$target; log=$(FUZZ_TARGET_DIR)/logs/$$target.log; mkdir -p $$work; \
		echo "fuzz: $$target for $(1) s (log: $$log)"; \
		if ! $(CARGO_FUZZ) run $(FUZZ_BUILD_FLAGS) $$target $$work fuzz/corpus/$$target -- \
			-max_total_time=$(1) -timeout=10 -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
			$$(test -f fuzz/dictionaries/$$target.dict && echo -dict=fuzz/dictionaries/$$target.dict) \
			>$$log 2>&1; then tail -n 60 $$log; echo "fuzz: $$target FAILED (input in fuzz/artifacts/$$target/)"; exit 1; fi; \
		grep -E '^(Done|stat::average_exec_per_sec|stat::peak_rss_mb)|DONE' $$log || true; \
	done
endef

.PHONY: fuzz
fuzz: fuzz-build ## run every fuzz target for FUZZ_SECONDS (20) each; fails on a crash
	$(call run_fuzz,$(FUZZ_SECONDS))

.PHONY: fuzz-long
fuzz-long: fuzz-build ## run every fuzz target for FUZZ_LONG_SECONDS (30 minutes) each, one after the other
	$(call run_fuzz,$(FUZZ_LONG_SECONDS))
