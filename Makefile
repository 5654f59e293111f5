# One command to run, one to test. Everything installs from Python and the package registries.
SHELL := /bin/bash
PYTHON ?= python3
# Prefer a uv on PATH; otherwise bootstrap it into the current Python with pip.
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export UV_PYTHON_DOWNLOADS ?= never
# Installs ship bytecode, as pip's do: uv leaves it to the first import, and where
# PYTHONDONTWRITEBYTECODE is set (containers, CI) every command would compile its imports again.
SYNC := $(UV) sync --frozen --inexact --compile-bytecode

.PHONY: install run test check format docs browser bench clean

install: .venv/.installed

.venv/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(SYNC)
	@$(UV) run --frozen python -m compileall -q src >/dev/null
	@touch $@

run: install
	$(UV) run --frozen aiharness up

# Browser tests drive Debian's Chromium; install it (and a Hangul font) when missing.
browser:
	@bash scripts/ensure-browser.sh

# The tests also cover the optional extras (an embedded llama.cpp model, MLflow tracking);
# llama-cpp-python compiles once (its build flags are in pyproject.toml), then comes from uv's cache.
test: install browser
	$(SYNC) --all-extras --group local-llm-test
	@$(UV) run --frozen python -m compileall -q src >/dev/null
	$(UV) run --frozen pytest

check: install
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy

format: install
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

docs: install
	$(UV) run --frozen python scripts/update_docs.py

bench: install
	@for f in benchmarks/bench_*.py; do $(UV) run --frozen python $$f; done

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache test-output
