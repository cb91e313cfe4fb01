"""One commit point (issue 13, problem 3): a crash at any write boundary of any change leaves no chunk
without its registry row, no row without its chunks and no archive record twice; running the same
change again finishes it, and `ingest --sync` then removes everything.

Every boundary is found by recording the checkpoints one clean run passes (`ragline.faults`),
then each pass of each is crashed in turn, on a fresh data folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ragline import faults
from ragline.bootstrap import Engine, build_engine
from ragline.model import DocumentState
from tests.integration.consistency import assert_archived, assert_consistent

ALPHA = "Alpha pumps are inspected by the quartermaster every Tuesday."
BRAVO = "Bravo turbines were commissioned by the harbourmaster in spring."
CHARLIE = "Charlie valves leak when the boilermaker forgets the gaskets."
REPO_ROOT = Path(__file__).resolve().parents[2]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(f"{text}\n", encoding="utf-8")
    return path


def _cited(engine: Engine, words: str) -> set[str]:
    return {Path(chunk.source).name for chunk, _ in engine.index.keyword_search(words, k=20)}


@dataclass(frozen=True)
class Scenario:
    setup: Callable[[Engine, Path], None]  # the state before the change
    change: Callable[[Engine, Path], object]  # what a crash interrupts, then runs again
    after: Callable[[Engine], None]  # what must hold once the change has run to the end


def _setup_new(engine, folder):
    _write(folder, "a.txt", ALPHA)
    _write(folder, "b.txt", BRAVO)


def _setup_changed(engine, folder):
    _write(folder, "a.txt", ALPHA)
    engine.ingest([folder])
    _write(folder, "a.txt", CHARLIE)


def _setup_becomes_copy(engine, folder):
    _write(folder, "a.txt", ALPHA)
    _write(folder, "b.txt", BRAVO)
    engine.ingest([folder])
    shutil.copy(folder / "b.txt", folder / "a.txt")


def _setup_copies(engine, folder):
    _write(folder, "a.txt", ALPHA)
    shutil.copy(folder / "a.txt", folder / "b.txt")
    engine.ingest([folder])


def _setup_holder_changes(engine, folder):
    _setup_copies(engine, folder)
    _write(folder, "a.txt", CHARLIE)


def _setup_removed(engine, folder):
    _write(folder, "a.txt", ALPHA)
    _write(folder, "b.txt", BRAVO)
    engine.ingest([folder], sync=True)
    (folder / "b.txt").unlink()


def _setup_broken_update(engine, folder):
    _write(folder, "a.txt", ALPHA)
    engine.ingest([folder])
    (folder / "a.txt").write_bytes(b"\xff\xfe not utf-8")


def _ingest(engine, folder):
    return engine.ingest([folder])


def _expect(**cited: set[str]) -> Callable[[Engine], None]:
    words = {"alpha": "quartermaster", "bravo": "harbourmaster", "charlie": "boilermaker"}

    def check(engine: Engine) -> None:
        assert {text: _cited(engine, words[text]) for text in cited} == cited

    return check


def _broken_update_kept(engine: Engine) -> None:
    _expect(alpha={"a.txt"})(engine)
    (row,) = engine.status()
    assert row.state is DocumentState.FAILED and "remain searchable" in row.reason


SCENARIOS = {
    "new files": Scenario(_setup_new, _ingest, _expect(alpha={"a.txt"}, bravo={"b.txt"})),
    "a changed file": Scenario(_setup_changed, _ingest, _expect(alpha=set(), charlie={"a.txt"})),
    "a file becoming a copy": Scenario(_setup_becomes_copy, _ingest, _expect(alpha=set(), bravo={"b.txt"})),
    "deleting the holder of a copy": Scenario(
        _setup_copies, lambda engine, folder: engine.delete((folder / "a.txt").as_posix()), _expect(alpha={"b.txt"})
    ),
    "a holder changing under its copy": Scenario(
        _setup_holder_changes,
        lambda engine, folder: engine.ingest([folder / "a.txt"]),
        _expect(alpha={"b.txt"}, charlie={"a.txt"}),
    ),
    "sync removing a file": Scenario(
        _setup_removed, lambda engine, folder: engine.ingest([folder], sync=True), _expect(bravo=set())
    ),
    "a failed update": Scenario(_setup_broken_update, _ingest, _broken_update_kept),
}


@pytest.fixture
def fresh(settings, hashing_embedder, tmp_path):
    """A new engine on a new data folder, and a new documents folder, per call."""
    opened: list[Engine] = []

    def make(name: str) -> tuple[Engine, Path]:
        folder = tmp_path / name / "docs"
        folder.mkdir(parents=True)
        data_dir = tmp_path / name / "data"
        engine = build_engine(settings.model_copy(update={"data_dir": data_dir}), embedder=hashing_embedder)
        opened.append(engine)
        return engine, folder

    yield make
    faults.disarm()
    for engine in opened:
        engine.close()


def _boundaries(scenario: Scenario, fresh) -> list[tuple[str, int]]:
    """Every (checkpoint, how many times it was passed before) of one clean run of the change."""
    engine, folder = fresh("clean")
    scenario.setup(engine, folder)
    with faults.recording() as passed:
        scenario.change(engine, folder)
    scenario.after(engine)
    return [(name, passed[:position].count(name)) for position, name in enumerate(passed)]


def _removes_everything(engine: Engine, folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink()
    engine.ingest([folder], sync=True)
    assert engine.status() == [] and engine.index.count() == 0
    assert_consistent(engine.settings)


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_crash_at_any_write_boundary_leaves_the_store_consistent(fresh, name):
    scenario = SCENARIOS[name]
    boundaries = _boundaries(scenario, fresh)
    assert {"store.committed", "store.record"} <= {checkpoint for checkpoint, _ in boundaries}
    for number, (checkpoint, skip) in enumerate(boundaries):
        engine, folder = fresh(f"crash-{number}")
        scenario.setup(engine, folder)
        faults.arm(checkpoint, "raise", skip=skip)
        with pytest.raises(faults.InjectedCrash):
            scenario.change(engine, folder)
        assert_consistent(engine.settings)
        scenario.change(engine, folder)  # the same change again, as a user re-runs a command
        assert_consistent(engine.settings)
        assert_archived(engine.settings)
        scenario.after(engine)
        _removes_everything(engine, folder)


def _child(data_dir: Path, folder: Path, fault: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, faults.ENVIRONMENT_VARIABLE: fault, "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "tests.integration.crash_child", str(data_dir), str(folder)]
    # Run from the data folder's parent: no ragline.toml of the repository's working tree applies.
    return subprocess.run(command, env=environment, cwd=data_dir.parent, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("fault", ["store.put_chunks:exit", "store.committed:exit", "store.archived:exit"])
def test_a_process_killed_between_writes_leaves_nothing_half_done(fresh, fault):
    """A real exit (no rollback, no finally) between the chunks and the row, after the commit, and
    between archiving and clearing the outbox; the next run finishes the job without doubling anything."""
    engine, folder = fresh("killed")
    _setup_new(engine, folder)
    data_dir = engine.settings.data_dir
    killed = _child(data_dir, folder, fault)
    assert killed.returncode == faults.EXIT_CODE, killed.stderr
    assert_consistent(engine.settings)
    finished = _child(data_dir, folder, "")
    assert finished.returncode == 0, finished.stderr
    assert_consistent(engine.settings)
    assert_archived(engine.settings)
    _expect(alpha={"a.txt"}, bravo={"b.txt"})(engine)
    _removes_everything(engine, folder)
