"""The one builder of the Lambda assets, used by the CDK bundling, the tests and the bench (no CDK here).

Each function ships two assets:
- its dependencies: the requirement set it imports, pip-installed for the Lambda runtime
  (CPython 3.14, manylinux x86_64 wheels only) and pruned of what it never imports; the CDK
  app deploys each set as one layer, shared by the functions that need the same set;
- its code: the handler folder `lambdas/<function>/` plus the `ragline/` package, copied as is.

Pins live in one place, pyproject.toml (the core `dependencies` and the `aws` extra): a set
here names distributions only, and `requirements_for` looks their versions up there.

A built set is cached under `build/assets-cache/` by a digest of its inputs (requirement lines,
target Python and platforms, pruning rules), so the three synth profiles, the tests and the
bench pip-install it once (`python -m stacks.assets build` builds every set, as `make synth` does
first). `python -m stacks.assets download <dir>` fills a wheelhouse; while
`build/lambda-wheels/` holds wheels, Lambda builds install from it alone (synth needs no network).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = REPO_ROOT / "pyproject.toml"
LAMBDAS_DIR = REPO_ROOT / "lambdas"
PACKAGE_DIR = REPO_ROOT / "ragline"
BUILD_DIR = REPO_ROOT / "build"
CACHE_DIR = BUILD_DIR / "assets-cache"
WHEELHOUSE = BUILD_DIR / "lambda-wheels"

LAMBDA_PYTHON = "3.14"
# Lambda's Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34).
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")
# Bump when the way a set is built or pruned changes: it invalidates every cached set.
BUILDER_VERSION = "2"  # 2: the Lambda builds ship bytecode compiled by CPython 3.14

# Distributions each function imports: its handler at import time, the adapters its backends
# load on the first invocation. Every function: Powertools (handlers; with or without its tracer
# extra, below), pydantic and pydantic-settings (ragline.config, ragline.api), opensearch-py and
# tenacity (the OpenSearch index adapter: every function reads or writes the index, ingest_start
# to count what a failed document leaves searchable).
_EVERY_FUNCTION = ("pydantic", "pydantic-settings", "opensearch-py", "tenacity")
# The queue consumers trace with Powertools' Tracer (the X-Ray SDK); the query handler does not
# (`ragline/entrypoints/lambdas/query.py` says why).
_TRACED = ("aws-lambda-powertools[tracer]", *_EVERY_FUNCTION)
REQUIREMENT_SETS: dict[str, tuple[str, ...]] = {
    # The ports, the query path (retrieval, the remote embedders, the OpenSearch index) and what
    # these functions run are plain Python: no numpy (50 MB with its OpenBLAS). The extractive
    # generator needs numpy, so only the laptop runs it; no stack configures it.
    "base": _TRACED,
    # No tokenizers either: ragline.tokens loads it only to count tokens with a tokenizer file, and
    # answering a question counts none.
    "query": ("aws-lambda-powertools", *_EVERY_FUNCTION),
    # Textract results are parsed by textractor; its Markdown tables need pandas (and so numpy,
    # pinned here). The chunker counts tokens: with `embedding.tokenizer_file` set, through tokenizers.
    "ingest": (*_TRACED, "numpy", "tokenizers", "amazon-textract-textractor[pandas]", "pandas"),
}
FUNCTION_SETS: dict[str, str] = {
    "ingest_start": "base",
    "index_document": "ingest",
    "delete_document": "base",
    "query": "query",
    "index_bootstrap": "base",  # the index dimension comes from the resource: no embedder
}
FUNCTIONS: tuple[str, ...] = tuple(FUNCTION_SETS)

# What each function imports on its first invocation (lazily, after the handler module): the
# import check loads these too, so a set missing a lazily imported distribution fails the check.
_EVERY_FIRST_CALL = (
    "ragline.adapters.aws.factories",
    "ragline.adapters.aws.opensearch_index",
    "ragline.adapters.aws.dynamodb_registry",
    "opensearchpy",
    "opensearchpy.helpers",
    "boto3.dynamodb.types",
)
_EMBEDDER_FIRST_CALL = ("ragline.adapters.aws.embeddings", "ragline.adapters.aws.tokens")
_ARCHIVE_FIRST_CALL = (
    "ragline.adapters.aws.firehose_archive",
    "ragline.adapters.aws.emf_metrics",
    "aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch",
)
FIRST_CALL_MODULES: dict[str, tuple[str, ...]] = {
    "ingest_start": (*_EVERY_FIRST_CALL, "ragline.adapters.aws.textract"),
    "index_document": (
        *_EVERY_FIRST_CALL,
        *_EMBEDDER_FIRST_CALL,
        *_ARCHIVE_FIRST_CALL,
        "ragline.adapters.aws.textract",
        "textractor.entities.document",
        "textractor.data.text_linearization_config",
    ),
    "delete_document": _EVERY_FIRST_CALL,
    "query": (*_EVERY_FIRST_CALL, *_EMBEDDER_FIRST_CALL, *_ARCHIVE_FIRST_CALL, "ragline.adapters.aws.generation"),
    "index_bootstrap": _EVERY_FIRST_CALL,
}

# The SDK the Lambda Python runtime provides: never shipped (~90 MB), pinned in the `aws` extra.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Required by a dependency, never imported by ragline's code paths (the import check proves it):
# removed with whatever only they require.
NEVER_IMPORTED = {
    "opensearch-protobufs": "opensearch-py 3 requires it (with grpcio, protobuf) for its gRPC transport; "
    "ragline uses the HTTP client",
    "huggingface-hub": "tokenizers requires it for Tokenizer.from_pretrained; ragline loads local tokenizer files",
}
# Test suites shipped inside numpy and pandas wheels (~23 MB): never imported at run time.
PRUNED_TEST_SUITES = ("numpy", "pandas")
DIGEST_FILE = ".ragline-assets-digest"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info")


# --- requirement sets ---------------------------------------------------------------------


def project_pins() -> dict[str, Requirement]:
    """Every `name==version` of pyproject.toml (core dependencies and all extras), by canonical name."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    pins: dict[str, Requirement] = {}
    for line in lines:
        requirement = Requirement(line)
        if len(requirement.specifier) == 1 and next(iter(requirement.specifier)).operator == "==":
            pins.setdefault(canonicalize_name(requirement.name), requirement)
    return pins


def _pinned(names: Iterable[str]) -> list[str]:
    pins = project_pins()
    lines = []
    for name in names:
        wanted = Requirement(name)
        pin = pins.get(canonicalize_name(wanted.name))
        if pin is None:
            raise LookupError(f"{wanted.name} is not pinned (name==version) in {PYPROJECT.name}")
        extras = f"[{','.join(sorted(wanted.extras))}]" if wanted.extras else ""
        lines.append(f"{wanted.name}{extras}{pin.specifier}")
    return lines


def requirement_set(function_dir: str) -> str:
    if function_dir not in FUNCTION_SETS:
        raise KeyError(f"unknown Lambda function {function_dir!r}; expected one of {FUNCTIONS}")
    return FUNCTION_SETS[function_dir]


def requirements_for(function_dir: str) -> list[str]:
    """The pinned requirement lines `lambdas/<function_dir>/` ships."""
    return _pinned(REQUIREMENT_SETS[requirement_set(function_dir)])


def runtime_sdk_requirements() -> list[str]:
    """The pinned boto3/botocore the Lambda runtime provides (not shipped; tests put them on the path)."""
    return _pinned(("boto3", "botocore"))


# --- building ------------------------------------------------------------------------------


def pip_platform_args(python_version: str | None = LAMBDA_PYTHON) -> list[str]:
    """pip options selecting wheels for the Lambda runtime; for the local interpreter (None), wheels only."""
    if python_version is None:
        return ["--only-binary=:all:"]
    args = ["--implementation", "cp", "--python-version", python_version, "--only-binary=:all:"]
    for platform in PLATFORMS:
        args += ["--platform", platform]
    return args


def _interpreter_tag(python_version: str | None) -> str:
    if python_version is None:
        return f"local:{sys.implementation.cache_tag}:{sysconfig.get_platform()}"
    return f"lambda:cp{python_version}:{','.join(PLATFORMS)}"


def dependencies_digest(function_dir: str, *, python_version: str | None = LAMBDA_PYTHON) -> str:
    """Identifies a built set: equal inputs, equal digest (functions with the same set share it)."""
    return _digest(requirements_for(function_dir), python_version)


def _digest(requirements: Sequence[str], python_version: str | None) -> str:
    inputs = {
        "builder": BUILDER_VERSION,
        "requirements": sorted(requirements),
        "sdk": sorted(runtime_sdk_requirements()),
        "interpreter": _interpreter_tag(python_version),
        "runtime_provided": sorted(RUNTIME_PROVIDED),
        "never_imported": sorted(NEVER_IMPORTED),
        "pruned_test_suites": sorted(PRUNED_TEST_SUITES),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def install_dependencies(function_dir: str, target: Path, *, python_version: str | None = LAMBDA_PYTHON) -> Path:
    """`function_dir`'s requirement set installed into `target` (a folder to put on sys.path).

    For the Lambda (default): manylinux wheels for CPython `python_version`. With None: for the
    local interpreter, with the same pins and the same pruning. Built once per digest under
    build/assets-cache/, then hard-linked into `target`; a target already holding it returns at once.
    """
    requirements = requirements_for(function_dir)
    digest = _digest(requirements, python_version)
    return _materialize(_cached_site(requirements, python_version, digest), Path(target), digest)


def is_cached(function_dir: str, *, python_version: str | None = LAMBDA_PYTHON) -> bool:
    """Whether `install_dependencies` (and, for the local interpreter, the SDK) would install nothing."""
    built = (CACHE_DIR / f"deps-{dependencies_digest(function_dir, python_version=python_version)}").is_dir()
    return built and (python_version is not None or (CACHE_DIR / f"sdk-{_sdk_digest(None)}").is_dir())


def install_runtime_sdk(target: Path, *, python_version: str | None = None) -> Path:
    """boto3/botocore as pinned, into `target`: what the Lambda runtime provides, for local import checks."""
    digest = _sdk_digest(python_version)
    cached = CACHE_DIR / f"sdk-{digest}"
    if not (cached / DIGEST_FILE).is_file():
        staging = _pip_install(runtime_sdk_requirements(), python_version)
        (staging / DIGEST_FILE).write_text(digest)
        _publish(staging, cached)
    return _materialize(cached, Path(target), digest)


def _sdk_digest(python_version: str | None) -> str:
    inputs = [BUILDER_VERSION, runtime_sdk_requirements(), _interpreter_tag(python_version)]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


def _cached_site(requirements: Sequence[str], python_version: str | None, digest: str) -> Path:
    cached = CACHE_DIR / f"deps-{digest}"
    if (cached / DIGEST_FILE).is_file():
        return cached
    staging = _pip_install(requirements, python_version)
    try:
        prune(staging, requirements, python_version)
        if python_version == LAMBDA_PYTHON:
            compile_bytecode(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    (staging / DIGEST_FILE).write_text(digest)
    _publish(staging, cached)
    return cached


def _pip_install(requirements: Sequence[str], python_version: str | None) -> Path:
    """pip-install into a new staging folder under the cache (same file system: published by rename)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=CACHE_DIR))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=CACHE_DIR, delete=False) as constraints:
        # Resolve against the SDK version the runtime provides (textractor requires boto3).
        constraints.write("\n".join(runtime_sdk_requirements()) + "\n")
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(staging), "--constraint", constraints.name,
        *pip_platform_args(python_version), *_index_args(python_version), *requirements,
    ]  # fmt: skip
    try:
        subprocess.run(command, check=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        os.unlink(constraints.name)
    return staging


def _index_args(python_version: str | None) -> list[str]:
    """The offline wheelhouse, when `make infra-deps` filled it (Lambda wheels only)."""
    if python_version is not None and WHEELHOUSE.is_dir() and any(WHEELHOUSE.glob("*.whl")):
        return ["--no-index", "--find-links", str(WHEELHOUSE)]
    return []


def _publish(staging: Path, cached: Path) -> None:
    """Atomically move a finished build into the cache; a concurrent builder that won keeps its copy."""
    try:
        staging.rename(cached)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (cached / DIGEST_FILE).is_file():
            raise


def _materialize(cached: Path, target: Path, digest: str) -> Path:
    marker = target / DIGEST_FILE
    if target.resolve() == cached.resolve() or (marker.is_file() and marker.read_text() == digest):
        return target
    shutil.rmtree(target, ignore_errors=True)
    copy_tree(cached, target)
    marker.write_text(digest)
    return target


def copy_tree(source: Path, target: Path) -> None:
    """Copy a built set (hard links where possible: nothing edits these files in place), without its marker."""
    shutil.copytree(source, target, copy_function=_link_or_copy, ignore=shutil.ignore_patterns(DIGEST_FILE))


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def code_asset(function_dir: str, target: Path) -> Path:
    """The code asset: `lambdas/<function_dir>/` and the `ragline/` package, side by side in `target`."""
    handler_dir = LAMBDAS_DIR / function_dir
    if not (handler_dir / "handler.py").is_file():
        raise FileNotFoundError(f"missing Lambda handler {handler_dir / 'handler.py'}")
    target = Path(target)
    for source, destination in ((handler_dir, target / function_dir), (PACKAGE_DIR, target / "ragline")):
        shutil.rmtree(destination, ignore_errors=True)  # no module deleted from the repo survives a rebuild
        shutil.copytree(source, destination, ignore=_IGNORED)
        compile_bytecode(destination)
    return target


def compile_bytecode(root: Path) -> None:
    """Write, beside every module under `root`, the bytecode the Lambda runtime loads.

    Lambda's `/var/task` and `/opt` are read-only: without it, every cold start compiles every
    module it imports. Only a CPython of the runtime's minor version writes bytecode that runtime
    loads (`stacks.lambda_python`). `unchecked-hash`: the asset's zip does not keep the files'
    timestamps, which timestamp-checked bytecode would compare, and nothing edits a deployed file.
    """
    from stacks import lambda_python

    command = [
        str(lambda_python.interpreter()), "-I", "-m", "compileall", "-q", "-j", "0",
        "--invalidation-mode", "unchecked-hash", str(root),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"compiling the bytecode of {root} failed:\n{(result.stdout + result.stderr)[-3000:]}")


def code_digest(function_dir: str) -> str:
    """Changes whenever the handler folder or `ragline/` changes (the code asset's hash)."""
    sha = hashlib.sha256(BUILDER_VERSION.encode())
    for root in (LAMBDAS_DIR / function_dir, PACKAGE_DIR):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            sha.update(str(path.relative_to(REPO_ROOT)).encode())
            sha.update(path.read_bytes())
    return sha.hexdigest()


# --- pruning -------------------------------------------------------------------------------


def prune(site: Path, requirements: Sequence[str], python_version: str | None) -> None:
    """Remove what the function never imports: the runtime's SDK, `NEVER_IMPORTED` and what only
    they required, the numpy/pandas test suites, and console scripts."""
    installed = {canonicalize_name(dist.metadata["Name"]): dist for dist in metadata.distributions(path=[str(site)])}
    stops = {canonicalize_name(name) for name in (*RUNTIME_PROVIDED, *NEVER_IMPORTED)}
    kept = _reachable(
        installed, [Requirement(line) for line in requirements], stops, _marker_environment(python_version)
    )
    for name, dist in installed.items():
        if name not in kept:
            _remove_distribution(site, dist)
    for package in PRUNED_TEST_SUITES:
        for tests in sorted((site / package).rglob("tests"), reverse=True):
            if tests.is_dir():
                shutil.rmtree(tests)
    shutil.rmtree(site / "bin", ignore_errors=True)


def _marker_environment(python_version: str | None) -> dict[str, str]:
    if python_version is None:
        return {}  # packaging's default: this interpreter
    return {
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }


def _reachable(
    installed: dict[str, metadata.Distribution],
    roots: list[Requirement],
    stops: set[str],
    environment: dict[str, str],
) -> set[str]:
    """The distributions the roots require, transitively, without going through a stop."""
    kept: set[str] = set()
    visited: set[tuple[str, str]] = set()  # (distribution, extra): each requirement edge is followed once
    pending = list(roots)
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in stops or name not in installed:
            continue
        kept.add(name)
        extras = [extra for extra in ("", *sorted(requirement.extras)) if (name, extra) not in visited]
        if not extras:
            continue
        visited.update((name, extra) for extra in extras)
        for line in installed[name].requires or []:
            dependency = Requirement(line)
            if dependency.marker is None or any(
                dependency.marker.evaluate({**environment, "extra": extra}) for extra in extras
            ):
                pending.append(dependency)
    return kept


def _remove_distribution(site: Path, dist: metadata.Distribution) -> None:
    root = site.resolve()
    folders = set()
    for file in dist.files or []:
        path = (site / file).resolve()
        if root in path.parents and path.is_file():
            path.unlink()
            folders.add(path.parent)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


# --- checking and measuring ----------------------------------------------------------------

# Lambda's environment as Powertools sees it (tracer on, as in AWS); no credentials.
LAMBDA_ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "ragline-assets-check",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "ragline",
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
}

_IMPORT_SCRIPT = """
import importlib, json, sys, time
paths, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.path[:0] = paths
started = time.perf_counter()
importlib.import_module(modules[0])
handler_seconds = time.perf_counter() - started
for module in modules[1:]:
    importlib.import_module(module)
total_seconds = time.perf_counter() - started
site = paths[1]
loaded = sorted({name.split(".")[0] for name, module in list(sys.modules.items())
                 if (getattr(module, "__file__", None) or "").startswith(site)})
print(json.dumps({"handler_seconds": handler_seconds, "total_seconds": total_seconds, "from_dependencies": loaded}))
"""


def handler_module(function_dir: str) -> str:
    """The module Lambda imports for `<function_dir>.handler.lambda_handler`."""
    return f"{function_dir}.handler"


def import_check(
    function_dir: str,
    code: Path,
    dependencies: Path,
    sdk: Path,
    *,
    python: str = sys.executable,
    first_call: bool = True,
    bytecode: bool = True,
    environment: dict[str, str] | None = None,
) -> dict:
    """Import the handler (and, with `first_call`, what its first invocation imports) in a fresh
    interpreter whose sys.path holds only the standard library, `code`, `dependencies` and `sdk`.

    Returns the handler's import seconds, those of the handler and the first-call modules together
    (`total_seconds`), and the top-level packages loaded from `dependencies`.
    Raises with the child's traceback if anything is missing. `bytecode=False` runs with -B, as
    Lambda does with an asset that ships no bytecode (its file system is read-only).
    `environment` adds to (or overrides) the Lambda variables the child sees.
    """
    modules = [handler_module(function_dir), *(FIRST_CALL_MODULES[function_dir] if first_call else ())]
    paths = [str(Path(path).resolve()) for path in (code, dependencies, sdk)]
    flags = ["-I", "-S"] + ([] if bytecode else ["-B"])
    result = subprocess.run(
        [python, *flags, "-c", _IMPORT_SCRIPT, json.dumps(paths), json.dumps(modules)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **LAMBDA_ENVIRONMENT, **(environment or {})},
    )
    if result.returncode:
        raise ImportError(f"{function_dir} does not import from its assets:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.splitlines()[-1])


def tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in Path(root).rglob("*") if path.is_file() and path.name != DIGEST_FILE)


# --- wheelhouse ----------------------------------------------------------------------------


def download(wheelhouse: Path) -> None:
    """Download every Lambda set's wheels (and the runtime SDK pins) so that synth installs offline."""
    union = sorted({line for function in FUNCTIONS for line in requirements_for(function)})
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--dest", str(wheelhouse), *pip_platform_args(LAMBDA_PYTHON), *union, *runtime_sdk_requirements(),
    ]  # fmt: skip
    subprocess.run(command, check=True)


# --- building every set at once ----------------------------------------------------------------


def build_all() -> dict[str, Path]:
    """Every requirement set, built for the Lambda runtime into the cache, the sets side by side.

    `make synth` runs this before the profiles: two profiles synthesized at once would otherwise each
    build every set (the loser's copy is thrown away by `_publish`), doubling the slowest part of synth.
    """
    representatives = {requirement_set(function): function for function in FUNCTIONS}

    def build(function: str) -> Path:
        return _cached_site(requirements_for(function), LAMBDA_PYTHON, dependencies_digest(function))

    with ThreadPoolExecutor(max_workers=len(representatives)) as pool:
        return dict(zip(representatives, pool.map(build, representatives.values()), strict=True))


def main(argv: Sequence[str]) -> None:
    if len(argv) == 2 and argv[0] == "download":
        download(Path(argv[1]))
        return
    if len(argv) == 1 and argv[0] == "build":
        for name, folder in build_all().items():
            print(f"{name}: {folder}")
        return
    if len(argv) == 1 and argv[0] == "requirements":
        for function in FUNCTIONS:
            print(f"{function} ({requirement_set(function)}): {' '.join(requirements_for(function))}")
        return
    raise SystemExit("usage: python -m stacks.assets download <wheelhouse> | build | requirements")


if __name__ == "__main__":
    main(sys.argv[1:])
