"""Lambda assets built without Docker.

Two kinds of asset:
- one dependencies layer: `lambdas/requirements.txt` pip-installed for the Lambda platform
  (manylinux x86_64 wheels only, the runtime's CPython), bundled once per synth and cached
  under `build/` by requirements hash, so three synth variants pip-install once;
- one code asset per function: its handler folder plus the `ragline/` package, copied as is.

Each asset hash is computed here from the inputs (CUSTOM hash) so that a change to `ragline/`
redeploys every function even though the asset's source folder is the handler folder.

`make infra-deps` downloads the wheels into `build/lambda-wheels/`; when that wheelhouse exists
bundling installs from it with `--no-index`, so `make synth` itself needs no network.
If local bundling is impossible, CDK falls back to the SAM build image (Docker).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = REPO_ROOT / "lambdas"
PACKAGE_DIR = REPO_ROOT / "ragline"
REQUIREMENTS = LAMBDAS_DIR / "requirements.txt"
BUILD_DIR = REPO_ROOT / "build"
WHEELHOUSE = BUILD_DIR / "lambda-wheels"
LAYER_CACHE = BUILD_DIR / "lambda-layer"

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.X86_64
PYTHON_VERSION = "3.14"
# Lambda's Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34).
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")
# Provided by the Lambda runtime; bundling them would add ~90 MB to the layer.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Test suites shipped inside numpy and pandas wheels (~23 MB): never imported at run time.
# The layer plus a function must stay under Lambda's 250 MB unzipped limit (~185 MB here).
PRUNED_TEST_SUITES = ("numpy", "pandas")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info")


def pip_platform_args() -> list[str]:
    args = ["--implementation", "cp", "--python-version", PYTHON_VERSION, "--only-binary=:all:"]
    for platform in PLATFORMS:
        args += ["--platform", platform]
    return args


def _digest(*paths: Path, extra: str = "") -> str:
    sha = hashlib.sha256(extra.encode())
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            sha.update(str(path.relative_to(REPO_ROOT)).encode())
            sha.update(path.read_bytes())
    return sha.hexdigest()


@jsii.implements(cdk.ILocalBundling)
class _LayerBundler:
    """pip-installs the pinned requirements into `<output>/python` (the layer layout)."""

    def __init__(self, digest: str) -> None:
        self._digest = digest

    def try_bundle(self, output_dir: str, *, image: Any = None, **_: Any) -> bool:
        cached = LAYER_CACHE / self._digest
        if not cached.is_dir():
            self._install(cached)
        shutil.copytree(cached, Path(output_dir), dirs_exist_ok=True)
        return True

    @staticmethod
    def _install(cached: Path) -> None:
        staging = cached.with_suffix(".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(staging / "python"),
            "-r",
            str(REQUIREMENTS),
            *pip_platform_args(),
        ]
        if WHEELHOUSE.is_dir() and any(WHEELHOUSE.glob("*.whl")):
            command += ["--no-index", "--find-links", str(WHEELHOUSE)]
        subprocess.run(command, check=True)
        site = staging / "python"
        for name in RUNTIME_PROVIDED:
            for path in site.glob(f"{name}*"):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        for package in PRUNED_TEST_SUITES:
            for tests in sorted((site / package).rglob("tests"), reverse=True):
                if tests.is_dir():
                    shutil.rmtree(tests)
        staging.rename(cached)


@jsii.implements(cdk.ILocalBundling)
class _HandlerBundler:
    """Copies one handler folder and the `ragline/` package into the asset."""

    def __init__(self, handler_dir: Path) -> None:
        self._handler_dir = handler_dir

    def try_bundle(self, output_dir: str, *, image: Any = None, **_: Any) -> bool:
        out = Path(output_dir)
        shutil.copytree(self._handler_dir, out / self._handler_dir.name, ignore=_IGNORED, dirs_exist_ok=True)
        shutil.copytree(PACKAGE_DIR, out / "ragline", ignore=_IGNORED, dirs_exist_ok=True)
        return True


def _docker_fallback(command: str) -> cdk.BundlingOptions:
    return cdk.BundlingOptions(
        image=RUNTIME.bundling_image,
        command=["bash", "-c", command],
    )


def dependencies_layer_code() -> lambda_.Code:
    digest = _digest(REQUIREMENTS, extra=f"{PYTHON_VERSION}|{PLATFORMS}|{RUNTIME_PROVIDED}|{PRUNED_TEST_SUITES}")
    fallback = _docker_fallback("pip install -r requirements.txt -t /asset-output/python")
    return lambda_.Code.from_asset(
        str(LAMBDAS_DIR),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=digest,
        exclude=["*", "!requirements.txt"],
        bundling=cdk.BundlingOptions(image=fallback.image, command=fallback.command, local=_LayerBundler(digest)),
    )


def handler_code(function_dir: str) -> lambda_.Code:
    """The code asset of `lambdas/<function_dir>/` (which must exist: no stack points at nothing)."""
    handler_dir = LAMBDAS_DIR / function_dir
    if not (handler_dir / "handler.py").is_file():
        raise FileNotFoundError(f"missing Lambda handler {handler_dir / 'handler.py'}")
    fallback = _docker_fallback("echo 'ragline handlers bundle locally only' && exit 1")
    return lambda_.Code.from_asset(
        str(handler_dir),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=_digest(handler_dir, PACKAGE_DIR),
        bundling=cdk.BundlingOptions(
            image=fallback.image, command=fallback.command, local=_HandlerBundler(handler_dir)
        ),
    )


def package_zip() -> Path:
    """`ragline/` as a zip for Glue's `--extra-py-files`, byte-identical for identical sources.

    Written under build/ (ignored by git) only when its content changes, so the asset hash and
    the deployed job stay put between synths.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in PACKAGE_DIR.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            info = zipfile.ZipInfo(str(path.relative_to(REPO_ROOT)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    target = BUILD_DIR / "glue" / "ragline.zip"
    if not target.is_file() or target.read_bytes() != buffer.getvalue():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(buffer.getvalue())
    return target
