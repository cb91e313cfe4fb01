"""Document cards: who issued a document, what kind it is, which period it covers, and a human title.

Why: every chunk is embedded under a contextual header, and a header made of the PDF's metadata title says
nothing when that field is junk (an SEC accession number, "Microsoft Word - draft3.docx", a date, nothing).
The card is read at ingestion from what the extractor already produced (the text of the first pages, so no
second pass over the document) and from the file name; the metadata title is used only when it reads like a
title. Port-neutral: `make_card` takes page texts and a file name, so a local PDF and Textract's result give the
same card.

How each field is found, first rule that answers wins:
- doc_type: an SEC cover line ("FORM 10-K", "QUARTERLY REPORT PURSUANT TO SECTION 13 ..."), then an earnings
  headline ("... reports ... results"), "annual report", a paper's abstract, a manual's wording; then the file
  name ("10K", "10-Q", "8K", "EARNINGS"); else "other".
- issuer: the line above "(Exact name of registrant as specified in its charter)"; the name before a ticker
  ("Ulta Beauty, Inc. (NASDAQ: ULTA)"); the subject of a headline ("Amcor reports ..."); then the file name,
  when it reads as words with a year or a form type (never a random id).
- period: the cover's "For the quarterly period / fiscal year ended <date>", an 8-K's "Date of report", any
  "<quarter|year|period|weeks|months> ended <date>", "fourth quarter 2022" / "fiscal 2023"; then the first date
  on the first page; then a year in the file name.
- title: the metadata title when it reads like one; else "<issuer> Form <type> for the <period>" for SEC forms,
  the headline for other documents, the file name, in that order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import PurePath

from ragline.model import Document, DocumentCard

DOC_TYPES = ("10-K", "10-Q", "8-K", "earnings release", "annual report", "manual", "paper", "other")
#: The cover and what follows it: where a document says who, what and when.
CARD_PAGES = 3
#: Lines of the first page searched for a headline.
HEADLINE_LINES = 12
TITLE_MAX_CHARS = 160

_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december",
)  # fmt: skip
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = rf"({_MONTH}\s+\d{{1,2}},?\s+(?:19|20)\d{{2}})"
_DATE_RE = re.compile(_DATE, re.IGNORECASE)
_YEAR = re.compile(r"(?<![\d-])((?:19|20)\d{2})(?![\d-])")

# --- the metadata title ----------------------------------------------------------------------

_FILE_NAME = re.compile(r"\.(?:docx?|pdf|xlsx?|pptx?|indd|rtf|txt|tex|dvi|qxd|pages)$", re.IGNORECASE)
_PRODUCER_PREFIX = re.compile(r"^(?:microsoft\s+(?:word|powerpoint|excel)\s*-|untitled\b|document\d*$)", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"^(?:D:)?\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T][\d:]+)?$|^D:\d{8,14}")
_BOILERPLATE_TITLES = frozenset({"title", "untitled", "united states securities and exchange commission"})


def usable_title(title: str | None) -> str | None:
    """The metadata title when it reads like a title; None for the junk producers leave there."""
    text = " ".join((title or "").split())
    if not text or not re.search(r"[A-Za-z]{2}", text):
        return None  # empty, or numbers only: a bare year, an SEC accession number
    if text.lower() in _BOILERPLATE_TITLES or _FILE_NAME.search(text):
        return None
    if _PRODUCER_PREFIX.match(text) or _NUMERIC_DATE.match(text) or _is_bare_date(text):
        return None
    return text[:TITLE_MAX_CHARS]


def _is_bare_date(text: str) -> bool:
    match = _DATE_RE.fullmatch(text.strip())
    return match is not None or re.fullmatch(rf"{_MONTH}\s+(?:19|20)\d{{2}}", text.strip(), re.IGNORECASE) is not None


# --- the document type ------------------------------------------------------------------------

_FORM_LINES = (
    ("10-K", re.compile(r"^\W*form\s+10-?k(?:405|t)?\W*$|annual report pursuant to section 1[35]", re.I | re.M)),
    ("10-Q", re.compile(r"^\W*form\s+10-?q\W*$|quarterly report pursuant to section 1[35]", re.I | re.M)),
    ("8-K", re.compile(r"^\W*form\s+8-?k\W*$|current report\s*(?:\n\s*)?pursuant to section 1[35]", re.I | re.M)),
)
_EARNINGS = re.compile(
    r"\b(?:reports?|announces?|reported|posts?)\b[^\n.]{0,80}\b(?:results|earnings)\b|\bearnings release\b", re.I
)
_RESULTS_ANNOUNCED = re.compile(
    r"\b(?:today|has)\s+(?:announced|reported)\b[^.]{0,60}\b(?:financial\s+|operating\s+)?results\b", re.I
)
_ANNUAL_REPORT = re.compile(r"\bannual report\b", re.I)
_PAPER = re.compile(r"^\s*abstract\b", re.I | re.M)
_PAPER_SIGNS = re.compile(r"\bintroduction\b|\barxiv\b|\bdoi\b|\bproceedings\b|\bjournal\b", re.I)
_MANUAL = re.compile(
    r"\b(?:user'?s? (?:manual|guide)|owner'?s manual|operating instructions|installation guide|reference manual|"
    r"instruction manual|service manual|handbook)\b",
    re.I,
)
_NAME_TYPES = (
    ("10-K", re.compile(r"(?:^|[^a-z0-9])10-?k(?:[^a-z0-9]|$)", re.I)),
    ("10-Q", re.compile(r"(?:^|[^a-z0-9])10-?q(?:[^a-z0-9]|$)", re.I)),
    ("8-K", re.compile(r"(?:^|[^a-z0-9])8-?k(?:[^a-z0-9]|$)", re.I)),
    ("earnings release", re.compile(r"earnings|results", re.I)),
    ("annual report", re.compile(r"annual[ _-]?report", re.I)),
    ("manual", re.compile(r"manual|guide|handbook", re.I)),
    ("paper", re.compile(r"paper|preprint|arxiv", re.I)),
)


def document_type(first_page: str, text: str, stem: str) -> str:
    """One of DOC_TYPES: the cover's own words first, then the file name."""
    for doc_type, pattern in _FORM_LINES:
        if pattern.search(first_page):
            return doc_type
    headline = " ".join(_head_lines(first_page)[:HEADLINE_CANDIDATES])
    if _EARNINGS.search(headline) or _RESULTS_ANNOUNCED.search(first_page):
        return "earnings release"
    if _PAPER.search(text) and _PAPER_SIGNS.search(text):
        return "paper"
    if _ANNUAL_REPORT.search(first_page):
        return "annual report"
    if _MANUAL.search(first_page):
        return "manual"
    for doc_type, pattern in _NAME_TYPES:
        if pattern.search(stem):
            return doc_type
    return "other"


# --- the issuer -------------------------------------------------------------------------------

_REGISTRANT = re.compile(r"\(\s*exact\s+name\s+of\s+(?:the\s+)?registrants?", re.I)
_FILE_NUMBER = re.compile(r"commission\s+file\s+(?:number|no\.?)\s*:?\s*[\d-]+\s*(.*)$", re.I)
_TICKER = re.compile(
    r"([A-Z0-9][\w&.,'’ -]{1,80}?)\s*\(\s*(?:NYSE|NASDAQ|Nasdaq|NYSE American|NYSE Arca|TSX|LSE|ASX|OTC)"
    r"[^:)]{0,20}:\s*[A-Z][A-Z.]{0,6}\s*\)"
)
_SEPARATOR = re.compile(r"\s(?:-|–|—)\s|--|–|—|\)\s")
_HEADLINE_SUBJECT = re.compile(r"^(.{2,60}?)\s+(?:reports?|announces?|posts?|reported)\b", re.I)
_FILE_WORDS = re.compile(r"[A-Za-z]{2,}")
_NOT_A_NAME = re.compile(r"commission file|file number|\bitem\b|securities|^\W*$", re.I)


def issuer_of(first_page: str, text: str, stem: str) -> str | None:
    """Who issued the document, from the cover; the file name only when it reads as a name."""
    return (
        _registrant(text)
        or _after_file_number(first_page)
        or _ticker_name(text)
        or _headline_subject(first_page)
        or _issuer_from_file_name(stem)
    )


def _registrant(text: str) -> str | None:
    lines = [line.strip() for line in text.splitlines()]
    for index, line in enumerate(lines):
        if _REGISTRANT.search(line):
            before = [candidate for candidate in lines[max(0, index - 3) : index] if candidate]
            for candidate in reversed(before):
                if number := _FILE_NUMBER.search(candidate):  # "Commission File Number 001-37622 SQUARE, INC."
                    rest = _clean_name(number.group(1))
                    return rest if re.search(r"[A-Za-z]{2}", rest) else None
                if _NOT_A_NAME.search(candidate) or candidate.lower().startswith("for the"):
                    continue
                if re.search(r"[A-Za-z]{2}", candidate):
                    return _clean_name(candidate)
    return None


def _after_file_number(first_page: str) -> str | None:
    """Covers without the "(Exact name of registrant ...)" caption name the registrant under the file number."""
    lines = [line for line in first_page.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if match := _FILE_NUMBER.search(line):
            rest = _clean_name(match.group(1))
            candidate = rest or (_clean_name(lines[index + 1]) if index + 1 < len(lines) else "")
            if re.search(r"[A-Za-z]{2}", candidate) and not candidate.startswith("(") and ":" not in candidate:
                return candidate
            return None
    return None


def _ticker_name(text: str) -> str | None:
    match = _TICKER.search(text)
    if not match:
        return None
    name = _SEPARATOR.split(match.group(1))[-1]
    return _clean_name(name) if re.search(r"[A-Za-z]{2}", name) else None


def _headline_subject(first_page: str) -> str | None:
    for line in _head_lines(first_page)[:4]:
        match = _HEADLINE_SUBJECT.match(line)
        if match and len(match.group(1).split()) <= 6:
            return _clean_name(match.group(1))
    return None


def _issuer_from_file_name(stem: str) -> str | None:
    """ "AMCOR_2023Q2_10Q" names Amcor; "3f9a2c71d0e4b8a6" names nobody: a name needs a year or a form beside it."""
    if not (_YEAR.search(stem.replace("_", " ")) or any(pattern.search(stem) for _, pattern in _NAME_TYPES[:4])):
        return None
    words = []
    for token in re.split(r"[_\s.-]+", stem):
        if re.fullmatch(r"[A-Za-z]{2,}", token) and not re.fullmatch(r"(?i)earnings|dated|k|q|fy|form", token):
            words.append(token)
        elif words:
            break
    return " ".join(words) or None


def _clean_name(name: str) -> str:
    """Without the underscores, check boxes and quotes a cover puts around a name."""
    stripped = re.sub(r"^[\W_]+|[\s_,;:–—\u201c\u201d\"'-]+$", "", name)
    return " ".join(stripped.split())


# --- the period -------------------------------------------------------------------------------

_COVER_PERIOD = re.compile(
    rf"for the\s+(quarterly period|fiscal year|year|fiscal quarter|quarter|transition period)\s+ended\s+{_DATE}", re.I
)
_REPORT_DATE = re.compile(rf"date of report[^:\n]{{0,60}}:?\s*{_DATE}", re.I)
_ANY_ENDED = re.compile(
    rf"\b(quarter and (?:full )?year|quarterly period|fiscal year|year|quarter|period|"
    rf"(?:thirteen|twelve|fourteen|fifty-two|fifty-three|\d+)[- ]weeks?|(?:three|six|nine|twelve) months)"
    rf"(?:\s*\([^)]{{0,40}}\))?\s+ended\s+{_DATE}",
    re.I,
)
_QUARTER_YEAR = re.compile(
    r"\b(first|second|third|fourth|1st|2nd|3rd|4th|q[1-4])[- ]?quarter(?:\s+and\s+full[- ]year)?\s*(?:of\s+)?"
    r"(?:fiscal\s+(?:year\s+)?)?((?:19|20)\d{2})\b|\b(q[1-4])\s+((?:19|20)\d{2})\b",
    re.I,
)
_FISCAL_YEAR = re.compile(r"\b(?:fiscal(?: year)?|full[- ]year|fy)\s?((?:19|20)\d{2})\b", re.I)


def period_of(first_page: str, text: str, stem: str) -> tuple[str | None, str | None]:
    """(ISO period, the period as the document says it): the period end, a report date, or a year."""
    if match := _COVER_PERIOD.search(text):
        day = _iso_date(match.group(2))
        if day:
            return day, f"{match.group(1)} ended {_words(match.group(2))}"
    if (match := _REPORT_DATE.search(text)) and (day := _iso_date(match.group(1))):
        return day, f"report dated {_words(match.group(1))}"
    # Releases compare with earlier periods: their own period is the latest one named.
    ended = [(day, match) for match in _ANY_ENDED.finditer(text) if (day := _iso_date(match.group(2)))]
    if ended:
        day, match = max(ended, key=lambda item: item[0])
        return day, _words(re.sub(r"\s*\([^)]*\)", "", match.group(0)))
    if match := _QUARTER_YEAR.search(first_page):
        year = match.group(2) or match.group(4)
        return year, " ".join(match.group(0).split())
    if match := _FISCAL_YEAR.search(first_page):
        return match.group(1), " ".join(match.group(0).split())
    if match := _DATE_RE.search(first_page):
        day = _iso_date(match.group(1))
        if day:
            return day, f"dated {' '.join(match.group(1).split())}"
    return _period_from_file_name(stem)


def _words(text: str) -> str:
    return " ".join(text.split())


def _period_from_file_name(stem: str) -> tuple[str | None, str | None]:
    if match := re.search(r"(?<!\d)((?:19|20)\d{2})[-_]?(\d{2})[-_]?(\d{2})(?!\d)", stem):
        day = _valid_date(*(int(part) for part in match.groups()))
        if day:
            return day, f"dated {day}"
    if match := re.search(r"(?<!\d)((?:19|20)\d{2})(Q[1-4])?(?![\d])", stem, re.I):
        year, quarter = match.group(1), match.group(2)
        return (f"{year}-{quarter.upper()}", f"{quarter.upper()} {year}") if quarter else (year, year)
    return None, None


def _iso_date(text: str) -> str | None:
    match = re.match(rf"({_MONTH})\s+(\d{{1,2}}),?\s+(\d{{4}})", text.strip(), re.I)
    if not match:
        return None
    prefix = match.group(1).lower().rstrip(".")[:3]
    month = next((index for index, name in enumerate(_MONTHS, start=1) if name.startswith(prefix)), None)
    return _valid_date(int(match.group(3)), month, int(match.group(2))) if month else None


def _valid_date(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


# --- the title --------------------------------------------------------------------------------

_NOT_A_HEADLINE = re.compile(
    rf"^(?:exhibit\s+[\d.]+|for immediate release|table of contents|news release|press release|"
    rf"page \d+(?: of \d+)?|united states|{_DATE})\W*$|^[^A-Za-z0-9]",  # a bullet, a rule of underscores
    re.I,
)
#: Candidate lines for a headline: it is among the first few lines of the cover, or there is none.
HEADLINE_CANDIDATES = 4
_CONTINUES = re.compile(r"(?:\band|\bof|\bfor|\bthe|\bto|\bin|\bon|\bwith|[,;&-])$", re.I)
SEC_FORMS = frozenset({"10-K", "10-Q", "8-K"})


def human_title(
    first_page: str, stem: str, metadata_title: str | None, doc_type: str, issuer: str | None, period_text: str | None
) -> str:
    """A title a reader recognises: the metadata title when usable, else one made from the cover."""
    if title := usable_title(metadata_title):
        return title
    if doc_type in SEC_FORMS and issuer:
        form = f"{issuer} Form {doc_type}"
        if not period_text:
            return form
        return f"{form} for the {period_text}" if "ended" in period_text.lower() else f"{form}, {period_text}"
    if headline := _headline(first_page):
        return headline
    if not _looks_random(stem):
        return stem.replace("_", " ").replace("-", " ").strip()
    return ", ".join(part for part in (issuer, doc_type if doc_type != "other" else "document", period_text) if part)


def _head_lines(first_page: str) -> list[str]:
    """The first lines of the cover that could be a headline; a headline comes before any bullet."""
    lines = []
    for line in (" ".join(line.split()) for line in first_page.splitlines()):
        if line.startswith(("•", "●", "▪", "- ", "* ")):
            break
        if line and not _NOT_A_HEADLINE.match(line):
            lines.append(line)
    return lines[:HEADLINE_LINES]


def _headline(first_page: str) -> str | None:
    lines = _head_lines(first_page)
    for index, line in enumerate(lines[:HEADLINE_CANDIDATES]):
        words = line.split()
        if not 3 <= len(words) <= 20 or not re.search(r"[A-Za-z]{3}", line) or line.endswith("."):
            continue
        if not (line[0].isupper() or line[0].isdigit()):
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if following and _continues_headline(line, following):
            line = f"{line} {following}"
        return line[:TITLE_MAX_CHARS]
    return None


def _continues_headline(line: str, following: str) -> bool:
    if following.endswith((":", ".")) or len(following.split()) > 12:
        return False
    both_upper = line.isupper() and following.isupper()
    return bool(_CONTINUES.search(line)) or both_upper or (following[:1].isupper() and len(following.split()) <= 3)


def _looks_random(stem: str) -> bool:
    """A generated id (hex, a UUID, digits), not a name someone gave the file."""
    compact = stem.replace("-", "").replace("_", "")
    return not compact or bool(re.fullmatch(r"[0-9a-fA-F]{8,}|\d+", compact))


# --- putting it together ----------------------------------------------------------------------


def make_card(page_texts: Sequence[str], source: str, metadata_title: str | None = None) -> DocumentCard:
    """The card of a document from the text of its first pages (at most CARD_PAGES are read) and its name."""
    # One space between words: covers use no-break and other odd spaces between them.
    pages = ["\n".join(" ".join(line.split()) for line in page.splitlines()) for page in page_texts[:CARD_PAGES]]
    first_page = next((page for page in pages if page.strip()), "")
    text = "\n".join(pages)
    stem = PurePath(source).stem
    doc_type = document_type(first_page, text, stem)
    issuer = issuer_of(first_page, text, stem)
    period, period_text = period_of(first_page, text, stem)
    title = human_title(first_page, stem, metadata_title, doc_type, issuer, period_text)
    return DocumentCard(title=title, doc_type=doc_type, issuer=issuer, period=period, period_text=period_text)


def with_card(document: Document) -> Document:
    """The document with its card, and the card's title as its title (what sources show)."""
    card = make_card([page.text for page in document.pages[:CARD_PAGES]], document.source, document.metadata_title)
    return replace(document, card=card, title=card.title)


def card_header(card: DocumentCard) -> str:
    """What every chunk's contextual header says of its document: who, what and when, in few tokens.

    The header counts against the chunk's token budget, so it is the facts alone ("BEST BUY, 10-K, fiscal year
    ended January 28, 2023": 14 tokens), the issuer without "Co., Inc." and the like; the title only when the
    card has no facts. Sources still show the full title.
    """
    doc_type = card.doc_type if card.doc_type != "other" else None
    facts = [part for part in (_short_issuer(card.issuer), doc_type, card.period_text) if part]
    return ", ".join(facts) if facts else card.title


_LEGAL_SUFFIX = re.compile(
    r"(?:[\s,]+(?:inc|incorporated|corp|corporation|co|company|plc|ltd|limited|llc|lp|n\.?v|s\.?a|ag|se)\b\.?)+\s*$",
    re.I,
)


def _short_issuer(issuer: str | None) -> str | None:
    """ "BEST BUY CO., INC." -> "BEST BUY", "The Boeing Company" -> "Boeing"; a name that is only a suffix stays."""
    if not issuer:
        return None
    short = re.sub(r"^the\s+", "", _LEGAL_SUFFIX.sub("", issuer), flags=re.I).strip(" ,")
    return short or issuer


def normalize_type(value: str) -> str:
    """A document type as users type it ("10k", "10-K", "Earnings Release") -> one of DOC_TYPES."""
    compact = re.sub(r"[\s_-]", "", value.lower())
    for doc_type in DOC_TYPES:
        if re.sub(r"[\s_-]", "", doc_type.lower()) == compact:
            return doc_type
    raise ValueError(f"{value!r} is not one of {', '.join(DOC_TYPES)}")


# --- questions meet cards ---------------------------------------------------------------------

_CORPORATE_WORDS = frozenset((
    "inc", "incorporated", "corp", "corporation", "co", "company", "companies", "plc", "ltd", "limited", "llc", "lp",
    "nv", "sa", "ag", "se", "the", "holdings", "group", "and",
))  # fmt: skip
_QUESTION_TYPES = (
    ("10-K", re.compile(r"\b10-?k\b|\bannual (?:report|filing)\b", re.I)),
    ("10-Q", re.compile(r"\b10-?q\b|\bquarterly (?:report|filing)\b", re.I)),
    ("8-K", re.compile(r"\b8-?k\b", re.I)),
    ("earnings release", re.compile(r"\bearnings (?:release|report|call)\b|\bpress release\b", re.I)),
    ("annual report", re.compile(r"\bannual report\b", re.I)),
)
_QUESTION_YEAR = re.compile(r"(?<![\d])(?:fy\s?)?((?:19|20)\d{2})(?![\d])", re.I)
_SHORT_FY = re.compile(r"\bfy\s?'?(\d{2})\b", re.I)
#: A word written like an abbreviation of a name: letters (and "&"), two of them capitals: "JnJ", "AMEX", "J&J".
_QUESTION_ABBREVIATION = re.compile(r"(?<![\w&])[A-Za-z][A-Za-z&]{1,7}(?![\w&])")
#: An abbreviation made of a single word's beginning must be this long ("JPM" for JPMorgan), not "JP".
_SINGLE_WORD_ABBREVIATION_MIN = 3


#: What each facet of a card is worth in `card_match` (they sum to 1).
ISSUER_WEIGHT, YEAR_WEIGHT, KIND_WEIGHT = 0.5, 0.25, 0.25
#: A question asking about a quarter ("Q2 of FY2024", "the second quarter", "quarterly").
_QUESTION_QUARTER = re.compile(r"\bq[1-4]\b|\bquarter", re.I)
#: A card's period wording that covers a whole year, and one that covers a quarter (a Q4 release covers both).
_YEAR_SPAN = re.compile(r"\byear\b|\b(?:twelve|12)\s+months\b|\b(?:fifty-[23]|5[23])[- ]weeks?\b", re.I)
_QUARTER_SPAN = re.compile(
    r"\bquarter|\b(?:three|3)\s+months\b|\b(?:twelve|thirteen|fourteen|sixteen|1[2346])[- ]weeks?\b", re.I
)
#: A fiscal year that ends in the first days of January is named after the year before it ("year ended
#: January 1, 2023" is fiscal 2022): the 52/53-week years of retailers and manufacturers.
_EARLY_JANUARY_DAYS = 7


@dataclass(frozen=True)
class QuestionFacets:
    """What a question says about the document it is after: its words, the years and the types it names, and
    the span it asks about ("quarter" when it names one, else "year" when it names a year, else None)."""

    words: str  # lower case, punctuation as spaces, padded with spaces for whole-word search
    years: frozenset[str]
    types: frozenset[str]
    span: str | None = None
    abbreviations: frozenset[str] = frozenset()  # lower case: "jnj", "amex", "jpm"


def question_facets(question: str) -> QuestionFacets:
    years = set(_QUESTION_YEAR.findall(question)) | {f"20{short}" for short in _SHORT_FY.findall(question)}
    types = {doc_type for doc_type, pattern in _QUESTION_TYPES if pattern.search(question)}
    span = "quarter" if _QUESTION_QUARTER.search(question) else "year" if years else None
    abbreviations = {
        token.replace("&", "").lower()
        for token in _QUESTION_ABBREVIATION.findall(question)
        if sum(character.isupper() for character in token) >= 2
    }
    return QuestionFacets(_plain_words(question), frozenset(years), frozenset(types), span, frozenset(abbreviations))


def card_match(card: DocumentCard | None, facets: QuestionFacets, fiscal_year_end: date | None = None) -> float:
    """How much of what the question names this card holds, in [0, 1]: the issuer counts for half (it is what
    sets one company's filings apart from another's), the fiscal year for a quarter, and a quarter for the type
    the question names or, naming none, for the span it asks about (a year's filing for "FY2023", a quarter's
    for "Q2 of FY2024"). `fiscal_year_end` is the end of one of the issuer's fiscal years, when known: it tells
    which fiscal year a quarter falls in."""
    if card is None:
        return 0.0
    issuer = names_issuer(card, facets)
    year = fiscal_year(card, fiscal_year_end)
    period = year is not None and year in facets.years
    if facets.types:
        kind = card.doc_type in facets.types
    else:
        kind = facets.span is not None and facets.span in card_spans(card)
    return ISSUER_WEIGHT * issuer + YEAR_WEIGHT * period + KIND_WEIGHT * kind


def names_issuer(card: DocumentCard | None, facets: QuestionFacets) -> bool:
    """Whether the question names the card's issuer (as `card_match` reads it): by name, or by an abbreviation."""
    if card is None or card.issuer is None:
        return False
    return _names_issuer(card.issuer, facets.words) or any(
        abbreviates(abbreviation, card.issuer) for abbreviation in facets.abbreviations
    )


def abbreviates(abbreviation: str, issuer: str) -> bool:
    """Whether `abbreviation` (lower case) is made of the beginnings of the issuer's name words, in order from
    the first: "amex" (AMerican EXpress), "jj" and, with the "n" of "&", "jnj" (Johnson & Johnson), or a
    single word's beginning at least three letters long, "jpm" (JPMorgan Chase). Corporate words ("Inc.",
    "Company") are not part of the name."""
    words = [word for word in _plain_words(issuer).split() if word not in _CORPORATE_WORDS]
    if not words:
        return False
    variants = {abbreviation}
    if re.search(r"&|\band\b", issuer, re.I) and len(abbreviation) > 2:
        variants |= {abbreviation[:at] + abbreviation[at + 1 :] for at in range(1, len(abbreviation) - 1)
                     if abbreviation[at] == "n"}  # fmt: skip
    return any(_prefixes_of(variant, words) for variant in variants)


def _prefixes_of(abbreviation: str, words: list[str]) -> bool:
    first = words[0]
    if len(abbreviation) >= _SINGLE_WORD_ABBREVIATION_MIN and first.startswith(abbreviation) and abbreviation != first:
        return True
    return _split_into_prefixes(abbreviation, words)


def _split_into_prefixes(abbreviation: str, words: list[str]) -> bool:
    """Whether `abbreviation` is non-empty beginnings of words[0], words[1], ... in order, two words at least."""

    def split(rest: str, at: int) -> bool:
        if not rest:
            return at >= 2  # one word's beginning alone is the rule above, with its minimum length
        if at == len(words):
            return False
        return any(
            words[at].startswith(rest[:length]) and split(rest[length:], at + 1) for length in range(1, len(rest) + 1)
        )

    return split(abbreviation, 0)


def card_matches(cards: Sequence[DocumentCard | None], facets: QuestionFacets) -> list[float]:
    """`card_match` of each card, each issuer's fiscal calendar read from its year-long cards among them."""
    year_ends = {}
    for card in cards:
        if card is not None and card.issuer and "year" in card_spans(card) and (end := _period_end(card)):
            year_ends.setdefault(card.issuer, end)
    known: dict[DocumentCard, float] = {}
    matches = []
    for card in cards:
        if card is not None and card not in known:
            known[card] = card_match(card, facets, year_ends.get(card.issuer or ""))
        matches.append(known[card] if card is not None else 0.0)
    return matches


def card_spans(card: DocumentCard) -> frozenset[str]:
    """What a document's period covers: a 10-K or an annual report a year, a 10-Q a quarter, an earnings
    release what its period says (a fourth-quarter release: both); an 8-K or a dated document neither."""
    if card.doc_type in ("10-K", "annual report"):
        return frozenset({"year"})
    if card.doc_type == "10-Q":
        return frozenset({"quarter"})
    if card.doc_type == "earnings release" and card.period_text:
        return frozenset(
            span
            for span, pattern in (("year", _YEAR_SPAN), ("quarter", _QUARTER_SPAN))
            if pattern.search(card.period_text)
        )
    return frozenset()


def fiscal_year(card: DocumentCard, fiscal_year_end: date | None = None) -> str | None:
    """The fiscal year a card's period falls in, as companies and questions name it: the calendar year its
    fiscal year ends in, or the year before when that end is in the first days of January. A year-long period
    ends its own fiscal year; a quarter ends before its fiscal year does, which `fiscal_year_end` (any one of
    the issuer's fiscal year ends) places; without it, a quarter is named by its calendar year."""
    end = _period_end(card)
    if end is None:
        return card.period[:4] if card.period else None
    if "year" not in card_spans(card):
        if fiscal_year_end is None or "quarter" not in card_spans(card):
            return str(end.year)
        end = _next_fiscal_year_end(end, fiscal_year_end)
    named_before = end.month == 1 and end.day <= _EARLY_JANUARY_DAYS
    return str(end.year - 1 if named_before else end.year)


def _next_fiscal_year_end(day: date, fiscal_year_end: date) -> date:
    """The first end of the fiscal year (the month and day of `fiscal_year_end`) on or after `day`: a quarter
    ends months before it, so a 52/53-week year's drift of a few days does not matter."""
    end = _same_day_in(fiscal_year_end, day.year)
    return end if end >= day else _same_day_in(fiscal_year_end, day.year + 1)


def _same_day_in(day: date, year: int) -> date:
    return day.replace(year=year, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=year)


def _period_end(card: DocumentCard) -> date | None:
    try:
        return date.fromisoformat(card.period) if card.period and len(card.period) == 10 else None
    except ValueError:
        return None


def _plain_words(text: str) -> str:
    text = re.sub(r"['’]s\b", "", text.lower())
    return " " + " ".join(re.sub(r"[^a-z0-9]+", " ", text).split()) + " "


def _names_issuer(issuer: str, words: str) -> bool:
    """Whole words: the issuer's name without "Inc.", "Corporation" and the like, or its first word when that
    word could be nobody else's (a ticker-like "MGM", "3M", an inner capital as in "PepsiCo")."""
    tokens = [token for token in _plain_words(issuer).split() if token not in _CORPORATE_WORDS]
    if tokens and f" {' '.join(tokens)} " in words:
        return True
    first = re.sub(r"[^A-Za-z0-9]", "", issuer.split()[0]) if issuer.split() else ""
    distinctive = not issuer.isupper() and (
        (first.isupper() and len(first) > 1) or any(c.isdigit() for c in first) or any(c.isupper() for c in first[1:])
    )
    return distinctive and f" {first.lower()} " in words
