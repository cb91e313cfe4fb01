"""Shared fixtures: the real packaged model (loaded once), fresh engines, and test documents."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ragline.adapters.local.embedding import MiniLMOnnxEmbedder, packaged_model_dir
from ragline.bootstrap import Engine, build_engine
from ragline.config import Settings
from ragline.tokens import WordPieceTokenCounter
from tests.fakes import HashingEmbedder

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def real_embedder() -> MiniLMOnnxEmbedder:
    """The production embedder; exported to ONNX by `make setup`, or here on first use."""
    defaults = Settings()
    return MiniLMOnnxEmbedder(packaged_model_dir(), defaults.embedding.onnx_cache_dir)


@pytest.fixture(scope="session")
def token_counter() -> WordPieceTokenCounter:
    return WordPieceTokenCounter.for_model(packaged_model_dir())


@pytest.fixture
def hashing_embedder(token_counter: WordPieceTokenCounter) -> HashingEmbedder:
    return HashingEmbedder(token_counter)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # Keep the user's environment and config file out of the tests.
    for variable in [name for name in os.environ if name.startswith("RAGLINE_")]:
        monkeypatch.delenv(variable)
    monkeypatch.chdir(tmp_path)
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def data_dir(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's data folder, named in the environment as the CLI and the UI read it."""
    monkeypatch.setenv("RAGLINE_DATA_DIR", str(settings.data_dir))
    return settings.data_dir


@pytest.fixture
def engine(settings: Settings, real_embedder: MiniLMOnnxEmbedder) -> Engine:
    built = build_engine(settings, embedder=real_embedder)
    yield built
    built.close()


@pytest.fixture
def fast_engine(settings: Settings, hashing_embedder: HashingEmbedder) -> Engine:
    built = build_engine(settings, embedder=hashing_embedder)
    yield built
    built.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under mutmut, the test files that ran quickest in its stats run go first (each file's tests kept together
    and in order, so that module fixtures are set up once). A mutant's run stops at its first failing test, and
    mutmut names a mutant's tests as a set, so without this a quick test that catches the mutant often waited
    behind slow ones it did not need."""
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        return
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from mutants/, where it keeps its stats
    if not stats.is_file():
        return
    seconds = json.loads(stats.read_text()).get("duration_by_test", {})
    per_file: dict[Path, float] = {}
    for item in items:
        per_file[item.path] = per_file.get(item.path, 0.0) + seconds.get(item.nodeid, 0.0)
    items.sort(key=lambda item: per_file[item.path])  # stable: in-file order kept
