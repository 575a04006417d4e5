# The front door. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
UV ?= $(shell uv --version >/dev/null 2>&1 && echo uv || echo .tools/bin/uv)
export PLAYWRIGHT_BROWSERS_PATH ?= $(HOME)/.cache/ms-playwright
FFMPEG_REV := 1013

.PHONY: help install uv browser newman synth test test-fast lint format demo bench bench-more clean

help:
	@echo "make demo   - set up, start local mode, run the example tests, print results"
	@echo "make test   - set up and run the whole test suite"
	@echo "make lint   - ruff + mypy"
	@echo "make synth  - synthesize the CDK stack into cdk.out/ (no AWS account, no Docker; runs cdk-nag)"
	@echo "make bench  - the seven benchmarks of the performance targets against their peers, side by side;"
	@echo "              prints the table and writes it to bench/README.md (make bench-more: the other benchmarks)"

uv:
	@uv --version >/dev/null 2>&1 || [ -x .tools/bin/uv ] || { \
	  echo "installing uv into .tools/"; python3 -m venv .tools && .tools/bin/pip install -q uv; }

install: uv  ## idempotent: .venv with every dependency group, a browser, ffmpeg for video
	@$(UV) sync --all-groups --all-extras --quiet
	@# bytecode ahead of time (only what changed): where PYTHONDONTWRITEBYTECODE is set (CI images often do), every
	@# command would otherwise compile its ~450 modules again, 0.6 s of each CLI call
	@$(VENV)/bin/python -m compileall -q -j 0 shared cli functions runner_container examples bench \
	  $(VENV)/lib/python3*/site-packages >/dev/null 2>&1 || true
	@$(MAKE) --no-print-directory browser

# A browser for Playwright: its own Chromium where downloads work, else Debian's headless shell.
browser:
	@bash scripts/install-browser.sh

# The CDK app, synthesized into cdk.out: the template, the Lambdas bundled with uv (their aarch64 wheels come from
# the package index the first time, then from uv's cache), cdk-nag run over it. No CDK CLI, no Docker, no AWS account.
synth: install
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(PY) -m infra_cdk.app
	@echo "synthesized: cdk.out/"

# Newman from npm (for the benchmark against it), into .tools/newman.
newman:
	@[ -x .tools/newman/node_modules/.bin/newman ] || { mkdir -p .tools/newman && \
	  cd .tools/newman && npm install --no-audit --no-fund --silent newman@6; }

# Start local mode, run examples/tests against the example app, print the results, stop.
demo: install
	$(VENV)/bin/autotest demo --junit .autotest/demo/junit.xml

# autotest's runner against a bare Playwright script doing the same test; prints ratios.
bench: install newman
	$(PY) -m bench.table

# The benchmarks of earlier work (each prints its own ratios; the README's Benchmarks section has their figures).
bench-more: install
	$(PY) -m bench.local_emulation --rounds 5 --iterations 10
	$(PY) -m bench.check_overhead --checks 300
	$(PY) -m bench.planner_parse --rounds 30
	$(PY) -m bench.plain_english --runs 15
	$(PY) -m bench.suite_batching --rounds 9 --runs 4 --lambda
	$(PY) -m bench.ui_runs_page --rounds 15

test: install
	$(PY) -m pytest -q -n 2 -m "not serial" tests/unit
	$(PY) -m pytest -q -m serial tests/unit
	$(PY) -m pytest -q --durations=30 tests --ignore=tests/unit

test-fast: install
	$(PY) -m pytest -q -m "not e2e"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache cdk.out
