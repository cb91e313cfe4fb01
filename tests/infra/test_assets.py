"""The Lambda asset builder (stacks/assets.py): one source of pins, per-function sets, stable digests.

The last tests import each handler from its built Lambda assets, on a CPython of the runtime's
version (`stacks.lambda_python`). They need the sets that `make synth` builds (cached under
build/assets-cache/; `make test` synthesizes first) and that interpreter (`make lambda-python`),
or RAGLINE_BUILD_ASSETS=1 to build the sets here; they skip, saying which, otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from stacks import assets

LOCAL_ONLY = ("pypdfium2", "httpx", "onnxruntime", "openvino", "scipy", "simsimd", "typer", "rich", "fastapi", "torch")


def _names(lines: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in lines}


def test_functions_are_the_handler_folders_under_lambdas():
    folders = {path.parent.name for path in assets.LAMBDAS_DIR.glob("*/handler.py")}
    assert set(assets.FUNCTIONS) == folders


@pytest.mark.parametrize("function_dir", assets.FUNCTIONS)
def test_every_requirement_is_pinned_as_in_pyproject(function_dir):
    pins = assets.project_pins()
    for line in assets.requirements_for(function_dir):
        requirement = Requirement(line)
        assert requirement.specifier == pins[canonicalize_name(requirement.name)].specifier, line


def test_pyproject_pins_each_distribution_to_one_version_only():
    # Extras may repeat a distribution (Powertools in `aws` and `infra`): they must agree, or the
    # Lambda sets would silently take the first one.
    project = tomllib.loads(assets.PYPROJECT.read_text())["project"]
    lines = list(project["dependencies"]) + [
        line for extra in project["optional-dependencies"].values() for line in extra
    ]
    versions = defaultdict(set)
    for line in lines:
        requirement = Requirement(line)
        versions[canonicalize_name(requirement.name)].add(str(requirement.specifier))
    assert {name: specs for name, specs in versions.items() if len(specs) > 1} == {}


def test_building_every_set_builds_each_distinct_set_once(monkeypatch):
    """`make synth` builds the sets before its profiles run two at a time: each set once, none forgotten."""
    built: list[tuple[str, ...]] = []

    def record(requirements, python_version, digest):
        built.append((tuple(requirements), python_version, digest))
        return Path("/built") / digest

    monkeypatch.setattr(assets, "_cached_site", record)
    folders = assets.build_all()
    assert set(folders) == set(assets.FUNCTION_SETS.values())
    every_function = {(tuple(assets.requirements_for(f)), assets.LAMBDA_PYTHON, assets.dependencies_digest(f))
                      for f in assets.FUNCTIONS}  # fmt: skip
    assert sorted(built) == sorted(every_function)  # each distinct set once
    for name, folder in folders.items():
        function = next(f for f, s in assets.FUNCTION_SETS.items() if s == name)
        assert folder == Path("/built") / assets.dependencies_digest(function)


def test_no_second_requirements_file_for_the_lambdas():
    assert not (assets.LAMBDAS_DIR / "requirements.txt").exists(), "pins live in pyproject.toml only"


def test_the_query_function_ships_neither_textractor_nor_pandas():
    query = _names(assets.requirements_for("query"))
    assert not query & {"amazon-textract-textractor", "pandas"}
    assert {"amazon-textract-textractor", "pandas"} <= _names(assets.requirements_for("index_document"))


# What the query function leaves out to meet its size and cold-import targets (bench/RESULTS_handlers.md).
QUERY_LEAVES_OUT = {"numpy": "numpy", "tokenizers": "tokenizers", "aws-xray-sdk": "aws_xray_sdk"}


def test_the_query_function_ships_neither_numpy_tokenizers_nor_the_xray_sdk():
    query = assets.requirements_for("query")
    assert not _names(query) & set(QUERY_LEAVES_OUT)
    assert not any("[tracer]" in line for line in query)


def test_only_the_function_that_parses_tables_with_pandas_ships_numpy():
    assert [function for function in assets.FUNCTIONS if "numpy" in _names(assets.requirements_for(function))] == [
        "index_document"
    ]


def test_the_query_path_imports_neither_numpy_tokenizers_nor_the_xray_sdk():
    """The handler and what its first invocation imports, with those packages made unimportable
    (this interpreter's packages otherwise): a top-level import of any of them fails here first."""
    blocked = sorted(QUERY_LEAVES_OUT.values())
    modules = [assets.handler_module("query"), *assets.FIRST_CALL_MODULES["query"]]
    script = (
        f"import importlib, sys; sys.path.insert(0, {str(assets.LAMBDAS_DIR)!r})\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        f"for module in {modules!r}: importlib.import_module(module)"
    )
    child = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=assets.REPO_ROOT,
        env={"PATH": os.environ.get("PATH", ""), **assets.LAMBDA_ENVIRONMENT},
    )
    assert child.returncode == 0, child.stderr[-2000:]


def test_runtime_sdk_is_pinned_by_the_aws_extra_and_never_in_a_set():
    sdk = assets.runtime_sdk_requirements()
    assert _names(sdk) == {"boto3", "botocore"}
    assert all("==" in line for line in sdk)
    for function_dir in assets.FUNCTIONS:
        assert not _names(assets.requirements_for(function_dir)) & {"boto3", "botocore", "s3transfer"}


def test_an_unpinned_distribution_is_refused(monkeypatch):
    monkeypatch.setitem(assets.REQUIREMENT_SETS, "query", (*assets.REQUIREMENT_SETS["query"], "left-pad"))
    with pytest.raises(LookupError, match="left-pad is not pinned"):
        assets.requirements_for("query")


def test_digest_is_stable_across_processes_and_follows_the_pins(tmp_path, monkeypatch):
    digest = assets.dependencies_digest("query")
    child = subprocess.run(
        [sys.executable, "-c", "from stacks import assets; print(assets.dependencies_digest('query'))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=assets.REPO_ROOT,
        env={**os.environ, "PYTHONHASHSEED": "random"},
    )
    assert child.stdout.strip() == digest
    assert assets.dependencies_digest("delete_document") == assets.dependencies_digest("ingest_start")  # same set
    assert assets.dependencies_digest("query", python_version=None) != digest  # local build: its own cache

    bumped = tmp_path / "pyproject.toml"
    bumped.write_text(assets.PYPROJECT.read_text().replace('"tenacity==9.1.2"', '"tenacity==9.1.1"'))
    monkeypatch.setattr(assets, "PYPROJECT", bumped)
    assert assets.dependencies_digest("query") != digest


def _fake_distribution(site: Path, name: str, requires: list[str], package: str | None = None) -> None:
    package = package or name.replace("-", "_")
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (site / package).mkdir()
    (site / package / "__init__.py").write_text("")
    metadata = [f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0"] + [f"Requires-Dist: {line}" for line in requires]
    (info / "METADATA").write_text("\n".join(metadata) + "\n")
    (info / "RECORD").write_text(f"{package}/__init__.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")


def test_pruning_removes_the_runtime_sdk_and_what_only_unimported_distributions_require(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _fake_distribution(site, "opensearch-py", ["requests", "opensearch-protobufs", "sphinx; extra == 'docs'"])
    _fake_distribution(site, "opensearch-protobufs", ["grpcio", "protobuf"])
    _fake_distribution(site, "grpcio", [])
    _fake_distribution(site, "protobuf", [], package="google")
    _fake_distribution(site, "requests", ["urllib3"])
    _fake_distribution(site, "urllib3", [])
    _fake_distribution(site, "textractor", ["boto3", "pandas; extra == 'pandas'"])
    _fake_distribution(site, "pandas", [])
    _fake_distribution(site, "boto3", ["botocore", "urllib3"])
    _fake_distribution(site, "botocore", [])
    _fake_distribution(site, "sphinx", [])

    assets.prune(site, ["opensearch-py==1.0", "textractor[pandas]==1.0"], assets.LAMBDA_PYTHON)

    left = {path.name for path in site.iterdir() if not path.name.endswith(".dist-info")}
    assert left == {"opensearch_py", "requests", "urllib3", "textractor", "pandas"}


# --- built assets (pip installs unless cached) -------------------------------------------


def _built_lambda_assets(function_dir: str, folder: Path) -> tuple[Path, Path, Path, str]:
    """The function's deployed set, code asset and the runtime's SDK, and the runtime's interpreter."""
    from stacks import lambda_python

    try:
        python = str(lambda_python.interpreter())
    except lambda_python.LambdaPythonMissingError as missing:
        pytest.skip(str(missing))
    if os.environ.get("RAGLINE_BUILD_ASSETS") != "1" and not assets.is_cached(function_dir):
        pytest.skip("Lambda set not built: run `make synth` or set RAGLINE_BUILD_ASSETS=1 (pip installs)")
    dependencies = assets.install_dependencies(function_dir, folder / "deps")
    sdk = assets.install_runtime_sdk(folder / "sdk", python_version=assets.LAMBDA_PYTHON)
    code = assets.code_asset(function_dir, folder / "code")
    return code, dependencies, sdk, python


@pytest.mark.slow
@pytest.mark.parametrize("function_dir", assets.FUNCTIONS)
def test_each_handler_imports_from_its_assets_alone(function_dir, tmp_path):
    """Only the stdlib, the code asset, the built set and the runtime's SDK on sys.path, on the runtime's
    Python: the handler and what its first invocation imports load, and nothing laptop-only or unneeded does."""
    code, dependencies, sdk, python = _built_lambda_assets(function_dir, tmp_path)

    loaded = set(assets.import_check(function_dir, code, dependencies, sdk, python=python)["from_dependencies"])

    assert not loaded & set(LOCAL_ONLY)
    assert "grpc" not in loaded and "huggingface_hub" not in loaded
    if function_dir != "index_document":
        assert not loaded & {"textractor", "pandas"}
    shipped = {path.name for path in dependencies.iterdir() if not path.name.endswith(".dist-info")}
    assert not shipped & {"boto3", "botocore", "s3transfer", "grpc", "huggingface_hub"}
    if function_dir != "index_document":  # nothing else in the set requires it either
        assert "numpy" not in shipped and "numpy" not in loaded
    if function_dir == "query":
        assert not shipped & set(QUERY_LEAVES_OUT.values())


@pytest.mark.slow
def test_the_assets_ship_bytecode_the_runtime_loads_without_compiling(tmp_path):
    """Lambda's file system is read-only: a module without shipped bytecode is compiled at every cold start.
    The query handler's first call, run with -B and with compiling made to fail, must load every module of
    the code asset and the set from the shipped bytecode."""
    code, dependencies, sdk, python = _built_lambda_assets("query", tmp_path)
    refuse_compiling = (
        "import importlib._bootstrap_external as external\n"
        "def refuse(self, data, path, *args, **kwargs):\n"
        f"    if path.startswith(({str(code)!r}, {str(dependencies)!r})):\n"
        "        raise RuntimeError(f'compiled at import: {path}')\n"
        "    return original(self, data, path, *args, **kwargs)\n"
        "original = external.SourceLoader.source_to_code\n"
        "external.SourceLoader.source_to_code = refuse\n"
    )
    sitecustomize = tmp_path / "refuse" / "sitecustomize.py"
    sitecustomize.parent.mkdir()
    sitecustomize.write_text(refuse_compiling)
    # -I -S skip sitecustomize, so the import check's script runs it first (PYTHONSTARTUP is not read by -c).
    script = f"exec(open({str(sitecustomize)!r}).read())\n" + assets._IMPORT_SCRIPT
    modules = [assets.handler_module("query"), *assets.FIRST_CALL_MODULES["query"]]
    result = subprocess.run(
        [python, "-B", "-I", "-S", "-c", script, json.dumps([str(code), str(dependencies), str(sdk)]),
         json.dumps(modules)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **assets.LAMBDA_ENVIRONMENT},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
