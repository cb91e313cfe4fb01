"""Embedding drift: has the corpus, or have the questions, moved away from the baseline?

Pure numpy/scipy; no AWS, Spark or CLI import here, so a Glue worker can import it from the
`--extra-py-files` zip. See `service` for the three runs and `store` for where results go.
"""

from ragline.drift.archive import ArchiveError, Selection, VectorBatch, read_local_archive
from ragline.drift.baseline import Baseline, BaselineOptions, fit_baseline
from ragline.drift.distance import DEFAULT_OUTLIER_Z, DistanceReport, measure_prompts, summarise_prompts
from ragline.drift.pca import PcaBasis, fit_pca
from ragline.drift.service import run_baseline, run_distance, run_snapshot
from ragline.drift.snapshot import DriftThresholds, SnapshotOptions, SnapshotReport, compare_snapshot
from ragline.drift.store import AwsDriftStore, DriftStore, LocalDriftStore, NoBaselineError

__all__ = [
    "DEFAULT_OUTLIER_Z",
    "ArchiveError",
    "AwsDriftStore",
    "Baseline",
    "BaselineOptions",
    "DistanceReport",
    "DriftStore",
    "DriftThresholds",
    "LocalDriftStore",
    "NoBaselineError",
    "PcaBasis",
    "Selection",
    "SnapshotOptions",
    "SnapshotReport",
    "VectorBatch",
    "compare_snapshot",
    "fit_baseline",
    "fit_pca",
    "measure_prompts",
    "read_local_archive",
    "run_baseline",
    "run_distance",
    "run_snapshot",
    "summarise_prompts",
]
