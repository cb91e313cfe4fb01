"""mutmut's results kept in the repository: what one machine decided must come back on the next."""

from __future__ import annotations

import json
from pathlib import Path

from tests.mutation_results import restore, save


def _meta(mutants: Path, source: str, codes: dict[str, int | None], hashes: dict[str, str]) -> Path:
    path = mutants / f"{source}.meta"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "exit_code_by_key": codes,
                "hash_by_function_name": hashes,
                "type_check_error_by_key": {},
                "durations_by_key": {name: 1.0 for name, code in codes.items() if code is not None},
                "estimated_durations_by_key": {},
            }
        )
    )
    return path


def test_decided_results_and_their_function_hashes_come_back_in_a_fresh_workspace(tmp_path):
    first, store, fresh = tmp_path / "first", tmp_path / "store", tmp_path / "fresh"
    codes = {"ragline.api.x_a__mutmut_1": 1, "ragline.api.x_a__mutmut_2": 0, "ragline.api.x_b__mutmut_1": None}
    _meta(first, "ragline/api.py", codes, {"x_a": "aaa", "x_b": "bbb"})
    _meta(first, "ragline/adapters/aws/tokens.py", {"ragline.adapters.aws.tokens.x_c__mutmut_1": None}, {"x_c": "c"})

    assert save(first, store) == 2
    assert restore(fresh, store) == 2

    restored = json.loads((fresh / "ragline/api.py.meta").read_text())
    # Undecided mutants are not stored: mutmut lists them again as pending when it regenerates the file.
    assert restored["exit_code_by_key"] == {"ragline.api.x_a__mutmut_1": 1, "ragline.api.x_a__mutmut_2": 0}
    # The hashes are what lets mutmut drop the results of a function changed since.
    assert restored["hash_by_function_name"] == {"x_a": "aaa", "x_b": "bbb"}
    # A module with nothing decided leaves no stored file, and so no meta file to restore.
    assert not (fresh / "ragline/adapters/aws/tokens.py.meta").exists()


def test_a_module_already_run_here_keeps_its_own_newer_results(tmp_path):
    first, store, here = tmp_path / "first", tmp_path / "store", tmp_path / "here"
    _meta(first, "ragline/api.py", {"ragline.api.x_a__mutmut_1": 0}, {"x_a": "old"})
    save(first, store)
    newer = _meta(here, "ragline/api.py", {"ragline.api.x_a__mutmut_1": 1}, {"x_a": "new"})
    before = newer.read_text()

    assert restore(here, store) == 0
    assert newer.read_text() == before
