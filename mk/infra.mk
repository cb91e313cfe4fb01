# AWS deployment (issue 3): CDK CLI, infra Python deps, offline synth of five profiles, cfn-lint, checkov.
# Included by the main Makefile, which provides the $(VENV)/.installed stamp (venv + core package).

VENV ?= .venv
PY ?= $(VENV)/bin/python
PIP ?= $(VENV)/bin/pip
CDK ?= node_modules/.bin/cdk
CDK_OUT ?= cdk.out
LAMBDA_WHEELS ?= build/lambda-wheels

# Quiet, offline, credential-free CDK: no telemetry, no version check, no EC2 metadata probing.
INFRA_ENV = JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_CLI_TELEMETRY=true \
	CDK_DISABLE_VERSION_CHECK=1 AWS_EC2_METADATA_DISABLED=true

# The profiles `make synth` proves: the default (cdk.json), Bedrock models, existing endpoints,
# both models deployed by the app (the TGI LLM endpoint too), the Cognito-authenticated API, and that API
# with the chat UI on ECS (linted and checked by checkov; the deployed-shape suite drives the first five).
SYNTH_PROFILES = default bedrock existing deploy cognito chatui
SYNTH_CONTEXT_default =
SYNTH_CONTEXT_bedrock = -c embeddingMode=bedrock -c generationMode=bedrock
SYNTH_CONTEXT_existing = -c embeddingMode=existing \
	-c embeddingsModelEndpointName=jumpstart-dft-hf-textembedding-gpt-j-6b-fp16 -c embeddingDimension=4096 \
	-c generationMode=existing -c textModelEndpointName=jumpstart-dft-hf-llm-falcon-40b-instruct-bf16
SYNTH_CONTEXT_deploy = -c generationMode=deploy
SYNTH_CONTEXT_cognito = -c apiAuth=cognito
SYNTH_CONTEXT_chatui = -c apiAuth=cognito -c chatUi=true
SYNTH_TEMPLATES = $(foreach p,$(SYNTH_PROFILES),$(CDK_OUT)/$(p)/*.template.json)

# checkov lives in its own venv: every checkov release pins boto3 exactly (3.3.30: boto3==1.35.49),
# which cannot coexist with the runtime's boto3 pin in .venv.
CHECKOV_VERSION = 3.3.30
CHECKOV_VENV ?= build/checkov-venv

.PHONY: lambda-python infra-deps synth cfn-lint checkov infra-test infra-clean

# `make test` runs tests/infra too: it needs the CDK libraries, cdk-nag and cfn-lint (not node,
# not the Lambda wheels: the tests skip bundling).
TEST_DEPS += $(VENV)/.infra-installed

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(VENV)/.infra-installed: $(VENV)/.installed pyproject.toml
	$(PIP_INSTALL) -e '.[infra]'
	@touch $@

# Lambda layer wheels for the Lambda platform, fetched once so that synth installs offline
# (stacks/assets.py takes each function's pins from pyproject.toml).
$(LAMBDA_WHEELS)/.stamp: pyproject.toml stacks/assets.py $(VENV)/.infra-installed
	rm -rf $(LAMBDA_WHEELS)
	$(PY) -m stacks.assets download $(LAMBDA_WHEELS)
	@touch $@

# CPython 3.14, the Lambda runtime's: it compiles the bytecode the assets ship, and the deployed-shape
# suite runs each function on it (stacks/lambda_python.py; from Debian testing's packages when no
# python3.14 is installed).
LAMBDA_PYTHON_STAMP = build/lambda-python.stamp
$(LAMBDA_PYTHON_STAMP): stacks/lambda_python.py $(VENV)/.infra-installed
	$(PY) -m stacks.lambda_python ensure
	@touch $@

lambda-python: $(LAMBDA_PYTHON_STAMP)

infra-deps: node_modules/.package-lock.json $(VENV)/.infra-installed $(LAMBDA_WHEELS)/.stamp $(LAMBDA_PYTHON_STAMP)

# Each profile's cloud assembly is a file target: it is synthesized again only when something the
# deployment is built from changed, so `make test`, `make cfn-lint` and `make checkov` in a row (as
# .ci/run does) synthesize once. The profiles are independent (stacks/assets.py publishes its shared
# cache atomically), so they are synthesized two at a time.
SYNTH_INPUTS := app.py cdk.json pyproject.toml package-lock.json mk/infra.mk \
	$(shell find stacks lambdas ragline glue_jobs containers -type f -not -path '*/__pycache__/*' 2>/dev/null)
SYNTH_MANIFESTS = $(foreach p,$(SYNTH_PROFILES),$(CDK_OUT)/$(p)/manifest.json)

$(CDK_OUT)/%/manifest.json: $(SYNTH_INPUTS) node_modules/.package-lock.json $(VENV)/.infra-installed \
		$(LAMBDA_WHEELS)/.stamp $(LAMBDA_PYTHON_STAMP)
	@echo "== cdk synth ($*) -> $(CDK_OUT)/$*"
	@$(INFRA_ENV) $(CDK) synth --quiet --no-notices --output $(CDK_OUT)/$* $(SYNTH_CONTEXT_$*)
	@touch $@

# The Lambda dependency sets first, once (a no-op when cached): profiles synthesized two at a time would
# otherwise both build every set.
synth: infra-deps
	@$(PY) -m stacks.assets build >/dev/null
	@$(MAKE) --no-print-directory -j2 --output-sync=target $(SYNTH_MANIFESTS)

cfn-lint: synth
	$(VENV)/bin/cfn-lint --non-zero-exit-code error $(SYNTH_TEMPLATES)

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --no-compile checkov==$(CHECKOV_VERSION)
	@touch $@

# Fails on any failed check not listed, with its reason, in .checkov.yaml (docs/CHECKOV.md).
# --skip-download: no guideline or policy download (CI has no network beyond the registries).
checkov: synth $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --framework cloudformation --quiet --compact \
		--skip-download -f $(SYNTH_TEMPLATES)

infra-test: $(VENV)/.infra-installed
	$(INFRA_ENV) $(PY) -m pytest tests/infra -q

infra-clean:
	rm -rf $(CDK_OUT) build/lambda-layer
