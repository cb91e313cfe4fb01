"""Compare PDF text extractors on the FinanceBench PDFs: speed, per-file failures, text quality, artefacts.

Evaluation data only: the PDFs are read in place from ../shared/data and never copied into the repo.

Quality proxy (simple on purpose). For every gold evidence item of the FinanceBench questions whose PDF was
processed, take the extracted text of the gold page (``evidence_page_num`` is zero-indexed) and measure:

* number recall: of the distinct numbers in ``evidence_text`` (digit runs of 2+ characters, thousands
  separators dropped, e.g. ``5,363`` -> ``5363``, ``1.5`` kept), the fraction that also occur in the page text;
* token recall: of the distinct lowercase alphanumeric tokens of ``evidence_text`` (2+ characters), the fraction
  that also occur in the page text.

Both are reported on the raw text and on a minimally cleaned text (NFKC, which unfolds ligatures; pdfium's U+FFFE
line-end hyphens turned back into "-"; "-\\n" line breaks dropped), so the table also shows what that cleanup buys.

Line-end hyphens: pdfium writes U+FFFE for a hyphen at the end of a line, pypdf leaves "-\\n". Each one is classed
by the document's own vocabulary: "hard" when the hyphenated word occurs elsewhere in the document more often than
the joined one (e.g. forward-looking), "soft" when the joined word does (a word split by hyphenation), else unknown.
Caveat: FinanceBench's evidence text was itself produced by some extractor, so recall can never be quite 1.0 and
an extractor that splits words the same way is slightly favoured.

Usage:
    nice -n 10 .venv/bin/python bench/extractors.py [--limit-files N] [--extractors pypdfium2,pypdf,pdftotext]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "financebench"
DEFAULT_PDF_DIR = DATA_DIR / "pdfs"
DEFAULT_QUESTIONS = DATA_DIR / "questions_with_pdfs.jsonl"

PDFIUM_HYPHEN = "\ufffe"
LIGATURES = "".join(chr(c) for c in range(0xFB00, 0xFB07))  # ff, fi, fl, ffi, ffl, long-st, st
HYPHEN_BREAK = re.compile(r"[A-Za-z]-\n[a-z]")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
TOKEN = re.compile(r"[a-z0-9]+")
WORD = re.compile(r"\w+(?:-\w+)*")
LINE_END_HYPHEN = re.compile(r"(\w+)(?:\ufffe|-\r?\n)(\w+)")


# --------------------------------------------------------------------------- extractors
# Each takes a path and returns one string per page. They raise on a bad file; the caller records the reason.


def extract_pypdfium2(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        pages = []
        for page in document:
            text_page = page.get_textpage()
            pages.append(text_page.get_text_range())
            text_page.close()
            page.close()
        return pages
    finally:
        document.close()


def extract_pypdf(path: Path) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        # Owner-password PDFs open with the empty user password; needs `cryptography` for AES.
        reader.decrypt("")
    return [page.extract_text() or "" for page in reader.pages]


def extract_pdftotext(path: Path) -> list[str]:
    # -layout off (reading order, like the others); pages are separated by form feeds.
    completed = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=300
    )
    pages = completed.stdout.decode("utf-8", errors="replace").split("\f")
    return pages[:-1] if pages and pages[-1] == "" else pages


def available_extractors() -> dict[str, Callable[[Path], list[str]]]:
    extractors: dict[str, Callable[[Path], list[str]]] = {"pypdfium2": extract_pypdfium2, "pypdf": extract_pypdf}
    if shutil.which("pdftotext"):
        extractors["pdftotext"] = extract_pdftotext
    return extractors


# --------------------------------------------------------------------------- text measures


def clean(text: str) -> str:
    """The minimal cleanup an ingester would do: unfold ligatures, turn line-end hyphens back into hyphens.

    pdfium replaces *every* hyphen that ends a line with U+FFFE and joins the two lines. In these filings that is
    nearly always a real hyphen ("forward-looking", "Non-GAAP"; see ``line_end_hyphens`` in the results), so it
    becomes "-" again rather than being deleted. pypdf keeps "-\n"; dropping the newline does the same.
    """
    text = unicodedata.normalize("NFKC", text.replace(PDFIUM_HYPHEN, "-"))
    return re.sub(r"(\w)-\r?\n(\w)", r"\1-\2", text)


def numbers_in(text: str) -> set[str]:
    found = {match.replace(",", "") for match in NUMBER.findall(text)}
    return {number for number in found if len(number.replace(".", "")) >= 2}


def tokens_in(text: str) -> set[str]:
    return {token for token in TOKEN.findall(text.lower()) if len(token) >= 2}


def recall(wanted: set[str], found: set[str]) -> float | None:
    return len(wanted & found) / len(wanted) if wanted else None


def count_artefacts(text: str) -> dict[str, int]:
    counts = {
        "fffe_hyphens": text.count(PDFIUM_HYPHEN),
        "ligatures": sum(text.count(ligature) for ligature in LIGATURES),
        "hyphen_breaks": len(HYPHEN_BREAK.findall(text)),
        "control_chars": len(CONTROL_CHARS.findall(text)),
        "replacement_chars": text.count("\ufffd"),
    }
    return counts | classify_line_end_hyphens(text)


def classify_line_end_hyphens(text: str) -> dict[str, int]:
    """Hard (a real hyphen) or soft (hyphenation) by which form the rest of the document uses more."""
    vocabulary = Counter(word.lower() for word in WORD.findall(text.replace(PDFIUM_HYPHEN, " ")))
    classes = Counter()
    for match in LINE_END_HYPHEN.finditer(text):
        before, after = match.group(1).lower(), match.group(2).lower()
        hyphenated, joined = vocabulary[f"{before}-{after}"], vocabulary[before + after]
        kind = "hard" if hyphenated > joined else "soft" if joined > hyphenated else "unknown"
        classes[f"line_end_hyphen_{kind}"] += 1
    return dict(classes)


# --------------------------------------------------------------------------- runs


@dataclass
class ExtractorRun:
    name: str
    files_ok: int = 0
    pages: int = 0
    seconds_ok: float = 0.0
    seconds_total: float = 0.0
    cpu_seconds_ok: float = 0.0  # process CPU time: steadier than wall time when other jobs share the cores
    empty_pages: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    artefacts: dict[str, int] = field(default_factory=dict)
    quality: dict[str, float | int | None] = field(default_factory=dict)

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds_ok if self.seconds_ok else 0.0

    @property
    def pages_per_cpu_second(self) -> float:
        return self.pages / self.cpu_seconds_ok if self.cpu_seconds_ok else 0.0


def failure_reason(error: BaseException) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {message}"[:200]


def run_extractor(
    name: str, extract: Callable[[Path], list[str]], pdfs: list[Path], gold_pages: dict[str, set[int]]
) -> tuple[ExtractorRun, dict[tuple[str, int], str]]:
    """Extract every PDF; one bad file is recorded with its reason and the run goes on."""
    run = ExtractorRun(name)
    kept_pages: dict[tuple[str, int], str] = {}
    for path in pdfs:
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            pages = extract(path)
        except Exception as error:  # any failure of one file must not stop the batch
            run.seconds_total += time.perf_counter() - started
            run.failures[path.name] = failure_reason(error)
            print(f"  {name}: FAILED {path.name}: {run.failures[path.name]}", file=sys.stderr)
            continue
        elapsed = time.perf_counter() - started
        run.seconds_total += elapsed
        run.seconds_ok += elapsed
        run.cpu_seconds_ok += time.process_time() - cpu_started
        run.files_ok += 1
        run.pages += len(pages)
        run.empty_pages += sum(1 for text in pages if not text.strip())
        for kind, count in count_artefacts("\n".join(pages)).items():
            run.artefacts[kind] = run.artefacts.get(kind, 0) + count
        for page_number in gold_pages.get(path.stem, set()):
            if page_number < len(pages):
                kept_pages[(path.stem, page_number)] = pages[page_number]
    return run, kept_pages


def load_evidence(questions_path: Path, doc_names: set[str]) -> list[dict]:
    evidence = []
    for line in questions_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            for item in json.loads(line)["evidence"]:
                if item["doc_name"] in doc_names:
                    evidence.append(item)
    return evidence


def mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def score_quality(evidence: list[dict], kept_pages: dict[tuple[str, int], str]) -> dict[str, float | int | None]:
    """Mean number/token recall of the gold evidence on the gold page; a missing page scores 0."""
    scores: dict[str, list[float]] = {"number_recall_raw": [], "number_recall_clean": [], "token_recall_raw": []}
    scores |= {"token_recall_clean": [], "token_recall_clean_ge_0.9": []}
    for item in evidence:
        raw = kept_pages.get((item["doc_name"], item["evidence_page_num"]), "")
        cleaned = clean(raw)
        wanted_numbers = numbers_in(item["evidence_text"])
        wanted_tokens = tokens_in(clean(item["evidence_text"]))
        for key, page_text, wanted, extract in (
            ("number_recall_raw", raw, wanted_numbers, numbers_in),
            ("number_recall_clean", cleaned, wanted_numbers, numbers_in),
            ("token_recall_raw", raw, wanted_tokens, tokens_in),
            ("token_recall_clean", cleaned, wanted_tokens, tokens_in),
        ):
            value = recall(wanted, extract(page_text))
            if value is not None:
                scores[key].append(value)
        token_recall = recall(wanted_tokens, tokens_in(cleaned))
        if token_recall is not None:
            scores["token_recall_clean_ge_0.9"].append(1.0 if token_recall >= 0.9 else 0.0)
    quality: dict[str, float | int | None] = {"evidence_items": len(evidence)}
    quality |= {key: mean(values) for key, values in scores.items()}
    return quality


COLUMNS = (
    "extractor", "files ok", "failed", "pages", "pages/s", "pages/CPU-s", "empty pages", "U+FFFE", "ligatures",
    "-\\n breaks", "line-end hyphens hard/soft/unknown", "ctrl chars", "num recall raw/clean",
    "token recall raw/clean", "token≥0.9",
)  # fmt: skip


def table_row(run: ExtractorRun) -> list[str]:
    a, q = run.artefacts, run.quality
    hyphens = "/".join(str(a.get(f"line_end_hyphen_{kind}", 0)) for kind in ("hard", "soft", "unknown"))
    return [
        run.name, str(run.files_ok), str(len(run.failures)), str(run.pages), f"{run.pages_per_second:.0f}",
        f"{run.pages_per_cpu_second:.0f}",
        str(run.empty_pages), str(a.get("fffe_hyphens", 0)), str(a.get("ligatures", 0)),
        str(a.get("hyphen_breaks", 0)), hyphens, str(a.get("control_chars", 0)),
        f"{q.get('number_recall_raw')} / {q.get('number_recall_clean')}",
        f"{q.get('token_recall_raw')} / {q.get('token_recall_clean')}", str(q.get("token_recall_clean_ge_0.9")),
    ]  # fmt: skip


def print_table(runs: list[ExtractorRun], files: int) -> None:
    print(f"\nfiles: {files}")
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for run in runs:
        print("| " + " | ".join(table_row(run)) + " |")
    for run in runs:
        for name, reason in run.failures.items():
            print(f"- {run.name} failed on {name}: {reason}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdf-dir", type=Path, default=DEFAULT_PDF_DIR)
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--limit-files", type=int, default=None, help="only the first N PDFs (sorted by name)")
    parser.add_argument("--extractors", default=None, help="comma-separated; default: every available one")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the results as JSON here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.pdf_dir.is_dir():
        print(f"skipped: no FinanceBench PDFs at {args.pdf_dir}")
        return 0
    pdfs = sorted(args.pdf_dir.glob("*.pdf"))[: args.limit_files]
    extractors = available_extractors()
    if args.extractors:
        wanted = args.extractors.split(",")
        missing = [name for name in wanted if name not in extractors]
        if missing:
            print(f"not available here, skipped: {', '.join(missing)}")
        extractors = {name: extractors[name] for name in wanted if name in extractors}
    if not shutil.which("pdftotext"):
        print("pdftotext not on PATH: skipped")
    evidence = load_evidence(args.questions, {path.stem for path in pdfs}) if args.questions.is_file() else []
    gold_pages: dict[str, set[int]] = {}
    for item in evidence:
        gold_pages.setdefault(item["doc_name"], set()).add(item["evidence_page_num"])

    runs = []
    for name, extract in extractors.items():
        print(f"running {name} on {len(pdfs)} files ...", file=sys.stderr)
        run, kept_pages = run_extractor(name, extract, pdfs, gold_pages)
        run.quality = score_quality(evidence, kept_pages)
        runs.append(run)
    print_table(runs, len(pdfs))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        payload = [
            run.__dict__
            | {"pages_per_second": round(run.pages_per_second, 1)}
            | {"pages_per_cpu_second": round(run.pages_per_cpu_second, 1)}
            for run in runs
        ]
        args.json_out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
