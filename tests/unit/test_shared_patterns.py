"""The patterns the runtime shares with API Gateway's request models and the OpenAPI document (issue 13) mean
the same in Python, Java and JavaScript: no class shorthand whose meaning differs between them (Java's \\s and
\\d are ASCII, Python's are Unicode), and the not-blank pattern refuses exactly what str.strip() empties."""

from __future__ import annotations

import re
import sys

import pytest

from ragline.cards import DOC_TYPES, normalize_type
from ragline.conversation import SESSION_PATTERN
from ragline.filters import DOC_TYPE_PATTERN, ISO_DATE, NOT_BLANK, PERIOD_PATTERN, _type_pattern

SHARED = {
    "not blank": NOT_BLANK,
    "period": PERIOD_PATTERN.pattern,
    "ISO date": ISO_DATE.pattern,
    "document type": DOC_TYPE_PATTERN.pattern,
    "conversation id": SESSION_PATTERN,
}


@pytest.mark.parametrize("pattern", SHARED.values(), ids=SHARED.keys())
def test_no_shared_pattern_uses_a_class_shorthand_the_engines_read_differently(pattern):
    assert not re.search(r"(?<!\\)\\[sSdDwWbB]", pattern), pattern


def test_the_not_blank_pattern_finds_a_character_exactly_where_strip_leaves_one():
    """Every code point: alone, a question is blank to the runtime (str.strip() empties it) exactly when the
    pattern, which the gateway also applies, finds nothing in it."""
    not_blank = re.compile(NOT_BLANK)
    disagree = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF and bool(chr(code).strip()) != bool(not_blank.search(chr(code)))
    ]
    assert disagree == []


@pytest.mark.parametrize("doc_type", DOC_TYPES)
def test_a_type_s_pattern_matches_what_normalize_type_reads_as_that_type_and_nothing_else(doc_type):
    # Built here, not only read from DOC_TYPE_PATTERN: that constant is made once, at import, so a wrong
    # `_type_pattern` would go unseen by any test that imported the module before it changed (mutmut's case).
    pattern = re.compile(_type_pattern(doc_type))
    squeezed = re.sub(r"[\s_-]", "", doc_type)
    spellings = [doc_type, doc_type.upper(), doc_type.lower(), squeezed, "_".join(squeezed), f" {doc_type}- "]
    for spelling in spellings:
        assert normalize_type(spelling) == doc_type  # the runtime's reading, which the pattern must agree with
        assert pattern.fullmatch(spelling), spelling
    for other in [*DOC_TYPES, f"{doc_type}s", f"x{squeezed}"]:
        if other != doc_type:
            assert not pattern.fullmatch(other), other
