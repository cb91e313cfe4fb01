"""docs/USAGE.md's table of settings states each default and its environment variable: both must be what
`Settings()` really does. The table had drifted (fusion `rrf` and 50 candidates, long after the defaults became
`convex` and 100) with no test to notice."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ragline.config import Settings

USAGE = Path(__file__).resolve().parents[2] / "docs" / "USAGE.md"
HEADER = "| setting | default | environment variable |"


def _rows() -> list[tuple[str, str, str]]:
    lines = USAGE.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER) + 2  # past the header and its |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        setting, default, variable = (cell.strip() for cell in line.strip("|").split(" | "))
        names = [name.strip("` ") for name in setting.split(" / ")]
        defaults = default.split(" / ") if len(names) > 1 else [default]
        variables = [name.strip("` ") for name in variable.split(" / ")]
        assert len(defaults) == len(variables) == len(names), line
        rows += zip(names, defaults, variables, strict=True)
    return rows


def _stated(default: str) -> str:
    """The value a default cell states first: `hybrid` (`dense`, ...) -> hybrid; 0: one per core -> 0."""
    return re.split(r"[\s:,(]", default.strip().strip("`"), maxsplit=1)[0].strip("`")


def _actual(settings: Settings, dotted: str) -> object:
    value: object = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _as_written(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


ROWS = _rows()


def test_the_table_lists_settings():
    assert len(ROWS) >= 20


@pytest.mark.parametrize(("name", "default", "variable"), ROWS, ids=[row[0] for row in ROWS])
def test_each_stated_default_is_the_default_and_its_variable_follows_the_settings_name(
    name, default, variable, monkeypatch
):
    for existing in [key for key in os.environ if key.startswith("RAGLINE_")]:
        monkeypatch.delenv(existing)
    actual = _actual(Settings(), name)
    stated = _stated(default)
    if isinstance(actual, Path):
        assert Path(stated).expanduser() == actual
    elif isinstance(actual, float):
        assert float(stated) == actual
    else:
        assert stated == _as_written(actual)
    assert variable == "RAGLINE_" + name.upper().replace(".", "__")
