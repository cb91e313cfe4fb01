"""The mutation report's list of pending mutants: what `make mutation-pending` hands to mutmut by name."""

from __future__ import annotations

import json
from pathlib import Path

from tests.mutation_report import pending


def _meta(mutants: Path, source: str, codes: dict[str, int | None]) -> None:
    path = mutants / f"{source}.meta"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"exit_code_by_key": codes, "durations_by_key": {}}))


def test_only_the_mutants_without_a_result_under_the_prefix_are_pending(tmp_path):
    _meta(tmp_path, "ragline/api.py", {"ragline.api.x_a__mutmut_1": 1, "ragline.api.x_a__mutmut_2": None})
    _meta(tmp_path, "ragline/adapters/aws/tokens.py", {"ragline.adapters.aws.tokens.x_b__mutmut_1": None})
    _meta(tmp_path, "ragline/apiary.py", {"ragline.apiary.x_c__mutmut_1": 0})

    assert pending("ragline/api.py", tmp_path) == ["ragline.api.x_a__mutmut_2"]
    assert pending("ragline/adapters/", tmp_path) == ["ragline.adapters.aws.tokens.x_b__mutmut_1"]
    assert sorted(pending("", tmp_path)) == ["ragline.adapters.aws.tokens.x_b__mutmut_1", "ragline.api.x_a__mutmut_2"]
