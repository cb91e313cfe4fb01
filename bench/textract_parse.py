"""Parsing one page window of a Textract result, with and without one of `parse_analysis`'s levers, in interleaved
rounds.

The levers (`--lever`): `collector`, Python's cyclic garbage collector paused while textractor builds its entities
(`_collector_paused`); `lines`, textractor's deep copy of each page's lines not made (`_page_lines_shared`). The
baseline is the same function with that one lever turned off, so the ratio is the lever alone. Each timed run ends
with a full collection: the parse leaves millions of entities in reference cycles, which a warm environment pays to
free sooner or later, so leaving it out would bill one arm's garbage to the next run. The window is the deployed
suite's synthetic filing (tests/deployed/large_document.py: FinanceBench's median page density, ~590 blocks a page),
the size of one `index_document` invocation (100 pages). Run it with the Lambda runtime's Python as well (CPython
3.14, whose collector differs from 3.11's), on the function's own dependency set: that ratio is the one a deployed
window sees.

Every round parses with both, in an order that alternates; each run records the cores other processes kept
busy meanwhile (bench.throughput.measured), and a round with a run above `--max-other-cores` is refused.

Usage:
    .venv/bin/python -m bench.textract_parse --pages 100 --rounds 5 --lever lines
    # on the Lambda runtime's CPython (after `make synth`), with the ingestion functions' dependency set:
    PYTHONPATH=.:$(dirname $(ls -d build/assets-cache/deps-*/textractor)):$(ls -d build/assets-cache/sdk-*) \
        build/lambda-python/root/usr/bin/python3.14 -m bench.textract_parse --pages 100 --rounds 5 --lever lines
"""

from __future__ import annotations

import argparse
import contextlib
import gc
from collections.abc import Callable
from typing import Any

from bench.common import median_and_range, run_main, write_result
from bench.throughput import MAX_OTHER_CORES, measured


def window(pages: int) -> dict[str, Any]:
    from tests.aws.textract_responses import analysis_blocks
    from tests.deployed import large_document

    blocks = analysis_blocks(large_document.pages(pages, "bench"))
    return {"DocumentMetadata": {"Pages": pages}, "JobStatus": "SUCCEEDED", "Blocks": blocks}


LEVERS = {"collector": "_collector_paused", "lines": "_page_lines_shared"}  # --lever: the function turned off


def parsers(lever: str) -> dict[str, Callable[[dict[str, Any]], Any]]:
    from ragline.adapters.aws import textract

    def parse(response: dict[str, Any]) -> Any:
        return textract.parse_analysis(response, source="s3://bench/window.pdf", document_id="bench")

    def ours(response: dict[str, Any]) -> Any:
        document = parse(response)
        gc.collect()  # what the parse left for the collector is part of its cost (see the module's docstring)
        return document

    def baseline(response: dict[str, Any]) -> Any:
        keep = getattr(textract, LEVERS[lever])
        setattr(textract, LEVERS[lever], contextlib.nullcontext)  # the parse as it would be without the lever
        try:
            return ours(response)  # the same parse, then the same collection
        finally:
            setattr(textract, LEVERS[lever], keep)

    return {"ragline": ours, "without_lever": baseline}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-other-cores", type=float, default=MAX_OTHER_CORES)
    parser.add_argument("--lever", choices=sorted(LEVERS), default="lines")
    args = parser.parse_args(argv)
    response = window(args.pages)
    run = parsers(args.lever)
    texts = {name: [page.text for page in parse(response).pages] for name, parse in run.items()}  # warm-up
    if texts["ragline"] != texts["without_lever"]:
        raise SystemExit("the two parses read different text: the comparison would mean nothing")
    rounds = []
    for number in range(args.rounds):
        order = list(run) if number % 2 == 0 else list(reversed(run))
        timings = {}
        for name in order:
            with measured() as timing:
                run[name](response)
            timings[name] = dict(timing)
        accepted = all(t["other_cores"] <= args.max_other_cores for t in timings.values())
        rounds.append({"order": order, "accepted": accepted, **timings})
        print(
            f"round {number + 1}: "
            + ", ".join(
                f"{name} {t['seconds']:.2f} s (others {t['other_cores']:.2f} cores)" for name, t in timings.items()
            )
            + ("" if accepted else "  REFUSED: the machine was busy")
        )
    ratios = [r["without_lever"]["seconds"] / r["ragline"]["seconds"] for r in rounds if r["accepted"]]
    summary: dict[str, object] = {
        "lever": args.lever,
        "pages": args.pages,
        "blocks": len(response["Blocks"]),
        "rounds": len(rounds),
    }
    if ratios:
        summary["speedup"] = {**median_and_range(ratios), "accepted_rounds": len(ratios)}
        print(f"without / with the {args.lever} lever: {summary['speedup']['median']}x (median of {len(ratios)})")
    else:
        summary["refused"] = f"every round ran while others kept more than {args.max_other_cores} cores busy"
        print(summary["refused"])
    write_result("textract_parse", {**summary, "round_details": rounds})


if __name__ == "__main__":
    run_main(main)
