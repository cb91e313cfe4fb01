"""The CPU that ingestion spends outside embedding, stage by stage, against another commit's (issue 15).

Section 3.3 of bench/RESULTS.md bounds ragline's ingestion time below by the embedding-only floor's times
(1 + O/E): E is the embedder's CPU, O every other core-second the process spends while the embedder holds both
cores (extracting, chunking, writing the stores). On all 50 FinanceBench PDFs E is about 1,300 core-seconds, so
staying within 1.05x the floor needs O under about 65. The full rounds (bench/throughput.py) take over an hour;
this measures O alone in about a minute a run: `engine.ingest` of the files into a fresh data folder with an
embedder that costs nothing (the same unit vector for every text), so that all the process spends is O.

Measured per run: the CPU of every thread (the tokenizer's worker threads included), the wall time, and each
stage's CPU on its own thread (`time.thread_time` in the engine's stage timer, `ragline.ingest._timed`).

With `--baseline DIR`, a checkout of another commit (`git worktree add /tmp/base <rev>`; any commit since the
three-thread pipeline, which has `_timed`), the same files go through that checkout's engine too. Each run is a
process of its own, importing its checkout's `ragline`, in interleaved rounds whose order reverses; each records
the cores other processes kept busy meanwhile, and a round above `--max-other-cores` is refused. Both sides must
embed the same texts (one hash over them): a difference stops the run.

Usage:
    .venv/bin/python -m bench.outside_embedding --limit-files 50 --rounds 4 --baseline /tmp/base
    .venv/bin/python -m bench.outside_embedding --files demo/corpus/*.pdf --rounds 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.common import REPO_ROOT, child_result, median_and_range, run_main, write_result
from bench.throughput import MAX_OTHER_CORES, measured

# The child's code: run with `python -c`, so that it imports nothing from this checkout's bench package (the
# baseline's may predate this module). It prints one JSON object.
CHILD = r"""
import contextlib, hashlib, json, os, resource, sys, tempfile, threading, time
from pathlib import Path

tree, files = sys.argv[1], [Path(name) for name in sys.argv[2:]]
sys.path.insert(0, tree)
for variable in [name for name in os.environ if name.startswith("RAGLINE_")]:
    del os.environ[variable]  # the caller's settings and ragline.toml stay out of the measurement

import numpy as np
import ragline.ingest
from ragline.bootstrap import build_engine
from ragline.config import Settings

stage_cpu, lock = {}, threading.Lock()

@contextlib.contextmanager
def timed(totals, stage):
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        with lock:
            totals[stage] = totals.get(stage, 0.0) + time.perf_counter() - wall
            stage_cpu[stage] = stage_cpu.get(stage, 0.0) + time.thread_time() - cpu

ragline.ingest._timed = timed

class FreeEmbedder:
    # The real model's name, size and tokenizer (the chunker sizes chunks with it); vectors that cost nothing.
    def __init__(self, real):
        self.model_name, self.dimension, self.tokens = real.model_name, real.dimension, real.tokens
        vector = np.random.default_rng(0).standard_normal(real.dimension).astype(np.float32)
        self._vector = vector / np.linalg.norm(vector)
        self.texts = []

    def embed(self, texts):
        self.texts.extend(texts)
        return [self._vector.copy() for _ in texts]

def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

with tempfile.TemporaryDirectory() as scratch:
    real = build_engine(Settings(data_dir=Path(scratch) / "model")).embedder
    embedder = FreeEmbedder(real)
    engine = build_engine(Settings(data_dir=Path(scratch) / "data"), embedder=embedder)
    cpu, wall = cpu_seconds(), time.perf_counter()
    report = engine.ingest(files)
    cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    engine.close()
digest = hashlib.sha256("\x00".join(embedder.texts).encode()).hexdigest()
print(json.dumps({
    "ragline": ragline.__file__,
    "cpu_seconds": cpu,
    "wall_seconds": wall,
    "stage_cpu_seconds": stage_cpu,
    "stage_wall_seconds": dict(report.stage_seconds),
    "pages": report.pages,
    "chunks": report.chunks,
    "failed": [[status.source, status.reason] for status in report.failed],
    "texts_sha256": digest,
}))
"""


def run_once(tree: Path, files: Sequence[Path]) -> dict[str, object]:
    """One ingestion by `tree`'s engine in a process of its own, with the cores others kept busy meanwhile."""
    with measured() as timing:
        run = child_result([sys.executable, "-c", CHILD, str(tree), *map(str, files)], f"the run of {tree}")
    if run["failed"]:
        raise RuntimeError(f"{tree} failed to ingest {run['failed']}")
    if not Path(run["ragline"]).is_relative_to(tree):
        raise RuntimeError(f"the run meant for {tree} imported ragline from {run['ragline']}")
    run["other_cores"] = round(timing["other_cores"], 3)
    return run


def measure(
    files: Sequence[Path], rounds: int, baseline: Path | None, max_other_cores: float = MAX_OTHER_CORES
) -> dict[str, object]:
    sides = {"ours": REPO_ROOT, **({"baseline": baseline} if baseline else {})}
    accepted: list[dict[str, dict[str, object]]] = []
    refused = 0
    for number in range(rounds):
        runs = {}
        for side in list(sides) if number % 2 == 0 else list(sides)[::-1]:
            runs[side] = run_once(sides[side], files)
            print(f"round {number}: {side:8s} {_summary(runs[side])}")
        if len({run["texts_sha256"] for run in runs.values()}) > 1:
            raise SystemExit("the two checkouts embedded different texts: their CPU is not comparable")
        if max(float(run["other_cores"]) for run in runs.values()) > max_other_cores:  # type: ignore[arg-type]
            refused += 1
            print(f"round {number} refused: other processes kept more than {max_other_cores} cores busy")
        else:
            accepted.append(runs)
    if not accepted:
        raise SystemExit(f"every round ran beside other work (> {max_other_cores} cores): nothing to report")
    row: dict[str, object] = {
        "rounds": accepted,
        "refused_rounds": refused,
        "sides": {k: str(v) for k, v in sides.items()},
    }
    row["median_cpu_seconds"] = {side: _median([runs[side]["cpu_seconds"] for runs in accepted]) for side in sides}
    if baseline:
        ratios = [float(runs["ours"]["cpu_seconds"]) / float(runs["baseline"]["cpu_seconds"]) for runs in accepted]  # type: ignore[arg-type]
        row["ours_over_baseline"] = median_and_range(ratios)
    return row


def _summary(run: dict[str, object]) -> str:
    stages = ", ".join(
        f"{stage} {seconds:.1f}" for stage, seconds in run["stage_cpu_seconds"].items() if seconds >= 0.05
    )  # type: ignore[attr-defined]
    return (
        f"{run['cpu_seconds']:7.2f} CPU-s in {run['wall_seconds']:6.2f} s (stages, own thread: {stages}); "
        f"others {run['other_cores']} cores"
    )


def _median(values: Sequence[object]) -> float:
    return round(statistics.median(float(value) for value in values), 3)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> None:
    from bench.financebench import pdf_files

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--limit-files", type=int, help="FinanceBench's first N PDFs (default: all 50)")
    source.add_argument("--files", type=Path, nargs="+", help="these PDFs instead of FinanceBench's")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--baseline", type=Path, help="a checkout of another commit to compare with")
    parser.add_argument("--max-other-cores", type=float, default=MAX_OTHER_CORES)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.baseline and not (args.baseline / "ragline" / "ingest.py").is_file():
        parser.error(f"--baseline {args.baseline}: not a ragline checkout (no ragline/ingest.py)")
    files = [file.resolve() for file in (args.files or pdf_files(args.limit_files))]
    row = measure(files, args.rounds, args.baseline.resolve() if args.baseline else None, args.max_other_cores)
    print(
        f"{len(files)} files: median CPU {row['median_cpu_seconds']}; ours / baseline {row.get('ours_over_baseline')}"
    )
    write_result("outside_embedding", {"files": [file.name for file in files], **row})


if __name__ == "__main__":
    run_main(main)
