"""Size of each Lambda function's assets and cold import time of its handler, built by stacks/assets.py.

Sizes: each function's requirement set as it deploys (CPython 3.14 manylinux x86_64 wheels,
pruned exactly as the CDK bundling does: `stacks.assets.install_dependencies`), unzipped
(Lambda's 250 MB limit applies to the unzipped function + layers) and zipped (deflate level 9),
plus its code asset (`stacks.assets.code_asset`).

Cold imports: only Python 3.11 runs on this machine, so the same set (same pins, same pruning)
is built for the local interpreter (`python_version=None`). Each handler module is imported in
a fresh `python -I -S` whose sys.path holds only the stdlib, the code asset, the set and the
pinned boto3/botocore the runtime provides, with Powertools' tracer on as in Lambda
(`stacks.assets.import_check`). Two modes: `-B`, as the deployed asset (no bytecode shipped;
Lambda's file system is read-only, so every cold start compiles), and with bytecode cached.
Two spans: the handler module (what Lambda imports at init), and the handler plus what its first
invocation imports (`stacks.assets.FIRST_CALL_MODULES`: the adapters, opensearch-py, boto3),
which the first request waits for too. Each cell is the median (and the fastest) of `--repeat`
runs. `--breakdown` prints `-X importtime` self time per top-level package for one function.

Usage:
    nice -n 10 .venv/bin/python bench/handlers.py [--repeat 7] [--breakdown query]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stacks import assets

WORKDIR = assets.BUILD_DIR / "assets-bench"
LAMBDA_LIMIT_MB = 250
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)")


def megabytes(path: Path) -> float:
    return assets.tree_bytes(path) / 1e6


def zipped_megabytes(path: Path) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "asset.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
            for item in sorted(path.rglob("*")):
                if item.is_file() and item.name != assets.DIGEST_FILE:
                    bundle.write(item, item.relative_to(path))
        return archive.stat().st_size / 1e6


def largest_parts(site: Path, count: int = 6) -> str:
    sizes = {entry.name: megabytes(entry) if entry.is_dir() else entry.stat().st_size / 1e6 for entry in site.iterdir()}
    return ", ".join(f"{name} {size:.0f}" for name, size in Counter(sizes).most_common(count))


def size_rows() -> list[str]:
    rows = [
        "| function | set | dependencies MB unzipped / zipped | code MB | total MB (limit 250) | largest parts (MB) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for function in assets.FUNCTIONS:
        site = assets.install_dependencies(function, WORKDIR / f"{function}-lambda")
        code = assets.code_asset(function, WORKDIR / f"{function}-code")
        total = megabytes(site) + megabytes(code)
        rows.append(
            f"| {function} | {assets.requirement_set(function)} | {megabytes(site):.1f} / {zipped_megabytes(site):.1f} "
            f"| {megabytes(code):.2f} | {total:.1f} | {largest_parts(site)} |"
        )
    return rows


def local_assets(function: str, variant: str) -> tuple[Path, Path, Path]:
    """The local build, materialized per variant: `-B` runs must not find bytecode another run wrote."""
    folder = WORKDIR / variant
    site = assets.install_dependencies(function, folder / f"{function}-local", python_version=None)
    sdk = assets.install_runtime_sdk(folder / "sdk-local")
    return assets.code_asset(function, folder / f"{function}-code"), site, sdk


def _cell(runs: list[float]) -> str:
    """`median (fastest)`: on a shared machine the fastest run is the least disturbed."""
    return f"{statistics.median(runs):.0f} ({min(runs):.0f})"


def import_milliseconds(function: str, repeat: int, *, bytecode: bool) -> tuple[str, str]:
    """The handler's import and the handler's with its first-call imports, over `repeat` fresh interpreters."""
    code, site, sdk = local_assets(function, "bytecode" if bytecode else "no-bytecode")
    if bytecode:  # compile once, so the timed runs read cached bytecode
        assets.import_check(function, code, site, sdk)
    handler, total = [], []
    for _ in range(repeat):
        result = assets.import_check(function, code, site, sdk, bytecode=bytecode)
        handler.append(result["handler_seconds"] * 1000)
        total.append(result["total_seconds"] * 1000)
    return _cell(handler), _cell(total)


def import_rows(repeat: int) -> list[str]:
    rows = [
        "| function | packages loaded from its set at first call | handler import ms, -B (as deployed) "
        "| with bytecode | handler + first-call imports ms, -B | with bytecode |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for function in assets.FUNCTIONS:
        code, site, sdk = local_assets(function, "bytecode")
        loaded = assets.import_check(function, code, site, sdk)["from_dependencies"]
        cold, cold_total = import_milliseconds(function, repeat, bytecode=False)
        warm, warm_total = import_milliseconds(function, repeat, bytecode=True)
        rows.append(f"| {function} | {len(loaded)} | {cold} | {warm} | {cold_total} | {warm_total} |")
    return rows


def breakdown(function: str, *, bytecode: bool) -> list[str]:
    """Self import time of the handler per top-level package (`-X importtime`), largest first; with
    -B a module's self time includes compiling it."""
    code, site, sdk = local_assets(function, "bytecode" if bytecode else "no-bytecode")
    paths = [str(path.resolve()) for path in (code, site, sdk)]
    script = f"import sys; sys.path[:0] = {paths!r}; import {assets.handler_module(function)}"
    result = subprocess.run(
        [sys.executable, "-I", "-S", *([] if bytecode else ["-B"]), "-X", "importtime", "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **assets.LAMBDA_ENVIRONMENT},
        check=True,
    )
    totals: Counter[str] = Counter()
    for line in result.stderr.splitlines():
        if match := _IMPORT_LINE.match(line):
            totals[match.group(3).split(".")[0]] += int(match.group(1)) / 1000
    total = sum(totals.values())
    mode = "bytecode cached" if bytecode else "-B"
    rows = [f"`-X importtime` self time of `{function}` by top-level package, {mode} ({total:.0f} ms in all):"]
    rows += [f"- {name}: {ms:.0f} ms" for name, ms in totals.most_common(12)]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--breakdown", choices=assets.FUNCTIONS)
    arguments = parser.parse_args()
    interpreter = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, {interpreter}, "
          f"load {os.getloadavg()[0]:.2f}\n")  # fmt: skip
    print("\n".join(size_rows()), end="\n\n")
    print("\n".join(import_rows(arguments.repeat)), end="\n\n")
    if arguments.breakdown:
        for bytecode in (True, False):
            print("\n".join(breakdown(arguments.breakdown, bytecode=bytecode)), end="\n\n")
    print(f"\nload average at the end: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()
