"""Lambda assets for CDK, built without Docker by `stacks.assets` (the one builder; no CDK there).

Two kinds of asset per function:
- its requirement set (`stacks.assets.requirements_for`), pip-installed for the Lambda platform
  and deployed as a layer (`<layer>/python`); functions with the same set share one layer, and
  the set is built once per digest under `build/assets-cache/`, so three synth profiles
  pip-install it once;
- its code: the handler folder plus the `ragline/` package.

Each asset hash is the builder's digest of its inputs (CUSTOM hash), so a change to `ragline/`
redeploys every function even though the asset's source folder is the handler folder.
`python -m stacks.assets download build/lambda-wheels` (`make infra-deps`) fills the offline
wheelhouse; while it holds wheels, bundling installs from it alone (synth needs no network).
There is no Docker fallback: the builder runs locally or synth fails with its error.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

from stacks import assets

REPO_ROOT = assets.REPO_ROOT
LAMBDAS_DIR = assets.LAMBDAS_DIR
PACKAGE_DIR = assets.PACKAGE_DIR
BUILD_DIR = assets.BUILD_DIR
WHEELHOUSE = assets.WHEELHOUSE

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.X86_64
PYTHON_VERSION = assets.LAMBDA_PYTHON
if RUNTIME.name != f"python{PYTHON_VERSION}":
    raise RuntimeError(f"the Lambda runtime {RUNTIME.name} and the builder's Python {PYTHON_VERSION} disagree")


@jsii.implements(cdk.ILocalBundling)
class _DependenciesBundler:
    """Copies a function's built requirement set into `<output>/python` (the layer layout)."""

    def __init__(self, function_dir: str) -> None:
        self._function_dir = function_dir

    def try_bundle(self, output_dir: str, *, image: Any = None, **_: Any) -> bool:
        digest = assets.dependencies_digest(self._function_dir)
        cached = assets.install_dependencies(self._function_dir, assets.CACHE_DIR / f"deps-{digest}")
        assets.copy_tree(cached, Path(output_dir) / "python")
        return True


@jsii.implements(cdk.ILocalBundling)
class _CodeBundler:
    """Copies one handler folder and the `ragline/` package into the asset."""

    def __init__(self, function_dir: str) -> None:
        self._function_dir = function_dir

    def try_bundle(self, output_dir: str, *, image: Any = None, **_: Any) -> bool:
        assets.code_asset(self._function_dir, Path(output_dir))
        return True


def _local_only(local: Any) -> cdk.BundlingOptions:
    # CDK requires an image; it is only used if local bundling returns False, which it never does.
    return cdk.BundlingOptions(
        image=RUNTIME.bundling_image,
        command=["bash", "-c", "echo 'ragline assets bundle locally only (stacks/assets.py)' && exit 1"],
        local=local,
    )


def dependencies_layer_code(function_dir: str) -> lambda_.Code:
    """The layer asset of `function_dir`'s requirement set (equal sets: equal asset hash)."""
    return lambda_.Code.from_asset(
        str(LAMBDAS_DIR / function_dir),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=assets.dependencies_digest(function_dir),
        bundling=_local_only(_DependenciesBundler(function_dir)),
    )


def handler_code(function_dir: str) -> lambda_.Code:
    """The code asset of `lambdas/<function_dir>/` (which must exist: no stack points at nothing)."""
    handler_dir = LAMBDAS_DIR / function_dir
    if not (handler_dir / "handler.py").is_file():
        raise FileNotFoundError(f"missing Lambda handler {handler_dir / 'handler.py'}")
    return lambda_.Code.from_asset(
        str(handler_dir),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=assets.code_digest(function_dir),
        bundling=_local_only(_CodeBundler(function_dir)),
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
