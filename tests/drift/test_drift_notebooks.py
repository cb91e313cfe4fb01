"""The four notebooks: committed without outputs, and executing headless with their plots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the drift extra (nbformat, nbclient, ipykernel) is needed")
nbclient = pytest.importorskip("nbclient", reason="the drift extra (nbformat, nbclient, ipykernel) is needed")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ["query-llm", "drift-analysis", "distance-analysis", "prompt-distance-outliers"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    dirty = [i for i, cell in code if cell.outputs or cell.execution_count is not None or "execution" in cell.metadata]
    assert not dirty, f"{name}.ipynb has outputs in cells {dirty}: run `make notebooks-strip`"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes_headless_and_draws_its_plots(name, tmp_path, monkeypatch):
    # An empty working folder: the default data_dir (.ragline) is empty, so the drift notebooks
    # build their synthetic archive and query-llm ingests its sample documents.
    for variable in [v for v in os.environ if v.startswith("RAGLINE_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert images, f"{name}.ipynb drew no plot"
