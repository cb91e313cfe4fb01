"""The prompt drift runs of the daily schedule: BASELINE and SNAPSHOT over an archive of prompts alone.

The Glue job reads with Spark; here the same job code gets a numpy reader over the local files,
which applies the same selection rules (`ragline.drift.archive.select`), so no Spark is needed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ragline.drift import LocalDriftStore
from ragline.drift.archive import ArchiveError, Selection, VectorBatch, archive_files, read_records, select
from ragline.drift.jobs import drift_job, local_folder, parse_job_arguments
from ragline.drift.synthetic import write_synthetic_archive
from ragline.records import EMBEDDING_ARCHIVE_PREFIX, PROMPT_ARCHIVE_PREFIX, RecordKind

DRIFT_TYPES = ("BASELINE", "SNAPSHOT")
PROMPTS_PER_DAY = 80
DAYS = 3


def read_with_numpy(path: str, selection: Selection) -> VectorBatch:
    return select(read_records(archive_files(local_folder(path))), selection)


@pytest.fixture
def prompt_archive(tmp_path: Path) -> tuple[Path, str]:
    """The prompt archive (its chunk archive deleted) and the end of its first day."""
    archive = write_synthetic_archive(tmp_path / "data", chunks_per_topic=5, prompts_per_day=PROMPTS_PER_DAY, days=DAYS)
    shutil.rmtree(archive.data_dir / "archive" / EMBEDDING_ARCHIVE_PREFIX)
    return archive.data_dir / "archive" / PROMPT_ARCHIVE_PREFIX, archive.baseline_until


def job(job_type: str, prompts: Path, output: Path, *extra: str):
    argv = ["job", "--job_type", job_type, "--data_path", prompts.as_uri(), "--local_output", str(output), *extra]
    return parse_job_arguments(argv, DRIFT_TYPES)


def test_prompt_baseline_then_snapshot_read_the_prompt_records(prompt_archive, tmp_path):
    prompts, first_day_end = prompt_archive
    store = LocalDriftStore(tmp_path / "drift")

    baseline = drift_job(
        job("BASELINE", prompts, tmp_path, "--kind", "prompt", "--until", first_day_end), store, read_with_numpy
    )
    snapshot = drift_job(job("SNAPSHOT", prompts, tmp_path, "--kind", "prompt"), store, read_with_numpy)

    assert baseline["job_type"] == "BASELINE" and baseline["n_vectors"] == PROMPTS_PER_DAY
    assert snapshot["job_type"] == "SNAPSHOT" and snapshot["n_vectors"] == PROMPTS_PER_DAY * DAYS
    assert snapshot["baseline_run_id"] == baseline["run_id"]
    assert [run["job_type"] for run in store.runs()] == ["BASELINE", "SNAPSHOT"]


def test_without_kind_the_job_reads_chunks_and_finds_none_among_prompts(prompt_archive, tmp_path):
    prompts, _ = prompt_archive
    arguments = job("BASELINE", prompts, tmp_path)
    assert arguments.kind is RecordKind.CHUNK
    with pytest.raises(ArchiveError, match="holds no vectors"):
        drift_job(arguments, LocalDriftStore(tmp_path / "drift"), read_with_numpy)


def test_an_unknown_kind_is_refused_with_the_choices(tmp_path):
    with pytest.raises(SystemExit, match="chunk, prompt"):
        parse_job_arguments(
            [
                "job",
                "--job_type",
                "BASELINE",
                "--kind",
                "prompts",
                "--data_path",
                "/x",
                "--local_output",
                str(tmp_path),
            ],
            DRIFT_TYPES,
        )
