# AWS deployment (issue 3): CDK CLI, infra Python deps, offline synth of three profiles, cfn-lint.
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

# The profiles `make synth` proves: the default (cdk.json), Bedrock models, existing endpoints.
SYNTH_PROFILES = default bedrock existing
SYNTH_CONTEXT_default =
SYNTH_CONTEXT_bedrock = -c embeddingMode=bedrock -c generationMode=bedrock
SYNTH_CONTEXT_existing = -c embeddingMode=existing \
	-c embeddingsModelEndpointName=jumpstart-dft-hf-textembedding-gpt-j-6b-fp16 -c embeddingDimension=4096 \
	-c generationMode=existing -c textModelEndpointName=jumpstart-dft-hf-llm-falcon-40b-instruct-bf16

.PHONY: infra-deps synth cfn-lint infra-test infra-clean

# `make test` runs tests/infra too: it needs the CDK libraries, cdk-nag and cfn-lint (not node,
# not the Lambda wheels: the tests skip bundling).
TEST_DEPS += $(VENV)/.infra-installed

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(VENV)/.infra-installed: $(VENV)/.installed pyproject.toml
	$(PIP) install -e '.[infra]'
	@touch $@

# Lambda layer wheels for the Lambda platform, fetched once so that synth installs offline.
$(LAMBDA_WHEELS)/.stamp: lambdas/requirements.txt $(VENV)/.infra-installed
	rm -rf $(LAMBDA_WHEELS)
	$(PY) -c 'import subprocess, sys; from stacks.bundling import REQUIREMENTS, pip_platform_args; \
	subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", \
	"-r", str(REQUIREMENTS), "-d", "$(LAMBDA_WHEELS)", *pip_platform_args()], check=True)'
	@touch $@

infra-deps: node_modules/.package-lock.json $(VENV)/.infra-installed $(LAMBDA_WHEELS)/.stamp

synth: infra-deps
	@for profile in $(SYNTH_PROFILES); do \
		echo "== cdk synth ($$profile) -> $(CDK_OUT)/$$profile"; \
		case $$profile in \
			default) context="$(SYNTH_CONTEXT_default)";; \
			bedrock) context="$(SYNTH_CONTEXT_bedrock)";; \
			existing) context="$(SYNTH_CONTEXT_existing)";; \
		esac; \
		$(INFRA_ENV) $(CDK) synth --quiet --no-notices --output $(CDK_OUT)/$$profile $$context || exit 1; \
	done

cfn-lint: synth
	$(VENV)/bin/cfn-lint --non-zero-exit-code error $(foreach p,$(SYNTH_PROFILES),$(CDK_OUT)/$(p)/*.template.json)

infra-test: $(VENV)/.infra-installed
	$(INFRA_ENV) $(PY) -m pytest tests/infra -q

infra-clean:
	rm -rf $(CDK_OUT) build/lambda-layer
