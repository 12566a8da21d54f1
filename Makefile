# Cello's one Makefile: CI and humans call the same targets. `make help` lists them.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export CARGO_TARGET_DIR ?= $(HOME)/.cache/cello-target
# Tests build with the `testing` profile (optimised, no fat LTO: minutes faster on two
# cores); benchmarks and `make release` use the real release profile.
PROFILE ?= testing
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

.PHONY: venv
venv: $(PY) ## create .venv with the build and test tools
	$(PY) -m pip install -q "maturin>=1.7,<2" pytest pytest-timeout "httpx>=0.27" hypothesis "pydantic>=2" msgspec mypy ruff

.PHONY: build
build: venv ## compile the native module into .venv (profile: $(PROFILE))
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --profile $(PROFILE) -q

.PHONY: release
release: venv ## build with the release profile (fat LTO) and install into .venv
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release -q

.PHONY: run
run: build ## build and serve examples/hello.py on http://127.0.0.1:8000
	$(PY) examples/hello.py --host 127.0.0.1 --port 8000

.PHONY: test
test: build test-rust test-python ## build, then run every Rust and Python test

.PHONY: test-rust
test-rust: ## cargo tests of the standalone crates (no Python needed)
	cargo test -q -p cello-router -p cello-http

.PHONY: test-python
test-python: ## pytest over a real socket and the TestClient
	$(PY) -m pytest -q $(PYTEST_ARGS)

.PHONY: lint
lint: venv ## clippy, rustfmt, ruff, mypy --strict
	cargo clippy -q -p cello-router -p cello-http -p cello-py --all-targets -- -D warnings
	cargo fmt --all --check
	$(VENV)/bin/ruff check python tests examples
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest cello._cello

.PHONY: fmt
fmt: venv ## format Rust and Python
	cargo fmt --all
	$(VENV)/bin/ruff format python tests examples

.PHONY: bench
bench: release ## the full comparison with peer frameworks (see benches/README.md)
	$(PY) benches/run.py --cello-python $(PY)

.PHONY: bench-quick
bench-quick: release ## one round: Cello vs the original vs nginx, three scenarios
	$(PY) benches/run.py --quick --cello-python $(PY)

.PHONY: bench-rust
bench-rust: ## criterion benches of the crates
	cargo bench -p cello-router -p cello-http

.PHONY: clean
clean: ## remove the virtualenv and build products of this checkout
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
