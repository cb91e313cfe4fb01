"""mutmut's results kept in the repository, so that a run on one machine counts on the next.

mutmut keeps each mutant's result in `mutants/` (git-ignored), beside the hash of the function it mutates, and on
its next run re-runs only the mutants of functions whose hash changed. The whole scope takes about 14 hours of
this machine's two cores, more than any one session, and `mutants/` does not outlive the machine it was made on:
without a copy in the repository every session would start from zero.

    python -m tests.mutation_results save      # mutants/**/*.py.meta -> tests/mutation_results/ (commit it)
    python -m tests.mutation_results restore   # the other way, before `make mutation` in a fresh clone
    python -m tests.mutation_results prepare   # restore, then have mutmut write every mutant and its meta file

Only decided results are kept, with the hashes of the functions they were decided on. On restore mutmut itself
still compares those hashes with the code it mutates and discards the results of every function that changed, so
a stored result never stands for code it was not measured on. It can stand for tests that changed since: re-run
the survivors by name after adding tests (docs/TESTING.md, "Mutation testing").
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

MUTANTS = Path("mutants")
STORE = Path(__file__).resolve().parent / "mutation_results"


def _stored_file(store: Path, source: str) -> Path:
    return store / f"{source}.json"


def save(mutants: Path = MUTANTS, store: Path = STORE) -> int:
    """Copy every decided result from mutmut's meta files into the store; return how many were kept.

    A module's stored file is replaced whole: its results in `mutants/` are newer than the stored ones, since
    `restore` put the stored ones there first.
    """
    kept = 0
    for meta_file in sorted(mutants.rglob("*.py.meta")):
        source = str(meta_file.relative_to(mutants))[: -len(".meta")]
        meta = json.loads(meta_file.read_text())
        decided = {name: code for name, code in sorted(meta["exit_code_by_key"].items()) if code is not None}
        if not decided:
            continue
        target = _stored_file(store, source)
        target.parent.mkdir(parents=True, exist_ok=True)
        hashes = dict(sorted(meta.get("hash_by_function_name", {}).items()))
        # One entry a line, keys sorted: a later run's commit shows as a readable diff.
        target.write_text(json.dumps({"hash_by_function_name": hashes, "exit_code_by_key": decided}, indent=1) + "\n")
        kept += len(decided)
    return kept


def restore(mutants: Path = MUTANTS, store: Path = STORE) -> int:
    """Write a meta file for every stored module that has none in `mutants/`; return how many results were put back.

    A module mutmut has already run here keeps its own meta file: it holds every stored result of its unchanged
    functions already, and results newer than the store's.
    """
    restored = 0
    for stored_file in sorted(store.rglob("*.py.json")):
        source = str(stored_file.relative_to(store))[: -len(".json")]
        meta_file = mutants / f"{source}.meta"
        if meta_file.exists():
            continue
        stored = json.loads(stored_file.read_text())
        meta_file.parent.mkdir(parents=True, exist_ok=True)
        # The keys mutmut 3.8's SourceFileMutationData.load reads; it refuses any other.
        meta = {
            "exit_code_by_key": stored["exit_code_by_key"],
            "hash_by_function_name": stored["hash_by_function_name"],
            "type_check_error_by_key": {},
            "durations_by_key": {},
            "estimated_durations_by_key": {},
        }
        meta_file.write_text(json.dumps(meta, indent=4))
        restored += len(stored["exit_code_by_key"])
    return restored


def generate() -> None:
    """Have mutmut write every mutant and its meta file, without running a test.

    `make mutation-pending` names the mutants without a result; in a fresh clone they are only known once mutmut
    has generated them, which it otherwise does only at the start of a run. This is that start alone, through
    mutmut 3.8.1's own functions (pinned in the `mutation` extra): about 20 seconds here.
    """
    from mutmut.__main__ import create_mutants
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir

    MUTANTS.mkdir(exist_ok=True)
    # mutmut prints every file it copies or mutates; the forked workers inherit the redirection.
    with contextlib.redirect_stdout(io.StringIO()):
        copy_src_dir()
        copy_also_copy_files()
        create_mutants(max_children=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["save", "restore", "prepare"])
    action = parser.parse_args().action
    if action == "save":
        print(f"{save()} decided mutants kept in {STORE}")
        return
    print(f"{restore()} stored results put back into {MUTANTS}/")
    if action == "prepare":
        generate()


if __name__ == "__main__":
    main()
