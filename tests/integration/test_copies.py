"""Copies of a file as users mean them (issue 13, problems 1 and 2): content indexed once, served as
long as one name holds it, and a name whose bytes change drops what it held."""

from __future__ import annotations

import shutil

import pytest

from ragline.model import DocumentState
from tests import pdf_factory
from tests.integration.consistency import assert_consistent, chunks_by_source

ALPHA = "Alpha pumps are inspected by the quartermaster every Tuesday."
BRAVO = "Bravo turbines were commissioned by the harbourmaster in spring."
CHARLIE = "Charlie valves leak when the boilermaker forgets the gaskets."


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder


def _write(folder, name, text):
    return pdf_factory.write_text(folder, name=name, text=f"{text}\n")


def _source(path) -> str:
    return path.resolve().as_posix()


def _row(engine, path):
    return engine.registry.get(_source(path))


def _cited(engine, words: str) -> set[str]:
    """Every source a keyword search for these words cites."""
    return {chunk.source for chunk, _ in engine.index.keyword_search(words, k=20)}


def test_a_file_that_becomes_a_copy_of_another_drops_its_old_chunks(fast_engine, folder):
    a, b = _write(folder, "a.txt", ALPHA), _write(folder, "b.txt", BRAVO)
    fast_engine.ingest([folder])
    shutil.copy(b, a)
    fast_engine.ingest([folder])
    assert _row(fast_engine, a).state is DocumentState.DUPLICATE
    assert _cited(fast_engine, "quartermaster Tuesday") == set()  # the old text of a.txt is gone
    assert _cited(fast_engine, "harbourmaster") == {_source(b)}
    indexed = sum(row.chunk_count for row in fast_engine.status())
    assert fast_engine.index.count() == indexed  # what `status` reports is what the index holds
    assert_consistent(fast_engine.settings)


@pytest.mark.parametrize("delete_the_holder", [True, False])
def test_deleting_one_copy_leaves_the_other_serving_the_content(fast_engine, folder, delete_the_holder):
    x = _write(folder, "x.txt", ALPHA)
    shutil.copy(x, folder / "x-copy.txt")
    fast_engine.ingest([folder])
    holder = next(row for row in fast_engine.status() if row.state is DocumentState.INDEXED)
    copy = next(row for row in fast_engine.status() if row.state is DocumentState.DUPLICATE)
    deleted, kept = (holder, copy) if delete_the_holder else (copy, holder)
    assert fast_engine.delete(deleted.source) == 0
    assert _cited(fast_engine, "quartermaster") == {kept.source}
    remaining = fast_engine.registry.get(kept.source)
    assert remaining.state is DocumentState.INDEXED  # at once, not after the next ingest
    assert remaining.chunk_count == holder.chunk_count
    assert fast_engine.registry.get(deleted.source) is None
    assert_consistent(fast_engine.settings)


def test_the_other_copies_name_the_copy_that_took_over(fast_engine, folder):
    first = _write(folder, "1.txt", ALPHA)
    for name in ("2.txt", "3.txt"):
        shutil.copy(first, folder / name)
    fast_engine.ingest([folder])
    fast_engine.delete(_source(first))
    assert _row(fast_engine, folder / "2.txt").state is DocumentState.INDEXED
    third = _row(fast_engine, folder / "3.txt")
    assert third.state is DocumentState.DUPLICATE and _source(folder / "2.txt") in third.reason
    assert_consistent(fast_engine.settings)


def test_a_holder_whose_bytes_change_leaves_its_old_content_to_its_copy(fast_engine, folder):
    original = _write(folder, "a.txt", ALPHA)
    shutil.copy(original, folder / "b.txt")
    fast_engine.ingest([folder])
    _write(folder, "a.txt", CHARLIE)
    fast_engine.ingest([original])  # only a.txt: b.txt must not need ingesting again to be served
    assert _cited(fast_engine, "quartermaster") == {_source(folder / "b.txt")}
    assert _cited(fast_engine, "boilermaker") == {_source(original)}
    assert _row(fast_engine, folder / "b.txt").state in (DocumentState.INDEXED, DocumentState.UNCHANGED)
    assert_consistent(fast_engine.settings)


def test_a_holder_that_becomes_a_copy_of_another_file_leaves_its_old_content_to_its_own_copy(fast_engine, folder):
    a, b = _write(folder, "a.txt", ALPHA), _write(folder, "b.txt", BRAVO)
    shutil.copy(a, folder / "a_copy.txt")  # sorts after a.txt, so a.txt holds the content
    fast_engine.ingest([folder])
    assert _row(fast_engine, a).state is DocumentState.INDEXED
    shutil.copy(b, a)  # a.txt now holds b.txt's bytes: a copy itself
    fast_engine.ingest([a])
    assert _row(fast_engine, a).state is DocumentState.DUPLICATE
    assert _cited(fast_engine, "quartermaster Tuesday") == {_source(folder / "a_copy.txt")}
    assert _row(fast_engine, folder / "a_copy.txt").state is DocumentState.INDEXED
    assert_consistent(fast_engine.settings)


def test_sync_removing_the_holder_keeps_the_copy_served(fast_engine, folder):
    original = _write(folder, "a.txt", ALPHA)
    shutil.copy(original, folder / "b.txt")
    fast_engine.ingest([folder], sync=True)
    original.unlink()
    report = fast_engine.ingest([folder], sync=True)
    assert {outcome.status.state for outcome in report.outcomes} >= {DocumentState.DELETED}
    assert _cited(fast_engine, "quartermaster") == {_source(folder / "b.txt")}
    assert_consistent(fast_engine.settings)


def test_deleting_every_copy_removes_the_content(fast_engine, folder):
    original = _write(folder, "a.txt", ALPHA)
    shutil.copy(original, folder / "b.txt")
    fast_engine.ingest([folder])
    for row in fast_engine.status():
        fast_engine.delete(row.source)
    assert fast_engine.index.count() == 0
    assert chunks_by_source(fast_engine.settings) == {}
    assert fast_engine.status() == []


def test_the_issue_scenario_with_pdfs(fast_engine, folder):
    """cp b.pdf a.pdf; ingest: nothing of the old a.pdf is cited, and `status` counts what is held."""
    old_a = pdf_factory.write_report_pdf(folder, name="a.pdf", pages=2, sentences={1: [ALPHA], 2: [CHARLIE]})
    pdf_factory.write_report_pdf(folder, name="b.pdf", pages=2, sentences={1: [BRAVO], 2: [BRAVO]})
    fast_engine.ingest([folder])
    shutil.copy(folder / "b.pdf", old_a.path)
    fast_engine.ingest([folder])
    assert _cited(fast_engine, "quartermaster boilermaker") == set()
    assert fast_engine.index.count() == sum(row.chunk_count for row in fast_engine.status())
    assert_consistent(fast_engine.settings)
