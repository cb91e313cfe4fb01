"""Mutation score per module from mutmut's results in mutants/ (`make mutation` prints it).

mutmut prints one total; the targets are per module (docs/TESTING.md, "Mutation testing"), so this reads
the per-file results mutmut keeps and uses mutmut's own reading of its exit codes.

    python -m tests.mutation_report [PATH_PREFIX]   # a Markdown table; survivors with --survivors
    python -m tests.mutation_report --pending PATH_PREFIX   # the names of the mutants without a result yet
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

MUTANTS = Path("mutants")
#: A mutant the tests notice: a failing test, or a test run so slowed down that it ran out of time.
DETECTED = {"killed", "timeout"}
#: Not a verdict on the tests: the run was stopped, or the mutant was never tried.
UNDECIDED = {"not checked", "check was interrupted by user", "skipped"}


def exit_codes(prefix: str = "", mutants: Path = MUTANTS) -> dict[str, dict[str, int | None]]:
    """mutmut's exit code of every mutant (None: not run yet), by source file, for the files under `prefix`."""
    by_file: dict[str, dict[str, int | None]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        source = str(meta.relative_to(mutants))[: -len(".meta")]
        if source.startswith(prefix):
            by_file[source] = json.loads(meta.read_text())["exit_code_by_key"]
    return by_file


def results(prefix: str = "") -> dict[str, dict[str, str]]:
    """Status of every mutant, by source file, for the files whose path starts with `prefix`."""
    from mutmut.stats import status_by_exit_code  # the mutation extra; --pending works without it

    return {
        source: {name: status_by_exit_code[code] for name, code in codes.items()}
        for source, codes in exit_codes(prefix).items()
    }


def pending(prefix: str = "", mutants: Path = MUTANTS) -> list[str]:
    """The mutants without a result yet. Named on mutmut's command line, only they run: a name pattern
    (`make mutation MUTATE=...`) would run every mutant it matches again, decided or not."""
    return [name for codes in exit_codes(prefix, mutants).values() for name, code in codes.items() if code is None]


def score_line(source: str, statuses: dict[str, str]) -> str:
    counts = Counter(statuses.values())
    decided = sum(count for status, count in counts.items() if status not in UNDECIDED)
    detected = sum(counts[status] for status in DETECTED)
    score = f"{100 * detected / decided:.1f}%" if decided else "n/a"
    missed = decided - detected
    not_run = sum(counts[status] for status in UNDECIDED)
    return f"| `{source}` | {len(statuses)} | {detected} | {missed} | {not_run} | {score} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefix", nargs="?", default="", help="only files whose path starts with this")
    parser.add_argument("--survivors", action="store_true", help="also list every mutant the tests missed")
    parser.add_argument("--pending", action="store_true", help="only print the names of the mutants not run yet")
    arguments = parser.parse_args()
    if arguments.pending:
        print("\n".join(pending(arguments.prefix)))
        return
    by_file = results(arguments.prefix)
    if not by_file:
        raise SystemExit(f"no mutmut results under {MUTANTS}/ for {arguments.prefix!r}: run `make mutation` first")
    print("| module | mutants | detected | missed | not run | score |")
    print("|---|---:|---:|---:|---:|---:|")
    for source, statuses in by_file.items():
        print(score_line(source, statuses))
    if arguments.survivors:
        print()
        for statuses in by_file.values():
            for name, status in statuses.items():
                if status not in DETECTED | UNDECIDED:
                    print(f"{status}: {name}")


if __name__ == "__main__":
    main()
