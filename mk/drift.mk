# Embedding drift: its extra dependencies, the notebooks executed headless, and the check that
# notebooks are committed without outputs. Included by the main Makefile.
VENV ?= .venv
DRIFT_NOTEBOOKS := $(wildcard notebooks/*.ipynb)

# Spark binds to the loopback address; without this it may pick an unreachable interface.
export SPARK_LOCAL_IP ?= 127.0.0.1

.PHONY: drift-deps drift-test notebooks notebooks-check notebooks-strip

DRIFT_STAMP := $(VENV)/.drift-installed
TEST_DEPS += $(DRIFT_STAMP)

drift-deps: $(DRIFT_STAMP)  ## pyspark (Glue 5.0 = Spark 3.5.4), matplotlib and the notebook runner

$(DRIFT_STAMP): $(VENV)/.installed pyproject.toml
	$(PIP_INSTALL) -e '.[drift]'
	touch $@

drift-test:  ## the drift tests: math, archive, CLI, Glue scripts under local pyspark, notebooks
	$(VENV)/bin/python -m pytest tests/drift -q

notebooks:  ## execute the four notebooks headless (in temporary folders) and check they draw their plots
	$(VENV)/bin/python -m pytest tests/drift/test_drift_notebooks.py -q

notebooks-check:  ## fail when a notebook is committed with outputs
	$(VENV)/bin/python -m pytest tests/drift/test_drift_notebooks.py -q -k committed_without_outputs

notebooks-strip:  ## remove outputs, execution counts, timings and kernel versions from every notebook, in place
	$(VENV)/bin/python -c 'import sys, nbformat; \
	clear = lambda cell: (cell.update(outputs=[], execution_count=None), cell.metadata.pop("execution", None)); \
	strip = lambda nb: ([clear(c) for c in nb.cells if c.cell_type == "code"], nb.metadata.update(language_info={"name": "python"}), nb)[2]; \
	[nbformat.write(strip(nbformat.read(path, as_version=4)), path) for path in sys.argv[1:]]' $(DRIFT_NOTEBOOKS)
