"""Size of each Lambda function's assets and cold import time of its handler, built by stacks/assets.py.

Sizes: each function's requirement set as it deploys (CPython 3.14 manylinux x86_64 wheels,
pruned exactly as the CDK bundling does: `stacks.assets.install_dependencies`), unzipped
(Lambda's 250 MB limit applies to the unzipped function + layers) and zipped (deflate level 9),
plus its code asset (`stacks.assets.code_asset`).

Cold imports: the deployed sets themselves, under a CPython of the runtime's version
(`stacks.lambda_python`; on this Debian 12 machine, Debian testing's 3.14 unpacked by `make
lambda-python`). Each handler module is imported in a fresh `python -B -I -S` (-B: nothing is
written, as on Lambda's read-only file system) whose sys.path holds only the stdlib, the code
asset, the set and the pinned boto3/botocore the runtime provides (compiled, as the runtime's
are), with Powertools' tracer on as in Lambda (`stacks.assets.import_check`). Two builds, run
interleaved (alternating which goes first): as deployed, with the bytecode the assets ship, and
the same files without it (the build before bytecode shipped). Two spans: the handler module (what
Lambda imports at init), and the handler plus what its first invocation imports
(`stacks.assets.FIRST_CALL_MODULES`: the adapters, opensearch-py, boto3), which the first request
waits for too. Each cell is the median (and the fastest) of `--repeat` runs. `--breakdown` prints
`-X importtime` self time per top-level package for one function.

Usage:
    nice -n 10 .venv/bin/python bench/handlers.py [--repeat 7] [--breakdown query]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stacks import assets, lambda_python

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


def lambda_assets(function: str, *, shipped_bytecode: bool) -> tuple[Path, Path, Path]:
    """The function's code asset, its set and the runtime's SDK as they deploy; without their bytecode
    (a copy with no `__pycache__`) when `shipped_bytecode` is false."""
    site = assets.install_dependencies(function, WORKDIR / "lambda" / f"{function}-deps")
    code = assets.code_asset(function, WORKDIR / "lambda" / f"{function}-code")
    sdk = runtime_sdk()
    if shipped_bytecode:
        return code, site, sdk
    return tuple(_without_bytecode(path) for path in (code, site, sdk))  # type: ignore[return-value]


def runtime_sdk() -> Path:
    marker = WORKDIR / "lambda" / "sdk" / ".ragline-bytecode"
    sdk = assets.install_runtime_sdk(WORKDIR / "lambda" / "sdk", python_version=assets.LAMBDA_PYTHON)
    if not marker.is_file():
        assets.compile_bytecode(sdk)
        marker.touch()
    return sdk


def _without_bytecode(path: Path) -> Path:
    copy = WORKDIR / "no-bytecode" / path.name
    if not copy.is_dir():
        shutil.copytree(path, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return copy


def _cell(runs: list[float]) -> str:
    """`median (fastest)`: on a shared machine the fastest run is the least disturbed."""
    return f"{statistics.median(runs):.0f} ({min(runs):.0f})"


def import_milliseconds(function: str, repeat: int) -> dict[bool, tuple[list[float], list[float]]]:
    """Handler and handler + first-call import times, per build (True: as deployed), in interleaved rounds."""
    python = str(lambda_python.interpreter())
    times: dict[bool, tuple[list[float], list[float]]] = {True: ([], []), False: ([], [])}
    builds = {shipped: lambda_assets(function, shipped_bytecode=shipped) for shipped in (True, False)}
    for round_number in range(repeat):
        for shipped in (True, False) if round_number % 2 == 0 else (False, True):
            result = assets.import_check(function, *builds[shipped], python=python, bytecode=False)
            times[shipped][0].append(result["handler_seconds"] * 1000)
            times[shipped][1].append(result["total_seconds"] * 1000)
    return times


def import_rows(repeat: int, functions: list[str]) -> list[str]:
    rows = [
        "| function | packages loaded from its set at first call | handler import ms, as deployed "
        "| without shipped bytecode | handler + first-call imports ms, as deployed | without shipped bytecode |",
        "|---|---|---:|---:|---:|---:|",
    ]
    python = str(lambda_python.interpreter())
    for function in functions:
        loaded = assets.import_check(function, *lambda_assets(function, shipped_bytecode=True), python=python)
        times = import_milliseconds(function, repeat)
        rows.append(
            f"| {function} | {len(loaded['from_dependencies'])} | {_cell(times[True][0])} | {_cell(times[False][0])} "
            f"| {_cell(times[True][1])} | {_cell(times[False][1])} |"
        )
    return rows


def breakdown(function: str, *, shipped_bytecode: bool) -> list[str]:
    """Self import time of the handler per top-level package (`-X importtime`), largest first; without
    shipped bytecode a module's self time includes compiling it."""
    paths = [str(path.resolve()) for path in lambda_assets(function, shipped_bytecode=shipped_bytecode)]
    script = f"import sys; sys.path[:0] = {paths!r}; import {assets.handler_module(function)}"
    result = subprocess.run(
        [str(lambda_python.interpreter()), "-B", "-I", "-S", "-X", "importtime", "-c", script],
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
    mode = "as deployed" if shipped_bytecode else "without shipped bytecode"
    rows = [f"`-X importtime` self time of `{function}` by top-level package, {mode} ({total:.0f} ms in all):"]
    rows += [f"- {name}: {ms:.0f} ms" for name, ms in totals.most_common(12)]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--breakdown", choices=assets.FUNCTIONS)
    parser.add_argument("--only", choices=assets.FUNCTIONS, nargs="+", help="time these functions' imports only")
    arguments = parser.parse_args()
    version = subprocess.run(
        [str(lambda_python.interpreter()), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    interpreter = f"CPython {version} at {lambda_python.interpreter()}"
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, {interpreter}, "
          f"load {os.getloadavg()[0]:.2f}\n")  # fmt: skip
    if not arguments.only:
        print("\n".join(size_rows()), end="\n\n")
    print("\n".join(import_rows(arguments.repeat, arguments.only or list(assets.FUNCTIONS))), end="\n\n")
    if arguments.breakdown:
        for shipped in (True, False):
            print("\n".join(breakdown(arguments.breakdown, shipped_bytecode=shipped)), end="\n\n")
    print(f"\nload average at the end: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()
