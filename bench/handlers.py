"""Cold import time of each AWS Lambda handler, and the size of what each Lambda asset ships.

Assets: the Lambdas share one dependencies layer (`lambdas/requirements.txt`, plus what the
ragline package itself imports on AWS, `RUNTIME_EXTRAS`) and the ragline package; each function
adds its own `lambdas/<name>/` shim. The layer is installed exactly as the CDK bundling does
(`pip install --platform manylinux2014_x86_64 --only-binary=:all:` for CPython 3.11) into a
temporary folder, ragline is installed next to it with `--no-deps`, and sizes are measured
unzipped (Lambda's 250 MB limit applies to the unzipped total) and zipped (deflate level 9).

Import times: each handler module is imported in a fresh interpreter (`python -X importtime`)
that sees only the standard library, the installed asset and the SDK the runtime provides
(`-I -S`, those folders on sys.path), with the Lambda environment variables that switch Powertools' tracer on, as on
AWS. `--repeat` runs per module; the median and the slowest (the first, disk-cold) are kept.

Usage:
    nice -n 10 .venv/bin/python bench/handlers.py [--repeat 5] [--python /usr/bin/python3.11] [--keep DIR]
        [--override numpy==2.2.6 --override pandas==2.3.2]
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
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO / "lambdas" / "requirements.txt"
# Imported by ragline on AWS but missing from lambdas/requirements.txt (pins as in the project venv):
# pydantic-settings (ragline.config), tenacity (retries), and, because ragline.bootstrap imports the
# local adapters eagerly, httpx (OpenAI-compatible generator) and pypdfium2 (local extractor).
RUNTIME_EXTRAS = ("pydantic-settings==2.16.3", "tenacity==9.1.2", "httpx==0.28.1", "pypdfium2==5.15.2")
# Provided by the Lambda Python runtime; the CDK bundling deletes them from the layer.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
HANDLERS = {
    "ingest_start": "ragline.entrypoints.lambdas.ingest_start",
    "index_document": "ragline.entrypoints.lambdas.index_document",
    "delete_document": "ragline.entrypoints.lambdas.delete_document",
    "query": "ragline.entrypoints.lambdas.query",
    "index_bootstrap": "ragline.entrypoints.lambdas.index_bootstrap",
}
LAMBDA_ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "ragline-bench",  # Powertools: running in Lambda, tracer on
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "ragline",
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
}
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def pip_install(target: Path, *arguments: str) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target",
               str(target), *arguments]  # fmt: skip
    subprocess.run(command, check=True)


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>!~ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def layer_requirements(overrides: list[str]) -> list[str]:
    """lambdas/requirements.txt plus RUNTIME_EXTRAS, with `overrides` replacing the pins of the same names."""
    lines = [line.strip() for line in REQUIREMENTS.read_text().splitlines()]
    wanted = [line for line in lines if line and not line.startswith("#")] + list(RUNTIME_EXTRAS)
    replaced = {_name(override): override for override in overrides}
    return [replaced.pop(_name(line), line) for line in wanted] + list(replaced.values())


def build_layer(target: Path, requirements: list[str]) -> None:
    # Lambda's python3.11 runtime runs on Amazon Linux 2 (glibc 2.26): manylinux2014 wheels only.
    pip_install(
        target,
        "--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", "3.11",
        "--only-binary=:all:", *requirements,
    )  # fmt: skip


def move_runtime_provided(layer: Path, runtime: Path) -> None:
    """Move out what the Lambda runtime provides (its /var/runtime): not shipped, but importable."""
    runtime.mkdir(parents=True, exist_ok=True)
    for entry in list(layer.iterdir()):
        if entry.name.split("-")[0].lower() in RUNTIME_PROVIDED:
            shutil.move(str(entry), runtime / entry.name)


def size_mb(path: Path, *, bytecode: bool = True, tests: bool = True) -> float:
    """Unzipped size; optionally without the `__pycache__` pip compiles and the packages' own test suites."""
    total = 0
    for item in path.rglob("*"):
        if not item.is_file() or (not bytecode and "__pycache__" in item.parts):
            continue
        if not tests and any(part in ("tests", "test") for part in item.relative_to(path).parts):
            continue
        total += item.stat().st_size
    return total / 1e6


def zipped_mb(path: Path) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "asset.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
            for item in sorted(path.rglob("*")):
                if item.is_file() and "__pycache__" not in item.parts:
                    bundle.write(item, item.relative_to(path))
        return archive.stat().st_size / 1e6


def import_microseconds(python: str, paths: list[Path], module: str) -> int:
    """Cumulative import time of `module` in a fresh interpreter that sees only stdlib and `paths`."""
    code = f"import sys; sys.path[:0] = {[str(path) for path in paths]!r}; import {module}"
    environment = {"PATH": os.environ.get("PATH", ""), **LAMBDA_ENVIRONMENT}
    result = subprocess.run(
        [python, "-I", "-S", "-X", "importtime", "-c", code], capture_output=True, text=True, env=environment
    )
    if result.returncode:
        raise RuntimeError(f"{module} does not import from the asset:\n{result.stderr[-2000:]}")
    for line in result.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match and match.group(4) == module and not match.group(3).strip(" "):
            return int(match.group(2))
    totals = [int(match.group(2)) for line in result.stderr.splitlines() if (match := _IMPORT_LINE.match(line))]
    return sum(totals)


def measure(python: str, repeat: int, keep: Path | None, overrides: list[str]) -> str:
    workdir = Path(keep or tempfile.mkdtemp(prefix="ragline-assets-"))
    layer, package, runtime = workdir / "layer", workdir / "ragline", workdir / "runtime"
    shutil.rmtree(workdir, ignore_errors=True)
    requirements = layer_requirements(overrides)
    build_layer(layer, requirements)
    full_layer_mb = size_mb(layer)
    move_runtime_provided(layer, runtime)
    pip_install(package, "--no-deps", "--no-compile", str(REPO))
    shutil.rmtree(next(package.glob("ragline-*.dist-info")), ignore_errors=True)
    rows = [
        f"Layer requirements: `{' '.join(requirements)}`",
        "",
        "| asset | unzipped MB | zipped MB |",
        "|---|---:|---:|",
        f"| dependencies layer, as installed (boto3/botocore included) | {full_layer_mb:.1f} | |",
        f"| layer without the SDK the runtime provides | {size_mb(layer):.1f} | {zipped_mb(layer):.1f} |",
        f"| layer without SDK, without `__pycache__` | {size_mb(layer, bytecode=False):.1f} | |",
        f"| layer without SDK, `__pycache__`, `tests/` | {size_mb(layer, bytecode=False, tests=False):.1f} | |",
        f"| ragline package (no dependencies) | {size_mb(package):.2f} | {zipped_mb(package):.2f} |",
    ]
    for name in HANDLERS:
        shim = REPO / "lambdas" / name
        if shim.is_dir():
            rows.append(f"| `lambdas/{name}/` shim | {size_mb(shim):.3f} | |")
    total = size_mb(layer) + size_mb(package)
    lean = size_mb(layer, bytecode=False, tests=False) + size_mb(package, bytecode=False)
    rows.append(
        f"| **each function: layer + ragline + shim, as installed / pruned** | **{total:.1f} / {lean:.1f}** |  |"
    )
    rows += ["", "| handler module | median import ms | slowest (first) ms |", "|---|---:|---:|"]
    for module in HANDLERS.values():
        runs = [import_microseconds(python, [package, layer, runtime], module) / 1000 for _ in range(repeat)]
        rows.append(f"| `{module}` | {statistics.median(runs):.0f} | {max(runs):.0f} |")
    if keep is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--python", default=shutil.which("python3.11") or sys.executable)
    parser.add_argument("--keep", type=Path, help="build the assets in this folder and keep them")
    parser.add_argument(
        "--override", action="append", default=[], help="replace a pin of the layer, e.g. numpy==2.2.6 (repeatable)"
    )
    arguments = parser.parse_args()
    table = measure(arguments.python, arguments.repeat, arguments.keep, arguments.override)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
          f"{platform.python_implementation()} {platform.python_version()}\n")  # fmt: skip
    print(table)


if __name__ == "__main__":
    main()
