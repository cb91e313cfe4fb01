"""`ragline ingest --sync` of one folder among several (issue 16: syncing one folder pruned the missing
files of every other folder in the registry, and every test let it through)."""

from __future__ import annotations

import os
from datetime import datetime

import pytest

from ragline.ingest import discover_files
from ragline.model import DocumentState


def _note(folder, name: str, subject: str) -> str:
    """A small Markdown document (extraction without PDF rendering keeps these tests fast)."""
    path = folder / name
    path.write_text(f"# {subject}\n\nThe {subject} procedure is checked every quarter by the site engineer.\n")
    return path.resolve().as_posix()


def _by_name(report) -> dict[str, tuple[DocumentState, str | None]]:
    return {
        outcome.status.source.rsplit("/", 1)[-1]: (outcome.status.state, outcome.status.reason)
        for outcome in report.outcomes
    }


@pytest.fixture
def two_folders(tmp_path):
    """'reports' and 'reports-archive': the second's path starts with the first's name."""
    reports, archive = tmp_path / "reports", tmp_path / "reports-archive"
    reports.mkdir()
    archive.mkdir()
    return reports, archive


def test_syncing_one_folder_leaves_the_missing_files_of_another_folder_indexed(fast_engine, two_folders):
    reports, archive = two_folders
    kept = _note(reports, "pumps.md", "pump")
    gone_from_archive = _note(archive, "valves.md", "valve")
    fast_engine.ingest([reports], sync=True)
    fast_engine.ingest([archive], sync=True)
    os.unlink(gone_from_archive)

    report = fast_engine.ingest([reports], sync=True)

    assert _by_name(report) == {"pumps.md": (DocumentState.UNCHANGED, None)}
    assert fast_engine.index.count(gone_from_archive) > 0
    assert fast_engine.registry.get(gone_from_archive).state is DocumentState.INDEXED
    assert fast_engine.index.count(kept) > 0


def test_syncing_the_other_folder_then_removes_its_missing_file(fast_engine, two_folders):
    reports, archive = two_folders
    _note(reports, "pumps.md", "pump")
    gone = _note(archive, "valves.md", "valve")
    fast_engine.ingest([reports, archive], sync=True)
    chunks = fast_engine.index.count(gone)
    indexed = fast_engine.registry.get(gone)
    os.unlink(gone)

    report = fast_engine.ingest([archive], sync=True)

    assert _by_name(report) == {"valves.md": (DocumentState.DELETED, "the file is gone from the synced folder")}
    (pruned,) = report.outcomes
    assert pruned.status.chunk_count == chunks > 0
    # The outcome names the content removed, and when.
    assert pruned.status.document_id == indexed.document_id
    assert datetime.fromisoformat(pruned.status.updated_at) >= datetime.fromisoformat(indexed.updated_at)
    assert fast_engine.index.count(gone) == 0
    assert fast_engine.registry.get(gone) is None


def test_a_file_gone_from_a_subfolder_of_the_synced_folder_is_removed(fast_engine, two_folders):
    reports, _ = two_folders
    (reports / "2023").mkdir()
    gone = _note(reports / "2023", "old.md", "boiler")
    fast_engine.ingest([reports], sync=True)
    os.unlink(gone)
    assert _by_name(fast_engine.ingest([reports], sync=True))["old.md"][0] is DocumentState.DELETED
    assert fast_engine.index.count(gone) == 0


def test_sync_naming_a_file_prunes_nothing_around_it(fast_engine, two_folders):
    reports, _ = two_folders
    named = _note(reports, "pumps.md", "pump")
    gone = _note(reports, "valves.md", "valve")
    fast_engine.ingest([reports])
    os.unlink(gone)
    report = fast_engine.ingest([reports / "pumps.md"], sync=True)
    assert _by_name(report) == {"pumps.md": (DocumentState.UNCHANGED, None)}
    assert fast_engine.index.count(gone) > 0
    assert fast_engine.index.count(named) > 0


def test_without_sync_nothing_is_pruned(fast_engine, two_folders):
    reports, _ = two_folders
    gone = _note(reports, "valves.md", "valve")
    fast_engine.ingest([reports], sync=True)
    os.unlink(gone)
    assert _by_name(fast_engine.ingest([reports])) == {}
    assert fast_engine.index.count(gone) > 0


def test_a_named_path_that_does_not_exist_fails_by_its_name_and_the_rest_is_ingested(fast_engine, two_folders):
    reports, _ = two_folders
    _note(reports, "pumps.md", "pump")
    report = fast_engine.ingest([reports, reports / "nowhere.md"])
    assert _by_name(report) == {
        "nowhere.md": (DocumentState.FAILED, "no such file or folder"),
        "pumps.md": (DocumentState.INDEXED, None),
    }
    assert [status.source.rsplit("/", 1)[-1] for status in report.failed] == ["nowhere.md"]
    assert report.count(DocumentState.INDEXED) == 1
    assert report.chunks == fast_engine.index.count()


# --- what discovery reads and what it lists as skipped ------------------------------------------------


def test_discovery_reads_supported_files_in_order_once_and_says_why_it_skips_the_others(tmp_path):
    folder = tmp_path / "docs"
    (folder / "b").mkdir(parents=True)
    for name in ("b/z.md", "a.pdf", "b/a.txt", "notes.docx", "README", "page.HTML"):
        (folder / name).write_text("x")
    os.symlink(folder / "missing.pdf", folder / "broken.pdf")
    os.symlink(folder / "b", folder / "linked")
    os.mkfifo(folder / "pipe.pdf")  # named like a PDF, but no file to read
    supports = lambda name: name.lower().endswith((".pdf", ".md", ".txt", ".html"))  # noqa: E731

    found = discover_files([folder, folder / "a.pdf", tmp_path / "none.md"], supports)

    root = os.path.abspath(folder)
    # In path order, and a.pdf once although it is named twice.
    assert [str(path) for path in found.files] == [
        f"{root}/a.pdf",
        f"{root}/b/a.txt",
        f"{root}/b/z.md",
        f"{root}/page.HTML",
    ]
    assert [(skipped.source.rsplit("/", 1)[-1], skipped.reason) for skipped in found.skipped] == [
        ("README", "no extension: not a file type ragline reads"),
        ("broken.pdf", "a broken symbolic link"),
        ("linked", "a symbolic link to a folder: not followed; ingest the folder it points to by its own path"),
        ("notes.docx", ".docx: not a file type ragline reads"),
        ("pipe.pdf", "not a regular file"),
    ]
    assert [(status.source.rsplit("/", 1)[-1], status.reason) for status in found.missing] == [
        ("none.md", "no such file or folder")
    ]


def test_an_unreadable_subfolder_is_listed_as_skipped_and_the_rest_is_read(tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    (folder / "locked").mkdir(parents=True)
    (folder / "locked" / "secret.md").write_text("x")
    (folder / "open.md").write_text("x")
    locked = os.path.abspath(folder / "locked")
    real_scandir = os.scandir

    def scandir(path="."):  # as a folder the user may not list looks to os.walk (tests run as root here)
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = discover_files([folder], lambda name: name.endswith(".md"))
    assert [path.name for path in found.files] == ["open.md"]
    assert [(skipped.source, skipped.reason) for skipped in found.skipped] == [
        (locked, "cannot read the folder: Permission denied")
    ]
