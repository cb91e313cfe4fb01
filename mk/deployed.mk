# The deployed-shape suite (tests/deployed): every Lambda of every synthesized profile, run from its own
# asset with exactly its template environment, under its own role's policies (moto, IAM enforced), through
# the event chain the templates wire. `make test` runs it beside the other suites; it needs `make synth` first.
VENV ?= .venv
PY ?= $(VENV)/bin/python

.PHONY: deployed-test deployed-mutations

DEPLOYED_SUITE = $(PY) -m pytest tests/deployed -q -p no:cacheprovider

deployed-test: synth $(VENV)/.aws-installed  ## synthesize, then deploy every profile into the mock account and drive it
	$(DEPLOYED_SUITE)

# Not part of `make test` (about 100 mutants of ~20 s each): run it after changing stacks or handlers.
deployed-mutations: synth $(VENV)/.aws-installed  ## remove each variable / policy statement in turn; each must be caught
	$(PY) -m tests.deployed.mutations --profile default
