"""Metadata filters shared by every index adapter and by the query API.

A filter is data, not SQL: each index adapter translates it (to a SQL WHERE locally, to an
OpenSearch bool filter on AWS), so the same request means the same thing everywhere.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ragline.cards import DOC_TYPES, normalize_type

#: Page numbers are bounded so that every accepted value fits the indexes' 64-bit integers (an
#: unbounded one raised OverflowError: a 500); no document comes near a million pages.
MAX_PAGE = 1_000_000
MAX_TAG_CHARS = 256

# Patterns the schemas share (OpenAPI, API Gateway's model), so they are written to mean the same in
# Python, JavaScript and Java: [0-9], as Python's \d also matches other scripts' digits; and $(?!\n),
# as Python's and Java's $ also match before a final newline (hypothesis, so schemathesis, writes one).
_END = r"$(?!\n)"
PERIOD_PATTERN = re.compile(r"^[0-9]{4}(?:-(?:Q[1-4]|[0-9]{2}(?:-[0-9]{2})?))?" + _END)
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}" + _END)
#: Something besides what str.strip() removes (the characters of str.isspace()), each named: Java's \s is ASCII
#: white space alone, so `[^\s]` let API Gateway pass a question of no-break spaces that the runtime refuses.
NOT_BLANK = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def _type_pattern(doc_type: str) -> str:
    """What normalize_type reads as `doc_type`, as a regular expression JSON Schema shares: any case, any
    spaces, underscores and hyphens between the characters (ASCII ones: JSON Schema has no Unicode case)."""
    separators = "[ _-]*"
    characters = [f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in re.sub(r"[\s_-]", "", doc_type)]
    return separators + separators.join(characters) + separators


DOC_TYPE_PATTERN = re.compile("^(?:" + "|".join(_type_pattern(doc_type) for doc_type in DOC_TYPES) + ")" + _END)
#: Validation context of values typed as text (the CLI's --filter): "3" is then a page number.
FROM_TEXT = {"from_text": True}


def _not_blank(value: str) -> str:
    """A blank issuer would match every card with a space in it, a blank tag nothing: refused, as questions are."""
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    return value


# The pattern is the schema's way of saying what _not_blank checks (its message is the clearer one).
_NOT_BLANK_CHECKS = (AfterValidator(_not_blank), Field(json_schema_extra={"pattern": NOT_BLANK}))
NonBlank = Annotated[str, *_NOT_BLANK_CHECKS]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TAG_CHARS), *_NOT_BLANK_CHECKS]


def _json_number(value: object, info: ValidationInfo) -> object:
    """JSON's true and "5" are not numbers, though lax pydantic reads them as 1 and 5 (5.0 is an integer).

    Not pydantic's strict mode: FastAPI and Powertools validate the parsed body in Python mode, where
    strict refuses 5.0, which JSON Schema counts as an integer. Text is a number only from the CLI.
    """
    from_text = isinstance(value, str) and bool(info.context and info.context.get("from_text"))
    if isinstance(value, bool) or (isinstance(value, str) and not from_text):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _iso_date(value: object) -> object:
    """A day as YYYY-MM-DD text, as the schema says: lax pydantic reads the number 2023 as a Unix time
    (1970-01-01) and "2023-01-01T00:00" as a day. Strict mode would refuse the text too: bodies are
    validated after JSON parsing, in Python mode, where strict accepts only date objects."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and ISO_DATE.fullmatch(value):  # fullmatch: re's $ lets "...\n" through
        return value  # pydantic checks the day exists
    raise PydanticCustomError("date_type", "Input should be a valid date, written YYYY-MM-DD")


JsonInt = Annotated[int, BeforeValidator(_json_number)]
IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": ISO_DATE.pattern}),
]
# The bounds on the integer itself: on an optional field pydantic would write them beside the union.
Page = Annotated[int, Field(ge=1, le=MAX_PAGE), BeforeValidator(_json_number)]


class SearchFilter(BaseModel):
    """Restricts a search to chunks whose metadata match every given field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: NonBlank | None = Field(
        default=None,
        description="Exact source URI, or a glob with * (e.g. '*/annual-report*.pdf').",
        min_length=1,
        max_length=1024,
    )
    tags: tuple[Tag, ...] = Field(default=(), description="Chunks carrying any of these tags.", max_length=32)
    page_from: Page | None = Field(default=None, description="Chunks spanning a page >= this one.")
    page_to: Page | None = Field(default=None, description="Chunks spanning a page <= this one.")
    date_from: IsoDate | None = Field(default=None, description="Documents dated on or after this day.")
    date_to: IsoDate | None = Field(default=None, description="Documents dated on or before this day.")
    issuer: NonBlank | None = Field(
        default=None, min_length=1, max_length=200, description="Documents whose card's issuer contains this text."
    )
    period: str | None = Field(
        default=None,
        description="Documents whose card's period starts with this: 2023, 2023-03, 2023-03-31, 2023-Q1.",
        # In the schema, so that it and the validator below agree; the validator's message is the clearer.
        json_schema_extra={"pattern": PERIOD_PATTERN.pattern},
    )
    doc_type: str | None = Field(
        default=None,
        max_length=64,
        description=f"Documents of this type: {', '.join(DOC_TYPES)} (case, spaces and hyphens aside).",
        json_schema_extra={"pattern": DOC_TYPE_PATTERN.pattern},
    )

    @field_validator("period")
    @classmethod
    def _period_shape(cls, value: str | None) -> str | None:
        if value is not None and not PERIOD_PATTERN.fullmatch(value):
            raise ValueError(f"{value!r} is not a year, month, day or quarter (2023, 2023-03, 2023-03-31, 2023-Q1)")
        return value

    @field_validator("doc_type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None and not DOC_TYPE_PATTERN.fullmatch(value):  # normalize_type alone reads "10\u00a0K"
            raise ValueError(f"{value!r} is not one of {', '.join(DOC_TYPES)}")
        return None if value is None else normalize_type(value)

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> SearchFilter:
        if self.page_from and self.page_to and self.page_from > self.page_to:
            raise ValueError(f"page_from ({self.page_from}) is after page_to ({self.page_to})")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from ({self.date_from}) is after date_to ({self.date_to})")
        return self

    @property
    def is_empty(self) -> bool:
        return self == SearchFilter()


_EXPRESSION = re.compile(r"^\s*(source|tag|page|date|issuer|period|type)\s*(=|>=|<=)\s*(.+?)\s*$")
#: Filters on the document card (`ragline.cards`), by their CLI names.
_CARD_FIELDS = {"issuer": "issuer", "period": "period", "type": "doc_type"}


def parse_filter_expressions(expressions: list[str]) -> SearchFilter | None:
    """Parse CLI filters such as `source=*.pdf`, `tag=finance`, `page=3..5`, `date>=2024-01-01`, `issuer=amcor`,
    `period=2023`, `type=10-Q`.

    Raises ValueError naming the expression that could not be read.
    """
    if not expressions:
        return None
    fields: dict[str, object] = {}
    tags: list[str] = []
    for expression in expressions:
        match = _EXPRESSION.match(expression)
        if not match:
            raise ValueError(
                f"cannot read filter {expression!r}: expected source=GLOB, tag=NAME, page=N, "
                "page=N..M, page>=N, page<=N, date>=YYYY-MM-DD, date<=YYYY-MM-DD, issuer=TEXT, "
                "period=YYYY[-MM[-DD]] or type=10-K|10-Q|8-K|..."
            )
        name, operator, value = match.groups()
        if name in _CARD_FIELDS and operator != "=":
            raise ValueError(f"cannot read filter {expression!r}: {name} takes = only")
        if name in _CARD_FIELDS:
            fields[_CARD_FIELDS[name]] = value
        elif name == "source":
            fields["source"] = value
        elif name == "tag":
            tags.append(value)
        else:
            _parse_range(name, operator, value, fields)
    if tags:
        fields["tags"] = tuple(tags)
    return SearchFilter.model_validate(fields, context=FROM_TEXT)


def _parse_range(name: str, operator: str, value: str, fields: dict[str, object]) -> None:
    low, high = f"{name}_from", f"{name}_to"
    if operator == ">=":
        fields[low] = value
    elif operator == "<=":
        fields[high] = value
    elif ".." in value:
        fields[low], fields[high] = (part.strip() or None for part in value.split("..", 1))
    else:
        fields[low] = fields[high] = value
