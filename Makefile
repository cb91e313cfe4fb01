# ragline: two commands are the contract with users.
#   make demo   set everything up on a fresh machine, ingest the demo corpus, answer three questions
#   make test   set everything up and run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY ?= $(VENV)/bin/python
PIP := $(PY) -m pip
# Every install into the project's venvs skips pip's byte-compilation: compiling all ~23,000 files of the
# test venv took 2.5 minutes of one core (most of them never imported), while Python compiles a module on
# its first import, once, and caches it. The Lambda assets compile their own bytecode (stacks/assets.py).
PIP_INSTALL := $(PIP) install --quiet --no-compile
RAGLINE := $(VENV)/bin/ragline
STAMP := $(VENV)/.installed
MODEL_STAMP := $(VENV)/.model-ready

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: help setup demo test lint format bench clean

# Components (infra, drift, bench) add their own targets and test dependencies (TEST_DEPS += ...).
-include mk/*.mk

help:
	@echo "make demo    - install, then ingest the demo corpus and answer three example questions"
	@echo "make test    - install, then run lint and the whole test suite"
	@echo "make ui      - install the chat UI and start it on the local index (ingest first)"
	@echo "make synth   - synthesize the AWS deployment offline (default and alternative contexts)"
	@echo "make bench   - run the benchmarks in bench/ (needs ../shared/data)"
	@echo "make deployed-test - synthesize, then run every Lambda as deployed against a mock AWS account"

# The core package, the dev tools, and the one-off model export (torch comes from a CPU wheel).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip==25.3
	$(PIP_INSTALL) -e '.[dev,export]'
	touch $@

# Exports MiniLM to ONNX once per machine (~10 s) and checks that it loads.
$(MODEL_STAMP): $(STAMP)
	$(RAGLINE) model prepare
	touch $@

setup: $(MODEL_STAMP)

demo: setup
	$(RAGLINE) demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Both suites need `synth` first: the deployed-shape suite drives its templates, and tests/infra/test_assets.py
# imports the function dependency sets it builds (build/assets-cache/). After it, the deployed-shape
# suite's two processes (mk/deployed.mk) and the other suites share no files and no ports (each binds
# port 0), so they run side by side: CI's wall time is about their CPU time shared over the cores, not
# their sum. Each process's output is printed whole when it ends (--output-sync), so the logs never
# interleave.
test: setup $(TEST_DEPS) lint synth deployed-prepare
	$(MAKE) --no-print-directory -j4 --output-sync=target deployed-heavy deployed-rest suites-services suites-core

# The suites outside tests/deployed, in two processes: in one process they ran 5 minutes on alone after the
# deployed-shape suite's two had ended, one core idle. The AWS adapters and the chat UI (moto, Chromium) in one;
# the domain, contracts, integration, infra, drift (local Spark) and bench tests in the other: with drift among the
# services, that process ran 15:53 against the other's 9:52 (a83eeab's clean-clone run). They share no files and
# no ports (each binds port 0); no cache provider, so the two never write .pytest_cache at once.
SERVICE_SUITES = tests/aws tests/ui
OTHER_PYTEST = $(PY) -m pytest -p no:cacheprovider --durations=15

.PHONY: other-suites suites-services suites-core
other-suites: suites-services suites-core

suites-services: setup $(TEST_DEPS) synth
	$(OTHER_PYTEST) $(SERVICE_SUITES) $(PYTEST_ARGS)

suites-core: setup $(TEST_DEPS) synth
	$(OTHER_PYTEST) --ignore=tests/deployed $(addprefix --ignore=,$(SERVICE_SUITES)) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .ragline cdk.out .pytest_cache .ruff_cache .hypothesis

