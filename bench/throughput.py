"""Ingestion throughput that a busy machine cannot fake (issue 15): ragline, the embedding-only floor and
LangChain on the same files, in interleaved rounds, each run with the CPU that other processes took during it.

Why: one run of each pipeline, minutes apart, recorded 4.6x against LangChain where an idle machine measured
1.56x, because the machine was loaded during LangChain's part only. Here every round runs the three pipelines
back to back, in an order that rotates from round to round, and each run records how many cores the rest of
the machine kept busy meanwhile (/proc/stat's busy time less this process's own CPU time, over the run's wall
time). A run above `--max-other-cores` is refused, and so is its round: the ratios are taken within a round
only, and reported as the median and the range over the accepted rounds.

The three pipelines:
* ragline: `engine.ingest` of the files into a fresh data folder (extraction, chunking, embedding, indexing);
* floor: the same model at the same precision embedding exactly the texts ragline embedded (read back from
  its index), the fastest way measured here (each text alone, one session per core), nothing else timed;
* langchain: bench/langchain_pipeline.py (PyPDFLoader, 1,000-character splits, HuggingFaceEmbeddings, Chroma),
  with the `bench` extra; left out with `--pipelines ragline,floor`.

Each run is a Python process of its own (`--child`), started fresh: nothing one run leaves behind (model
sessions, thread pools, a fragmented heap) reaches the next. In one process, five all-50 rounds saw ragline slow
from 487 to 511 s over an hour while the floor did not (RESULTS.md 3.10); in processes of their own, on the same
host and engine, the two moved together (3.11). ragline's run writes the texts it embedded to a file in the run's
scratch folder; the floor's run reads them from there. Each child times only its pipeline's work: starting
Python and loading the model are outside every figure, as they were in one process.

Each round but the last is appended, as soon as it ends, to bench/out/throughput-rounds.jsonl with the rounds so far
(`"complete": false`): an all-50 round takes most of an hour, and a run stopped early keeps what it finished.

After the rounds, the physical limit (bench/peak.py): the model's arithmetic on those texts at this machine's
measured matrix-multiply peak, and the median ragline and floor runs as multiples of it.

Usage:
    .venv/bin/python -m bench.throughput --limit-files 4 --rounds 3          # FinanceBench's first 4 PDFs
    .venv/bin/python -m bench.throughput --files demo/corpus/*.pdf --pipelines ragline,floor --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import REPO_ROOT, child_result, median_and_range, run_main, write_result

PIPELINES = ("ragline", "floor", "langchain")
#: Cores the rest of the machine may keep busy during a run before the run is refused: a tenth of a core is
#: the background of an idle machine here (kernel threads, the shell); a test suite or a build is far above.
MAX_OTHER_CORES = 0.1


@dataclass
class Run:
    pipeline: str
    seconds: float
    pages: int
    chunks: int
    other_cores: float  # mean cores busy outside this process during the run
    load_average: float  # 1-minute load average at the end, for the record (it includes this process)
    details: dict[str, object] = field(default_factory=dict)

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else float("nan")


def _busy_seconds() -> float:
    """CPU seconds every core has spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU seconds this process (every thread) and its finished children have used."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def measured() -> Iterator[dict[str, float]]:
    """Wall seconds of the block and the cores other processes kept busy meanwhile."""
    out: dict[str, float] = {}
    busy, own, started = _busy_seconds(), _own_seconds(), time.perf_counter()
    yield out
    wall = time.perf_counter() - started
    others = (_busy_seconds() - busy) - (_own_seconds() - own)
    out["seconds"] = wall
    out["other_cores"] = max(0.0, others / wall) if wall else 0.0


def order_of_round(number: int, pipelines: Sequence[str]) -> list[str]:
    """Round 0 runs ragline first (the floor embeds the texts it produced); each later round rotates the
    order by one, so no pipeline always runs first, or right after the same one."""
    ordered = [name for name in PIPELINES if name in pipelines]
    shift = number % len(ordered)
    return ordered[shift:] + ordered[:shift]


def run_ragline(files: Sequence[Path], precision: str) -> tuple[Run, list[str]]:
    from bench.financebench import bench_settings, engine_chunk_texts
    from ragline.bootstrap import build_engine

    with tempfile.TemporaryDirectory() as scratch:
        engine = build_engine(bench_settings(Path(scratch) / "data", precision))
        engine.embedder.embed(["warm up the model session outside the timing"])
        with measured() as timing:
            report = engine.ingest(files)
        texts = engine_chunk_texts(engine)
        engine.close()
    if report.failed:
        raise RuntimeError(f"ragline failed to ingest {[(item.source, item.reason) for item in report.failed]}")
    stages = {stage: round(value, 2) for stage, value in report.stage_seconds.items()}
    return _run("ragline", timing, report.pages, report.chunks, {"stage_seconds": stages}), texts


def run_floor(texts: Sequence[str], pages: int, precision: str) -> Run:
    from bench.financebench import floor_embedder

    embedder = floor_embedder(precision, texts)
    with measured() as timing:
        embedder.embed(list(texts))
    return _run("floor", timing, pages, len(texts), {})


def run_langchain(files: Sequence[Path]) -> Run:
    from bench.langchain_pipeline import run_pipeline

    with measured() as timing:
        result = run_pipeline(files)
    if result["failed"]:
        raise RuntimeError(f"LangChain failed to load {result['failed']}")
    # Its own total excludes loading the model; the block's wall time includes it, so its seconds are used.
    timing["seconds"] = float(result["seconds"])
    return _run("langchain", timing, int(result["pages"]), int(result["chunks"]), {"stages": result["stage_seconds"]})


def _run(pipeline: str, timing: dict[str, float], pages: int, chunks: int, details: dict[str, object]) -> Run:
    details = {**details, "process": os.getpid()}
    return Run(pipeline, timing["seconds"], pages, chunks, timing["other_cores"], os.getloadavg()[0], details)


def run_in_process(pipeline: str, files: Sequence[Path], precision: str, texts_file: Path) -> Run:
    """One run of `pipeline` in a fresh Python process (`--child`), which prints its Run as its last line.

    ragline's run writes the texts it embedded and its page count to `texts_file`; the floor's reads them."""
    command = [sys.executable, "-m", "bench.throughput", "--child", pipeline, "--precision", precision]
    command += ["--texts-file", str(texts_file), "--files", *map(str, files)]
    return Run(**child_result(command, f"the {pipeline} run", cwd=REPO_ROOT))


def child(pipeline: str, files: Sequence[Path], precision: str, texts_file: Path) -> Run:
    """What `--child` runs: one pipeline, in this process, once."""
    if pipeline == "ragline":
        result, texts = run_ragline(files, precision)
        texts_file.write_text(json.dumps({"pages": result.pages, "texts": texts}), encoding="utf-8")
        return result
    if pipeline == "floor":
        if not texts_file.is_file():
            raise RuntimeError(f"{texts_file}: no texts to embed; the floor runs after a ragline run has written them")
        saved = json.loads(texts_file.read_text(encoding="utf-8"))
        return run_floor(saved["texts"], saved["pages"], precision)
    return run_langchain(files)


def round_ratios(runs: dict[str, Run]) -> dict[str, float]:
    """The ratios the issue's targets read, within one round."""
    ratios = {}
    if "langchain" in runs:
        ratios["ragline_over_langchain_pages_per_second"] = (
            runs["ragline"].pages_per_second / runs["langchain"].pages_per_second
        )
    if "floor" in runs:
        ratios["ragline_seconds_over_floor_seconds"] = runs["ragline"].seconds / runs["floor"].seconds
    return ratios


def summarize(rounds: Sequence[dict[str, Run]], max_other_cores: float) -> dict[str, object]:
    """Median and range of each ratio over the rounds none of whose runs the rest of the machine disturbed."""
    accepted = [runs for runs in rounds if all(run.other_cores <= max_other_cores for run in runs.values())]
    summary: dict[str, object] = {"rounds": len(rounds), "rounds_accepted": len(accepted)}
    if not accepted:
        summary["refused"] = f"every round had a run while other processes kept more than {max_other_cores} cores busy"
        return summary
    for name in round_ratios(accepted[0]):
        values = [round_ratios(runs)[name] for runs in accepted]
        summary[name] = median_and_range(values)
    for pipeline in accepted[0]:
        speeds = [runs[pipeline].pages_per_second for runs in accepted]
        summary[f"{pipeline}_pages_per_second_median"] = round(statistics.median(speeds), 2)
    return summary


def physical_limit(rounds: Sequence[dict[str, Run]], texts: Sequence[str], pages: int, precision: str) -> dict:
    """The least time the model's arithmetic on the distinct texts takes at the measured peak (measured now,
    after the rounds, so on the same machine state), and the median runs as multiples of it."""
    from bench import peak
    from bench.scifact import make_embedder
    from ragline.adapters.local.embedding import packaged_model_dir

    shape = peak.model_shape(packaged_model_dir())
    distinct = list(dict.fromkeys(texts))
    token_counts = [count + 2 for count in make_embedder(precision).tokens.count_many(distinct)]  # [CLS], [SEP]
    rate = peak.matmul_peak(precision, shape, len(os.sched_getaffinity(0)))
    limit = peak.floor(token_counts, pages, precision, rate, shape)
    for pipeline in ("ragline", "floor"):
        seconds = [runs[pipeline].seconds for runs in rounds if pipeline in runs]
        if seconds:
            limit[f"{pipeline}_median_over_physical"] = round(statistics.median(seconds) / limit["seconds"], 2)
    return limit


def run(
    files: Sequence[Path],
    *,
    rounds: int = 3,
    pipelines: Sequence[str] = PIPELINES,
    precision: str = "fp32",
    max_other_cores: float = MAX_OTHER_CORES,
    record: bool = True,
    on_run: Callable[[int, Run], None] | None = None,
) -> dict[str, object]:
    if "ragline" not in pipelines:
        raise ValueError("the ratios are ragline's: --pipelines must include ragline")
    history: list[dict[str, Run]] = []
    with tempfile.TemporaryDirectory(prefix="ragline-throughput-") as scratch:
        texts_file = Path(scratch) / "texts.json"
        for number in range(rounds):
            runs: dict[str, Run] = {}
            for pipeline in order_of_round(number, pipelines):
                runs[pipeline] = run_in_process(pipeline, files, precision, texts_file)
                if on_run:
                    on_run(number, runs[pipeline])
            history.append(runs)
            if record and number + 1 < rounds:
                # A round of all 50 PDFs takes most of an hour: a run stopped early keeps the rounds it finished.
                so_far = _row(files, precision, max_other_cores, history)
                write_result("throughput-rounds", {**so_far, "complete": False})
        # Only the recorded row's physical limit needs the texts back.
        saved = json.loads(texts_file.read_text(encoding="utf-8")) if record and texts_file.is_file() else None
    row = _row(files, precision, max_other_cores, history)
    if saved and saved["texts"]:
        row["physical_limit"] = physical_limit(history, saved["texts"], saved["pages"], precision)
    if record:
        write_result("throughput", row)
    return row


def _row(files: Sequence[Path], precision: str, max_other_cores: float, history: Sequence[dict[str, Run]]) -> dict:
    return {
        "files": [path.name for path in files],
        "precision": precision,
        "max_other_cores": max_other_cores,
        "runs": [
            {"round": number, **vars(run), "pages_per_second": run.pages_per_second}
            for number, runs in enumerate(history)
            for run in runs.values()
        ],
        "summary": summarize(history, max_other_cores),
    }


def _print_run(number: int, run: Run) -> None:
    print(
        f"round {number}: {run.pipeline:9s} {run.seconds:8.1f} s  {run.pages_per_second:7.2f} pages/s  "
        f"{run.chunks:6d} chunks  other processes {run.other_cores:.2f} cores",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--limit-files", type=int, help="FinanceBench's first N PDFs (default: all 50)")
    source.add_argument("--files", type=Path, nargs="+", help="these PDFs instead of FinanceBench's")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pipelines", default=",".join(PIPELINES), help="comma-separated, from " + ",".join(PIPELINES))
    parser.add_argument("--precision", default="fp32", choices=["fp32", "int8", "bf16"])
    parser.add_argument("--max-other-cores", type=float, default=MAX_OTHER_CORES)
    # One run in this process, for the rounds' parent (run_in_process); not for use by hand.
    parser.add_argument("--child", choices=PIPELINES, help=argparse.SUPPRESS)
    parser.add_argument("--texts-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        if not args.files or not args.texts_file:
            parser.error("--child needs --files and --texts-file")
        print(json.dumps(vars(child(args.child, args.files, args.precision, args.texts_file))))
        return
    pipelines = [name.strip() for name in args.pipelines.split(",") if name.strip()]
    if unknown := set(pipelines) - set(PIPELINES):
        parser.error(f"--pipelines: unknown {sorted(unknown)}; choose from {', '.join(PIPELINES)}")
    if args.files:
        files = list(args.files)
    else:
        from bench.financebench import pdf_files

        files = pdf_files(args.limit_files)
    row = run(
        files,
        rounds=args.rounds,
        pipelines=pipelines,
        precision=args.precision,
        max_other_cores=args.max_other_cores,
        on_run=_print_run,
    )
    print(json.dumps(row["summary"], indent=1))


if __name__ == "__main__":
    raise SystemExit(run_main(main))
