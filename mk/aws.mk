# The AWS runtime (issue 4): adapters, handlers and their moto-backed tests.
# Included by the main Makefile, which provides the $(VENV)/.installed stamp.
VENV ?= .venv

AWS_STAMP := $(VENV)/.aws-installed
TEST_DEPS += $(AWS_STAMP)

.PHONY: aws-deps aws-test

aws-deps: $(AWS_STAMP)

$(AWS_STAMP): $(VENV)/.installed pyproject.toml
	$(PIP_INSTALL) -e '.[aws,aws-test]'
	touch $@

# Set OPENSEARCH_URL to also run the index contract against a live OpenSearch.
aws-test: $(AWS_STAMP)
	$(VENV)/bin/python -m pytest tests/aws -q
