"""A seeded random sample of mutants per module, to estimate each module's score in a fraction of the time.

Every mutant of the whole scope costs hours on two cores (docs/TESTING.md, "Cost"). A simple random sample
of each module's mutants gives an unbiased estimate of its score, with a 95% interval, long before the full
run ends; the full run then only adds the mutants the sample left out. The sample is a function of the seed
and of the mutants' names, so the same command picks the same mutants again.

    python -m tests.mutation_sample names [--fraction F] [--seed S] [PATH_PREFIX]  # names for `mutmut run`
    python -m tests.mutation_sample report [--fraction F] [--seed S] [PATH_PREFIX] # estimates per module
"""

from __future__ import annotations

import argparse
import math
import random
from collections import Counter

from tests.mutation_report import DETECTED, UNDECIDED, results


def sample(names: list[str], fraction: float, seed: int) -> list[str]:
    """At least one mutant of a module that has any: a module left out would have no estimate at all."""
    size = max(1, round(fraction * len(names))) if names else 0
    return random.Random(seed).sample(sorted(names), size)


def wilson_interval(detected: int, decided: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson's interval for a proportion: unlike the normal one it stays inside 0..1 when the score is near 100%."""
    if decided == 0:
        return (0.0, 1.0)
    share = detected / decided
    centre = (share + z * z / (2 * decided)) / (1 + z * z / decided)
    spread = z * math.sqrt(share * (1 - share) / decided + z * z / (4 * decided * decided)) / (1 + z * z / decided)
    return (max(0.0, centre - spread), min(1.0, centre + spread))


def estimate_line(source: str, statuses: dict[str, str], picked: list[str]) -> str:
    counts = Counter(statuses[name] for name in picked)
    decided = sum(count for status, count in counts.items() if status not in UNDECIDED)
    detected = sum(counts[status] for status in DETECTED)
    pending = len(picked) - decided
    if not decided:
        return f"| `{source}` | {len(statuses)} | {len(picked)} | 0 | {pending} | n/a | |"
    low, high = wilson_interval(detected, decided)
    return (
        f"| `{source}` | {len(statuses)} | {len(picked)} | {decided} | {pending} | "
        f"{100 * detected / decided:.1f}% | {100 * low:.1f}-{100 * high:.1f}% |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["names", "report"])
    parser.add_argument("prefix", nargs="?", default="", help="only files whose path starts with this")
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=16)
    arguments = parser.parse_args()
    by_file = results(arguments.prefix)
    if not by_file:
        raise SystemExit(f"no mutmut results under mutants/ for {arguments.prefix!r}: run `make mutation` first")
    picked = {
        source: sample(list(statuses), arguments.fraction, arguments.seed) for source, statuses in by_file.items()
    }
    if arguments.action == "names":
        for source, names in picked.items():
            for name in names:
                if by_file[source][name] in UNDECIDED:
                    print(name)
        return
    print("| module | mutants | sampled | decided | not run | estimated score | 95% interval |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for source, statuses in by_file.items():
        print(estimate_line(source, statuses, picked[source]))


if __name__ == "__main__":
    main()
