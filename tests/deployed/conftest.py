"""The deployed-shape suite: every profile `make synth` proves, deployed into a mock account and driven.

Run with `make deployed-test` (which synthesizes first). The profiles come from cdk.out; a
missing profile fails the run: this suite never skips.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.deployed.harness import Deployment, profile_folder
from tests.deployed.template import Assembly

# Set by tests/deployed/mutations.py: one environment variable or one policy statement removed.
MUTATION = json.loads(os.environ.get("RAGLINE_DEPLOYED_MUTATION", "null"))
# Every profile `make synth` writes (mk/infra.mk SYNTH_PROFILES), each deployed once per session.
PROFILES = tuple(os.environ.get("RAGLINE_DEPLOYED_PROFILES", "default bedrock existing deploy cognito").split())
DEPLOYMENTS: list[Deployment] = []


# The Glue jobs, and the page-window logic, are the same in every profile but for the model: their
# scenarios run once, on the default profile (the Glue one by name, the windows' by `one_profile`).
ONE_PROFILE = "default"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The coverage check reads what the scenarios did: it runs after all of them.
    items.sort(key=lambda item: item.get_closest_marker("report") is not None)
    elsewhere = [
        item
        for item in items
        if ("glue_jobs" in item.name or item.get_closest_marker("one_profile")) and f"[{ONE_PROFILE}]" not in item.name
    ]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if item not in elsewhere]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "report: the deployed-shape suite's closing coverage check")
    config.addinivalue_line("markers", "one_profile: a scenario run on the default profile only")
    config.addinivalue_line(
        "markers", "creates_custom_resources: a scenario that runs the stack's own custom resources' Create itself"
    )
    config.addinivalue_line(
        "markers", "heavy: a scenario as long as the rest together, which `make test` runs in a process of its own"
    )


@pytest.fixture(scope="module", params=PROFILES)
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    profile = request.param
    folder = profile_folder(profile)
    if not (folder / "manifest.json").is_file():
        pytest.fail(f"cdk.out/{profile} is missing: run `make synth` (make deployed-test does)")
    monkeypatch = pytest.MonkeyPatch()
    built = Deployment(profile, Assembly.load(folder))
    try:
        built.start(monkeypatch, mutation=MUTATION)
        DEPLOYMENTS.append(built)
        yield built
    finally:
        built.stop()
        monkeypatch.undo()


@pytest.fixture(autouse=True)
def _stack_custom_resources_created(request: pytest.FixtureRequest) -> None:
    """Each scenario starts where CloudFormation leaves a new stack, so that it passes alone or in any order
    (`make test` runs the `heavy` one in a process of its own). The scenarios that test those Creates
    themselves are marked `creates_custom_resources` and start before them."""
    if "deployment" not in request.fixturenames or request.node.get_closest_marker("creates_custom_resources"):
        return
    request.getfixturevalue("deployment").provision()


@pytest.fixture(autouse=True)
def _no_user_aws_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness talks to the mock cloud only: no credentials or settings of the user's leak in."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "RAGLINE_")) and not name.startswith("RAGLINE_DEPLOYED_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
