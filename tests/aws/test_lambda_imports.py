"""The Lambda layer ships only lambdas/requirements.txt: handlers must not import local-only libraries."""

import subprocess
import sys

import pytest

LOCAL_ONLY = ("pypdfium2", "httpx", "onnxruntime", "scipy", "simsimd", "typer", "rich", "fastapi", "torch")
HANDLERS = ("ingest_start", "index_document", "delete_document", "query", "index_bootstrap")


@pytest.mark.parametrize("handler", HANDLERS)
def test_a_handler_and_the_composition_root_import_no_local_only_library(handler):
    probe = (
        f"import sys, ragline.entrypoints.lambdas.{handler}, ragline.bootstrap, ragline.adapters.aws.factories\n"
        f"print(','.join(name for name in {LOCAL_ONLY!r} if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"{handler} imports {result.stdout.strip()}"
