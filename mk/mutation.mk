# Mutation testing (issue 16): mutmut on the domain core and the AWS adapters. Not part of `make test`.
# Which files are mutated and which test folders count: [tool.mutmut] in pyproject.toml.
# Results stay in mutants/ (git-ignored), so a second run only tries mutants of functions that changed. Every run
# also starts from, and ends by updating, the decided results kept in tests/mutation_results/ (commit them): the
# whole scope takes ~14 hours of this machine, and mutants/ does not outlive the machine it was made on.
#   make mutation                              every pending mutant, then the score per module
#   make mutation MUTATE=ragline/filters.py    re-check one module (or a folder: ragline/adapters/aws/)
#   make mutation-pending MUTATE=ragline/api.py  only that module's mutants without a result (a stopped run resumed)
#   make mutation-report                       the scores and the survivors of the last runs
#   make mutation-save                         copy mutants/'s decided results into tests/mutation_results/
#   make mutation-sample                       a seeded 20% sample of every module, then the estimated scores
#   make mutation-pending MUTATION_TIMEOUT=150m  stop at a deadline; what was decided is saved
VENV ?= .venv
PY ?= $(VENV)/bin/python
MUTATION_NICE ?= nice -n 15
MUTATION_JOBS ?= 2
MUTATE ?=
# MUTATION_TIMEOUT=150m stops a run at a deadline (a session's end) and still saves what it decided: `timeout` sends
# SIGINT to mutmut and to its workers (its whole process group), and SIGKILL a minute later to any left.
MUTATION_TIMEOUT ?=
MUTATION_RUN = $(MUTATION_NICE) $(if $(MUTATION_TIMEOUT),timeout -s INT -k 60 $(MUTATION_TIMEOUT)) $(VENV)/bin/mutmut run

MUTATION_STAMP := $(VENV)/.mutation-installed
# ragline/filters.py -> "ragline.filters.*": mutmut names each mutant after its module and function.
MUTANT_GLOB = $(if $(MUTATE),"$(subst /,.,$(patsubst %.py,%,$(patsubst %/,%,$(MUTATE)))).*")
MUTATE_PREFIX = $(patsubst %/,%,$(MUTATE))

.PHONY: mutation mutation-deps mutation-pending mutation-report mutation-sample mutation-save

# The AWS extra too: tests/aws's conftest imports boto3, and a failed collection stops mutmut's stats run.
$(MUTATION_STAMP): $(VENV)/.installed $(AWS_STAMP) pyproject.toml
	$(PIP_INSTALL) -e '.[mutation]'
	touch $@

mutation-deps: $(MUTATION_STAMP)

# A run stopped part-way (Ctrl-C, a timeout) still saves what it decided, then fails as mutmut did.
mutation: $(MUTATION_STAMP)  ## mutmut on the core and the AWS adapters; MUTATE=path re-checks one module
	$(PY) -m tests.mutation_results restore
	$(MUTATION_RUN) --max-children $(MUTATION_JOBS) $(MUTANT_GLOB); \
		status=$$?; $(PY) -m tests.mutation_results save; exit $$status
	$(PY) -m tests.mutation_report $(MUTATE_PREFIX)

mutation-pending: $(MUTATION_STAMP)  ## only MUTATE's mutants without a result: a module's run stopped part-way, resumed
	@# By name: a pattern such as MUTATE's would make mutmut run every mutant it matches again, decided or not.
	@# The names are known once mutmut has generated the mutants: `prepare` restores the kept results, then that.
	$(PY) -m tests.mutation_results prepare
	$(PY) -m tests.mutation_report --pending $(MUTATE_PREFIX) > mutants/pending-names.txt
	if [ -s mutants/pending-names.txt ]; then \
		$(MUTATION_RUN) --max-children $(MUTATION_JOBS) $$(cat mutants/pending-names.txt); \
		status=$$?; $(PY) -m tests.mutation_results save; exit $$status; fi
	$(PY) -m tests.mutation_report $(MUTATE_PREFIX)

mutation-save: $(MUTATION_STAMP)  ## mutants/'s decided results into tests/mutation_results/, to commit
	$(PY) -m tests.mutation_results save

mutation-report: $(MUTATION_STAMP)  ## scores per module and every surviving mutant (`mutmut show NAME` for its diff)
	$(PY) -m tests.mutation_report --survivors $(MUTATE_PREFIX)

mutation-sample: $(MUTATION_STAMP)  ## a seeded random sample of each module's mutants: estimated scores with 95% intervals
	@# Names first, in a file: a failed pick must stop here, not start mutmut on every mutant.
	$(PY) -m tests.mutation_results prepare
	$(PY) -m tests.mutation_sample names $(MUTATE_PREFIX) > mutants/sample-names.txt
	$(MUTATION_RUN) --max-children $(MUTATION_JOBS) $$(cat mutants/sample-names.txt); \
		status=$$?; $(PY) -m tests.mutation_results save; exit $$status
	$(PY) -m tests.mutation_sample report $(MUTATE_PREFIX)
