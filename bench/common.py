"""Shared pieces of the benchmark suite: data location, metrics, timing, machine facts, results.

The evaluation data (BEIR SciFact, FinanceBench) carries non-commercial licences: it is read in place from
``../shared/data`` relative to the repository root and never copied into the repository. Every benchmark
raises `DataMissingError` when it is absent, and the command-line entry points turn that into a clear message and
exit status 0, so a machine without the data skips the benchmarks instead of failing.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RAGLINE_BENCH_DATA", REPO_ROOT.parent / "shared" / "data"))
OUT_DIR = REPO_ROOT / "bench" / "out"  # git-ignored: caches, raw result rows, logs


class DataMissingError(RuntimeError):
    """The evaluation data set is not on this machine."""


def data_dir(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        raise DataMissingError(f"{path} is absent: the {name} benchmark needs ../shared/data (not shipped, licence)")
    return path


def run_main(main, argv: Sequence[str] | None = None) -> int:  # type: ignore[no-untyped-def]
    """Run a benchmark's main; a missing data set is a skip (exit 0) with a message, not a failure."""
    try:
        main(argv)
    except DataMissingError as missing:
        print(f"SKIPPED: {missing}", file=sys.stderr)
        return 0
    return 0


def chunking_overrides(spec: str | None) -> dict[str, object]:
    """`--chunking contextual_header=false,overlap_tokens=0` as chunking settings, each value read as JSON.

    For ablations: the benchmarks clear the caller's RAGLINE_* variables so that nothing unrecorded moves a
    result; a setting under trial is passed here instead and recorded in the result row.
    """
    from ragline.config import ChunkingSettings

    if not spec:
        return {}
    overrides: dict[str, object] = {}
    for item in spec.split(","):
        key, equals, raw = item.partition("=")
        key = key.strip()
        if not equals or key not in ChunkingSettings.model_fields:
            raise ValueError(
                f"--chunking {spec!r}: {item!r} is not key=value with a key of {sorted(ChunkingSettings.model_fields)}"
            )
        try:
            overrides[key] = json.loads(raw)
        except json.JSONDecodeError as bad:
            raise ValueError(f"--chunking {spec!r}: the value of {key} is not JSON (true, false, a number)") from bad
    ChunkingSettings(**overrides)  # refuses what the engine would refuse, before any work starts
    return overrides


# --- ranking metrics (the trec_eval definitions) -------------------------------------------------


def ndcg_at_k(ranking: Sequence[str], relevance: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with graded gains rel / log2(rank + 1), as trec_eval's ndcg_cut (linear gain).

    The ideal ranking sorts every judged relevant document (rel > 0) by relevance; a query with no
    relevant document scores 0, as trec_eval reports it.
    """
    gains = [relevance.get(doc, 0) for doc in ranking[:k]]
    dcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains) if gain > 0)
    ideal = sorted((rel for rel in relevance.values() if rel > 0), reverse=True)[:k]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranking: Sequence[str], relevance: Mapping[str, int], k: int = 100) -> float:
    relevant = {doc for doc, rel in relevance.items() if rel > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def child_result(command: Sequence[str], what: str, *, cwd: Path | None = None) -> dict:
    """Run a benchmark's child process (a run kept apart from the others) and read the JSON object it prints as its
    last line. A child that fails raises, naming `what`, its exit status and the end of its stderr."""
    done = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_and_range(values: Sequence[float]) -> dict[str, float]:
    """The median of interleaved rounds' ratios with their spread, as every benchmark here reports them."""
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- context and results -------------------------------------------------------------------------


def machine() -> dict[str, object]:
    """The facts a reader needs to compare a number with theirs."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = float("nan")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "git_commit": _git_commit(),
        "simd": _simd_kernels(),
    }


def _simd_kernels() -> list[str]:
    """The SimSIMD kernel families this CPU runs (the dense search's first pass depends on them)."""
    try:
        import simsimd
    except ImportError:  # a run under another interpreter (bench.textract_parse on the Lambda runtime's)
        return ["simsimd not installed"]
    return sorted(name for name, enabled in simsimd.get_capabilities().items() if enabled)


def _git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return f"{commit}+uncommitted" if changed else commit
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_result(name: str, row: Mapping[str, object], out_dir: Path | None = None) -> Path:
    """Append one result row (with the machine facts and the command line) to ``bench/out/<name>.jsonl``."""
    out_dir = out_dir or OUT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.jsonl"
    record = {"benchmark": name, "command": " ".join(sys.argv), "machine": machine(), **row}
    with path.open("a") as handle:
        handle.write(json.dumps(record, default=str) + "\n")
    return path


class Timer:
    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started


def fmt(value: float, digits: int = 4) -> str:
    return "nan" if value != value else f"{value:.{digits}f}"
