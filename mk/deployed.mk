# The deployed-shape suite (tests/deployed): every Lambda of every synthesized profile, run from its own
# asset with exactly its template environment, under its own role's policies (moto, IAM enforced), through
# the event chain the templates wire. `make test` runs it beside the other suites; it needs `make synth` first.
VENV ?= .venv
PY ?= $(VENV)/bin/python

.PHONY: deployed-test deployed-mutations deployed-heavy deployed-rest deployed-prepare

# --durations: CI's log shows where its minutes went (CI must stay under 30).
DEPLOYED_SUITE = $(PY) -m pytest tests/deployed -q -p no:cacheprovider --durations=15

# The 3,000-page scenario (marked `heavy`) takes about as long as all the others together, and each
# process of this suite keeps about one core busy (the harness and a function's worker take turns).
# So `make test` runs it in a process of its own, beside the other scenarios and the other suites:
# three processes on two cores, instead of one long process after which a core sits idle.
# Each names what it needs, so that it also runs alone on a fresh checkout; under `make test` both are
# already made (a second `synth` finds every profile up to date; a second `deployed-prepare`, ~1 s, too).
deployed-heavy: synth deployed-prepare
	$(DEPLOYED_SUITE) -m heavy

deployed-rest: synth deployed-prepare
	$(DEPLOYED_SUITE) -m "not heavy"

# The runtime SDKs (Python and Node.js) that both processes put on their functions' paths, installed
# once before they start.
deployed-prepare: $(VENV)/.aws-installed
	$(PY) -m tests.deployed.functions

deployed-test: synth $(VENV)/.aws-installed  ## synthesize, then deploy every profile into the mock account and drive it
	$(DEPLOYED_SUITE)

# Not part of `make test` (about 100 mutants of ~20 s each): run it after changing stacks or handlers.
deployed-mutations: synth $(VENV)/.aws-installed  ## remove each variable / policy statement in turn; each must be caught
	$(PY) -m tests.deployed.mutations --profile default
