# The local chat UI (issue 14): `make ui` starts it on http://127.0.0.1:8501 over the local index.
# Its tests (tests/ui, in `make test`) need the `ui` and `ui-test` extras and Debian's chromium with its driver.
# Included by the main Makefile, which provides the $(VENV)/.installed stamp and the ONNX model's stamp.
VENV ?= .venv
PY ?= $(VENV)/bin/python

UI_STAMP := $(VENV)/.ui-installed
TEST_DEPS += $(UI_STAMP) ui-browser

.PHONY: ui ui-deps ui-browser

$(UI_STAMP): $(VENV)/.installed pyproject.toml
	$(PIP_INSTALL) -e '.[ui,ui-test]'
	touch $@

ui-deps: $(UI_STAMP)

ui: $(UI_STAMP) $(MODEL_STAMP)  ## the chat UI (Streamlit) over the local index: ingest first (ragline ingest DIR)
	$(VENV)/bin/ragline ui

# Debian's browser and its matching driver: nothing downloads a browser of its own here. Without apt-get
# this fails, so that the browser test is never skipped for want of a browser.
ui-browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		command -v apt-get >/dev/null || { echo "ui-browser: chromium or chromedriver missing, and no apt-get" \
			"to install them: install Debian's chromium and chromium-driver (or equivalents) first" >&2; exit 1; }; \
		apt-get update -qq && apt-get install -y -qq chromium chromium-driver; \
	fi
